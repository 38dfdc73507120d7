//! Uptime Kuma's push URL (`/api/push/<token>`), translated onto Systole's heartbeats, so a
//! push monitor's senders keep working by changing only the host.
//!
//! As Uptime Kuma serves it (`server/routers/api-router.js`, `router.all("/api/push/:pushToken")`),
//! any HTTP method, with the query `status=up|down&msg=…&ping=<ms>`:
//! - `status`: `up` (also when absent or empty) reports up; any other value, `down`
//!   included, reports down, which here fails the service at once (Kuma waits for its
//!   retries first, which its users report as a bug);
//! - `msg`: the heartbeat's message, `OK` when absent or empty (cut to the native 1 KiB);
//! - `ping`: JavaScript's `parseFloat` of it (a leading number: `12.5ms` is 12.5), recorded
//!   as the metric `ping_ms`; 0, empty or not a number records none; below 0 or over
//!   100,000,000,000 is refused.
//!
//! Answers (`application/json; charset=utf-8`, Express's `response.json`): 200 `{"ok":true}`;
//! 404 `{"ok":false,"msg":"Monitor not found or not active."}` for an unknown token or a
//! disabled (paused) service, and 404 `{"ok":false,"msg":"Invalid ping value. Must be
//! between 0 and 100000000000 ms."}`, checked first, as Kuma does.
// Request data is parsed here: no panic from a byte index or a slice out of range.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use serde_json::json;

use crate::api::heartbeat::MAX_MESSAGE_BYTES;
use crate::api::metrics;
use crate::monitor::{Event, Heartbeat, Reported};

/// The content type of every answer.
pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// The largest `ping` Kuma accepts, in milliseconds.
pub const MAX_PING_MS: f64 = 100_000_000_000.0;

/// The metric a push's `ping` is recorded as.
pub const PING_METRIC: &str = "ping_ms";

/// The message of a refused push: an unknown token or a paused service.
pub const NOT_FOUND: &str = "Monitor not found or not active.";

/// A push, parsed from its query.
#[derive(Clone, Debug, PartialEq)]
pub struct Push {
    /// Whether it reports up.
    pub up: bool,
    /// The message (`OK` by default).
    pub msg: String,
    /// The round trip it reports, in milliseconds, if any.
    pub ping: Option<f64>,
}

/// The push token of the URL's path segment, percent-decoded as Express decodes a route
/// parameter; `None` when it does not decode to UTF-8 text.
pub fn token(segment: &str) -> Option<String> {
    percent_encoding::percent_decode_str(segment).decode_utf8().ok().map(|t| t.into_owned())
}

/// The JSON body of an answer: `{"ok":true}`, or `{"ok":false,"msg":…}` for a refusal.
pub fn body(refusal: Option<&str>) -> String {
    // Written out: Kuma's member order, which a JSON map would sort.
    match refusal {
        None => r#"{"ok":true}"#.to_owned(),
        Some(msg) => format!(r#"{{"ok":false,"msg":{}}}"#, serde_json::Value::from(msg)),
    }
}

/// Parses a push's query pairs (percent-decoded). A parameter sent more than once reads as
/// Express's `qs` gives it to Kuma, an array: its values joined with `,` for `msg` and
/// `ping`, and never `up` for `status`.
///
/// # Errors
/// The refusal's message for a `ping` below 0 or over [`MAX_PING_MS`].
pub fn parse(query: &[(String, String)]) -> Result<Push, String> {
    let values =
        |name: &str| -> Vec<&str> { query.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect() };
    let joined = |name: &str| Some(values(name).join(",")).filter(|v| !v.is_empty());
    let up = matches!(values("status").as_slice(), [] | [""] | ["up"]);
    let msg = joined("msg").unwrap_or_else(|| "OK".to_owned());
    let ping = joined("ping").and_then(|p| parse_float(&p)).filter(|p| *p != 0.0);
    if ping.is_some_and(|p| !(0.0..=MAX_PING_MS).contains(&p)) {
        return Err(format!("Invalid ping value. Must be between 0 and {MAX_PING_MS:.0} ms."));
    }
    Ok(Push { up, msg, ping })
}

impl Push {
    /// The heartbeat it sends, and the metrics the sanity clamp dropped: up, or down with
    /// event `fail`; the message cut to [`MAX_MESSAGE_BYTES`] on a character boundary; the
    /// ping as `{"ping_ms": ms}` (dropped past the `_ms` range, 7 days).
    pub fn heartbeat(&self) -> (Heartbeat, Vec<String>) {
        let mut message = self.msg.clone();
        while message.len() > MAX_MESSAGE_BYTES {
            message.pop();
        }
        let (kept, dropped) = match self.ping {
            Some(ms) => metrics::clamp(BTreeMap::from([(PING_METRIC.to_owned(), ms)])),
            None => (BTreeMap::new(), Vec::new()),
        };
        let metrics = (!kept.is_empty()).then(|| json!(kept).to_string());
        let (reported, event) = if self.up { (Reported::Up, Event::Success) } else { (Reported::Down, Event::Fail) };
        (Heartbeat { reported, event, message: Some(message), metrics, ..Heartbeat::default() }, dropped)
    }
}

/// JavaScript's `parseFloat`: the longest leading decimal literal after white space
/// (`Infinity` included), `None` where it gives `NaN`.
fn parse_float(text: &str) -> Option<f64> {
    let t = text.trim_start();
    let (sign, rest) = match t.strip_prefix('-') {
        Some(r) => (-1.0, r),
        None => (1.0, t.strip_prefix('+').unwrap_or(t)),
    };
    if rest.starts_with("Infinity") {
        return Some(sign * f64::INFINITY);
    }
    let bytes = rest.as_bytes();
    let digits = |from: usize| bytes.iter().skip(from).take_while(|b| b.is_ascii_digit()).count();
    let int = digits(0);
    let mut end = int;
    let mut frac = 0;
    if bytes.get(end) == Some(&b'.') {
        frac = digits(end + 1);
        end += 1 + frac;
    }
    if int + frac == 0 {
        return None;
    }
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let signed = usize::from(matches!(bytes.get(end + 1), Some(b'+' | b'-')));
        let exp = digits(end + 1 + signed);
        if exp > 0 {
            end += 1 + signed + exp;
        }
    }
    rest.get(..end).and_then(|n| n.parse::<f64>().ok()).map(|v| sign * v)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_are_up_ok_and_no_ping() {
        assert_eq!(parse(&[]), Ok(Push { up: true, msg: "OK".into(), ping: None }));
        assert_eq!(parse(&q(&[("status", ""), ("msg", ""), ("ping", "")])), parse(&[]));
    }

    #[test]
    fn any_status_but_up_is_down() {
        for (status, up) in [("up", true), ("down", false), ("UP", false), ("pending", false)] {
            assert_eq!(parse(&q(&[("status", status)])).unwrap().up, up, "{status}");
        }
        assert!(!parse(&q(&[("status", "up"), ("status", "up")])).unwrap().up, "an array is not \"up\"");
    }

    #[test]
    fn ping_reads_as_parse_float_and_zero_or_nan_is_none() {
        let ping = |p: &str| parse(&q(&[("ping", p)])).map(|x| x.ping);
        assert_eq!(ping("12.5"), Ok(Some(12.5)));
        assert_eq!(ping(" 12.5ms"), Ok(Some(12.5)));
        assert_eq!(ping("1e3"), Ok(Some(1000.0)));
        assert_eq!(ping("1e"), Ok(Some(1.0)));
        assert_eq!(ping(".5"), Ok(Some(0.5)));
        assert_eq!(ping("+7"), Ok(Some(7.0)));
        assert_eq!(ping("0"), Ok(None));
        assert_eq!(ping("-0"), Ok(None));
        assert_eq!(ping("abc"), Ok(None));
        assert_eq!(ping("."), Ok(None));
        assert_eq!(parse(&q(&[("ping", "3"), ("ping", "4")])).unwrap().ping, Some(3.0));
        let invalid = Err("Invalid ping value. Must be between 0 and 100000000000 ms.".to_owned());
        assert_eq!(ping("-1"), invalid);
        assert_eq!(ping("100000000001"), invalid);
        assert_eq!(ping("Infinity"), invalid);
        assert_eq!(ping("100000000000"), Ok(Some(MAX_PING_MS)));
    }

    #[test]
    fn a_push_becomes_a_heartbeat_with_its_message_and_ping_metric() {
        let (hb, dropped) = parse(&q(&[("msg", "all good"), ("ping", "42")])).unwrap().heartbeat();
        assert_eq!((hb.reported, hb.event), (Reported::Up, Event::Success));
        assert_eq!(hb.message.as_deref(), Some("all good"));
        assert_eq!(hb.metrics.as_deref(), Some(r#"{"ping_ms":42.0}"#));
        assert!(dropped.is_empty());
        let (hb, _) = parse(&q(&[("status", "down"), ("msg", "disk full")])).unwrap().heartbeat();
        assert_eq!((hb.reported, hb.event, hb.metrics), (Reported::Down, Event::Fail, None));
        // Over the `_ms` range (7 days): dropped, the heartbeat still counts.
        let (hb, dropped) = parse(&q(&[("ping", "99999999999")])).unwrap().heartbeat();
        assert_eq!((hb.metrics, dropped), (None, vec![PING_METRIC.to_owned()]));
        let long = "é".repeat(600);
        let (hb, _) = parse(&q(&[("msg", &long)])).unwrap().heartbeat();
        assert_eq!(hb.message.unwrap().len(), MAX_MESSAGE_BYTES);
    }

    #[test]
    fn tokens_are_percent_decoded() {
        assert_eq!(token("abc%41").as_deref(), Some("abcA"));
        assert_eq!(token("%FF"), None);
    }

    #[test]
    fn bodies_are_kumas_bytes() {
        assert_eq!(body(None), r#"{"ok":true}"#);
        assert_eq!(body(Some(NOT_FOUND)), r#"{"ok":false,"msg":"Monitor not found or not active."}"#);
    }
}
