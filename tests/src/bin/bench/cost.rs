//! The cost table: what a fleet costs per day on Cloudflare, derived from the per-heartbeat
//! figures this run measured, against the free plan's daily limits and the paid plan's prices.

use systole_core::history::MAX_UNSTORED_THROUGH;

/// Figures measured in this run.
#[derive(Clone, Copy, Debug)]
pub struct Measured {
    /// Durable Object storage rows written per heartbeat (rows + `setAlarm` calls) when every
    /// heartbeat is flushed alone (heartbeats further apart than the flush interval: written
    /// through to D1).
    pub do_rows: f64,
    /// D1 rows written per heartbeat, likewise (its `heartbeats` row; rollups are counted apart).
    pub d1_rows: f64,
    /// Durable Object requests per heartbeat (the heartbeat, plus any alarm invocations).
    pub do_requests: f64,
    /// Runtime CPU per heartbeat request, ms.
    pub cpu_ms: f64,
    /// The most subrequests one heartbeat invocation made.
    pub heartbeat_subrequests: u64,
    /// The most subrequests one cron tick made.
    pub cron_subrequests: u64,
}

/// Free plan, per day: Workers requests, Durable Object requests, rows written per store.
const FREE_REQUESTS: f64 = 100_000.0;
const FREE_ROWS: f64 = 100_000.0;
/// Paid plan, per month: $5 base with 10 M Worker requests, then $0.30 per million; 1 M
/// Durable Object requests, then $0.15 per million; 50 M rows written per store, then $1.00
/// per million (Durable Object SQLite storage and D1 alike).
const PAID_BASE: f64 = 5.0;
const PAID_REQUESTS_INCLUDED: f64 = 10e6;
const PAID_REQUEST_PRICE: f64 = 0.30;
const PAID_DO_REQUESTS_INCLUDED: f64 = 1e6;
const PAID_DO_REQUEST_PRICE: f64 = 0.15;
const PAID_ROWS_INCLUDED: f64 = 50e6;
const PAID_ROW_PRICE: f64 = 1.00;
/// D1 rows a service beating all day without a status change writes a day besides its
/// heartbeats: at the day's first flush the closed day's `uptime_daily` row and its
/// `service_state` row (`accounted_until`); and one deleted: the daily row that passes
/// `uptime.retentionDays`. Its heartbeats reuse their ring's rows (one `UPDATE` each), so
/// none is deleted while it beats more often than every 1/30 of the heartbeat retention.
const ROLLUP_ROWS_PER_DAY: f64 = 2.0;
const ROLLUP_DELETES_PER_DAY: f64 = 1.0;
/// The state row a stream of written-through heartbeats rewrites once per
/// [`MAX_UNSTORED_THROUGH`] of them, per heartbeat.
const STATE_ROW_PER_BEAT: f64 = 1.0 / MAX_UNSTORED_THROUGH as f64;
/// Cron ticks per day (hourly).
const CRON_TICKS: f64 = 24.0;

fn fmt(n: f64) -> String {
    let n = n.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// One fleet's daily figures.
struct Fleet {
    services: f64,
    interval_s: f64,
}

/// Answers the section for `m`.
pub fn section(m: &Measured) -> String {
    let fleets = [Fleet { services: 60.0, interval_s: 60.0 }, Fleet { services: 1000.0, interval_s: 60.0 }];
    let mut rows = String::new();
    let mut arithmetic = String::new();
    for f in &fleets {
        let beats = f.services * 86_400.0 / f.interval_s;
        let requests = beats + CRON_TICKS;
        let do_requests = beats * m.do_requests + CRON_TICKS;
        // The measured stream is shorter than the state row's period: add it.
        let do_per_beat = m.do_rows + STATE_ROW_PER_BEAT;
        let do_rows = beats * do_per_beat;
        let rollups = f.services * (ROLLUP_ROWS_PER_DAY + ROLLUP_DELETES_PER_DAY);
        let d1_rows = beats * m.d1_rows + rollups;
        let month = 30.0;
        let over = |used: f64, included: f64, price: f64| ((used * month - included).max(0.0) / 1e6) * price;
        let paid = PAID_BASE
            + over(requests, PAID_REQUESTS_INCLUDED, PAID_REQUEST_PRICE)
            + over(do_requests, PAID_DO_REQUESTS_INCLUDED, PAID_DO_REQUEST_PRICE)
            + over(do_rows, PAID_ROWS_INCLUDED, PAID_ROW_PRICE)
            + over(d1_rows, PAID_ROWS_INCLUDED, PAID_ROW_PRICE);
        let free = |used: f64, limit: f64| {
            if used <= limit {
                format!("{} ✓", fmt(used))
            } else {
                format!("**{}** ✗ ({:.1}×)", fmt(used), used / limit)
            }
        };
        rows += &format!(
            "| {} services at {} s | {} | {} | {} | {} | {} / {} | ${paid:.2} |\n",
            f.services,
            f.interval_s,
            free(requests, FREE_REQUESTS),
            free(do_requests, FREE_REQUESTS),
            free(do_rows, FREE_ROWS),
            free(d1_rows, FREE_ROWS),
            m.heartbeat_subrequests,
            m.cron_subrequests,
        );
        arithmetic += &format!(
            "- **{} services at {} s**: {} × 86,400 / {} = {} heartbeats a day. Worker requests: {} + {CRON_TICKS} cron ticks = {}. \
             Durable Object requests: {} × {:.2} + {CRON_TICKS} = {}. Durable Object rows: {} × {:.3} = {}. \
             D1 rows: {} × {:.2} (heartbeat rows, reused in each service's ring: none deleted) + {} × ({ROLLUP_ROWS_PER_DAY} rollup rows + {ROLLUP_DELETES_PER_DAY} deleted at retention) = {} ({:.4} per heartbeat).\n",
            f.services,
            f.interval_s,
            f.services,
            f.interval_s,
            fmt(beats),
            fmt(beats),
            fmt(requests),
            fmt(beats),
            m.do_requests,
            fmt(do_requests),
            fmt(beats),
            do_per_beat,
            fmt(do_rows),
            fmt(beats),
            m.d1_rows,
            f.services,
            fmt(d1_rows),
            d1_rows / beats,
        );
    }
    format!(
        "## What a fleet costs

Per day, derived from this run's measured figures for a heartbeat that is flushed alone (a
service beating every 60 s, further apart than the 10 s flush interval, so it is written
through to D1 before its answer): {do_rows:.2} Durable Object rows (the alarm moved to its new
deadline; no event row, no flush alarm; plus the state row, rewritten once per
{per_state} such heartbeats: {state:.3} more, so {do_per_beat:.3} in all),
{d1_rows:.2} D1 rows, and {do_requests:.2} Durable Object requests (the heartbeat, any alarm
invocations, and the live-update posts to the NotificationHubs of the readers who see it); {cpu:.2} ms
of CPU per heartbeat (the free plan allows 10 ms per request). Fixed per service and day in D1:
{ROLLUP_ROWS_PER_DAY} rollup rows written (the closed day and the state row) and
{ROLLUP_DELETES_PER_DAY} deleted (the daily row past retention); a heartbeat's row reuses the
oldest of its service's ring of `history.heartbeatsKept` (1,000), so none is deleted. Per
heartbeat in D1 that is 1 + 3 × period / 86,400: 1.0003 at 10 s, 1.0021 at 60 s, 1.010 at
5 minutes, 1.125 hourly, 4 daily (plus its own delete when it beats less often than every
1/30 of `history.heartbeatRetentionDays`). The free plan's daily limits: 100,000
Worker requests, 100,000 Durable Object requests, 100,000 rows written in Durable Object
storage and 100,000 in D1 (✗ marks a limit exceeded). The paid plan: $5 a month with 10 M
requests, 1 M Durable Object requests and 50 M rows written per store included, then $0.30 per
million requests, $0.15 per million Durable Object requests and $1.00 per million rows
written; a month is 30 days here. Subrequests per invocation: the most measured in a heartbeat
and in a cron tick (limit 50).

| fleet | Worker requests / day | Durable Object requests / day | DO rows written / day | D1 rows written / day | subrequests (heartbeat / cron tick) | paid plan / month |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
{rows}
{arithmetic}
",
        do_rows = m.do_rows,
        per_state = MAX_UNSTORED_THROUGH,
        state = STATE_ROW_PER_BEAT,
        do_per_beat = m.do_rows + STATE_ROW_PER_BEAT,
        d1_rows = m.d1_rows,
        do_requests = m.do_requests,
        cpu = m.cpu_ms,
    )
}
