//! `lambkin event`: print a sample event, as the AWS service sends it.

use clap::Args;
use lambkin_emulator::samples;

/// Options of `lambkin event`.
#[derive(Debug, Args)]
pub(super) struct EventArgs {
    /// The kind of event.
    kind: samples::Kind,
}

/// Prints the sample, pretty.
pub(super) fn run(args: EventArgs) -> anyhow::Result<()> {
    let event = serde_json::to_string_pretty(&samples::event(args.kind))?;
    super::print_out(&event)
}
