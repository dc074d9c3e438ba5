//! The SDK's hello against a plain `lambda_runtime` hello: release size, start-up, CPU.

use std::{
    io::Read,
    net::TcpListener,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, ensure};
use lambkin_emulator::{Emulator, FunctionConfig};

use crate::procs::{self, cpu_time};
use serde_json::json;

/// Options of the SDK measurements.
#[derive(Debug, clap::Args)]
pub struct SdkArgs {
    /// Invocations per binary for the CPU measurement.
    #[arg(long, default_value_t = 3000)]
    pub invocations: usize,
    /// Cold starts per binary for the spawn-to-first-/next measurement.
    #[arg(long, default_value_t = 40)]
    pub spawns: usize,
}

/// The binaries compared; the first is the baseline.
const BINARIES: [&str; 3] = ["plain-hello", "sdk-hello", "sdk-hello-mt"];

#[derive(Debug)]
struct Figures {
    size: u64,
    spawn_to_next: Duration,
    cpu_per_invocation: Duration,
}

/// Measures and prints the table.
pub fn run(args: &SdkArgs, dir: &Path, runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for name in BINARIES {
        let path = dir.join(name);
        let size = std::fs::metadata(&path)
            .with_context(|| format!("{}", path.display()))?
            .len();
        let spawn_to_next = spawn_to_first_next(&path, args.spawns)?;
        let cpu_per_invocation =
            runtime.block_on(cpu_per_invocation(name, &path, args.invocations))?;
        rows.push((
            name,
            Figures {
                size,
                spawn_to_next,
                cpu_per_invocation,
            },
        ));
    }
    print_table(&rows, args);
    Ok(())
}

/// Median time from `spawn` to the first byte of `GET …/invocation/next` on a bare listener.
fn spawn_to_first_next(path: &Path, runs: usize) -> anyhow::Result<Duration> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let start = Instant::now();
        let mut child = Command::new(path)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "hello")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        listener.set_nonblocking(false)?;
        let (mut stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut first = [0u8; 4];
        stream.read_exact(&mut first)?;
        times.push(start.elapsed());
        ensure!(&first == b"GET ", "expected GET …/next, got {first:?}");
        child.kill()?;
        child.wait()?;
    }
    times.sort();
    Ok(times[times.len() / 2])
}

/// CPU time the function process spends per invocation, served by the emulator.
async fn cpu_per_invocation(
    name: &str,
    path: &Path,
    invocations: usize,
) -> anyhow::Result<Duration> {
    let mut config = FunctionConfig::new(name, path);
    config.timeout = Duration::from_secs(10);
    let emulator = Emulator::new([config])?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(emulator.serve_listener(listener, async move {
        let _ = stopped.await;
    }));
    let path_in_api = format!("/2015-03-31/functions/{name}/invocations");
    let payload = json!({"name": "bench"}).to_string();
    let invoke = || lambkin_tests::post(addr, &path_in_api, &[], payload.clone());
    // Warm up (cold start, allocator, connection pools) before measuring.
    for _ in 0..200 {
        let answer = invoke().await;
        ensure!(
            answer.status == 200 && answer.body["message"] == "Hello, bench!",
            "{answer:?}"
        );
    }
    let pid = child_pid(name)?;
    let before = cpu_time(pid)?;
    for _ in 0..invocations {
        invoke().await;
    }
    let spent = cpu_time(pid)? - before;
    let _ = stop.send(());
    server.await??;
    Ok(spent / invocations as u32)
}

/// The pid of our child process running `name`.
fn child_pid(name: &str) -> anyhow::Result<u32> {
    let me = std::process::id();
    let comm = &name[..name.len().min(15)];
    procs::processes()?
        .into_iter()
        .find(|p| p.ppid == me && p.name == comm)
        .map(|p| p.pid)
        .with_context(|| format!("no child process runs {name}"))
}

fn print_table(rows: &[(&str, Figures)], args: &SdkArgs) {
    let Some((_, base)) = rows.first() else {
        return;
    };
    println!(
        "| binary | release size | spawn → first /next (median of {}) | function CPU per invocation ({} invocations) |",
        args.spawns, args.invocations
    );
    println!("| --- | --- | --- | --- |");
    for (name, f) in rows {
        println!(
            "| {name} | {:.2} MiB ({:.2}×) | {:.2} ms ({:.2}×) | {:.1} µs ({:.2}×) |",
            f.size as f64 / 1048576.0,
            f.size as f64 / base.size as f64,
            f.spawn_to_next.as_secs_f64() * 1e3,
            f.spawn_to_next.as_secs_f64() / base.spawn_to_next.as_secs_f64(),
            f.cpu_per_invocation.as_secs_f64() * 1e6,
            f.cpu_per_invocation.as_secs_f64() / base.cpu_per_invocation.as_secs_f64(),
        );
    }
}
