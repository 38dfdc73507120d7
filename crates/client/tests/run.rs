//! `systole run` as a real process around real shell commands, reporting to a local HTTP
//! receiver that records every request.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

const SYSTOLE: &str = env!("CARGO_BIN_EXE_systole");

/// One recorded request: its head (request line and headers) and its JSON body.
#[derive(Debug)]
struct Request {
    head: String,
    body_len: usize,
    body: Value,
}

/// A local server answering every request with `status`, recording each one.
struct Receiver {
    base: String,
    requests: mpsc::Receiver<Request>,
}

impl Receiver {
    fn start(status: u16) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, requests) = mpsc::channel();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let request = read_request(&stream);
                let body = if status == 200 {
                    r#"{"ok":true,"serviceId":"job","status":"up","receivedAt":"2026-12-03T12:00:00.000Z"}"#
                } else {
                    r#"{"title":"Internal Server Error","status":500,"detail":"boom"}"#
                };
                let answer = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes());
                if tx.send(request).is_err() {
                    break;
                }
            }
        });
        Receiver { base, requests }
    }

    /// Every request received so far (the run has ended: nothing more is coming).
    fn all(&self) -> Vec<Request> {
        self.requests.try_iter().collect()
    }
}

fn read_request(stream: &TcpStream) -> Request {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.trim().parse().unwrap();
            }
        }
        let end = line == "\r\n";
        head.push_str(&line);
        if end {
            break;
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body).unwrap();
    Request { head, body_len: content_length, body: serde_json::from_slice(&body).unwrap() }
}

fn systole(base: &str, command: &[&str]) -> Command {
    let mut cmd = Command::new(SYSTOLE);
    cmd.args(["run", "--url", base, "--service", "job", "--timeout", "2", "--"])
        .args(command)
        .env("SYSTOLE_KEY", "hb_secret")
        .stdin(Stdio::null());
    cmd
}

fn run(base: &str, script: &str) -> Output {
    systole(base, &["sh", "-c", script]).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The start and end requests of one run, checked to share a UUID v4 run id.
fn start_and_end(receiver: &Receiver) -> (Request, Request) {
    let mut requests = receiver.all();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    let end = requests.pop().unwrap();
    let start = requests.pop().unwrap();
    for request in [&start, &end] {
        assert!(request.head.starts_with("POST /api/heartbeat HTTP/1.1\r\n"), "{}", request.head);
        assert!(request.head.to_ascii_lowercase().contains("authorization: bearer hb_secret\r\n"));
        assert_eq!(request.body["serviceId"], "job");
    }
    assert_eq!(start.body["event"], "start");
    let run_id = start.body["runId"].as_str().unwrap();
    assert_eq!(run_id.len(), 36, "{run_id}");
    assert_eq!(&run_id[14..15], "4", "a UUID v4: {run_id}");
    assert_eq!(end.body["runId"], run_id, "the end pairs with the start");
    (start, end)
}

#[test]
fn a_succeeding_command_reports_start_then_success_with_duration_and_output() {
    let receiver = Receiver::start(200);
    let out = run(&receiver.base, "echo to-stdout; sleep 0.3; echo to-stderr >&2");
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "to-stdout\n", "stdout passes through");
    assert_eq!(text(&out.stderr), "to-stderr\n", "stderr passes through, no warning");

    let (start, end) = start_and_end(&receiver);
    assert_eq!(start.body.as_object().unwrap().len(), 3, "start carries only service, event, run id");
    assert_eq!(end.body["event"], "success");
    assert_eq!(end.body["exitStatus"], 0);
    assert_eq!(end.body["output"], "to-stdout\nto-stderr\n", "both streams, in order");
    assert_eq!(end.body.get("message"), None);
    let duration = end.body["durationMs"].as_u64().unwrap();
    assert!((300..10_000).contains(&duration), "{duration} ms");
}

#[test]
fn a_failing_command_reports_fail_with_its_exit_status_and_returns_it() {
    let receiver = Receiver::start(200);
    let out = run(&receiver.base, "echo about to fail; exit 3");
    assert_eq!(out.status.code(), Some(3));
    let (_, end) = start_and_end(&receiver);
    assert_eq!(end.body["event"], "fail");
    assert_eq!(end.body["exitStatus"], 3);
    assert_eq!(end.body["message"], "exit status 3");
    assert_eq!(end.body["output"], "about to fail\n");
}

#[test]
fn a_command_killed_by_a_signal_fails_naming_it_and_exits_128_plus_the_signal() {
    let receiver = Receiver::start(200);
    let out = run(&receiver.base, "kill -TERM $$");
    assert_eq!(out.status.code(), Some(128 + 15));
    let (_, end) = start_and_end(&receiver);
    assert_eq!(end.body["event"], "fail");
    assert_eq!(end.body["exitStatus"], 143);
    assert_eq!(end.body["message"], "killed by signal SIGTERM (15)");
}

/// Starts `systole run` around `script`, waits for its first line of output, sends
/// `signal` to systole (not to the command) and returns what became of it.
fn signal_systole(receiver: &Receiver, script: &str, signal: Signal) -> (Output, String) {
    let mut child =
        systole(&receiver.base, &["sh", "-c", script]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert_eq!(first, "ready\n");
    kill(Pid::from_raw(i32::try_from(child.id()).unwrap()), signal).unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    (child.wait_with_output().unwrap(), rest)
}

#[test]
fn sigterm_to_systole_is_forwarded_and_the_death_reported() {
    let receiver = Receiver::start(200);
    let (out, _) = signal_systole(&receiver, "echo ready; exec sleep 30", Signal::SIGTERM);
    assert_eq!(out.status.code(), Some(143), "systole itself survives and returns the command's status");
    let (_, end) = start_and_end(&receiver);
    assert_eq!(end.body["event"], "fail");
    assert_eq!(end.body["exitStatus"], 143);
    assert_eq!(end.body["message"], "killed by signal SIGTERM (15)");
    assert!(end.body["durationMs"].as_u64().unwrap() < 20_000, "not the full sleep");
}

#[test]
fn sigint_to_systole_reaches_the_commands_own_handler() {
    let receiver = Receiver::start(200);
    let script = "trap 'echo caught INT; exit 7' INT; echo ready; while :; do sleep 0.05; done";
    let (out, rest) = signal_systole(&receiver, script, Signal::SIGINT);
    assert_eq!(rest, "caught INT\n");
    assert_eq!(out.status.code(), Some(7));
    let (_, end) = start_and_end(&receiver);
    assert_eq!(end.body["exitStatus"], 7);
    assert_eq!(end.body["output"], "ready\ncaught INT\n");
}

#[test]
fn an_unreachable_server_costs_warnings_not_the_command() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let started = Instant::now();
    let out = run(&format!("http://127.0.0.1:{port}"), "echo still ran; exit 5");
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(text(&out.stdout), "still ran\n");
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 2, "one warning for the start, one for the end: {stderr}");
    assert!(stderr.lines().all(|l| l.starts_with("systole: warning: could not report the ")), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

#[test]
fn a_silent_server_delays_the_end_by_at_most_the_attempts_and_never_the_command() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let started = Instant::now();
    let out = Command::new(SYSTOLE)
        .args(["run", "--url", &base, "--service", "job", "--timeout", "0.3", "--", "sh", "-c", "exit 4"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    // start and end: each at most 3 × 0.3 s + 0.75 s of backoff
    assert!(started.elapsed() < Duration::from_secs(12), "{:?}", started.elapsed());
    assert_eq!(text(&out.stderr).lines().count(), 2, "{}", text(&out.stderr));
}

#[test]
fn server_errors_cost_a_warning_not_the_command() {
    let receiver = Receiver::start(500);
    let out = run(&receiver.base, "exit 0");
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("HTTP 500") && stderr.contains("boom"), "{stderr}");
    assert_eq!(receiver.all().len(), 6, "three attempts each for start and end");
}

#[test]
fn a_command_that_cannot_be_found_fails_with_127() {
    let receiver = Receiver::start(200);
    let out = systole(&receiver.base, &["/nonexistent/job"]).output().unwrap();
    assert_eq!(out.status.code(), Some(127));
    let (_, end) = start_and_end(&receiver);
    assert_eq!(end.body["event"], "fail");
    assert_eq!(end.body["exitStatus"], 127);
    let message = end.body["message"].as_str().unwrap();
    assert!(message.starts_with("cannot run /nonexistent/job: "), "{message}");
}

#[test]
fn missing_configuration_runs_the_command_unmonitored() {
    let out = Command::new(SYSTOLE)
        .args(["run", "--", "sh", "-c", "echo ran; exit 6"])
        .env_remove("SYSTOLE_URL")
        .env_remove("SYSTOLE_SERVICE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(text(&out.stdout), "ran\n");
    assert!(text(&out.stderr).contains("running the command unmonitored"), "{}", text(&out.stderr));
}

#[test]
fn long_output_passes_through_whole_and_reports_its_last_10000_bytes() {
    let receiver = Receiver::start(200);
    let out = run(&receiver.base, "i=0; while [ $i -lt 3000 ]; do echo \"line $i\"; i=$((i+1)); done");
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("line 0\nline 1\n") && stdout.len() > 20_000, "all of it passes through");
    let (_, end) = start_and_end(&receiver);
    let output = end.body["output"].as_str().unwrap();
    assert_eq!(output.len(), 10_000);
    assert!(stdout.ends_with(output), "the tail");
}

#[test]
fn binary_output_is_sent_lossy_and_whole_within_the_body_limit() {
    let receiver = Receiver::start(200);
    // 12,000 NUL bytes: each is six bytes of JSON (\u0000).
    let out = run(&receiver.base, "head -c 12000 /dev/zero; printf '\\377end'");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout.len(), 12_004, "bytes pass through unchanged");
    let (_, end) = start_and_end(&receiver);
    let output = end.body["output"].as_str().unwrap();
    assert!(output.ends_with("\u{fffd}end"), "invalid UTF-8 becomes U+FFFD");
    // The whole 10,000-byte tail: the server's limit is 16 KiB plus 5 bytes per output byte.
    assert!(output.len() > 9_990 && output.trim_end_matches("\u{fffd}end").bytes().all(|b| b == 0));
    assert!(end.body_len <= 16 * 1024 + 5 * output.len(), "{} bytes", end.body_len);
}
