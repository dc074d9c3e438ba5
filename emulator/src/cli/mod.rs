//! The `lambkin` command line: the subcommands (one module each, with its `Args` and `run`), the
//! options they share, and the process set-up every subcommand gets (logging, the open-files
//! limit, signals, a tokio runtime).

mod build;
mod deploy;
mod event;
mod invoke;
mod schedule;
mod watch;
mod workflow;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use lambkin_emulator::dev::package::Arch;

/// A local AWS Lambda for Rust functions.
///
/// Finds the functions to serve (a SAM `template.yaml`, a `serverless.yml`, or every binary of
/// the Cargo workspace that depends on `lambkin` or `lambda_runtime`), builds them, and serves
/// them behind Lambda's Invoke API and an API Gateway front, each invocation running in a real
/// function process speaking the Lambda Runtime API. Sources are watched: a saved edit is
/// rebuilt and the next request runs the new code.
#[derive(Debug, Parser)]
#[command(name = "lambkin", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// With no subcommand, `lambkin` runs `watch`.
    #[command(flatten)]
    watch: watch::WatchArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build the functions and serve them, rebuilding on change (the default).
    Watch(watch::WatchArgs),
    /// Build functions for AWS Lambda: `target/lambda/<function>/bootstrap` and bootstrap.zip.
    Build(build::BuildArgs),
    /// Build a function for Lambda and deploy it: to AWS, or to any Lambda API (such as a
    /// running `lambkin`) with --endpoint-url.
    Deploy(deploy::DeployArgs),
    /// Invoke a function of a running emulator and print its answer.
    Invoke(invoke::InvokeArgs),
    /// Print a sample event, as the AWS service sends it.
    Event(event::EventArgs),
    /// The project's schedules: `lambkin schedule list` shows their next fire times.
    Schedule(schedule::ScheduleArgs),
    /// Run a Step Functions state machine of a running emulator.
    Workflow(workflow::WorkflowArgs),
}

/// Parses the command line and runs the subcommand; the exit code says how it went.
pub(crate) fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging();
    #[cfg(unix)]
    raise_open_files_limit();
    let done = match cli.command {
        Some(Command::Watch(args)) => watch::run(args),
        None => watch::run(cli.watch),
        Some(Command::Build(args)) => build::run(args),
        Some(Command::Deploy(args)) => deploy::run(args),
        Some(Command::Invoke(args)) => invoke::run(args),
        Some(Command::Event(args)) => event::run(args),
        Some(Command::Schedule(args)) => schedule::run(args),
        Some(Command::Workflow(args)) => workflow::run(args),
    };
    match done {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // The message and its causes, one line: not anyhow's `Debug` form, which adds a
            // stack backtrace whenever RUST_BACKTRACE is set (as it often is in Rust shells).
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Which functions to serve.
#[derive(Debug, Args)]
#[command(next_help_heading = "Functions")]
struct SelectArgs {
    /// Serve only the functions of this package (repeatable).
    #[arg(short = 'p', long = "package", value_name = "SPEC")]
    packages: Vec<String>,
    /// Read the functions and routes from this SAM template or serverless.yml (default: the
    /// first of template.yaml, template.yml, serverless.yml, serverless.yaml found here).
    #[arg(long, value_name = "FILE")]
    template: Option<PathBuf>,
}

/// The architecture a function is built for.
#[derive(Debug, Args)]
struct ArchArgs {
    /// Build for arm64 (Graviton).
    #[arg(long, conflicts_with = "x86_64")]
    arm64: bool,
    /// Build for x86_64 (the default).
    #[arg(long)]
    x86_64: bool,
}

impl ArchArgs {
    fn arch(&self) -> Arch {
        if self.arm64 {
            Arch::Arm64
        } else {
            Arch::X86_64
        }
    }
}

/// The cargo profile the served functions are built with (the first build and every rebuild).
#[derive(Debug, Args)]
#[command(next_help_heading = "Building")]
struct ProfileArgs {
    /// Build the functions with the `release` profile.
    #[arg(long, conflicts_with = "profile")]
    release: bool,
    /// Build the functions with this cargo profile.
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
}

impl ProfileArgs {
    /// The `cargo build` arguments selecting the profile.
    fn cargo_args(&self) -> Vec<String> {
        match (&self.profile, self.release) {
            (Some(name), _) => vec!["--profile".to_owned(), name.clone()],
            (None, true) => vec!["--release".to_owned()],
            (None, false) => Vec::new(),
        }
    }
}

/// A size in bytes, written with an optional unit: `KiB`/`MiB`/`GiB`/`TiB` (or `K`/`M`/`G`/`T`)
/// are powers of 1024, `KB`/`MB`/`GB`/`TB` powers of 1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Size(u64);

const SIZE_UNITS: [(&str, u64); 13] = [
    ("TiB", 1 << 40),
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
    ("TB", 1_000_000_000_000),
    ("GB", 1_000_000_000),
    ("MB", 1_000_000),
    ("KB", 1_000),
    ("T", 1 << 40),
    ("G", 1 << 30),
    ("M", 1 << 20),
    ("K", 1 << 10),
    ("B", 1),
];

impl std::str::FromStr for Size {
    type Err = String;

    fn from_str(text: &str) -> Result<Size, String> {
        let text = text.trim();
        let digits = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(digits);
        let unit = unit.trim();
        let scale = match unit {
            "" => Some(1),
            _ => SIZE_UNITS
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(unit))
                .map(|(_, scale)| *scale),
        };
        let bytes = number
            .parse::<u64>()
            .ok()
            .zip(scale)
            .and_then(|(n, scale)| n.checked_mul(scale));
        bytes
            .map(Size)
            .ok_or_else(|| format!("`{text}` is not a size (e.g. 2147483648, 500MiB, 2GiB, 1GB)"))
    }
}

impl std::fmt::Display for Size {
    /// The largest binary unit that divides the size exactly.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = SIZE_UNITS[..4]
            .iter()
            .find(|(_, scale)| self.0 != 0 && self.0 % scale == 0);
        match unit {
            Some((name, scale)) => write!(f, "{}{name}", self.0 / scale),
            None => write!(f, "{}", self.0),
        }
    }
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
}

/// Runs `future` on a new tokio runtime. Tasks still running when it is done (a build, the file
/// watchers, an idle connection) get a second, and must not hold the exit up longer.
fn block_on<F: Future>(future: F) -> anyhow::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads())
        .enable_all()
        .build()?;
    let output = runtime.block_on(future);
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(output)
}

/// The emulator's async worker threads: a quarter of the CPUs, at least one.
///
/// Its work per invocation is short hops between sockets (the caller's, the runtime's `/next`
/// and `/response`), and every hop that lands on another worker costs a wake-up through the
/// kernel (futex and epoll calls: BENCHMARKS.md): on a 2-CPU machine a second worker added
/// about a fifth to the emulator's CPU per invocation. The function processes need the CPUs
/// more. Blocking work runs on tokio's blocking threads, which this does not limit.
fn worker_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |cpus| (cpus.get() / 4).max(1))
}

/// The cargo to run: the one running us (`cargo run`), else the one on the `PATH`.
fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"))
}

/// Prints to stdout; a closed pipe (`lambkin event sqs | head`) is not an error.
fn print_out(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Listens for Ctrl-C and SIGTERM from this call on (not from the first poll, which may come
/// after a signal); the future resolves at the first. A second one exits the process at once
/// (the function processes die with it), however the graceful shutdown is doing.
fn shutdown_signal() -> impl Future<Output = ()> {
    let signals = Signals::new();
    async move {
        let mut signals = match signals {
            Ok(signals) => signals,
            Err(error) => {
                tracing::error!(%error, "cannot listen for Ctrl-C and SIGTERM");
                return std::future::pending().await;
            }
        };
        signals.recv().await;
        tokio::spawn(async move {
            let code = signals.recv().await;
            tracing::warn!("second signal: exiting now");
            std::process::exit(code);
        });
    }
}

/// The signals that stop `lambkin`, listened for from start to exit (so a second one is not
/// missed between two listeners).
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Waits for the next signal; returns the exit code it calls for (128 + its number).
    async fn recv(&mut self) -> i32 {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => 128 + libc::SIGINT,
                _ = self.terminate.recv() => 128 + libc::SIGTERM,
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            130
        }
    }
}

/// Raises the soft limit on open files to the hard limit: every connection, and every
/// function instance (its pipes and Runtime API listener), takes descriptors, and the usual
/// soft limit of 1024 would make new requests hang long before the connection cap.
#[cfg(unix)]
fn raise_open_files_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        let error = std::io::Error::last_os_error();
        tracing::debug!(%error, "cannot read the open files limit");
        return;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct it is given.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        } else {
            // macOS refuses more than OPEN_MAX even under an unlimited hard limit.
            let error = std::io::Error::last_os_error();
            tracing::debug!(%error, "cannot raise the open files limit");
        }
    }
    tracing::debug!(
        soft = limit.rlim_cur,
        hard = limit.rlim_max,
        "open files limit"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn watch_is_the_default() {
        let cli = Cli::try_parse_from(["lambkin", "--port", "9100", "-p", "a"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.watch.serve.port, 9100);
        assert_eq!(cli.watch.select.packages, ["a"]);
        let cli = Cli::try_parse_from(["lambkin", "watch", "--no-reload"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Watch(a)) if a.reload.no_reload));
    }

    #[test]
    fn deploy_limits() {
        let cli = Cli::try_parse_from(["lambkin"]).unwrap();
        assert_eq!(
            cli.watch.deployed.limits(),
            lambkin_emulator::DeployLimits::default()
        );
        assert_eq!(Size(2 << 30).to_string(), "2GiB");
        assert_eq!(Size(1000).to_string(), "1000");
        let cli = Cli::try_parse_from([
            "lambkin",
            "--max-functions",
            "3",
            "--max-code-size",
            "500MiB",
        ])
        .unwrap();
        let limits = cli.watch.deployed.limits();
        assert_eq!(
            (limits.max_functions, limits.max_code_bytes),
            (3, 500 << 20)
        );
        for (text, bytes) in [
            ("12", 12),
            ("1 GB", 1_000_000_000),
            ("2g", 2 << 30),
            ("7B", 7),
        ] {
            assert_eq!(text.parse::<Size>(), Ok(Size(bytes)), "{text}");
        }
        for bad in ["", "GiB", "1.5GiB", "-1", "1 PiB", "99999999999TiB"] {
            assert!(bad.parse::<Size>().is_err(), "{bad}");
        }
    }

    #[test]
    fn watch_builds_with_the_chosen_profile() {
        let profile = |args: &[&str]| {
            let cli = Cli::try_parse_from(args).unwrap();
            match cli.command {
                Some(Command::Watch(a)) => a.profile.cargo_args(),
                _ => cli.watch.profile.cargo_args(),
            }
        };
        assert!(profile(&["lambkin"]).is_empty());
        assert_eq!(profile(&["lambkin", "watch", "--release"]), ["--release"]);
        assert_eq!(
            profile(&["lambkin", "--profile", "bench"]),
            ["--profile", "bench"]
        );
        assert!(Cli::try_parse_from(["lambkin", "--release", "--profile", "x"]).is_err());
    }

    #[test]
    fn build_and_deploy_take_the_architecture() {
        let arch = |args: &[&str]| match Cli::try_parse_from(args).unwrap().command {
            Some(Command::Build(b)) => b.arch.arch(),
            Some(Command::Deploy(d)) => d.arch.arch(),
            other => panic!("{other:?}"),
        };
        assert_eq!(arch(&["lambkin", "build"]), Arch::X86_64);
        assert_eq!(arch(&["lambkin", "build", "--arm64"]), Arch::Arm64);
        assert_eq!(arch(&["lambkin", "deploy", "f", "--arm64"]), Arch::Arm64);
        assert!(Cli::try_parse_from(["lambkin", "build", "--arm64", "--x86_64"]).is_err());
    }
}
