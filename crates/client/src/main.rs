//! `systole`: command-line heartbeat sender for Systole.
//!
//! ```text
//! systole beat [--url URL] [--service ID] [--key KEY]
//!              [--status up|degraded|down] [--message TEXT] [--timeout SECS]
//! systole run  [--url URL] [--service ID] [--key KEY] [--timeout SECS] -- command args…
//! ```
//!
//! Flags override the environment (`SYSTOLE_URL`, `SYSTOLE_SERVICE`,
//! `SYSTOLE_KEY`, `SYSTOLE_STATUS`, `SYSTOLE_MESSAGE`, `SYSTOLE_TIMEOUT`);
//! empty variables count as unset. `beat`'s exit status: 0 recorded, 1
//! delivery failed (server error or unreachable), 2 usage or configuration
//! error. `run`'s exit status is the command's own (see
//! [`systole_client::run`]); a configuration error only costs a warning and
//! the command runs unmonitored.

#[cfg(unix)]
use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use systole_client::{
    parse_timeout_secs, Client, Error, Heartbeat, Status, DEFAULT_TIMEOUT, ENV_KEY, ENV_MESSAGE, ENV_SERVICE,
    ENV_STATUS, ENV_TIMEOUT, ENV_URL, MAX_ATTEMPTS,
};

/// Exit status when the heartbeat could not be delivered or was rejected.
const EXIT_FAILED: u8 = 1;
/// Exit status for usage and configuration errors (same as clap's).
const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(name = "systole", version, about = "Send heartbeats to a Systole worker.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Send one heartbeat (up to 3 attempts; retries network errors, 429 and 5xx).
    #[command(after_help = "\
Every flag falls back to its environment variable; empty variables count as unset.

Exit status: 0 recorded, 1 delivery failed (server error or unreachable), 2 usage/config error.")]
    Beat(BeatArgs),

    /// Run a command as a monitored job: report its start, then its success or failure
    /// with exit status, duration and the last 10,000 bytes of its output.
    #[cfg(unix)]
    #[command(after_help = "\
Every flag falls back to its environment variable; empty variables count as unset.

The command's stdin is passed through; its stdout and stderr are piped through systole
(programs that check for a terminal see a pipe). SIGINT and SIGTERM are forwarded to it.

Exit status: the command's own (128 + N when killed by signal N, 127 not found, 126 not
executable). Monitoring never changes it: when the server is unreachable, answers an error
or the configuration is incomplete, systole prints one warning on stderr and goes on.")]
    Run(RunArgs),
}

#[cfg(unix)]
#[derive(Debug, Default, Args)]
struct RunArgs {
    /// Base URL of the worker, without /api, e.g. http://localhost:8787 [env: SYSTOLE_URL]
    #[arg(long, value_name = "URL")]
    url: Option<String>,

    /// Service id [env: SYSTOLE_SERVICE]
    #[arg(long, value_name = "ID")]
    service: Option<String>,

    /// Heartbeat key; omit for services with auth disabled. Prefer the env
    /// variable: flags are visible to other users in `ps` [env: SYSTOLE_KEY]
    #[arg(long, value_name = "KEY")]
    key: Option<String>,

    /// Per-attempt timeout in seconds, decimals allowed [env: SYSTOLE_TIMEOUT] [default: 10]
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    timeout: Option<Duration>,

    /// The command and its arguments (after `--`)
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

#[derive(Debug, Default, Args)]
struct BeatArgs {
    /// Base URL of the worker, without /api, e.g. http://localhost:8787 [env: SYSTOLE_URL]
    #[arg(long, value_name = "URL")]
    url: Option<String>,

    /// Service id [env: SYSTOLE_SERVICE]
    #[arg(long, value_name = "ID")]
    service: Option<String>,

    /// Heartbeat key; omit for services with auth disabled. Prefer the env
    /// variable: flags are visible to other users in `ps` [env: SYSTOLE_KEY]
    #[arg(long, value_name = "KEY")]
    key: Option<String>,

    /// Reported status [env: SYSTOLE_STATUS] [default: up]
    #[arg(long, value_name = "up|degraded|down", value_parser = parse_status)]
    status: Option<Status>,

    /// Free-text message, at most 1 KiB [env: SYSTOLE_MESSAGE]
    #[arg(long, value_name = "TEXT")]
    message: Option<String>,

    /// Per-attempt timeout in seconds, decimals allowed [env: SYSTOLE_TIMEOUT] [default: 10]
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    timeout: Option<Duration>,
}

fn parse_status(text: &str) -> Result<Status, String> {
    text.parse().map_err(config_message)
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    parse_timeout_secs(text).map_err(config_message)
}

/// The message of a config error without the "invalid configuration" prefix.
fn config_message(err: Error) -> String {
    match err {
        Error::Config(message) => message,
        other => other.to_string(),
    }
}

/// Merges flags with the environment (`env` returns `None` for unset or
/// empty variables) into a ready client and heartbeat.
fn resolve(args: BeatArgs, env: impl Fn(&str) -> Option<String>) -> Result<(Client, Heartbeat), Error> {
    let pick = |flag: Option<String>, var: &str| flag.filter(|v| !v.trim().is_empty()).or_else(|| env(var));
    let (url, service) = url_and_service(args.url, args.service, &env)?;
    let key = pick(args.key, ENV_KEY);
    let status = match args.status {
        Some(status) => status,
        None => match env(ENV_STATUS) {
            Some(text) => text.parse().map_err(|e| Error::Config(format!("{ENV_STATUS}: {}", config_message(e))))?,
            None => Status::Up,
        },
    };
    let message = match args.message {
        Some(message) => Some(message).filter(|m| !m.is_empty()),
        None => env(ENV_MESSAGE),
    };
    let timeout = timeout_or_env(args.timeout, &env)?;

    let client = Client::new(&url, key.as_deref(), timeout)?;
    let mut heartbeat = Heartbeat::new(service).with_status(status);
    heartbeat.message = message;
    Ok((client, heartbeat))
}

/// The URL and the service id from the flags or the environment.
fn url_and_service(
    url: Option<String>,
    service: Option<String>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<(String, String), Error> {
    let pick = |flag: Option<String>, var: &str| flag.filter(|v| !v.trim().is_empty()).or_else(|| env(var));
    let url = pick(url, ENV_URL).ok_or_else(|| Error::Config(format!("no URL: pass --url or set {ENV_URL}")))?;
    let service = pick(service, ENV_SERVICE)
        .map(|s| s.trim().to_owned())
        .ok_or_else(|| Error::Config(format!("no service id: pass --service or set {ENV_SERVICE}")))?;
    Ok((url, service))
}

/// The `--timeout` flag, else `SYSTOLE_TIMEOUT`, else [`DEFAULT_TIMEOUT`].
fn timeout_or_env(flag: Option<Duration>, env: &impl Fn(&str) -> Option<String>) -> Result<Duration, Error> {
    match flag {
        Some(timeout) => Ok(timeout),
        None => match env(ENV_TIMEOUT) {
            Some(text) => {
                parse_timeout_secs(&text).map_err(|e| Error::Config(format!("{ENV_TIMEOUT}: {}", config_message(e))))
            }
            None => Ok(DEFAULT_TIMEOUT),
        },
    }
}

/// Merges `systole run`'s flags with the environment into where to report the run.
#[cfg(unix)]
fn resolve_run(args: &RunArgs, env: impl Fn(&str) -> Option<String>) -> Result<systole_client::run::Monitor, Error> {
    let (url, service_id) = url_and_service(args.url.clone(), args.service.clone(), &env)?;
    let key = args.key.clone().filter(|v| !v.trim().is_empty()).or_else(|| env(ENV_KEY));
    let timeout = timeout_or_env(args.timeout, &env)?;
    let client = Client::new(&url, key.as_deref(), timeout)?;
    Ok(systole_client::run::Monitor { client, service_id })
}

/// `systole run`: the command's own exit status, monitored when the configuration allows.
#[cfg(unix)]
fn main_run(args: &RunArgs) -> ExitCode {
    let monitor = match resolve_run(args, env_var) {
        Ok(monitor) => Some(monitor),
        Err(err) => {
            eprintln!("systole: warning: {err}; running the command unmonitored");
            None
        }
    };
    let Some((program, rest)) = args.command.split_first() else {
        // clap requires at least one value.
        return ExitCode::from(EXIT_USAGE);
    };
    ExitCode::from(systole_client::run::run(monitor.as_ref(), program, rest))
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn main() -> ExitCode {
    let args = match Cli::parse().command {
        Command::Beat(args) => args,
        #[cfg(unix)]
        Command::Run(args) => return main_run(&args),
    };

    let (client, heartbeat) = match resolve(args, env_var) {
        Ok(ready) => ready,
        Err(err) => {
            eprintln!("systole: {err}");
            return ExitCode::from(EXIT_USAGE);
        }
    };

    match client.beat(&heartbeat) {
        Ok(receipt) => {
            println!(
                "systole: heartbeat recorded: service={} status={} receivedAt={}",
                receipt.service_id, receipt.status, receipt.received_at
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            // A retryable final error means every attempt was used.
            let attempts = if err.is_retryable() { format!(" (after {MAX_ATTEMPTS} attempts)") } else { String::new() };
            eprintln!(
                "systole: heartbeat for {} to {} failed: {err}{attempts}",
                heartbeat.service_id,
                client.endpoint()
            );
            match err {
                Error::Config(_) => ExitCode::from(EXIT_USAGE),
                _ => ExitCode::from(EXIT_FAILED),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name| map.get(name).cloned().filter(|v| !v.trim().is_empty())
    }

    #[test]
    fn cli_definition_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn usage_errors_exit_2() {
        let err = Cli::try_parse_from(["systole", "beat", "--status", "sideways"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let err = Cli::try_parse_from(["systole", "beat", "--timeout", "0"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let err = Cli::try_parse_from(["systole"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn run_takes_the_command_after_its_flags_verbatim() {
        let cli = Cli::try_parse_from(["systole", "run", "--service", "job", "--", "sh", "-c", "exit 3", "--url"]);
        let Command::Run(args) = cli.unwrap().command else { panic!("not run") };
        assert_eq!(args.service.as_deref(), Some("job"));
        assert_eq!(args.url, None, "a flag after the command belongs to the command");
        assert_eq!(args.command, ["sh", "-c", "exit 3", "--url"]);
        // Without `--`, the command starts at the first value that is not a flag of ours.
        let cli = Cli::try_parse_from(["systole", "run", "backup.sh", "--full"]).unwrap();
        let Command::Run(args) = cli.command else { panic!("not run") };
        assert_eq!(args.command, ["backup.sh", "--full"]);
        let err = Cli::try_parse_from(["systole", "run", "--service", "job"]).unwrap_err();
        assert_eq!(err.exit_code(), 2, "a command is required");
    }

    #[cfg(unix)]
    #[test]
    fn run_flags_fall_back_to_the_environment() {
        let env = env_of(&[
            ("SYSTOLE_URL", "http://localhost:8787"),
            ("SYSTOLE_SERVICE", "nightly"),
            ("SYSTOLE_TIMEOUT", "1.5"),
            ("SYSTOLE_STATUS", "bogus"),
        ]);
        let args = RunArgs { command: vec!["true".into()], ..RunArgs::default() };
        let monitor = resolve_run(&args, &env).unwrap();
        assert_eq!(monitor.service_id, "nightly");
        assert_eq!(monitor.client.endpoint(), "http://localhost:8787/api/heartbeat");
        assert_eq!(monitor.client.timeout(), Duration::from_millis(1500));
        let args = RunArgs { service: Some("flag".into()), ..args };
        assert_eq!(resolve_run(&args, &env).unwrap().service_id, "flag");
        assert!(matches!(resolve_run(&args, env_of(&[])), Err(Error::Config(_))));
    }

    #[test]
    fn env_fallbacks() {
        let env = env_of(&[
            ("SYSTOLE_URL", "http://localhost:8787/"),
            ("SYSTOLE_SERVICE", "api-prod"),
            ("SYSTOLE_KEY", ""),
            ("SYSTOLE_STATUS", "degraded"),
            ("SYSTOLE_MESSAGE", "slow"),
            ("SYSTOLE_TIMEOUT", "2.5"),
        ]);
        let (client, beat) = resolve(BeatArgs::default(), env).unwrap();
        assert_eq!(client.endpoint(), "http://localhost:8787/api/heartbeat");
        assert_eq!(client.timeout(), Duration::from_millis(2500));
        assert_eq!(beat.service_id, "api-prod");
        assert_eq!(beat.status, Status::Degraded);
        assert_eq!(beat.message.as_deref(), Some("slow"));
    }

    #[test]
    fn flags_override_env() {
        let env = env_of(&[("SYSTOLE_URL", "http://env"), ("SYSTOLE_SERVICE", "env-svc"), ("SYSTOLE_STATUS", "bogus")]);
        let args = BeatArgs {
            url: Some("https://flag.example".into()),
            service: Some("flag-svc".into()),
            status: Some(Status::Down),
            ..BeatArgs::default()
        };
        let (client, beat) = resolve(args, env).unwrap();
        assert_eq!(client.endpoint(), "https://flag.example/api/heartbeat");
        assert_eq!(beat.service_id, "flag-svc");
        assert_eq!(beat.status, Status::Down);
        assert_eq!(beat.message, None);
        assert_eq!(client.timeout(), DEFAULT_TIMEOUT);
    }

    #[test]
    fn missing_or_bad_config_is_a_config_error() {
        let missing_url = resolve(BeatArgs::default(), env_of(&[("SYSTOLE_SERVICE", "x")]));
        assert!(matches!(missing_url, Err(Error::Config(_))));
        let missing_service = resolve(BeatArgs::default(), env_of(&[("SYSTOLE_URL", "http://x")]));
        assert!(matches!(missing_service, Err(Error::Config(_))));
        let bad_status = resolve(
            BeatArgs::default(),
            env_of(&[("SYSTOLE_URL", "http://x"), ("SYSTOLE_SERVICE", "x"), ("SYSTOLE_STATUS", "meh")]),
        );
        assert!(matches!(bad_status, Err(Error::Config(m)) if m.starts_with("SYSTOLE_STATUS")));
    }
}
