//! The emulator's Invoke API round trip (front → instance's Runtime API → function → back)
//! against a bare axum server answering the same JSON, both loaded by `wrk` in the same run.

use std::{
    net::SocketAddr,
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};
use axum::{Json, Router, routing::post};
use lambkin_emulator::{Emulator, FunctionConfig, Options};
use serde_json::{Value, json};
use tokio::{net::TcpListener, runtime::Runtime, sync::oneshot};

/// Options of the emulator measurements.
#[derive(Debug, clap::Args)]
pub struct EmulatorArgs {
    /// Seconds of load per measurement.
    #[arg(long, default_value_t = 5)]
    pub seconds: u32,
}

/// One `wrk` run.
#[derive(Debug, Clone, Copy)]
struct Load {
    /// Successful (2xx) responses per second.
    ok_per_sec: f64,
    p50: Duration,
    p99: Duration,
    /// Non-2xx responses (throttled above the reserved concurrency).
    throttled: u64,
}

/// Memory and start-up of a server under test.
#[derive(Debug, Clone, Copy)]
struct Memory {
    /// From creating the server to its first successful answer (cold start included).
    startup: Duration,
    /// This process's RSS before the load.
    idle_kb: u64,
    /// This process's highest RSS seen during the load.
    loaded_kb: u64,
}

/// A server under load: where to send requests, and how to stop it.
struct Target {
    url: String,
    startup: Duration,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

const PAYLOAD: &str = r#"{"name":"bench"}"#;

/// The Invoke API path of the function `hello`.
const INVOKE_PATH: &str = "/2015-03-31/functions/hello/invocations";

/// Measures and prints the table.
pub fn run(args: &EmulatorArgs, dir: &Path, runtime: &Runtime) -> anyhow::Result<()> {
    let script = std::env::temp_dir().join(format!("lambkin-bench-{}.lua", std::process::id()));
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.body = '{PAYLOAD}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
        ),
    )?;
    let mut rows = Vec::new();
    let mut memory = Vec::new();
    for connections in [1, 64] {
        let bare = measure(
            runtime,
            bare_server(runtime)?,
            &script,
            connections,
            args.seconds,
        )?
        .0;
        for (front, path) in [("Invoke API", INVOKE_PATH), ("API Gateway v2", "/hello")] {
            for instances in [1, 4] {
                let target = emulator(runtime, &dir.join("sdk-hello"), instances, path)?;
                let (emulated, rss) = measure(runtime, target, &script, connections, args.seconds)?;
                memory.push((front, connections, instances, rss));
                rows.push((front, connections, instances, bare, emulated));
            }
        }
    }
    let _ = std::fs::remove_file(&script);
    println!(
        "| front | connections | instances | bare axum req/s | emulator req/s (ratio) | p50 bare → emulator | p99 bare → emulator | throttled (429) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (front, connections, instances, bare, emu) in rows {
        println!(
            "| {front} | {connections} | {instances} | {:.0} | {:.0} ({:.2}×) | {:.2} → {:.2} ms | {:.2} → {:.2} ms | {} |",
            bare.ok_per_sec,
            emu.ok_per_sec,
            emu.ok_per_sec / bare.ok_per_sec,
            ms(bare.p50),
            ms(emu.p50),
            ms(bare.p99),
            ms(emu.p99),
            emu.throttled,
        );
    }
    println!();
    println!(
        "| front | connections | instances | start-up to first served request | RSS idle → under load (bench process) |"
    );
    println!("| --- | --- | --- | --- | --- |");
    for (front, connections, instances, rss) in memory {
        println!(
            "| {front} | {connections} | {instances} | {:.1} ms | {:.1} → {:.1} MiB |",
            ms(rss.startup),
            rss.idle_kb as f64 / 1024.0,
            rss.loaded_kb as f64 / 1024.0
        );
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Loads `target` with `wrk` (sampling this process's RSS meanwhile), then stops it.
fn measure(
    runtime: &Runtime,
    target: Target,
    script: &Path,
    connections: u32,
    seconds: u32,
) -> anyhow::Result<(Load, Memory)> {
    let idle_kb = rss_kb();
    // Warm up: cold starts and connection set-up stay out of the figures.
    run_wrk(&target.url, script, connections, 1)?;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_kb());
                std::thread::sleep(Duration::from_millis(100));
            }
            peak
        })
    };
    let load = run_wrk(&target.url, script, connections, seconds);
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let loaded_kb = sampler.join().unwrap_or_default();
    let _ = target.stop.send(());
    runtime.block_on(target.task)??;
    Ok((
        load?,
        Memory {
            startup: target.startup,
            idle_kb,
            loaded_kb,
        },
    ))
}

/// This process's resident memory, in kB.
fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or_default()
}

fn run_wrk(url: &str, script: &Path, connections: u32, seconds: u32) -> anyhow::Result<Load> {
    let threads = connections.min(2);
    let output = Command::new("wrk")
        .args([
            "--latency",
            "-t",
            &threads.to_string(),
            "-c",
            &connections.to_string(),
        ])
        .args(["-d", &format!("{seconds}s"), "-s"])
        .arg(script)
        .arg(url)
        .output()
        .context("running wrk (apt-get install wrk)")?;
    ensure!(
        output.status.success(),
        "wrk failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    parse_wrk(&String::from_utf8_lossy(&output.stdout), seconds)
}

/// Reads the figures out of `wrk --latency`'s report.
fn parse_wrk(report: &str, seconds: u32) -> anyhow::Result<Load> {
    let field = |prefix: &str| {
        report
            .lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::trim)
            .with_context(|| format!("no `{prefix}` in wrk's report:\n{report}"))
    };
    let total: u64 = field("")
        .ok()
        .and_then(|_| report.lines().find(|l| l.contains("requests in")))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("no request count in wrk's report:\n{report}"))?;
    let throttled = field("Non-2xx or 3xx responses:")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Ok(Load {
        ok_per_sec: (total - throttled) as f64 / f64::from(seconds),
        p50: duration(field("50%")?)?,
        p99: duration(field("99%")?)?,
        throttled,
    })
}

/// `1.23ms`, `456.00us`, `1.02s` → Duration.
fn duration(text: &str) -> anyhow::Result<Duration> {
    let (number, unit) = text.split_at(
        text.find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(text.len()),
    );
    let value: f64 = number
        .parse()
        .with_context(|| format!("bad latency {text:?}"))?;
    let seconds = match unit {
        "us" => value / 1e6,
        "ms" => value / 1e3,
        "s" => value,
        "m" => value * 60.0,
        _ => bail!("bad latency unit in {text:?}"),
    };
    Ok(Duration::from_secs_f64(seconds))
}

/// The baseline: axum answering the same JSON the function answers.
fn bare_server(runtime: &Runtime) -> anyhow::Result<Target> {
    async fn hello(Json(event): Json<Value>) -> Json<Value> {
        let name = event.get("name").and_then(Value::as_str).unwrap_or("world");
        Json(json!({ "message": format!("Hello, {name}!") }))
    }
    let started = Instant::now();
    let app = Router::new().route(INVOKE_PATH, post(hello));
    serve(
        runtime,
        INVOKE_PATH,
        started,
        move |listener, stopped| async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await?;
            Ok(())
        },
    )
}

/// The emulator serving the SDK's hello with `instances` reserved concurrency, loaded on `path`
/// (the Invoke API's, or any other: API Gateway's `$default` route).
fn emulator(
    runtime: &Runtime,
    binary: &Path,
    instances: usize,
    path: &str,
) -> anyhow::Result<Target> {
    let started = Instant::now();
    let mut config = FunctionConfig::new("hello", binary);
    config.reserved_concurrency = Some(instances);
    let options = Options {
        max_instances: instances,
        ..Options::default()
    };
    let emulator = Emulator::with_options([config], options)?;
    serve(
        runtime,
        path,
        started,
        move |listener, stopped| async move {
            emulator
                .serve_listener(listener, async move {
                    let _ = stopped.await;
                })
                .await?;
            Ok(())
        },
    )
}

/// Starts `server` on a loopback port and waits for its first successful answer on `path`.
fn serve<F, Fut>(
    runtime: &Runtime,
    path: &str,
    started: Instant,
    server: F,
) -> anyhow::Result<Target>
where
    F: FnOnce(TcpListener, oneshot::Receiver<()>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0"))?;
    let addr: SocketAddr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel();
    let task = runtime.spawn(server(listener, stopped));
    runtime.block_on(async {
        for _ in 0..600 {
            let json = [("content-type", "application/json")];
            if let Ok(answer) = lambkin_tests::try_post(addr, path, &json, PAYLOAD.to_owned()).await
            {
                if answer.status == 200 {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        bail!("no successful answer on {path} within 6 s")
    })?;
    Ok(Target {
        url: format!("http://{addr}{path}"),
        startup: started.elapsed(),
        stop,
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_reports() {
        let report = "Running 1s test @ http://127.0.0.1:1/\n  1 threads and 1 connections\n  Latency Distribution\n     50%  161.00us\n     75%  200.00us\n     90%  1.20ms\n     99%    2.50ms\n  6000 requests in 1.00s, 1.00MB read\n  Non-2xx or 3xx responses: 1000\nRequests/sec:   6000.00\n";
        let load = parse_wrk(report, 1).unwrap();
        assert_eq!(load.ok_per_sec, 5000.0);
        assert_eq!(load.p50, Duration::from_micros(161));
        assert_eq!(load.p99, Duration::from_micros(2500));
        assert_eq!(load.throttled, 1000);
    }
}
