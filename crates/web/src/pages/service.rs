//! `/services/{id}`: one service's status, uptime bar, a job's runs with a chart of their
//! durations, incidents, recent heartbeats and a chart of its reported metrics.

use maud::{html, Markup};

use std::time::Duration;

use super::{badge, bar, layout, legend, pct, tab_title, time, tone, Chrome};
use systole_core::monitor::Status;
use systole_core::time::{human_ago, human_duration};

use crate::view::{MetricSeries, RunView, ServiceDetail};

/// Renders the service page.
pub fn service(chrome: &Chrome<'_>, d: &ServiceDetail) -> Markup {
    let r = &d.row;
    let b = chrome.branding;
    let now = chrome.now;
    let main = html! {
        main #main data-generated=(now.as_millis()) {
            p { a href="/" { "← All services" } }
            section.panel.row data-service=(r.id) data-status=(r.status.as_str()) data-since=(r.status_since.map_or(0, |t| t.as_millis())) {
                div.head {
                    (badge(r.status))
                    h1.name { (r.name) }
                    (pct(chrome, r.profile, r.uptime))
                }
                dl.facts {
                    dt { "Service id" } dd { code { (r.id) } }
                    @if let Some(g) = &d.group { dt { "Group" } dd { (g) } }
                    (super::dependencies::facts(&d.dependencies))
                    dt { "Status since" } dd { (time(now, r.status_since, "since")) }
                    dt { "Last heartbeat" } dd { (time(now, r.last_heartbeat, "last")) }
                    dt { "Last message" } dd.msg data-field="message" { (r.message.as_deref().unwrap_or("")) }
                    @if let Some(s) = &d.schedule {
                        dt { "Schedule" } dd data-field="schedule" {
                            (s.describe()) " (" (s.zone().name()) "), grace " (human_duration(Duration::from_secs(d.grace_period_s)))
                            " " code { (s.expression()) }
                        }
                        dt { "Next run" } dd data-field="next-run" {
                            @if let Some(t) = s.next_after(now) {
                                time datetime=(t.to_rfc3339()) { (t.human_in(s.zone())) }
                                @if s.zone().name() != "UTC" { " (" (t.human()) ")" }
                            } @else { "none" }
                        }
                    } @else {
                        dt { "Expected every" } dd { (human_duration(Duration::from_secs(d.staleness_threshold_s))) ", grace " (human_duration(Duration::from_secs(d.grace_period_s))) }
                    }
                    @if let Some(t) = &d.telemetry { (super::telemetry::reliability(t)) }
                    dt { "Next deadline" } dd { @if let Some(t) = d.next_deadline { (t.human()) } @else { "none" } }
                    @if d.pinged_too_often {
                        dt { "Pinged too often" } dd.s-late data-field="pinged-too-often" {
                            "yes: the last success came sooner than its minimum interval after the one before"
                        }
                    }
                    @if let Some(m) = &d.managed {
                        @if let Some(text) = &m.description { dt { "Description" } dd data-field="description" { (text) } }
                        @if !m.tags.is_empty() {
                            dt { "Tags" } dd data-field="tags" { @for t in &m.tags { span.tag { (t) } " " } }
                        }
                        @if let Some(ping) = &m.ping_id { dt { "Ping URL" } dd { code { "/ping/" (ping) } } }
                    }
                }
                @if chrome.settings.features.show_uptime_history {
                    (bar(chrome, r.profile, &r.days, r.uptime))
                    (legend(chrome, r.profile))
                }
            }
            @if let Some(admin) = chrome.admin { (super::admin::manage(admin, d)) }
            @if !d.runs.is_empty() {
                section.panel aria-labelledby="runs-h" {
                    h2 #runs-h { "Runs" }
                    @let durations = RunView::durations(&d.runs);
                    @if !durations.points.is_empty() { div.charts { (chart(&durations)) } }
                    div.scroll { table.runs {
                        thead { tr { th { "Started" } th { "Ended" } th { "Duration" } th { "Outcome" } th { "Exit status" } th { "Log" } } }
                        tbody { @for run in &d.runs { tr data-run=(run.n) {
                            td { @if let Some(t) = run.started_at { (t.human()) } @else { span.muted { "no start" } } }
                            td { @if let Some(t) = run.ended_at { (t.human()) } @else { strong.s-down { "unfinished" } } }
                            td { @if let Some(ms) = run.duration_ms { (human_duration(Duration::from_millis(ms))) } }
                            td class=(if run.outcome == "success" { "s-up" } else { "s-down" }) {
                                (run.outcome)
                                @if let Some(reason) = run.reason.as_deref().filter(|r| !["failed", run.outcome.as_str()].contains(r)) {
                                    " (" (match reason { "tooShort" => "too short", "tooLong" => "too long", other => other }) ")"
                                }
                            }
                            td { @if let Some(code) = run.exit_status { (code) } }
                            td { @if run.has_output { a href={ "/api/v1/services/" (r.id) "/runs/" (run.n) "/log" } { "log" } } }
                        } } }
                    } }
                }
            }
            @if let Some(t) = &d.telemetry { (super::telemetry::sections(&r.id, now, t, &d.metrics)) } @else if !d.metrics.is_empty() {
                section.panel aria-labelledby="metrics-h" {
                    h2 #metrics-h { "Metrics" }
                    div.charts { @for m in &d.metrics { (chart(m)) } }
                }
            }
            section.panel aria-labelledby="changes-h" {
                h2 #changes-h { "Status history" }
                @if d.changes.is_empty() { p.muted { "No status changes in the retention window." } } @else {
                    ol.activity {
                        @for c in &d.changes {
                            li class=(tone(c.tone())) {
                                time datetime=(c.at.to_rfc3339()) title=(c.at.human()) data-ms=(c.at.as_millis()) { (human_ago(now, c.at)) }
                                " " (c.describe())
                            }
                        }
                    }
                }
            }
            @if let Some(audit) = &d.audit {
                section.panel #changelog aria-labelledby="changelog-h" {
                    h2 #changelog-h { "Change log" }
                    @if audit.is_empty() {
                        p.muted { @if d.managed.is_some() { "No changes recorded." } @else { "Declared in config/services.json: changes come with a deploy." } }
                    } @else {
                        ol.activity {
                            @for e in audit {
                                li.a-neutral {
                                    time datetime=(e.at.to_rfc3339()) title=(e.at.human()) data-ms=(e.at.as_millis()) { (human_ago(now, e.at)) }
                                    " " strong { (e.actor) } " " (e.verb())
                                    @if !e.detail.is_empty() { ": " (e.detail) }
                                }
                            }
                        }
                    }
                }
            }
            section.panel aria-labelledby="incidents-h" {
                h2 #incidents-h { "Incidents" }
                @if d.incidents.is_empty() { p.muted { "No incidents in the retention window." } } @else {
                    div.scroll { table {
                        thead { tr { th { "Started" } th { "Ended" } th { "Duration" } th { "Cause" } th { "Acknowledged" } } }
                        tbody { @for i in &d.incidents { tr {
                            td { (i.started_at.human()) }
                            td { @if let Some(e) = i.ended_at { (e.human()) } @else { strong.s-down { "ongoing" } } }
                            td { (human_duration(i.ended_at.unwrap_or(now).since(i.started_at))) }
                            td { (i.cause) @if let Some(why) = &i.suppressed { br; span.muted data-field="suppressed" { (why) } } }
                            td {
                                @if let Some((by, at)) = &i.acknowledged {
                                    "by " strong { (by) } " " time datetime=(at.to_rfc3339()) title=(at.human()) { (human_ago(now, *at)) }
                                } @else if i.ended_at.is_none() && d.can_acknowledge {
                                    form.ack method="post" action={ "/api/v1/incidents/" (i.id) "/acknowledge" } {
                                        button type="submit" { "Acknowledge" }
                                    }
                                } @else { span.muted { "—" } }
                            }
                        } } }
                    } }
                }
            }
            section.panel aria-labelledby="beats-h" {
                h2 #beats-h { "Recent heartbeats" }
                @if d.heartbeats.is_empty() { p.muted { "No heartbeats received yet." } } @else {
                    div.scroll { table {
                        thead { tr { th { "Received" } th { "Signal" } th { "Message" } th { "Metadata" } } }
                        tbody { @for h in &d.heartbeats { tr {
                            td { time datetime=(h.at.to_rfc3339()) title=(h.at.human()) { (human_ago(now, h.at)) } }
                            @let (signal, class) = h.signal();
                            td class=[class] { (signal) }
                            td.msg { (h.message.as_deref().unwrap_or("")) }
                            td { @if let Some(m) = &h.metadata { code { (m) } } }
                        } } }
                    } }
                }
            }
        }
    };
    let title = format!("{} · {}", r.name, b.page_title);
    let shown = u32::from(r.status == Status::Down);
    layout(chrome, &tab_title(&title, shown), &title, main)
}

/// A small line chart of one metric as inline SVG (600 × 120 user units).
fn chart(m: &MetricSeries) -> Markup {
    let (w, h) = (600.0_f64, 120.0_f64);
    let (lo, hi) = m.points.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let (t0, t1) = (m.points.first().map_or(0, |p| p.0.as_millis()), m.points.last().map_or(1, |p| p.0.as_millis()));
    let span_t = (t1 - t0).max(1) as f64;
    let span_v = if hi > lo { hi - lo } else { 1.0 };
    let points: Vec<String> = m
        .points
        .iter()
        .map(|(t, v)| {
            let x = if m.points.len() == 1 { w / 2.0 } else { (t.as_millis() - t0) as f64 / span_t * w };
            let y = h - 8.0 - (v - lo) / span_v * (h - 16.0);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let last = m.points.last().map_or(0.0, |p| p.1);
    let count = if m.points.len() == 1 { "1 point".to_owned() } else { format!("{} points", m.points.len()) };
    html! {
        figure.chart {
            figcaption { strong { (m.name) } span.muted { " last " (last) " · min " (lo) " · max " (hi) " · " (count) } }
            svg viewBox={ "0 0 " (w) " " (h) } role="img" aria-label={ (m.name) " over the recent heartbeats" } preserveAspectRatio="none" {
                polyline points=(points.join(" ")) fill="none" vector-effect="non-scaling-stroke" {}
                @if let [only] = points.as_slice() {
                    @let (x, y) = only.split_once(',').unwrap_or(("0", "0"));
                    circle cx=(x) cy=(y) r="4" {}
                }
            }
        }
    }
}
