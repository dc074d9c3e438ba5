//! Hot reload: edit → first response from the new code under `lambkin watch` and under
//! `cargo lambda watch`, against the bare incremental `cargo build` of the same edit, in the
//! same run. Both tools build the same project in the same target dir (dev profile, their
//! default), and are polled the same way; requests that fail during a reload are counted.

use std::{
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{bail, ensure};
use lambkin_tests::project::{Project, Watching};
use tokio::runtime::Runtime;

use crate::emulator::{cargo_lambda_watch, invoke_path};

/// How long one edit may take to be served, a rebuild included.
const RELOAD_LIMIT: Duration = Duration::from_secs(120);

/// How often the function is asked for its version while a reload is under way.
const POLL: Duration = Duration::from_millis(20);

/// Options of the reload measurements.
#[derive(Debug, clap::Args)]
pub struct ReloadArgs {
    /// Edits measured each way.
    #[arg(long, default_value_t = 5)]
    pub edits: u64,
    /// Leave cargo-lambda out (`pip install cargo-lambda` puts it on the PATH).
    #[arg(long)]
    pub no_cargo_lambda: bool,
}

/// One tool's reloads: how long each edit took to be served, and the requests that failed.
struct Reloads {
    tool: &'static str,
    times: Vec<Duration>,
    failed: u64,
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
        // As a developer's shell runs it (see `cargo_lambda_watch`), so that these builds and
        // `lambkin watch`'s share their artifacts.
        let status = lambkin_emulator::dev::cargo::command(&cargo)
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
    let mut tools = Vec::new();
    let mut version = 100;
    let watching = runtime.block_on(Watching::start(&lambkin, &project, target_dir));
    tools.push(edits(
        "lambkin watch",
        args.edits,
        &project,
        &mut version,
        |version| runtime.block_on(ask(watching.addr, "/", version)),
    )?);
    drop(watching);
    if !args.no_cargo_lambda {
        let log = std::fs::File::create(
            std::env::temp_dir().join("lambkin-bench-reload-cargo-lambda.log"),
        )?;
        let name = project.name();
        let server = cargo_lambda_watch(runtime, project.dir(), &[], name, log)?;
        let path = invoke_path(name);
        tools.push(edits(
            "cargo lambda watch",
            args.edits,
            &project,
            &mut version,
            |version| runtime.block_on(ask(server.addr(), &path, version)),
        )?);
        server.stop(runtime)?;
    }
    let build = median(&mut builds);
    println!(
        "| tool | edits | incremental `cargo build` (median) | edit → first new response (median) | overhead | requests failed during the reloads |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for mut tool in tools {
        let reload = median(&mut tool.times);
        println!(
            "| {} | {} | {:.2} s | {:.2} s | {:+.2} s | {} |",
            tool.tool,
            args.edits,
            build.as_secs_f64(),
            reload.as_secs_f64(),
            reload.as_secs_f64() - build.as_secs_f64(),
            tool.failed,
        );
    }
    Ok(())
}

/// Makes `count` edits, each timed from the write of the source to the first answer carrying
/// its version; `ask(v)` polls once: `Ok(true)` once version `v` answers.
fn edits(
    tool: &'static str,
    count: u64,
    project: &Project,
    version: &mut u64,
    ask: impl Fn(u64) -> anyhow::Result<bool>,
) -> anyhow::Result<Reloads> {
    let mut reloads = Reloads {
        tool,
        times: Vec::new(),
        failed: 0,
    };
    for _ in 0..count {
        *version += 1;
        project.answer(&version.to_string());
        let start = Instant::now();
        loop {
            match ask(*version) {
                Ok(true) => break,
                Ok(false) => {}
                Err(_) => reloads.failed += 1,
            }
            if start.elapsed() > RELOAD_LIMIT {
                bail!("{tool}: version {version} was not served within {RELOAD_LIMIT:?}");
            }
            std::thread::sleep(POLL);
        }
        reloads.times.push(start.elapsed());
    }
    Ok(reloads)
}

/// Asks the function at `path` for its version: whether it is `wanted`, or why it failed.
async fn ask(addr: std::net::SocketAddr, path: &str, wanted: u64) -> anyhow::Result<bool> {
    let answer = lambkin_tests::try_post(addr, path, &[], "{}".to_owned())
        .await
        .map_err(anyhow::Error::msg)?;
    ensure!(answer.status == 200, "{} {}", answer.status, answer.body);
    Ok(answer.body["version"].as_u64() == Some(wanted))
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}
