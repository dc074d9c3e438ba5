//! `lambkin invoke`: invoke a function of a running emulator and print its answer.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use lambkin_emulator::samples;
use lambkin_emulator::sources::schedule::Target;

/// Options of `lambkin invoke`.
#[derive(Debug, Args)]
pub(super) struct InvokeArgs {
    /// The function to invoke.
    function: String,
    /// The event, as JSON.
    #[arg(long, conflicts_with_all = ["data_file", "event"])]
    data: Option<String>,
    /// Read the event from this file.
    #[arg(long, value_name = "FILE", conflicts_with = "event")]
    data_file: Option<PathBuf>,
    /// Send a sample event of this kind (see `lambkin event --help`). `schedule` sends the
    /// event of the function's own schedule (its first, or the one --schedule names) as if it
    /// fired now, when the project has one.
    #[arg(long, value_name = "KIND")]
    event: Option<samples::Kind>,
    /// With --event schedule: the schedule (rule) whose event to send.
    #[arg(long, value_name = "NAME", requires = "event")]
    schedule: Option<String>,
    /// Read the schedules from this SAM template or serverless.yml (default: the one found
    /// here).
    #[arg(long, value_name = "FILE")]
    template: Option<PathBuf>,
    /// Print the tail of the invocation's log too.
    #[arg(long)]
    logs: bool,
    /// Port of the running emulator.
    #[arg(long, env = "LAMBKIN_PORT", default_value_t = 9000)]
    port: u16,
}

/// Invokes the function; prints its logs (if asked for) to stderr and its answer to stdout, and
/// exits with 1 when the invocation failed.
pub(super) fn run(args: InvokeArgs) -> anyhow::Result<()> {
    let payload = match (&args.data, &args.data_file, args.event) {
        (Some(data), _, _) => data.clone(),
        (_, Some(file), _) => std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?,
        (_, _, Some(samples::Kind::Schedule)) => schedule_event(&args)?,
        (_, _, Some(kind)) => samples::event(kind).to_string(),
        _ => "{}".to_owned(),
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let invoked = samples::invoke(addr, &args.function, payload.into_bytes(), args.logs);
    let answer = super::block_on(invoked)?
        .with_context(|| format!("is `lambkin watch` running on port {}?", args.port))?;
    if let Some(logs) = &answer.logs {
        eprintln!("{logs}");
    }
    super::print_out(&answer.body)?;
    if answer.status >= 300 || answer.function_error.is_some() {
        std::process::exit(1);
    }
    Ok(())
}

/// The event of the function's schedule (the one named by --schedule, else its first) as if it
/// fired now; the sample Scheduled Event when the function has none.
fn schedule_event(args: &InvokeArgs) -> anyhow::Result<String> {
    let schedules = super::schedule::project_schedules(args.template.as_deref())?;
    let mut own = schedules
        .iter()
        .filter(|s| s.target == Target::Function && s.function == args.function);
    let schedule =
        match &args.schedule {
            Some(name) => Some(own.find(|s| &s.name == name).with_context(|| {
                format!("function `{}` has no schedule `{name}`", args.function)
            })?),
            None => own.next(),
        };
    Ok(match schedule {
        Some(schedule) => schedule
            .event(
                std::time::SystemTime::now(),
                lambkin_emulator::DEFAULT_REGION,
            )
            .to_string(),
        None => samples::event(samples::Kind::Schedule).to_string(),
    })
}
