//! What Lambda's log says about an invocation, and the limits a function runs under, checked
//! against real function processes: a `provided.al2023`-style runtime in Python (the `MODE`
//! variable says how it behaves) and the `fixture` example, a `lambda_runtime` client.
//!
//! * REPORT after an init failure names the type the runtime posted to `/runtime/init/error`.
//! * Billed Duration includes Init Duration on a cold start (custom runtimes bill init).
//! * Max Memory Used counts what a process allocated before it crashed.
//! * What a runtime prints before its first `/next` comes before START.
//! * A function may open 1,024 files, whatever the emulator may.
//! * Every invocation gets its own trace id, which the runtime client exports as
//!   `_X_AMZN_TRACE_ID`.
//! * A runtime that exits after answering, instead of polling `/next` again, costs the next
//!   event a cold start, not an error.
#![cfg(target_os = "linux")]
// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use common::{Reply, Running, fixture};
use lambkin_emulator::FunctionConfig;

/// The runtime: reports an init error (`import-error`), allocates `MB` MB and crashes during
/// init (`crash-init`), or prints `INIT_LINES` lines on stdout and stderr during init and then serves
/// events, crashing after allocating the event's `mb` MB (`crash`) or answering with its
/// open-file limits (`limits`), or answering and then exiting half a second later without
/// another `/next` (`exit-after-answer`).
const BOOTSTRAP: &str = r#"#!/usr/bin/env python3
import json, os, resource, socket, sys, time, urllib.request

api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
mode = os.environ["MODE"]

def post(path, body, headers=None):
    request = urllib.request.Request(api + path, data=json.dumps(body).encode(),
                                     headers=headers or {}, method="POST")
    urllib.request.urlopen(request).read()

first = None
if mode == "import-error":
    error = {"errorMessage": "Unable to import module 'app': No module named 'missing'",
             "errorType": "Runtime.ImportModuleError", "stackTrace": []}
    post("/init/error", error, {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"})
    sys.exit(1)
if mode == "crash-init":
    held = b"x" * (int(os.environ["MB"]) << 20)
    os._exit(4)
# One write per stream, right before the first /next: the pumps have the most to read.
chatter = "".join(f"init: step {i} of a chatty start\n" for i in range(int(os.environ.get("INIT_LINES", "0"))))
time.sleep(float(os.environ.get("INIT_SECONDS", "0")))
host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
first = socket.create_connection((host, int(port)))
os.write(1, chatter.encode())
os.write(2, chatter.encode())
first.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.0\r\n\r\n")
while True:
    if first is None:
        with urllib.request.urlopen(api + "/invocation/next") as answer:
            request_id = answer.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(answer.read() or b"{}")
    else:
        # The first /next goes out right after the chatter (HTTP/1.0: the answer ends at close).
        answer = first.makefile("rb").read()
        first.close()
        first = None
        head, _, body = answer.partition(b"\r\n\r\n")
        request_id = next(line.split(b":", 1)[1].strip().decode() for line in head.split(b"\r\n")
                          if line.lower().startswith(b"lambda-runtime-aws-request-id:"))
        event = json.loads(body or b"{}")
    print("handling " + request_id, flush=True)
    if mode == "crash":
        held = b"x" * (event["mb"] << 20)
        os._exit(3)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    post("/invocation/" + request_id + "/response", {"soft": soft, "hard": hard})
    if mode == "exit-after-answer":
        time.sleep(0.5)
        os._exit(1)
"#;

/// A directory holding the Python runtime, removed when dropped.
struct PythonRuntime(PathBuf);

impl PythonRuntime {
    fn new() -> PythonRuntime {
        let dir =
            std::env::temp_dir().join(format!("lambkin-report-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let bootstrap = dir.join("bootstrap");
        std::fs::write(&bootstrap, BOOTSTRAP).unwrap();
        std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).unwrap();
        PythonRuntime(dir)
    }

    /// A function `name` running the runtime in `mode`.
    fn function(&self, name: &str, mode: &str) -> FunctionConfig {
        let mut config = FunctionConfig::new(name, self.0.join("bootstrap"));
        config.env.insert("MODE".into(), mode.into());
        config
    }
}

impl Drop for PythonRuntime {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Invokes `function` asking for the log tail; returns the reply and the tail.
async fn invoke(emulator: &Running, function: &str, payload: &str) -> (Reply, String) {
    let reply = emulator
        .invoke(function, &[("X-Amz-Log-Type", "Tail")], payload.as_bytes())
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let tail = reply.log_tail();
    (reply, tail)
}

/// The REPORT line of a log tail.
fn report(tail: &str) -> &str {
    tail.lines()
        .find(|line| line.starts_with("REPORT RequestId: "))
        .unwrap_or_else(|| panic!("no REPORT in {tail}"))
}

/// The number REPORT gives for `field` (`"Billed Duration"`, …).
fn field(report: &str, field: &str) -> f64 {
    report
        .split('\t')
        .find_map(|part| part.strip_prefix(field)?.strip_prefix(": "))
        .and_then(|value| value.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_init_error_is_reported_with_the_type_the_runtime_posted() {
    let runtime = PythonRuntime::new();
    let emulator = Running::start(vec![runtime.function("broken", "import-error")]).await;
    for _ in 0..2 {
        let (reply, tail) = invoke(&emulator, "broken", "{}").await;
        assert_eq!(reply.header("X-Amz-Function-Error"), Some("Unhandled"));
        assert_eq!(reply.json()["errorType"], "Runtime.ImportModuleError");
        let report = report(&tail);
        assert!(
            report.ends_with("\tStatus: error\tError Type: Runtime.ImportModuleError"),
            "{report}"
        );
    }
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_start_bills_its_init() {
    let runtime = PythonRuntime::new();
    let mut function = runtime.function("slow-init", "limits");
    function.env.insert("INIT_SECONDS".into(), "0.3".into());
    let emulator = Running::start(vec![function]).await;

    let (_, tail) = invoke(&emulator, "slow-init", "{}").await;
    let cold = report(&tail);
    let (duration, init) = (field(cold, "Duration"), field(cold, "Init Duration"));
    let billed = field(cold, "Billed Duration");
    assert!(init >= 300.0, "{cold}");
    // Whole milliseconds, rounded up from the exact sum (REPORT rounds each part to 0.01 ms).
    assert_eq!(billed.fract(), 0.0, "{cold}");
    assert!(
        billed >= duration + init - 0.02 && billed < duration + init + 1.02,
        "Billed Duration is not ceil(Duration + Init Duration): {cold}"
    );

    // Warm: no init, billed for the invocation alone.
    let (_, tail) = invoke(&emulator, "slow-init", "{}").await;
    let warm = report(&tail);
    assert!(!warm.contains("Init Duration"), "{warm}");
    let (duration, billed) = (field(warm, "Duration"), field(warm, "Billed Duration"));
    assert!(
        billed >= duration - 0.01 && billed < duration + 1.01,
        "{warm}"
    );
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_reports_the_memory_used_before_it() {
    let runtime = PythonRuntime::new();
    let mut function = runtime.function("crash", "crash");
    function.memory_mb = 512;
    let emulator = Running::start(vec![function]).await;
    // Python allocates and exits at once: no periodic sample need fall in between.
    for mb in [30, 60] {
        let (reply, tail) = invoke(&emulator, "crash", &format!(r#"{{"mb":{mb}}}"#)).await;
        assert_eq!(reply.json()["errorType"], "Runtime.ExitError");
        let report = report(&tail);
        assert!(
            report.ends_with("\tStatus: error\tError Type: Runtime.ExitError"),
            "{report}"
        );
        let used = field(report, "Max Memory Used");
        // What it allocated, plus the interpreter (over 5 MB), and less than the function's memory.
        assert!(used > f64::from(mb) + 5.0 && used < 512.0, "{report}");
    }
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_during_init_reports_the_memory_used_before_it() {
    let runtime = PythonRuntime::new();
    let mut function = runtime.function("crash-init", "crash-init");
    function.memory_mb = 512;
    function.env.insert("MB".into(), "40".into());
    let emulator = Running::start(vec![function]).await;
    let (reply, tail) = invoke(&emulator, "crash-init", "{}").await;
    assert_eq!(reply.json()["errorType"], "Runtime.ExitError");
    let report = report(&tail);
    assert!(field(report, "Max Memory Used") > 45.0, "{report}");
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_output_comes_before_start() {
    let runtime = PythonRuntime::new();
    // Several cold starts: the order must not depend on luck.
    let names: Vec<String> = (0..4).map(|i| format!("python{i}")).collect();
    let functions = names
        .iter()
        .map(|name| {
            let mut function = runtime.function(name, "limits");
            // Some 10 KB on each stream, written just before the first `/next`.
            function.env.insert("INIT_LINES".into(), "300".into());
            function
        })
        .collect();
    let emulator = Running::start(functions).await;
    for name in &names {
        let (_, tail) = invoke(&emulator, name, "{}").await;
        let lines: Vec<&str> = tail.lines().collect();
        let position = |prefix: &str| {
            lines
                .iter()
                .position(|line| line.starts_with(prefix))
                .unwrap_or_else(|| panic!("no {prefix:?} in {tail}"))
        };
        // Both streams are read at once: their lines interleave, but all precede START.
        let init = position("init: ");
        let start = position("START RequestId: ");
        let handling = position("handling ");
        let end = position("END RequestId: ");
        assert!(init < start && start < handling && handling < end, "{tail}");
        assert!(
            !lines[start..].iter().any(|line| line.starts_with("init: ")),
            "{tail}"
        );
    }
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_exits_after_answering_costs_a_cold_start_not_an_error() {
    let runtime = PythonRuntime::new();
    let emulator = Running::start(vec![runtime.function("once", "exit-after-answer")]).await;
    // Each call comes while the last instance is still alive (it exits half a second after
    // answering): it is offered the event, then exits without taking it.
    for _ in 0..3 {
        let (reply, tail) = invoke(&emulator, "once", "{}").await;
        assert_eq!(reply.json()["soft"], 1024, "{}", reply.text());
        assert!(field(report(&tail), "Init Duration") > 0.0, "{tail}");
    }
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_may_open_lambdas_1024_files() {
    // Like `lambkin`, which raises its own limit to the hard one: functions must not inherit it.
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct they are given.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
    let expected = limit.rlim_max.min(1024);
    let runtime = PythonRuntime::new();
    let emulator = Running::start(vec![runtime.function("files", "limits")]).await;
    let (reply, _) = invoke(&emulator, "files", "{}").await;
    let body = reply.json();
    assert_eq!(body["soft"], expected, "{body}");
    assert_eq!(body["hard"], expected, "{body}");
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_invocation_has_its_own_trace_id() {
    let emulator = Running::start(vec![fixture("echo", "echo")]).await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let reply = emulator.invoke("echo", &[], b"{}").await;
        let body = reply.json();
        let trace_id = body["trace_id"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"));
        assert!(trace_id.starts_with("Root=1-"), "{body}");
        // The runtime client exports the header of its current invocation.
        assert_eq!(body["env"]["_X_AMZN_TRACE_ID"], trace_id, "{body}");
        assert!(!seen.contains(&trace_id.to_owned()), "{trace_id} again");
        seen.push(trace_id.to_owned());
    }
    // A caller's own trace header is passed on.
    let theirs = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1";
    let reply = emulator
        .invoke("echo", &[("X-Amzn-Trace-Id", theirs)], b"{}")
        .await;
    assert_eq!(reply.json()["env"]["_X_AMZN_TRACE_ID"], theirs);
    emulator.stop().await;
}
