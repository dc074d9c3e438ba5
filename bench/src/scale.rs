//! Many functions: a SAM template of N functions sharing one binary, served by `lambkin`:
//! start-up to the first answer, the emulator's idle memory, and that one invocation starts
//! one instance.

use std::{path::Path, process::Command, time::Instant};

use anyhow::ensure;
use serde_json::Value;
use tokio::runtime::Runtime;

use crate::emulator::{FUNCTION, free_port, invoke_path, rss_kb, spawn};

/// Options of the scale measurement.
#[derive(Debug, clap::Args)]
pub struct ScaleArgs {
    /// Functions in the template.
    #[arg(long, default_value_t = 200)]
    pub functions: usize,
}

/// Measures and prints the table.
pub fn run(args: &ScaleArgs, dir: &Path, runtime: &Runtime) -> anyhow::Result<()> {
    let project = std::env::temp_dir().join(format!("lambkin-scale-{}", std::process::id()));
    std::fs::create_dir_all(&project)?;
    let mut template = String::from("Resources:\n");
    for i in 0..args.functions {
        let code = project.join(format!("f{i}"));
        std::fs::create_dir_all(&code)?;
        std::os::unix::fs::symlink(dir.join(FUNCTION), code.join("bootstrap"))?;
        template.push_str(&format!(
            "  F{i}:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: f{i}\n      \
             Runtime: provided.al2023\n      Handler: bootstrap\n"
        ));
    }
    std::fs::write(project.join("template.yaml"), template)?;
    let port = free_port()?;
    let log = std::fs::File::create(project.join("lambkin.log"))?;
    let mut command = Command::new(dir.join("lambkin"));
    command
        .args(["watch", "--no-reload", "--schedules", "off", "--port"])
        .arg(port.to_string())
        .current_dir(&project);
    let last = format!("F{}", args.functions - 1);
    let started = Instant::now();
    let server = spawn(runtime, command, log, port, &last)?;
    let startup = started.elapsed();
    // Idle: the one instance started is frozen, nothing else runs.
    std::thread::sleep(std::time::Duration::from_secs(1));
    let idle_kb = rss_kb(server.pid());
    let model: Value = runtime.block_on(async {
        let answer = lambkin_tests::get(server.addr(), "/_lambkin").await;
        answer.body
    });
    let running: Vec<&str> = model["details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["instances"].as_array().is_some_and(|i| !i.is_empty()))
        .filter_map(|f| f["name"].as_str())
        .collect();
    ensure!(
        running == [last.as_str()],
        "instances after one invocation of {last}: {running:?} ({})",
        invoke_path(&last)
    );
    server.stop(runtime)?;
    let _ = std::fs::remove_dir_all(&project);
    println!(
        "| functions | start-up to the first answer (one cold start) | emulator RSS, idle | instances started |"
    );
    println!("| --- | --- | --- | --- |");
    println!(
        "| {} | {:.0} ms | {:.1} MiB | 1 (`{last}` only) |",
        args.functions,
        startup.as_secs_f64() * 1e3,
        idle_kb as f64 / 1024.0
    );
    Ok(())
}
