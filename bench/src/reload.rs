//! Hot reload: edit → first response from the new code under `lambkin watch`, against the
//! bare incremental `cargo build` of the same edit, in the same run.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::ensure;
use lambkin_tests::project::{Project, Watching, until_version};
use tokio::runtime::Runtime;

/// Options of the reload measurements.
#[derive(Debug, clap::Args)]
pub struct ReloadArgs {
    /// Edits measured each way.
    #[arg(long, default_value_t = 5)]
    pub edits: u64,
}

/// Measures and prints the table.
pub fn run(args: &ReloadArgs, dir: &Path, runtime: &Runtime) -> anyhow::Result<()> {
    // The project builds in the workspace's target dir, as the tests do.
    let target_dir = &lambkin_tests::project::target_dir();
    let project = Project::new("bench-reload");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let build = |version: u64| -> anyhow::Result<Duration> {
        project.answer(&version.to_string());
        let start = Instant::now();
        let status = Command::new(&cargo)
            .arg("build")
            .current_dir(project.dir())
            .env("CARGO_TARGET_DIR", target_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        ensure!(status.success(), "cargo build of the bench project failed");
        Ok(start.elapsed())
    };
    build(1)?; // the first build compiles the SDK: not measured
    let mut builds = Vec::new();
    for version in 2..2 + args.edits {
        builds.push(build(version)?);
    }
    let lambkin = dir.join("lambkin");
    let mut reloads = Vec::new();
    runtime.block_on(async {
        let watching = Watching::start(&lambkin, &project, target_dir).await;
        for version in 100..100 + args.edits {
            project.answer(&version.to_string());
            let start = Instant::now();
            until_version(watching.addr, version).await;
            reloads.push(start.elapsed());
        }
    });
    let (build, reload) = (median(&mut builds), median(&mut reloads));
    println!(
        "| edits | incremental `cargo build` (median) | edit → first new response (median) | overhead |"
    );
    println!("| --- | --- | --- | --- |");
    println!(
        "| {} | {:.2} s | {:.2} s | {:+.2} s |",
        args.edits,
        build.as_secs_f64(),
        reload.as_secs_f64(),
        reload.as_secs_f64() - build.as_secs_f64()
    );
    Ok(())
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}
