//! The service page's telemetry (CloudLine's): the reliability label, a tile per metric
//! (newest value with its unit and a sparkline of the recent heartbeats), a chart per metric
//! over the selected range at the resolution the history still holds, and the error groups.

use maud::{html, Markup};
use systole_core::telemetry::{display, Point, Reliability, Resolution, RANGES};
use systole_core::time::{human_ago, Timestamp};

use crate::view::{MetricSeries, TelemetryView};

/// The reliability label as a fact of the service (`dt`/`dd`).
pub fn reliability(t: &TelemetryView) -> Markup {
    let (label, uptime, incidents) = t.reliability;
    let class = match label {
        Reliability::Excellent | Reliability::Good => "s-up",
        Reliability::Fair => "s-late",
        Reliability::Poor => "s-down",
        Reliability::Unknown => "muted",
    };
    html! {
        dt { "Reliability (30 days)" }
        dd data-field="reliability" {
            strong class=(class) { (label.as_str()) }
            span.muted {
                " · " @if let Some(u) = uptime { (format!("{u:.2}")) " % uptime" } @else { "no uptime yet" }
                " · " (incidents) @if incidents == 1 { " incident" } @else { " incidents" }
            }
        }
    }
}

/// The tiles, the charts with their range selector, and the error groups; `id` is the
/// service's, `now` the page's time.
pub fn sections(id: &str, now: Timestamp, t: &TelemetryView, sparks: &[MetricSeries]) -> Markup {
    html! {
        @if !t.tiles.is_empty() {
            section.panel aria-labelledby="telemetry-h" {
                h2 #telemetry-h { "Telemetry" }
                ul.tiles {
                    @for tile in &t.tiles {
                        li.tile data-metric=(tile.name) {
                            span.tile-name { (tile.name) }
                            strong.tile-value { (display(&tile.name, tile.value)) }
                            @if let Some(s) = sparks.iter().find(|s| s.name == tile.name) { (sparkline(s)) }
                            time.muted datetime=(tile.at.to_rfc3339()) title=(tile.at.human()) { (human_ago(now, tile.at)) }
                        }
                    }
                }
            }
            section.panel aria-labelledby="charts-h" {
                h2 #charts-h { "Metric charts" }
                nav.ranges aria-label="Chart range" {
                    @for (name, _) in RANGES {
                        @if name == t.range { strong aria-current="true" { (name) } } @else {
                            a href={ "/services/" (id) "?range=" (name) "#charts-h" } { (name) }
                        }
                        " "
                    }
                    span.muted data-field="resolution" { "resolution: " (t.resolution.as_str()) }
                }
                div.charts { @for (name, points) in &t.charts { (chart(name, t.resolution, points)) } }
            }
        }
        @if !t.errors.is_empty() {
            section.panel aria-labelledby="errors-h" {
                h2 #errors-h { "Errors" }
                div.scroll { table.errors {
                    thead { tr { th { "Message" } th { "Count" } th { "First seen" } th { "Last seen" } th { "Fingerprint" } } }
                    tbody { @for e in &t.errors { tr data-fingerprint=(e.fingerprint) {
                        td.msg { (e.message) @if let Some(s) = &e.stack { details { summary { "stack" } pre { (s) } } } }
                        td data-field="count" { (e.count) }
                        td { time datetime=(e.first_seen.to_rfc3339()) { (e.first_seen.human()) } }
                        td { time datetime=(e.last_seen.to_rfc3339()) { (human_ago(now, e.last_seen)) } }
                        td { code { (e.fingerprint) } }
                    } } }
                } }
            }
        }
    }
}

/// A 120 × 32 sparkline of a metric's recent values, with its range as accessible text.
fn sparkline(s: &MetricSeries) -> Markup {
    let values: Vec<f64> = s.points.iter().map(|p| p.1).collect();
    let (lo, hi) = bounds(values.iter().copied());
    let label =
        format!("{}: {} recent values from {} to {}", s.name, values.len(), display(&s.name, lo), display(&s.name, hi));
    let n = values.len().max(2) - 1;
    let points: Vec<String> =
        values.iter().enumerate().map(|(i, v)| xy(i as f64 / n as f64 * 120.0, *v, lo, hi, 32.0)).collect();
    html! {
        svg.spark viewBox="0 0 120 32" role="img" aria-label=(label) preserveAspectRatio="none" {
            title { (label) }
            polyline points=(points.join(" ")) fill="none" vector-effect="non-scaling-stroke" {}
        }
    }
}

/// A 600 × 120 chart of a metric's points: the mean as a line and, for rollups, the band
/// between min and max; accessible text names the range, resolution and extremes.
fn chart(name: &str, resolution: Resolution, points: &[Point]) -> Markup {
    let (w, h) = (600.0_f64, 120.0_f64);
    let (lo, hi) = bounds(points.iter().flat_map(|p| [p.min, p.max]));
    let (t0, t1) = (points.first().map_or(0, |p| p.t), points.last().map_or(1, |p| p.t));
    let x = |t: i64| if t1 > t0 { (t - t0) as f64 / (t1 - t0) as f64 * w } else { w / 2.0 };
    let avg: Vec<String> = points.iter().map(|p| xy(x(p.t), p.avg, lo, hi, h)).collect();
    let band: Vec<String> = points
        .iter()
        .map(|p| xy(x(p.t), p.max, lo, hi, h))
        .chain(points.iter().rev().map(|p| xy(x(p.t), p.min, lo, hi, h)))
        .collect();
    let span = match (points.first(), points.last()) {
        (Some(a), Some(b)) => {
            format!("{} to {}", Timestamp::from_millis(a.t).human(), Timestamp::from_millis(b.t).human())
        }
        _ => "no data in this range".to_owned(),
    };
    let count = if points.len() == 1 { "1 point".to_owned() } else { format!("{} points", points.len()) };
    let label = format!(
        "{name}, {count} at resolution {}, {span}, min {}, max {}",
        resolution.as_str(),
        display(name, lo),
        display(name, hi)
    );
    html! {
        figure.chart data-metric=(name) data-resolution=(resolution.as_str()) data-points=(points.len()) {
            figcaption {
                strong { (name) }
                span.muted { " " (resolution.as_str()) " · min " (display(name, lo)) " · max " (display(name, hi)) " · " (count) }
            }
            svg viewBox={ "0 0 " (w) " " (h) } role="img" aria-label=(label) preserveAspectRatio="none" {
                title { (label) }
                @if resolution != Resolution::Raw && !points.is_empty() {
                    polygon.band points=(band.join(" ")) {}
                }
                polyline points=(avg.join(" ")) fill="none" vector-effect="non-scaling-stroke" {}
                @if let [only] = avg.as_slice() {
                    @let (cx, cy) = only.split_once(',').unwrap_or(("0", "0"));
                    circle cx=(cx) cy=(cy) r="4" {}
                }
            }
        }
    }
}

/// The smallest and largest of `values` (0 and 1 when there are none).
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    }
}

/// An SVG point for value `v` at `x` in a plot `h` high spanning `lo..=hi` (4 units of margin).
fn xy(x: f64, v: f64, lo: f64, hi: f64, h: f64) -> String {
    let span = if hi > lo { hi - lo } else { 1.0 };
    let y = if hi > lo { h - 4.0 - (v - lo) / span * (h - 8.0) } else { h / 2.0 };
    format!("{x:.1},{y:.1}")
}
