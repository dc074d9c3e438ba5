//! The emulators under load, side by side in one run: Lambkin's `lambkin` binary and
//! cargo-lambda's `cargo lambda watch --release`, both serving the same release-built
//! `lambda_runtime` hello (`plain-hello`), against a bare axum server answering the same JSON.
//! `wrk` loads each; the CPU time of the emulator process, and of the processes below it (the
//! function's), is read from `/proc` around each load.

use std::{
    net::SocketAddr,
    os::unix::process::CommandExt as _,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};
use axum::{Json, Router, routing::post};
use serde_json::{Value, json};
use tokio::{net::TcpListener, runtime::Runtime, sync::oneshot};

use crate::procs::{cpu_time, descendants_cpu, spent_between};

/// Options of the emulator measurements.
#[derive(Debug, clap::Args)]
pub struct EmulatorArgs {
    /// Seconds of load per measurement.
    #[arg(long, default_value_t = 5)]
    pub seconds: u32,
    /// Rounds of every measurement; the tables show medians.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Leave cargo-lambda out (`pip install cargo-lambda` puts it on the PATH).
    #[arg(long)]
    pub no_cargo_lambda: bool,
    /// Keep every CPU busy at the lowest priority (`chrt --idle`) during the run, so that no
    /// hop between processes waits for a halted CPU to wake up. On a VM that wake-up costs more
    /// than the work and swings with the host; the spinners yield to every other process and
    /// their CPU time is nobody's in the tables.
    #[arg(long)]
    pub awake: bool,
    /// Run everything (this bench and its bare server, `wrk`, the emulators and their
    /// functions) on CPU 0. A hop between processes is then a context switch on one CPU instead
    /// of a wake-up sent to another, whose cost on a VM is the hypervisor's and swings with the
    /// host: the CPU per request left is the servers' own work.
    #[arg(long, conflicts_with = "awake")]
    pub pinned: bool,
}

/// One `wrk` run.
#[derive(Debug, Clone, Copy, Default)]
struct Load {
    /// Successful (2xx) responses per second.
    ok_per_sec: f64,
    p50: Duration,
    p99: Duration,
    /// Non-2xx responses.
    failed: u64,
    /// Requests that got no response: connection errors and wrk's timeouts (2 s).
    errors: u64,
    /// CPU time of the server's process per request (every thread, user and system).
    cpu_per_request: Duration,
    /// CPU time of the processes below the server per request: the function's instances (and,
    /// under cargo-lambda, the `cargo` running the function).
    function_cpu_per_request: Duration,
}

const PAYLOAD: &str = r#"{"name":"bench"}"#;

/// The function both emulators serve: its binary, and its name under cargo-lambda.
pub(crate) const FUNCTION: &str = "plain-hello";

/// Lambkin with its local cap on instances set to [`QUEUED_INSTANCES`]: over it invocations
/// wait for an instance, as every invocation waits for cargo-lambda's one instance. By default
/// Lambkin starts an instance per concurrent invocation, as Lambda does, up to 64.
const QUEUED: &str = "Lambkin, --max-instances 2";
const QUEUED_INSTANCES: &str = "2";

/// Its name under Lambkin (a SAM template's logical id).
const LAMBKIN_FUNCTION: &str = "Hello";

/// The Invoke API path of function `name` (the bare server answers on cargo-lambda's).
pub(crate) fn invoke_path(name: &str) -> String {
    format!("/2015-03-31/functions/{name}/invocations")
}

/// A server under test: where it answers, and what runs it.
pub(crate) enum Server {
    /// In this process: CPU is this process's.
    Bare {
        addr: SocketAddr,
        stop: oneshot::Sender<()>,
        task: tokio::task::JoinHandle<anyhow::Result<()>>,
    },
    /// A child process (group) of its own.
    Process { addr: SocketAddr, child: Spawned },
}

/// A server's process group, stopped when dropped (also when a measurement fails).
pub(crate) struct Spawned(Child);

impl Drop for Spawned {
    fn drop(&mut self) {
        // Ctrl-C to the whole group: the emulator stops its function processes.
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-INT", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.0.try_wait(), Ok(None)) {
            if Instant::now() > deadline {
                let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
                let _ = self.0.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Server {
    pub(crate) fn addr(&self) -> SocketAddr {
        match self {
            Server::Bare { addr, .. } | Server::Process { addr, .. } => *addr,
        }
    }

    /// The process whose CPU time is the server's.
    pub(crate) fn pid(&self) -> u32 {
        match self {
            Server::Bare { .. } => std::process::id(),
            Server::Process { child, .. } => child.0.id(),
        }
    }

    /// This server's resident memory, in kB.
    fn rss_kb(&self) -> u64 {
        rss_kb(self.pid())
    }

    pub(crate) fn stop(self, runtime: &Runtime) -> anyhow::Result<()> {
        match self {
            Server::Bare { stop, task, .. } => {
                let _ = stop.send(());
                runtime.block_on(task)?
            }
            Server::Process { child, .. } => {
                drop(child);
                Ok(())
            }
        }
    }
}

/// A row of the table: one front of one server.
struct Row {
    server: &'static str,
    front: &'static str,
    path: String,
    /// Index of the server in the run's list.
    index: usize,
}

/// Measures and prints the tables.
pub fn run(args: &EmulatorArgs, dir: &Path, runtime: &Runtime) -> anyhow::Result<()> {
    let _spinners = if args.awake {
        keep_awake()?
    } else {
        Vec::new()
    };
    let _pinned = args.pinned.then(Pinned::new).transpose()?;
    let work = std::env::temp_dir().join(format!("lambkin-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let script = work.join("post.lua");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.body = '{PAYLOAD}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
        ),
    )?;
    let function = dir.join(FUNCTION);
    // Each emulator row runs on an emulator started for it (a long-lived one that stopped
    // answering would empty every later row); the first start of each is timed.
    let start = |name: &str, log: &str| -> anyhow::Result<Server> {
        let log = std::fs::File::create(work.join(log))?;
        match name {
            "Lambkin" => lambkin(runtime, &dir.join("lambkin"), &function, &work, &[], log),
            QUEUED => {
                let cap = ["--max-instances", QUEUED_INSTANCES];
                lambkin(runtime, &dir.join("lambkin"), &function, &work, &cap, log)
            }
            _ => cargo_lambda(runtime, log),
        }
    };
    let mut names = vec!["Lambkin"];
    if !args.no_cargo_lambda {
        names.push("cargo-lambda");
    }
    names.push(QUEUED);
    let mut started = Vec::new();
    let mut idle = Vec::new();
    for name in &names {
        let clock = Instant::now();
        let server = start(name, &format!("{name}-first.log"))?;
        started.push((*name, clock.elapsed()));
        idle.push(server.rss_kb());
        server.stop(runtime)?;
    }
    let mut peak = idle.clone();
    let bare = bare_server(runtime)?;
    let mut rows = vec![Row {
        server: "bare axum",
        front: "POST, JSON",
        path: invoke_path(FUNCTION),
        index: 0,
    }];
    for (index, name) in names.iter().enumerate() {
        let (function, http) = if name.starts_with("Lambkin") {
            (
                LAMBKIN_FUNCTION,
                ("API Gateway HTTP API", "/hello".to_owned()),
            )
        } else {
            (
                FUNCTION,
                ("function URL", format!("/lambda-url/{FUNCTION}/")),
            )
        };
        let fronts = [("Invoke API", invoke_path(function)), (http.0, http.1)];
        // The queued variant only on the Invoke API: it differs from the default at 64
        // connections, in how many instances run, not in the front.
        let fronts = if *name == QUEUED {
            &fronts[..1]
        } else {
            &fronts[..]
        };
        for (front, path) in fronts.iter().cloned() {
            rows.push(Row {
                server: name,
                front,
                path,
                index: index + 1,
            });
        }
    }
    // results[connections][row] = one Load per round.
    let connections = [1u32, 64];
    let mut results = vec![vec![Vec::new(); rows.len()]; connections.len()];
    let mut silent = Vec::new();
    for round in 0..args.rounds {
        for (c, &conns) in connections.iter().enumerate() {
            for (r, row) in rows.iter().enumerate() {
                let fresh = match row.index {
                    0 => None,
                    _ => {
                        let log = format!("{}-{round}-{conns}-{r}.log", row.server);
                        Some((start(row.server, &log)?, log))
                    }
                };
                let server = fresh.as_ref().map_or(&bare, |(server, _)| server);
                let url = format!("http://{}{}", server.addr(), row.path);
                // Warm up: cold starts and connection set-up stay out of the figures.
                run_wrk(&url, &script, conns, 1, server.pid())?;
                let load = run_wrk(&url, &script, conns, args.seconds, server.pid())?;
                if let Some((server, log)) = fresh {
                    peak[row.index - 1] = peak[row.index - 1].max(server.rss_kb());
                    server.stop(runtime)?;
                    if load.ok_per_sec == 0.0 {
                        silent.push(work.join(log));
                    }
                }
                results[c][r].push(load);
            }
        }
    }
    bare.stop(runtime)?;
    if silent.is_empty() {
        let _ = std::fs::remove_dir_all(&work);
    } else {
        // Kept, to see why.
        eprintln!("rows without a successful request; their logs: {silent:?}");
    }

    let medians: Vec<Vec<Load>> = results
        .iter()
        .map(|rows| rows.iter().map(|rounds| median_load(rounds)).collect())
        .collect();
    // What the machine's CPUs could serve at most with each row's work per request (the
    // server's and its function's; the load generator's own CPU left out).
    let cpus = if args.pinned {
        1
    } else {
        std::thread::available_parallelism()?.get()
    };
    println!(
        "| server | front | connections | successful req/s (× bare) | non-2xx (all rounds) | no response (all rounds) | p50 | p99 (× bare) | server CPU per request | function CPU per request | {cpus} CPUs ÷ (server + function CPU), × bare |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (c, &conns) in connections.iter().enumerate() {
        let bare = medians[c][0];
        for (r, row) in rows.iter().enumerate() {
            let load = medians[c][r];
            // A row that answered nothing has no latency or cost per request to show.
            let timings = if load.ok_per_sec == 0.0 {
                "– | – | – | – | –".to_owned()
            } else {
                // The bare server runs no function (its process's other children are the
                // load generator and, with `--awake`, the spinners).
                let function = if row.index == 0 {
                    Duration::ZERO
                } else {
                    load.function_cpu_per_request
                };
                let per_request = load.cpu_per_request + function;
                let ceiling = cpus as f64 / per_request.as_secs_f64().max(1e-9);
                format!(
                    "{:.2} ms | {:.2} ms ({:.1}×) | {:.0} µs | {} | {ceiling:.0} ({:.2}×)",
                    ms(load.p50),
                    ms(load.p99),
                    load.p99.as_secs_f64() / bare.p99.as_secs_f64(),
                    load.cpu_per_request.as_secs_f64() * 1e6,
                    if row.index == 0 {
                        "–".to_owned()
                    } else {
                        format!("{:.0} µs", function.as_secs_f64() * 1e6)
                    },
                    ceiling / bare.ok_per_sec,
                )
            };
            println!(
                "| {} | {} | {conns} | {:.0} ({:.2}×) | {} | {} | {timings} |",
                row.server,
                row.front,
                load.ok_per_sec,
                load.ok_per_sec / bare.ok_per_sec,
                load.failed,
                load.errors,
            );
        }
    }
    if !args.no_cargo_lambda {
        println!();
        println!(
            "| front | connections | Lambkin ÷ cargo-lambda (successful req/s) | CPU per request, Lambkin ÷ cargo-lambda |"
        );
        println!("| --- | --- | --- | --- |");
        for (c, &conns) in connections.iter().enumerate() {
            for (front, ours, theirs) in [
                ("Invoke API", 1, 3),
                ("HTTP (API Gateway ↔ function URL)", 2, 4),
            ] {
                let (ours, theirs) = (medians[c][ours], medians[c][theirs]);
                if theirs.ok_per_sec == 0.0 {
                    println!("| {front} | {conns} | n/a: cargo-lambda answered no request | n/a |");
                    continue;
                }
                println!(
                    "| {front} | {conns} | {:.2}× | {:.2}× |",
                    ours.ok_per_sec / theirs.ok_per_sec,
                    ours.cpu_per_request.as_secs_f64() / theirs.cpu_per_request.as_secs_f64()
                );
            }
        }
    }
    println!();
    println!("| server | start-up to first served request | RSS idle → peak under load |");
    println!("| --- | --- | --- |");
    for (i, (name, startup)) in started.iter().enumerate() {
        println!(
            "| {name} | {:.0} ms | {:.1} → {:.1} MiB |",
            ms(*startup),
            idle[i] as f64 / 1024.0,
            peak[i] as f64 / 1024.0
        );
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The round with the median throughput, with the failures of every round added up (one
/// round's failures must not hide behind another's median).
fn median_load(rounds: &[Load]) -> Load {
    let mut sorted = rounds.to_vec();
    sorted.sort_by(|a, b| a.ok_per_sec.total_cmp(&b.ok_per_sec));
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or_default();
    Load {
        failed: rounds.iter().map(|load| load.failed).sum(),
        errors: rounds.iter().map(|load| load.errors).sum(),
        ..median
    }
}

/// A process's resident memory, in kB.
pub(crate) fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or_default()
}

/// Loads `url` with `wrk`, reading `pid`'s CPU time before and after.
fn run_wrk(
    url: &str,
    script: &Path,
    connections: u32,
    seconds: u32,
    pid: u32,
) -> anyhow::Result<Load> {
    let threads = connections.min(2);
    let before = cpu_time(pid)?;
    let functions_before = descendants_cpu(pid)?;
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
    let cpu = cpu_time(pid)?.saturating_sub(before);
    let functions = spent_between(&functions_before, &descendants_cpu(pid)?);
    ensure!(
        output.status.success(),
        "wrk failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (mut load, total) = parse_wrk(&String::from_utf8_lossy(&output.stdout), seconds)?;
    let total = u32::try_from(total.max(1)).unwrap_or(u32::MAX);
    load.cpu_per_request = cpu / total;
    load.function_cpu_per_request = functions / total;
    Ok(load)
}

/// Reads the figures out of `wrk --latency`'s report, and the count of requests answered.
fn parse_wrk(report: &str, seconds: u32) -> anyhow::Result<(Load, u64)> {
    let field = |prefix: &str| {
        report
            .lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::trim)
            .with_context(|| format!("no `{prefix}` in wrk's report:\n{report}"))
    };
    let total: u64 = report
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("no request count in wrk's report:\n{report}"))?;
    let failed = field("Non-2xx or 3xx responses:")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    // "Socket errors: connect 0, read 0, write 0, timeout 12", only when there were some.
    let errors = field("Socket errors:").map_or(0, |list| {
        list.split(',')
            .filter_map(|kind| kind.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum()
    });
    let load = Load {
        ok_per_sec: total.saturating_sub(failed) as f64 / f64::from(seconds),
        p50: duration(field("50%")?)?,
        p99: duration(field("99%")?)?,
        failed,
        errors,
        ..Load::default()
    };
    Ok((load, total))
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

/// The baseline: axum in this process, answering the same JSON the function answers.
fn bare_server(runtime: &Runtime) -> anyhow::Result<Server> {
    async fn hello(Json(event): Json<Value>) -> Json<Value> {
        let name = event.get("name").and_then(Value::as_str).unwrap_or("world");
        Json(json!({ "message": format!("Hello, {name}!") }))
    }
    let path = invoke_path(FUNCTION);
    let app = Router::new().route(&path, post(hello));
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = runtime.spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await?;
        Ok(())
    });
    wait_ready(runtime, addr, &path, None)?;
    Ok(Server::Bare { addr, stop, task })
}

/// `lambkin` serving `function` (as the `bootstrap` of a SAM template's function, with an HTTP
/// API route `POST /hello`), its log written to a file as a terminal would show it.
fn lambkin(
    runtime: &Runtime,
    lambkin: &Path,
    function: &Path,
    work: &Path,
    extra_args: &[&str],
    log: std::fs::File,
) -> anyhow::Result<Server> {
    let project = work.join("lambkin");
    let code = project.join(FUNCTION);
    std::fs::create_dir_all(&code)?;
    let bootstrap = code.join("bootstrap");
    if !bootstrap.exists() {
        std::os::unix::fs::symlink(function, bootstrap)?;
    }
    std::fs::write(
        project.join("template.yaml"),
        format!(
            "Resources:\n  {LAMBKIN_FUNCTION}:\n    Type: AWS::Serverless::Function\n    \
             Properties:\n      CodeUri: {FUNCTION}\n      Runtime: provided.al2023\n      \
             Handler: bootstrap\n      Events:\n        Api:\n          Type: HttpApi\n          \
             Properties: {{ Path: /hello, Method: post }}\n"
        ),
    )?;
    let port = free_port()?;
    let mut command = Command::new(lambkin);
    command
        .args(["watch", "--no-reload", "--schedules", "off", "--port"])
        .arg(port.to_string())
        .args(extra_args)
        .current_dir(&project);
    spawn(runtime, command, log, port, LAMBKIN_FUNCTION)
}

/// `cargo lambda watch --release` serving this workspace's `plain-hello` (cargo-lambda builds
/// and runs it; the build is already done, so it only checks it).
fn cargo_lambda(runtime: &Runtime, log: std::fs::File) -> anyhow::Result<Server> {
    let args = [
        "--release",
        "--ignore-changes",
        "-p",
        "lambkin-bench",
        "--bin",
        FUNCTION,
    ];
    cargo_lambda_watch(runtime, &workspace(), &args, FUNCTION, log)
}

/// `cargo lambda watch <args>` in `dir`, building in this bench's target dir, once it answers an
/// invocation of `function`.
pub(crate) fn cargo_lambda_watch(
    runtime: &Runtime,
    dir: &Path,
    args: &[&str],
    function: &str,
    log: std::fs::File,
) -> anyhow::Result<Server> {
    let port = free_port()?;
    // Without what `cargo run` set for this bench (`CARGO_MANIFEST_DIR`, …): cargo-lambda's
    // cargo builds in the bench's target dir, and ring's build script reruns when those change,
    // so the next `bench/run.sh` recompiled ring and everything above it (about 8 minutes).
    let mut command = lambkin_emulator::dev::cargo::command("cargo-lambda");
    command
        .args(["lambda", "watch", "--quiet"])
        .args(args)
        .args(["--invoke-address", "127.0.0.1", "--invoke-port"])
        .arg(port.to_string())
        .env("CARGO_TARGET_DIR", lambkin_tests::project::target_dir())
        // It runs the function with `$CARGO` when set: the cargo on the PATH, as a user's shell.
        .env_remove("CARGO")
        .current_dir(dir);
    spawn(runtime, command, log, port, function)
        .context("running cargo-lambda (pip install cargo-lambda)")
}

/// Starts `command` in a process group of its own, its output in `log`, and waits until it
/// answers an invocation of `function` on `port`.
pub(crate) fn spawn(
    runtime: &Runtime,
    mut command: Command,
    log: std::fs::File,
    port: u16,
    function: &str,
) -> anyhow::Result<Server> {
    let child = command
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {command:?}"))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut server = Server::Process {
        addr,
        child: Spawned(child),
    };
    wait_ready(runtime, addr, &invoke_path(function), Some(&mut server))?;
    Ok(server)
}

/// Waits (at most five minutes: a server may build first) for a successful answer on `path`.
fn wait_ready(
    runtime: &Runtime,
    addr: SocketAddr,
    path: &str,
    mut server: Option<&mut Server>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    runtime.block_on(async {
        while Instant::now() < deadline {
            if let Some(Server::Process { child, .. }) = server.as_deref_mut()
                && let Some(status) = child.0.try_wait()?
            {
                bail!("exited before serving: {status}");
            }
            let json = [("content-type", "application/json")];
            if let Ok(answer) = lambkin_tests::try_post(addr, path, &json, PAYLOAD.to_owned()).await
                && answer.status == 200
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        bail!("no successful answer on {path} within 5 minutes")
    })
}

/// One spinner per CPU at the idle scheduling class, stopped when dropped.
fn keep_awake() -> anyhow::Result<Vec<Spawned>> {
    let cpus = std::thread::available_parallelism()?.get();
    (0..cpus)
        .map(|_| {
            let child = Command::new("chrt")
                .args(["--idle", "0", "sh", "-c", "while :; do :; done"])
                .process_group(0)
                .spawn()
                .context("running chrt (util-linux)")?;
            Ok(Spawned(child))
        })
        .collect()
}

/// This process's threads, and every process it starts meanwhile, kept on CPU 0; back on the
/// CPUs they had when dropped.
struct Pinned {
    /// The CPU list the process had (`0-1`, as `/proc` and `taskset` write it).
    before: String,
}

impl Pinned {
    fn new() -> anyhow::Result<Pinned> {
        let before = allowed_cpus("/proc/self/status").context("reading this process's CPUs")?;
        set_cpus("0")?;
        Ok(Pinned { before })
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        let _ = set_cpus(&self.before);
    }
}

/// The `Cpus_allowed_list` of a `/proc` status file (a process's or a thread's).
fn allowed_cpus(status: impl AsRef<Path>) -> Option<String> {
    let status = std::fs::read_to_string(status).ok()?;
    let list = status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))?;
    Some(list.trim().to_owned())
}

/// Sets the CPUs of every thread of this process (`taskset`, util-linux), one thread at a time:
/// `taskset --all-tasks` fails as a whole when one thread ends while it runs (another test's,
/// in the bench's own tests).
fn set_cpus(list: &str) -> anyhow::Result<()> {
    for task in std::fs::read_dir("/proc/self/task")? {
        let tid = task?.file_name();
        let status = Command::new("taskset")
            .args(["--cpu-list", "--pid", list])
            .arg(&tid)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .context("running taskset (util-linux)")?;
        // A thread that ended meanwhile has nothing left to pin.
        let gone = !Path::new("/proc/self/task").join(&tid).exists();
        ensure!(
            status.success() || gone,
            "taskset failed for thread {tid:?}: {status}"
        );
    }
    Ok(())
}

/// A loopback port free now.
pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The repository's root (this crate's parent).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_reports() {
        let report = "Running 1s test @ http://127.0.0.1:1/\n  1 threads and 1 connections\n  Latency Distribution\n     50%  161.00us\n     75%  200.00us\n     90%  1.20ms\n     99%    2.50ms\n  6000 requests in 1.00s, 1.00MB read\n  Socket errors: connect 0, read 2, write 0, timeout 5\n  Non-2xx or 3xx responses: 1000\nRequests/sec:   6000.00\n";
        let (load, total) = parse_wrk(report, 1).unwrap();
        assert_eq!(total, 6000);
        assert_eq!(load.ok_per_sec, 5000.0);
        assert_eq!(load.p50, Duration::from_micros(161));
        assert_eq!(load.p99, Duration::from_micros(2500));
        assert_eq!(load.failed, 1000);
        assert_eq!(load.errors, 7);
    }

    #[test]
    fn failures_add_up_over_rounds() {
        let round = |ok_per_sec, failed| Load {
            ok_per_sec,
            failed,
            ..Load::default()
        };
        let median = median_load(&[round(3.0, 0), round(1.0, 5), round(2.0, 1)]);
        assert_eq!((median.ok_per_sec, median.failed), (2.0, 6));
    }

    #[test]
    fn pinning_holds_every_thread_and_is_undone() {
        let tasks = || -> Vec<PathBuf> {
            std::fs::read_dir("/proc/self/task")
                .unwrap()
                .filter_map(|task| Some(task.ok()?.path().join("status")))
                .collect()
        };
        let before = allowed_cpus("/proc/thread-self/status").unwrap();
        // A thread started before pinning is pinned too (the bench's runtime is).
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || stopped.recv());
        let existing = tasks();
        let pinned = Pinned::new().unwrap();
        // The threads there before (a thread that ended meanwhile, another test's, has none).
        let during: Vec<String> = existing.iter().filter_map(allowed_cpus).collect();
        assert!(during.len() >= 2, "{during:?}");
        assert!(during.iter().all(|cpus| cpus == "0"), "{during:?}");
        drop(pinned);
        assert_eq!(allowed_cpus("/proc/thread-self/status").unwrap(), before);
        stop.send(()).unwrap();
        other.join().unwrap().unwrap();
    }
}
