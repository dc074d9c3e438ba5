//! `lambkin schedule list`: the project's schedules and their next fire times; and the
//! schedule event `lambkin invoke FUNCTION --event schedule` sends.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use clap::{Args, Subcommand};
use lambkin_emulator::sources::schedule::{Schedule, rfc3339_seconds};
use lambkin_emulator::template;

/// Options of `lambkin schedule`.
#[derive(Debug, Args)]
pub(super) struct ScheduleArgs {
    #[command(subcommand)]
    command: ScheduleCommand,
}

#[derive(Debug, Subcommand)]
enum ScheduleCommand {
    /// List the schedules of the project (SAM Schedule/ScheduleV2 events, serverless.yml
    /// schedule events) with their next fire times, in UTC.
    List(ListArgs),
}

/// Options of `lambkin schedule list`.
#[derive(Debug, Args)]
struct ListArgs {
    /// Read this SAM template or serverless.yml (default: the one found here).
    #[arg(long, value_name = "FILE")]
    template: Option<PathBuf>,
    /// How many fire times to show for each schedule.
    #[arg(long, value_name = "N", default_value_t = 3)]
    count: usize,
}

/// Runs the subcommand.
pub(super) fn run(args: ScheduleArgs) -> anyhow::Result<()> {
    match args.command {
        ScheduleCommand::List(args) => list(&args),
    }
}

fn list(args: &ListArgs) -> anyhow::Result<()> {
    let schedules = project_schedules(args.template.as_deref())?;
    if schedules.is_empty() {
        return super::print_out("no schedules");
    }
    let now = SystemTime::now();
    for schedule in &schedules {
        let zone = schedule.time_zone.as_deref().unwrap_or("UTC");
        let state = if schedule.enabled {
            "enabled"
        } else {
            "disabled"
        };
        super::print_out(&format!(
            "{:<24} {:<30} {} ({zone}, {state})",
            schedule.name,
            schedule.target_text(),
            schedule.expression_text
        ))?;
        let upcoming = schedule.upcoming(now, args.count);
        if upcoming.is_empty() {
            super::print_out("    no fire time left")?;
        }
        for time in upcoming {
            super::print_out(&format!("    {}", rfc3339_seconds(time)))?;
        }
    }
    Ok(())
}

/// The schedules of the project's SAM template or serverless.yml (`template`, else the one
/// found in the current directory), its functions' then its state machines'; none without one.
pub(super) fn project_schedules(template: Option<&Path>) -> anyhow::Result<Vec<Schedule>> {
    let here = std::env::current_dir()?;
    let project = template::load(&here, template)?;
    Ok(project
        .map(|p| {
            let machines = p.state_machines.into_iter().flat_map(|m| m.schedules);
            (p.functions.into_iter().flat_map(|f| f.schedules))
                .chain(machines)
                .collect()
        })
        .unwrap_or_default())
}
