//! `cargo run -p lambkin-bench --release` — measures, in one run on one machine, what
//! BENCHMARKS.md reports, and prints markdown tables of ratios against baselines run in the
//! same process: a plain `lambda_runtime` hello for the SDK, a bare axum server for the emulator.
//!
//! Traffic goes only to 127.0.0.1 and every loop is bounded in count or time.

use std::path::PathBuf;

use anyhow::{Context as _, ensure};
use clap::{Parser, Subcommand};

mod emulator;
mod procs;
mod reload;
mod scale;
mod sdk;

/// Lambkin's benchmarks.
#[derive(Debug, Parser)]
struct Args {
    #[command(subcommand)]
    section: Option<Section>,
}

#[derive(Debug, Subcommand)]
enum Section {
    /// The SDK's hello against a plain lambda_runtime hello.
    Sdk(sdk::SdkArgs),
    /// Lambkin and cargo-lambda under load against a bare axum server (needs `wrk` and
    /// cargo-lambda).
    Emulator(emulator::EmulatorArgs),
    /// Hot reload: edit → first new response against the bare incremental build.
    Reload(reload::ReloadArgs),
    /// Many functions sharing one binary: start-up, idle memory, cold starts.
    Scale(scale::ScaleArgs),
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = build_binaries()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let sections = match args.section {
        Some(section) => vec![section],
        // Every section with its defaults.
        None => ["sdk", "emulator", "scale", "reload"]
            .into_iter()
            .filter_map(|name| Args::parse_from(["lambkin-bench", name]).section)
            .collect(),
    };
    for section in sections {
        match section {
            Section::Sdk(args) => sdk::run(&args, &dir, &runtime)?,
            Section::Emulator(args) => emulator::run(&args, &dir, &runtime)?,
            Section::Reload(args) => reload::run(&args, &dir, &runtime)?,
            Section::Scale(args) => scale::run(&args, &dir, &runtime)?,
        }
        println!();
    }
    Ok(())
}

/// Builds the compared binaries and `lambkin` (with its default features, as `cargo run`
/// builds it) in release mode: cargo run builds only the bench itself.
fn build_binaries() -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    for package in [
        ["-p", "lambkin-bench", "--bins"],
        ["-p", "lambkin-emulator", "--bin=lambkin"],
    ] {
        // With the environment `lambkin` gives its own cargo calls: without what `cargo run`
        // set for the bench (`CARGO_PKG_*`…), which ring's build script watches.
        let status = lambkin_emulator::dev::cargo::command(&cargo)
            .args(["build", "--release"])
            .args(package)
            .status()
            .context("running cargo build")?;
        ensure!(status.success(), "cargo build failed");
    }
    let exe = std::env::current_exe()?;
    Ok(exe
        .parent()
        .context("the bench binary has no directory")?
        .to_path_buf())
}
