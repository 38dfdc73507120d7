//! `systole run`: runs a command as a monitored job (Unix only).
//!
//! 1. Sends `start` with a fresh run id (UUID v4), in the background so an
//!    unreachable server never delays the command.
//! 2. Runs the command with stdin inherited and its stdout and stderr piped:
//!    each chunk is copied to our own stdout or stderr as it arrives and
//!    appended to one [`OutputTail`] (the last 10,000 bytes of both streams,
//!    in arrival order). SIGINT and SIGTERM sent to us are forwarded to the
//!    command.
//! 3. Sends `success` (exit status 0) or `fail` with the exit status, the
//!    duration (monotonic clock) and the output tail, after the start.
//!
//! [`run`] returns the command's own exit status: 128 + N for a command
//! killed by signal N, 127 for a command not found, 126 for one that cannot
//! be executed, as shells do. Monitoring never changes it: a signal that
//! cannot be delivered costs one warning line on stderr.

use std::ffi::{OsStr, OsString};
use std::io::{self, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use signal_hook::consts::{SIGCHLD, SIGINT, SIGTERM};
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::iterator::SignalsInfo;
use signal_hook::low_level::siginfo::Cause;

use crate::{Client, Event, OutputTail, RunSignal};

/// Exit status for a command that was not found (as shells).
pub const EXIT_NOT_FOUND: u8 = 127;
/// Exit status for a command found but not executable (as shells).
pub const EXIT_CANNOT_EXECUTE: u8 = 126;

/// How long to wait, once the command has exited, for the rest of its output
/// (a background process it left may hold the pipes open).
const OUTPUT_GRACE: Duration = Duration::from_secs(2);

/// Where and as what a run is reported.
#[derive(Debug, Clone)]
pub struct Monitor {
    /// The client that sends the signals.
    pub client: Client,
    /// The service id the run belongs to.
    pub service_id: String,
}

/// How a command ended, as `systole run` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// It exited with this status.
    Exited(u8),
    /// A signal killed it (the signal number).
    Killed(i32),
    /// It could not be started: not found (`true`) or not executable.
    NotStarted {
        /// Whether the program was not found (127) rather than not executable (126).
        not_found: bool,
        /// What went wrong, for the message.
        reason: String,
    },
    /// Waiting for it failed (should not happen).
    Lost(String),
}

impl Ending {
    /// The ending of a finished child.
    pub fn of(status: ExitStatus) -> Ending {
        match (status.code(), status.signal()) {
            (Some(code), _) => Ending::Exited(u8::try_from(code & 0xff).unwrap_or(1)),
            (None, Some(signal)) => Ending::Killed(signal),
            (None, None) => Ending::Lost(format!("unknown exit status {status:?}")),
        }
    }

    /// Our own exit status for it, as a shell's `$?`.
    pub fn exit_status(&self) -> u8 {
        match self {
            Ending::Exited(code) => *code,
            Ending::Killed(signal) => u8::try_from(128 + signal).unwrap_or(255),
            Ending::NotStarted { not_found: true, .. } => EXIT_NOT_FOUND,
            Ending::NotStarted { not_found: false, .. } => EXIT_CANNOT_EXECUTE,
            Ending::Lost(_) => 1,
        }
    }

    /// `success` for exit status 0, else `fail`.
    pub fn event(&self) -> Event {
        if *self == Ending::Exited(0) {
            Event::Success
        } else {
            Event::Fail
        }
    }

    /// A one-line explanation for a failure (`None` for a success), e.g.
    /// `exit status 3` or `killed by signal SIGTERM (15)`.
    pub fn message(&self) -> Option<String> {
        match self {
            Ending::Exited(0) => None,
            Ending::Exited(code) => Some(format!("exit status {code}")),
            Ending::Killed(signal) => Some(format!("killed by signal {} ({signal})", signal_name(*signal))),
            Ending::NotStarted { reason, .. } | Ending::Lost(reason) => Some(reason.clone()),
        }
    }
}

/// `SIGTERM` for 15, `signal 64` for a number nix does not name.
pub fn signal_name(signal: i32) -> String {
    Signal::try_from(signal).map_or_else(|_| format!("signal {signal}"), |s| s.as_str().to_owned())
}

/// Runs `program args…` as a monitored job (see the module docs) and returns
/// its exit status. `monitor` `None` runs it unmonitored (after a warning
/// the caller printed). Blocks until the command has exited and the end of
/// the run was sent (or its attempts ran out).
pub fn run(monitor: Option<&Monitor>, program: &OsStr, args: &[OsString]) -> u8 {
    let run_id = uuid::Uuid::new_v4().to_string();
    let start = monitor.cloned().map(|m| {
        let run_id = run_id.clone();
        thread::spawn(move || report(&m, &RunSignal::new(m.service_id.clone(), Event::Start, run_id), "start"))
    });

    // Registered before the spawn, so no SIGCHLD or forwarded signal is missed.
    let mut signals = match SignalsInfo::<WithOrigin>::new([SIGINT, SIGTERM, SIGCHLD]) {
        Ok(signals) => Some(signals),
        Err(err) => {
            warn(&format!("cannot forward signals to the command: {err}"));
            None
        }
    };
    let started = Instant::now();
    let tail = Arc::new(Mutex::new(OutputTail::default()));
    let spawned =
        Command::new(program).args(args).stdin(Stdio::inherit()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    let (ending, duration) = match spawned {
        Err(err) => {
            let reason = format!("cannot run {}: {err}", program.to_string_lossy());
            eprintln!("systole: {reason}");
            (Ending::NotStarted { not_found: err.kind() == io::ErrorKind::NotFound, reason }, started.elapsed())
        }
        Ok(mut child) => {
            let (done, copied) = mpsc::channel();
            if let Some(out) = child.stdout.take() {
                copy_in_background(out, io::stdout(), &tail, &done);
            }
            if let Some(err) = child.stderr.take() {
                copy_in_background(err, io::stderr(), &tail, &done);
            }
            drop(done);
            let ending = match wait(&mut child, signals.as_mut()) {
                Ok(status) => Ending::of(status),
                Err(err) => Ending::Lost(format!("cannot wait for the command: {err}")),
            };
            let duration = started.elapsed();
            let deadline = Instant::now() + OUTPUT_GRACE;
            // Both copiers end (or the grace runs out) before the output is read.
            while copied.recv_timeout(deadline.saturating_duration_since(Instant::now())).is_ok() {}
            (ending, duration)
        }
    };

    // `signals` stays registered until we return: a SIGINT or SIGTERM now cannot cut the
    // report of the run short (it is bounded by the client's attempts).
    if let Some(start) = start {
        // The start goes first; its own failure was already reported.
        let _ = start.join();
    }
    if let Some(monitor) = monitor {
        let output = tail.lock().unwrap_or_else(PoisonError::into_inner).text();
        let end = RunSignal {
            exit_status: Some(ending.exit_status()),
            duration_ms: Some(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)),
            output: Some(output),
            message: ending.message(),
            ..RunSignal::new(monitor.service_id.clone(), ending.event(), run_id)
        };
        let what = match ending.message() {
            Some(message) => format!("end ({message})"),
            None => "end".to_owned(),
        };
        report(monitor, &end, &what);
    }
    ending.exit_status()
}

/// Sends `signal`; on failure prints one warning line naming `what`.
fn report(monitor: &Monitor, signal: &RunSignal, what: &str) {
    if let Err(err) = monitor.client.signal(signal) {
        warn(&format!(
            "could not report the {what} of run {} of {} to {}: {err}",
            signal.run_id,
            monitor.service_id,
            monitor.client.endpoint()
        ));
    }
}

fn warn(text: &str) {
    eprintln!("systole: warning: {text}");
}

/// Copies `from` to `to` chunk by chunk on a new thread, appending every
/// chunk to `tail`; sends on `done` at the end of `from`. A failing `to`
/// (e.g. a closed pipe) stops the copy but not the capture.
fn copy_in_background(
    mut from: impl Read + Send + 'static,
    mut to: impl Write + Send + 'static,
    tail: &Arc<Mutex<OutputTail>>,
    done: &mpsc::Sender<()>,
) {
    let tail = Arc::clone(tail);
    let done = done.clone();
    thread::spawn(move || {
        let mut buf = [0u8; 8192];
        let mut pass_through = true;
        loop {
            match from.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    tail.lock().unwrap_or_else(PoisonError::into_inner).push(&buf[..n]);
                    if pass_through {
                        pass_through = to.write_all(&buf[..n]).and_then(|()| to.flush()).is_ok();
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = done.send(());
    });
}

/// Waits for `child`, forwarding SIGINT and SIGTERM to it. Only this thread
/// reaps the child, so a forwarded signal can never reach a reused pid.
fn wait(child: &mut Child, signals: Option<&mut SignalsInfo<WithOrigin>>) -> io::Result<ExitStatus> {
    let Some(signals) = signals else { return child.wait() };
    let pid = i32::try_from(child.id()).map(Pid::from_raw).map_err(io::Error::other)?;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        for origin in signals.wait() {
            // A terminal's Ctrl-C (sent by the kernel to the whole foreground
            // process group) already reached the command: do not send it twice.
            if origin.signal == SIGCHLD || origin.cause == Cause::Kernel {
                continue;
            }
            if let Ok(signal) = Signal::try_from(origin.signal) {
                let _ = kill(pid, signal);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endings_map_to_shell_exit_statuses_events_and_messages() {
        let cases = [
            (Ending::Exited(0), 0, Event::Success, None),
            (Ending::Exited(3), 3, Event::Fail, Some("exit status 3")),
            (Ending::Killed(15), 143, Event::Fail, Some("killed by signal SIGTERM (15)")),
            (Ending::Killed(9), 137, Event::Fail, Some("killed by signal SIGKILL (9)")),
            (Ending::NotStarted { not_found: true, reason: "nope".into() }, 127, Event::Fail, Some("nope")),
            (Ending::NotStarted { not_found: false, reason: "no x".into() }, 126, Event::Fail, Some("no x")),
        ];
        for (ending, status, event, message) in cases {
            assert_eq!(ending.exit_status(), status, "{ending:?}");
            assert_eq!(ending.event(), event, "{ending:?}");
            assert_eq!(ending.message().as_deref(), message, "{ending:?}");
        }
        assert_eq!(signal_name(2), "SIGINT");
        assert_eq!(signal_name(1000), "signal 1000");
    }

    #[test]
    fn endings_of_real_exit_statuses() {
        assert_eq!(Ending::of(ExitStatus::from_raw(3 << 8)), Ending::Exited(3));
        assert_eq!(Ending::of(ExitStatus::from_raw(15)), Ending::Killed(15));
    }
}
