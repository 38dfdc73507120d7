//! Run signals: what `systole run` (or any job wrapper) tells the server
//! about one run of a job, and the output tail it sends along.
//!
//! Wire format (the native single heartbeat, `POST /api/heartbeat`):
//!
//! ```json
//! {"serviceId": "nightly-backup", "event": "fail",
//!  "runId": "2f1c…-uuid-v4", "exitStatus": 3, "durationMs": 5123,
//!  "output": "last bytes of the job's output", "message": "exit status 3"}
//! ```
//!
//! `event` is `start`, `success`, `fail` or `log`; the server pairs a start
//! with its end by `runId`, keeps the first 10,000 bytes of `output`, and
//! refuses bodies over 16 KiB plus five bytes per byte of `output` (the
//! room its JSON escaping may take), so [`RunSignal::to_body`] always fits
//! the last 10,000 bytes.

use std::collections::VecDeque;

use serde::Serialize;

/// Largest request body the server accepts, in bytes (16 KiB, the server's
/// `MAX_BODY_BYTES` in `crates/core/src/api/heartbeat.rs`).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Bytes the server lets a body exceed [`MAX_BODY_BYTES`] by per byte of
/// `output` (`OUTPUT_ESCAPE_BYTES` in `crates/core/src/api/heartbeat.rs`):
/// JSON escapes a byte into at most six.
pub const OUTPUT_ESCAPE_BYTES: usize = 5;

/// Bytes of a run's output that are kept and sent: 10,000, as the server
/// keeps (`MAX_OUTPUT_BYTES` in `crates/core/src/monitor.rs`).
pub const MAX_OUTPUT_BYTES: usize = 10_000;

/// Longest `message` the server accepts, in UTF-8 bytes (1 KiB).
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// What a run signal says happened. Serialized lowercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    /// The run started (`"start"`).
    Start,
    /// The run finished well (`"success"`).
    Success,
    /// The run failed (`"fail"`): a non-zero exit status, a signal, or a
    /// command that could not be started.
    Fail,
    /// Output only, no state change (`"log"`).
    Log,
}

/// One run signal: the JSON body of a job's start or end (see the module
/// docs for the shape). Absent fields are omitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSignal {
    /// Service id as configured on the server (`serviceId`).
    pub service_id: String,
    /// What happened (`event`).
    pub event: Event,
    /// Pairs the start of a run with its end (`runId`), a UUID.
    pub run_id: String,
    /// The command's exit status, 0–255 (`exitStatus`); a command killed by
    /// signal N reports 128 + N, as shells do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<u8>,
    /// How long the run took, in milliseconds (`durationMs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The tail of the command's output (`output`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// A one-line explanation (`message`), e.g. `killed by signal SIGTERM`;
    /// cut to [`MAX_MESSAGE_BYTES`] when sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl RunSignal {
    /// A signal with only the service, the event and the run id set.
    pub fn new(service_id: impl Into<String>, event: Event, run_id: impl Into<String>) -> Self {
        RunSignal {
            service_id: service_id.into(),
            event,
            run_id: run_id.into(),
            exit_status: None,
            duration_ms: None,
            output: None,
            message: None,
        }
    }

    /// The JSON request body, within the server's limit ([`MAX_BODY_BYTES`]
    /// plus [`OUTPUT_ESCAPE_BYTES`] per byte of output) unless the service id
    /// and run id alone are longer: the message is cut to
    /// [`MAX_MESSAGE_BYTES`] and the output to its last [`MAX_OUTPUT_BYTES`],
    /// which always fit (escapes such as `\u0001` make a byte of output cost
    /// up to six bytes of JSON); with ids too long for that, the output is
    /// cut further from its start until the body is within
    /// [`MAX_BODY_BYTES`].
    pub fn to_body(&self) -> Vec<u8> {
        let mut signal = self.clone();
        signal.message = signal.message.map(|m| head(&m, MAX_MESSAGE_BYTES).to_owned());
        let output = signal.output.take();
        signal.output = output.as_ref().map(|_| String::new());
        let base = serialize(&signal).len();
        if let Some(output) = output {
            let kept = tail(&output, MAX_OUTPUT_BYTES);
            let escaped: usize = kept.chars().map(escaped_len).sum();
            let fits = base + escaped <= MAX_BODY_BYTES + OUTPUT_ESCAPE_BYTES * kept.len();
            let budget = MAX_BODY_BYTES.saturating_sub(base);
            signal.output = Some(if fits { kept } else { json_tail(kept, budget) }.to_owned());
        }
        serialize(&signal)
    }
}

fn serialize(signal: &RunSignal) -> Vec<u8> {
    // A struct of strings and integers always serializes.
    serde_json::to_vec(signal).unwrap_or_default()
}

/// The longest prefix of `text` of at most `max` bytes, cut at a character
/// boundary.
fn head(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The longest suffix of `text` of at most `max` bytes, cut at a character
/// boundary.
fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// The longest suffix of `text` whose JSON string escaping (as serde_json
/// writes it, quotes excluded) takes at most `budget` bytes.
fn json_tail(text: &str, budget: usize) -> &str {
    let mut used = 0;
    let mut start = text.len();
    for (i, c) in text.char_indices().rev() {
        used += escaped_len(c);
        if used > budget {
            break;
        }
        start = i;
    }
    &text[start..]
}

/// Bytes `c` takes inside a JSON string written by serde_json.
fn escaped_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{08}' | '\u{0c}' => 2,
        '\u{00}'..='\u{1f}' => 6,
        _ => c.len_utf8(),
    }
}

/// The last [`MAX_OUTPUT_BYTES`] (or another capacity) of a byte stream,
/// e.g. a command's interleaved stdout and stderr.
#[derive(Debug, Clone)]
pub struct OutputTail {
    buf: VecDeque<u8>,
    capacity: usize,
    dropped: bool,
}

impl Default for OutputTail {
    fn default() -> Self {
        OutputTail::with_capacity(MAX_OUTPUT_BYTES)
    }
}

impl OutputTail {
    /// An empty tail keeping the last `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        OutputTail { buf: VecDeque::with_capacity(capacity.min(MAX_OUTPUT_BYTES)), capacity, dropped: false }
    }

    /// Appends `bytes`, dropping the oldest bytes beyond the capacity.
    pub fn push(&mut self, bytes: &[u8]) {
        let bytes = if bytes.len() > self.capacity {
            self.dropped = true;
            &bytes[bytes.len() - self.capacity..]
        } else {
            bytes
        };
        let excess = (self.buf.len() + bytes.len()).saturating_sub(self.capacity);
        if excess > 0 {
            self.dropped = true;
            self.buf.drain(..excess);
        }
        self.buf.extend(bytes);
    }

    /// The kept bytes as text: invalid UTF-8 becomes U+FFFD, the partial
    /// character left at the front by dropping older bytes is skipped, and
    /// the result is cut to the capacity in bytes (from the front) again.
    pub fn text(&self) -> String {
        let (front, back) = self.buf.as_slices();
        let mut bytes = Vec::with_capacity(self.buf.len());
        bytes.extend_from_slice(front);
        bytes.extend_from_slice(back);
        let mut start = 0;
        if self.dropped {
            // At most three continuation bytes (10xxxxxx) end a character cut in two.
            while start < 3.min(bytes.len()) && bytes[start] & 0xC0 == 0x80 {
                start += 1;
            }
        }
        let text = String::from_utf8_lossy(&bytes[start..]);
        tail(&text, self.capacity).to_owned()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn signal_json_shape() {
        let start = RunSignal::new("backup", Event::Start, "r1");
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&start.to_body()).unwrap(),
            serde_json::json!({"serviceId": "backup", "event": "start", "runId": "r1"})
        );
        let fail = RunSignal {
            exit_status: Some(3),
            duration_ms: Some(1500),
            output: Some("oops\n".into()),
            message: Some("exit status 3".into()),
            ..RunSignal::new("backup", Event::Fail, "r1")
        };
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&fail.to_body()).unwrap(),
            serde_json::json!({"serviceId": "backup", "event": "fail", "runId": "r1", "exitStatus": 3,
                "durationMs": 1500, "output": "oops\n", "message": "exit status 3"})
        );
    }

    #[test]
    fn the_whole_output_tail_is_sent_however_it_escapes() {
        let cases = [
            "\u{1}".repeat(20_000),
            "\"".repeat(20_000),
            "é".repeat(20_000),
            "\u{fffd}".repeat(5_000),
            format!("{}END", "x".repeat(20_000)),
        ];
        for output in cases {
            let signal = RunSignal {
                output: Some(output.clone()),
                message: Some("m".repeat(5000)),
                ..RunSignal::new("svc", Event::Success, "r")
            };
            let body = signal.to_body();
            let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let sent = value["output"].as_str().unwrap();
            assert!(output.ends_with(sent), "the tail is kept");
            assert!(sent.len() > MAX_OUTPUT_BYTES - 4 && sent.len() <= MAX_OUTPUT_BYTES, "{}", sent.len());
            assert!(body.len() <= MAX_BODY_BYTES + OUTPUT_ESCAPE_BYTES * sent.len(), "{} bytes", body.len());
            assert_eq!(value["message"].as_str().unwrap().len(), MAX_MESSAGE_BYTES);
        }
    }

    #[test]
    fn with_ids_too_long_for_the_allowance_the_body_fits_the_plain_limit() {
        // Ids no server accepts, but the output is still cut rather than the body grown.
        let signal = RunSignal {
            output: Some(format!("{}END", "\u{1}".repeat(20_000))),
            ..RunSignal::new("s".repeat(7_000), Event::Success, "r".repeat(7_000))
        };
        let body = signal.to_body();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let sent = value["output"].as_str().unwrap();
        assert!(body.len() <= MAX_BODY_BYTES && body.len() > MAX_BODY_BYTES - 6, "{}", body.len());
        assert!(sent.ends_with("END") && sent.len() < 1000, "{}", sent.len());
    }

    #[test]
    fn escaped_lengths_match_serde_json() {
        for c in (0u32..0x200).filter_map(char::from_u32).chain(['\u{2028}', '\u{fffd}', '😀']) {
            let json = serde_json::to_string(&c.to_string()).unwrap();
            assert_eq!(escaped_len(c), json.len() - 2, "{c:?}");
        }
    }

    #[test]
    fn tail_keeps_the_last_bytes_across_pushes() {
        let mut t = OutputTail::with_capacity(5);
        t.push(b"abc");
        assert_eq!(t.text(), "abc");
        t.push(b"defg");
        assert_eq!(t.text(), "cdefg");
        t.push(b"0123456789");
        assert_eq!(t.text(), "56789");
    }

    #[test]
    fn tail_text_skips_a_cut_character_and_replaces_invalid_bytes() {
        let mut t = OutputTail::with_capacity(5);
        t.push("aé".as_bytes()); // 61 c3 a9
        t.push("bcd".as_bytes()); // the first byte dropped: a
        assert_eq!(t.text(), "ébcd");
        t.push(b"e"); // drops c3: a9 is a cut character
        assert_eq!(t.text(), "bcde");
        let mut binary = OutputTail::with_capacity(4);
        binary.push(&[0xff, b'o', b'k', 0xfe]);
        // "\u{fffd}ok\u{fffd}" is 8 bytes: its last 4 are kept.
        assert_eq!(binary.text(), "k\u{fffd}");
        let mut all_invalid = OutputTail::with_capacity(10);
        all_invalid.push(&[0xff; 10]);
        assert!(all_invalid.text().len() <= 10);
    }
}
