//! healthchecks.io's Pinging API (`/ping/…`), translated onto Systole's heartbeats, so curl
//! one-liners, `runitor` and every healthchecks.io client work by changing only the host.
//!
//! The URL forms and answers are those healthchecks.io documents ("Pinging API",
//! `templates/docs/http_api.md`) and routes (`hc/api/urls.py`, `hc/api/views.py` `ping` and
//! `ping_by_slug`), any HTTP method:
//!
//! | path | signal |
//! | --- | --- |
//! | `/ping/<uuid>`, `/ping/<uuid>/` | success |
//! | `/ping/<uuid>/start`, `/fail`, `/log` | start, fail, log |
//! | `/ping/<uuid>/<exit status>` | success for 0, fail for 1–255 |
//! | `/ping/<ping key>/<slug>` and the same suffixes (no trailing `/`) | as above |
//!
//! `<uuid>` is a lower-case hyphenated UUID (Django's `uuid` converter), the service's ping
//! id; `<ping key>` and `<slug>` are `[A-Za-z0-9_-]+` (Django's `slug`; the slug also takes
//! `.`, which Systole's service ids may contain and healthchecks.io's slugs never do), the
//! slug being the service id. A `/ping/<uuid>/<x>` that is no suffix is the slug form, as in
//! healthchecks.io. `?rid=<uuid>` is the run id (any case; the last `rid` counts, as Django's
//! `QueryDict.get`). The body's first [`BODY_LIMIT`] bytes are the run's output.
//!
//! Answers (`text/plain; charset=utf-8`): 200 `OK` (with `Ping-Body-Limit` and
//! `Access-Control-Allow-Origin: *`), 201 `Created` (the same headers) when `?create=1` on
//! the slug form created the service (auto-provisioning: the ping key is a group's own
//! `PING_KEYS` key and the group allows it, see [`crate::provision`]), 404 `not found` (no
//! such check or ping key, a path of no form above, or an unknown slug without `?create=1`
//! or in a group that does not allow auto-provisioning), 403 with the reason when the group
//! is at its `maxServices`, 400 `invalid url format`
//! (exit status over 255, a slug with an upper-case letter), 400 `invalid uuid format` (a
//! `rid` that is not a UUID). healthchecks.io's 409 `ambiguous slug` cannot happen: a slug
//! is a service id, unique in a deployment. Every answer carries Django's `never_cache`
//! `Cache-Control`. Errors are checked in healthchecks.io's order: the slug's case, then the
//! check, then the exit status, then the run id.
// Request data is parsed here: no panic from a byte index or a slice out of range.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use percent_encoding::percent_decode_str;

use crate::keys::is_uuid;
use crate::monitor::{Event, Heartbeat, MAX_OUTPUT_BYTES};

/// The bytes of a ping's body kept as the run's output (and announced in `Ping-Body-Limit`):
/// [`MAX_OUTPUT_BYTES`], self-hosted healthchecks.io's default `PING_BODY_LIMIT`.
pub const BODY_LIMIT: usize = MAX_OUTPUT_BYTES;

/// The content type of every answer.
pub const CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// Django's `never_cache` header value, on every answer.
pub const CACHE_CONTROL: &str = "max-age=0, no-cache, no-store, must-revalidate, private";

/// Which check a ping URL names.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Target {
    /// `/ping/<uuid>…`: the service whose ping id this is (lower case).
    Uuid(String),
    /// `/ping/<ping key>/<slug>…`: the service `slug` of a group whose ping key is `ping_key`.
    Slug {
        /// The ping key as sent.
        ping_key: String,
        /// The slug (a service id) as sent.
        slug: String,
    },
}

/// A ping's signal, from the URL's suffix.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Signal {
    /// No suffix.
    Success,
    /// `/start`.
    Start,
    /// `/fail`.
    Fail,
    /// `/log`.
    Log,
    /// `/<n>`: the exit status as sent (any size; over 255 is refused by [`Ping::check`]).
    Exit(u64),
}

/// A ping URL, parsed: what it names and says. Validated in two steps, as healthchecks.io
/// does: [`parse`] (the path's shape and a slug's case), then, once the check is found,
/// [`Ping::check`] (exit status, run id).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Ping {
    /// The check named.
    pub target: Target,
    /// The signal.
    pub signal: Signal,
    /// The `rid` parameter as sent (the last one), if any.
    pub rid: Option<String>,
    /// Whether `create=1` was sent (auto-provisioning of an unknown slug).
    pub create: bool,
}

/// A refusal, answered as healthchecks.io answers it.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Refusal {
    /// 404 `not found`.
    NotFound,
    /// 400 `invalid url format`.
    InvalidUrl,
    /// 400 `invalid uuid format`.
    InvalidUuid,
}

impl Refusal {
    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            Refusal::NotFound => 404,
            Refusal::InvalidUrl | Refusal::InvalidUuid => 400,
        }
    }

    /// The body, exactly.
    pub fn body(self) -> &'static str {
        match self {
            Refusal::NotFound => "not found",
            Refusal::InvalidUrl => "invalid url format",
            Refusal::InvalidUuid => "invalid uuid format",
        }
    }
}

/// Parses the path after `/ping/` (still percent-encoded, as the URL has it) and the query
/// pairs (percent-decoded).
///
/// # Errors
/// [`Refusal::NotFound`] for a path of no form (as healthchecks.io's router, which has no
/// route for it); [`Refusal::InvalidUrl`] for a slug with an upper-case letter.
pub fn parse(rest: &str, query: &[(String, String)]) -> Result<Ping, Refusal> {
    let rest = percent_decode_str(rest).decode_utf8().map_err(|_| Refusal::NotFound)?;
    let segments: Vec<&str> = rest.split('/').collect();
    let last = |name: &str| query.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let ping =
        |target, signal| Ping { target, signal, rid: last("rid"), create: last("create").as_deref() == Some("1") };
    // The uuid forms first, as healthchecks.io's URL patterns are ordered.
    match segments.as_slice() {
        [code] | [code, ""] if uuid_segment(code) => {
            return Ok(ping(Target::Uuid((*code).to_owned()), Signal::Success))
        }
        [code, suffix] if uuid_segment(code) => {
            if let Some(signal) = suffix_signal(suffix) {
                return Ok(ping(Target::Uuid((*code).to_owned()), signal));
            }
        }
        _ => {}
    }
    let (key, slug, signal) = match segments.as_slice() {
        [key, slug] => (*key, *slug, Signal::Success),
        [key, slug, suffix] => (*key, *slug, suffix_signal(suffix).ok_or(Refusal::NotFound)?),
        _ => return Err(Refusal::NotFound),
    };
    if !slug_segment(key, false) || !slug_segment(slug, true) {
        return Err(Refusal::NotFound);
    }
    if slug.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(Refusal::InvalidUrl);
    }
    Ok(ping(Target::Slug { ping_key: key.to_owned(), slug: slug.to_owned() }, signal))
}

impl Ping {
    /// The heartbeat this ping sends once its check is found, with the first [`BODY_LIMIT`]
    /// bytes of `body` as the output (invalid UTF-8 replaced, cut back to a character
    /// boundary within the limit; none for an empty body).
    ///
    /// Start, log and exit status 0 report `up`; fail and exit statuses 1–255 report `down`
    /// (so a failure fails the service at once). The run id is kept in lower case.
    ///
    /// # Errors
    /// [`Refusal::InvalidUrl`] for an exit status over 255, then [`Refusal::InvalidUuid`]
    /// for a `rid` that is not a UUID.
    pub fn check(&self, body: &[u8]) -> Result<Heartbeat, Refusal> {
        let (event, exit_status) = match self.signal {
            Signal::Success => (Event::Success, None),
            Signal::Start => (Event::Start, None),
            Signal::Fail => (Event::Fail, None),
            Signal::Log => (Event::Log, None),
            Signal::Exit(n) => {
                let n = u8::try_from(n).map_err(|_| Refusal::InvalidUrl)?;
                (if n == 0 { Event::Success } else { Event::Fail }, Some(n))
            }
        };
        let run_id = match &self.rid {
            Some(rid) if is_uuid(rid) => Some(rid.to_ascii_lowercase()),
            Some(_) => return Err(Refusal::InvalidUuid),
            None => None,
        };
        // A failure is the `fail` event alone (not a reported `down`), so it counts towards
        // the service's `failureThreshold` and is named `failed`, as from any client.
        Ok(Heartbeat { event, exit_status, run_id, output: output(body), ..Heartbeat::default() })
    }
}

/// The first [`BODY_LIMIT`] bytes of a ping's body as text (see [`Ping::check`]).
pub fn output(body: &[u8]) -> Option<String> {
    let kept = body.get(..BODY_LIMIT).unwrap_or(body);
    let mut text = String::from_utf8_lossy(kept).into_owned();
    // A replacement character (3 bytes) may stand for fewer bytes: stay within the limit.
    while text.len() > BODY_LIMIT {
        text.pop();
    }
    (!text.is_empty()).then_some(text)
}

/// The signal of a suffix segment: `start`, `fail`, `log` or digits (Django's `int`).
fn suffix_signal(suffix: &str) -> Option<Signal> {
    match suffix {
        "start" => Some(Signal::Start),
        "fail" => Some(Signal::Fail),
        "log" => Some(Signal::Log),
        digits if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            // Any number of digits: one too large for u64 is still over 255.
            let significant = digits.trim_start_matches('0');
            Some(Signal::Exit(if significant.is_empty() { 0 } else { significant.parse().unwrap_or(u64::MAX) }))
        }
        _ => None,
    }
}

/// Whether a segment is a lower-case hyphenated UUID (Django's `uuid` converter).
fn uuid_segment(s: &str) -> bool {
    is_uuid(s) && !s.bytes().any(|b| b.is_ascii_uppercase())
}

/// Whether a segment is a ping key (`[A-Za-z0-9_-]+`) or, with `dot`, a slug (`.` too).
fn slug_segment(s: &str, dot: bool) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (dot && b == b'.'))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const UUID: &str = "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278";

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn uuid_ping(signal: Signal) -> Ping {
        Ping { target: Target::Uuid(UUID.into()), signal, rid: None, create: false }
    }

    #[test]
    fn every_uuid_form_parses_to_its_signal() {
        let cases = [
            (UUID.to_owned(), Signal::Success),
            (format!("{UUID}/"), Signal::Success),
            (format!("{UUID}/start"), Signal::Start),
            (format!("{UUID}/fail"), Signal::Fail),
            (format!("{UUID}/log"), Signal::Log),
            (format!("{UUID}/0"), Signal::Exit(0)),
            (format!("{UUID}/123"), Signal::Exit(123)),
            (format!("{UUID}/0255"), Signal::Exit(255)),
            (format!("{UUID}/256"), Signal::Exit(256)),
            (format!("{UUID}/99999999999999999999999"), Signal::Exit(u64::MAX)),
        ];
        for (path, signal) in cases {
            assert_eq!(parse(&path, &[]), Ok(uuid_ping(signal)), "{path}");
        }
    }

    #[test]
    fn every_slug_form_parses_to_its_signal() {
        let slug = |signal| Ping {
            target: Target::Slug { ping_key: "Key_0-9".into(), slug: "db-backup.prod".into() },
            signal,
            rid: None,
            create: false,
        };
        assert_eq!(parse("Key_0-9/db-backup.prod", &[]), Ok(slug(Signal::Success)));
        assert_eq!(parse("Key_0-9/db-backup.prod/start", &[]), Ok(slug(Signal::Start)));
        assert_eq!(parse("Key_0-9/db-backup.prod/fail", &[]), Ok(slug(Signal::Fail)));
        assert_eq!(parse("Key_0-9/db-backup.prod/log", &[]), Ok(slug(Signal::Log)));
        assert_eq!(parse("Key_0-9/db-backup.prod/7", &[]), Ok(slug(Signal::Exit(7))));
        // A uuid followed by something that is no suffix is a ping key and a slug.
        let p = parse(&format!("{UUID}/backup"), &[]).unwrap();
        assert_eq!(p.target, Target::Slug { ping_key: UUID.into(), slug: "backup".into() });
    }

    #[test]
    fn paths_of_no_form_are_not_found() {
        for path in [
            "",
            "/",
            "not-uuid/",
            "07c2f54898504b27af5d6c9dc157ec02/",
            "5BF66975-D4C7-4BF5-BCC8-B8D8A82EA278",
            "key/slug/",
            "key/slug/stop",
            "key/slug/fail/",
            "key/slug/fail/x",
            &format!("{UUID}/fail/"),
            &format!("{UUID}//"),
            "ke.y/slug",
            "key/sl ug",
            "key/sl%20ug",
            "key/%FF",
        ] {
            assert_eq!(parse(path, &[]), Err(Refusal::NotFound), "{path:?}");
        }
        // An upper-case uuid is not the uuid form; with a second segment it is the slug form.
        assert!(matches!(
            parse("5BF66975-D4C7-4BF5-BCC8-B8D8A82EA278/fail", &[]),
            Ok(Ping { target: Target::Slug { .. }, .. })
        ));
    }

    #[test]
    fn an_upper_case_slug_is_an_invalid_url() {
        assert_eq!(parse("key/Backup", &[]), Err(Refusal::InvalidUrl));
        assert_eq!(parse("key/BACKUP/fail", &[]), Err(Refusal::InvalidUrl));
        assert_eq!(parse(&format!("{UUID}/ABC"), &[]), Err(Refusal::InvalidUrl));
        // The ping key may have any case.
        assert!(parse("KEY/backup", &[]).is_ok());
        // Percent-encoded letters are decoded first.
        assert_eq!(parse("key/%42ackup", &[]), Err(Refusal::InvalidUrl));
    }

    #[test]
    fn the_query_gives_the_last_rid_and_create() {
        let p = parse(UUID, &q(&[("rid", "a"), ("create", "0"), ("rid", "B"), ("create", "1")])).unwrap();
        assert_eq!((p.rid.as_deref(), p.create), (Some("B"), true));
        let p = parse(UUID, &q(&[("create", "true")])).unwrap();
        assert_eq!((p.rid, p.create), (None, false));
    }

    #[test]
    fn signals_become_heartbeats() {
        use crate::monitor::Reported;
        let hb = |signal| uuid_ping(signal).check(b"").unwrap();
        let view = |h: Heartbeat| (h.reported, h.event, h.exit_status);
        assert_eq!(view(hb(Signal::Success)), (Reported::Up, Event::Success, None));
        assert_eq!(view(hb(Signal::Start)), (Reported::Up, Event::Start, None));
        assert_eq!(view(hb(Signal::Fail)), (Reported::Up, Event::Fail, None));
        assert_eq!(view(hb(Signal::Log)), (Reported::Up, Event::Log, None));
        assert_eq!(view(hb(Signal::Exit(0))), (Reported::Up, Event::Success, Some(0)));
        assert_eq!(view(hb(Signal::Exit(3))), (Reported::Up, Event::Fail, Some(3)));
        assert_eq!(view(hb(Signal::Exit(255))), (Reported::Up, Event::Fail, Some(255)));
        assert_eq!(hb(Signal::Success), Heartbeat::default(), "a plain ping is a plain heartbeat");
    }

    #[test]
    fn exit_status_over_255_then_a_bad_rid_are_refused_in_that_order() {
        assert_eq!(uuid_ping(Signal::Exit(256)).check(b""), Err(Refusal::InvalidUrl));
        assert_eq!(uuid_ping(Signal::Exit(u64::MAX)).check(b""), Err(Refusal::InvalidUrl));
        let with_rid = |signal, rid: &str| Ping { rid: Some(rid.into()), ..uuid_ping(signal) };
        assert_eq!(with_rid(Signal::Exit(256), "12345").check(b""), Err(Refusal::InvalidUrl));
        for bad in ["12345", "684e2e73-017e-465f-8149-d70b7c5aaa490", ""] {
            assert_eq!(with_rid(Signal::Start, bad).check(b""), Err(Refusal::InvalidUuid), "{bad:?}");
        }
        let hb = with_rid(Signal::Start, "04603D8B-EDF4-4E85-8F61-24BEDBCAAB59").check(b"").unwrap();
        assert_eq!(hb.run_id.as_deref(), Some("04603d8b-edf4-4e85-8f61-24bedbcaab59"));
    }

    #[test]
    fn the_body_is_the_output_up_to_the_limit() {
        let hb = uuid_ping(Signal::Fail).check(b"hello world").unwrap();
        assert_eq!(hb.output.as_deref(), Some("hello world"));
        assert_eq!(output(b""), None);
        assert_eq!(output(&[b'a'; 20_000]).unwrap().len(), BODY_LIMIT);
        assert_eq!(output(b"Hello \xe9 World").as_deref(), Some("Hello \u{fffd} World"));
        // A multi-byte character cut by the limit, and invalid bytes, never exceed it.
        let mut body = vec![b'a'; BODY_LIMIT - 1];
        body.extend("é".as_bytes());
        assert!(output(&body).unwrap().len() <= BODY_LIMIT);
        assert!(output(&[0xff; BODY_LIMIT]).unwrap().len() <= BODY_LIMIT);
    }

    #[test]
    fn refusals_answer_healthchecks_words() {
        assert_eq!((Refusal::NotFound.status(), Refusal::NotFound.body()), (404, "not found"));
        assert_eq!((Refusal::InvalidUrl.status(), Refusal::InvalidUrl.body()), (400, "invalid url format"));
        assert_eq!((Refusal::InvalidUuid.status(), Refusal::InvalidUuid.body()), (400, "invalid uuid format"));
    }
}
