//! The Telemetry API and the Logs API with real extensions in the function's `extensions/`
//! directory: the `lambda-extension` crate's telemetry processor (the `telemetry_processor`
//! example) and a Python extension (standard library only, `fixtures/telemetry_extension.py`)
//! register, subscribe and record what the emulator posts to their listeners. They get the
//! init's and each invocation's platform records and the function's lines between the
//! `platform.start` and `platform.runtimeDone` of the request that wrote them; a subscription
//! Lambda refuses gets AWS's `ValidationError`; a listener that is down leaves the emulator
//! serving, with one warning saying why; the Logs API delivers its older schema.
#![cfg(target_os = "linux")]
// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::{Path, PathBuf};

use common::processes::{MARKER, marked, new_marker, wait_none};
use common::{Running, example_path, fixture_path, logs};
use lambkin_emulator::FunctionConfig;
use serde_json::Value;

/// The name the Python extension registers with: its file name in `extensions/`.
const EXTENSION: &str = "telemetry-recorder";

/// A function directory: the fixture as `bootstrap`, an extension in `extensions/`, and the
/// file the extension writes.
struct FunctionDir {
    dir: PathBuf,
    marker: String,
}

impl FunctionDir {
    /// With the Python recorder as [`EXTENSION`].
    fn new(test: &str) -> FunctionDir {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/telemetry_extension.py");
        FunctionDir::with_extension(test, EXTENSION, &script)
    }

    /// With the executable `extension` as extension `name`.
    fn with_extension(test: &str, name: &str, extension: &Path) -> FunctionDir {
        let marker = new_marker(test);
        let dir = std::env::temp_dir().join(format!("lambkin-{marker}"));
        std::fs::create_dir_all(dir.join("extensions")).unwrap();
        std::os::unix::fs::symlink(fixture_path(), dir.join("bootstrap")).unwrap();
        std::os::unix::fs::symlink(extension, dir.join("extensions").join(name)).unwrap();
        FunctionDir { dir, marker }
    }

    fn out(&self) -> PathBuf {
        self.dir.join("telemetry.jsonl")
    }

    /// The function `name` (the fixture's `echo`), with the recorder's settings `env`.
    fn config(&self, name: &str, env: &[(&str, &str)]) -> FunctionConfig {
        let mut config = FunctionConfig::new(name, self.dir.join("bootstrap"));
        config.env.insert("FIXTURE".into(), "echo".into());
        config.env.insert(
            "TELEMETRY_OUT".into(),
            self.out().to_string_lossy().into_owned(),
        );
        config.env.insert(MARKER.into(), self.marker.clone());
        for (key, value) in env {
            config.env.insert((*key).into(), (*value).into());
        }
        config
    }

    /// What the extension wrote: the records (batches, or records one by one), in order, and
    /// the other lines.
    fn recorded(&self) -> (Vec<Value>, Vec<Value>) {
        let text = std::fs::read_to_string(self.out()).unwrap_or_default();
        let mut records = Vec::new();
        let mut other = Vec::new();
        for line in text.lines() {
            match serde_json::from_str::<Value>(line).unwrap() {
                Value::Array(batch) => records.extend(batch),
                record if record.get("type").is_some() => records.push(record),
                value => other.push(value),
            }
        }
        (records, other)
    }

    async fn assert_no_processes(&self) {
        let left = wait_none(|| marked(&self.marker)).await;
        assert!(left.is_empty(), "processes left behind: {left:?}");
    }
}

impl Drop for FunctionDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn kinds(records: &[Value]) -> Vec<&str> {
    records
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect()
}

/// Where the record of `kind` about request `id` is.
fn position(records: &[Value], kind: &str, id: &str) -> usize {
    records
        .iter()
        .position(|r| r["type"] == kind && r["record"]["requestId"] == id)
        .unwrap_or_else(|| panic!("no {kind} for {id} in {:#?}", kinds(records)))
}

/// Invokes `name` and returns its request id and the size of its answer.
async fn invoke(emulator: &Running, name: &str) -> (String, usize) {
    let reply = emulator.invoke(name, &[], b"{}").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(
        reply.header("x-amz-function-error").is_none(),
        "{}",
        reply.text()
    );
    let id = reply.header("x-amzn-RequestId").unwrap().to_owned();
    (id, reply.body.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_gets_each_requests_platform_records_and_function_lines() {
    let dir = FunctionDir::new("telemetry-api");
    let config = dir.config("watched", &[("TELEMETRY_BAD", "1")]);
    let emulator = Running::start(vec![config]).await;
    let first = invoke(&emulator, "watched").await;
    let second = invoke(&emulator, "watched").await;
    // The extension gets SHUTDOWN and waits for the last report before it exits.
    emulator.stop().await;
    dir.assert_no_processes().await;

    let (records, other) = dir.recorded();
    // The first subscription (timeoutMs 5) was refused as Lambda refuses it, and so was one
    // after the init.
    assert_eq!(other.len(), 2, "{other:?}");
    let refused = &other[0]["refused"];
    assert_eq!(refused["status"], 400);
    assert_eq!(refused["body"]["errorType"], "ValidationError");
    assert_eq!(
        refused["body"]["errorMessage"],
        "buffering.timeoutMs is 5: it must be between 25 and 30000"
    );
    let late = &other[1]["late"];
    assert_eq!(late["status"], 403);
    assert_eq!(late["body"]["errorType"], "Telemetry.SubscriptionClosed");

    // The init, as the subscriber sees it: what came before it subscribed first, then the end of
    // the init (with what the function printed meanwhile, once subscribed).
    let init: Vec<&str> = kinds(&records)
        .into_iter()
        .filter(|kind| *kind != "function")
        .take(6)
        .collect();
    assert_eq!(
        init,
        [
            "platform.initStart",
            "platform.telemetrySubscription",
            "platform.extension",
            "platform.initRuntimeDone",
            "platform.initReport",
            "platform.start",
        ]
    );
    let record = |kind: &str| &records.iter().find(|r| r["type"] == kind).unwrap()["record"];
    assert_eq!(record("platform.initStart")["functionName"], "watched");
    assert_eq!(record("platform.telemetrySubscription")["name"], EXTENSION);
    let extension = record("platform.extension");
    assert_eq!(extension["name"], EXTENSION);
    assert_eq!(
        extension["events"],
        serde_json::json!(["INVOKE", "SHUTDOWN"])
    );
    let init_report = record("platform.initReport");
    assert_eq!(init_report["status"], "success");
    assert!(init_report["metrics"]["durationMs"].as_f64().unwrap() > 0.0);

    // What the extension printed is an extension record, not a function one.
    for (id, _) in [&first, &second] {
        let line = format!("recorder: invoke {id}");
        let printed: Vec<&Value> = records
            .iter()
            .filter(|r| r["record"] == line.as_str())
            .collect();
        assert_eq!(printed.len(), 1, "{line}");
        assert_eq!(printed[0]["type"], "extension");
    }
    assert_invocations(&records, &[first, second]);
    let time = records[0]["time"].as_str().unwrap();
    assert!(time.ends_with('Z') && time.len() == 24, "{time}");
}

/// Each invocation `(id, answer size)`, as `records` tell it: its start, the function's line
/// about that request, its runtime's end with the answer's size, its report.
fn assert_invocations(records: &[Value], invocations: &[(String, usize)]) {
    for (id, size) in invocations {
        let start = position(records, "platform.start", id);
        let done = position(records, "platform.runtimeDone", id);
        let report = position(records, "platform.report", id);
        let line = format!("echo: handling {id}");
        let printed = records
            .iter()
            .position(|r| r["type"] == "function" && r["record"] == line.as_str())
            .unwrap_or_else(|| panic!("no function line {line:?}"));
        assert!(start < printed && printed < done && done < report);
        let done = &records[done]["record"];
        assert_eq!(done["status"], "success");
        assert_eq!(done["metrics"]["producedBytes"], *size);
        let report = &records[report]["record"];
        assert_eq!(report["status"], "success");
        assert_eq!(report["metrics"]["memorySizeMB"], 128);
        assert!(report["metrics"]["billedDurationMs"].as_u64().unwrap() >= 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_extension_crates_telemetry_processor_gets_each_requests_records() {
    let processor = example_path("telemetry_processor");
    let dir = FunctionDir::with_extension("telemetry-processor", "processor", &processor);
    // A port for its listener (it binds the one it is given).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let config = dir.config("processed", &[("TELEMETRY_PORT", &port)]);
    let emulator = Running::start(vec![config]).await;
    let first = invoke(&emulator, "processed").await;
    let second = invoke(&emulator, "processed").await;
    emulator.stop().await;
    dir.assert_no_processes().await;

    // Every record was read by the crate's parser (a batch it cannot read is refused whole).
    let (records, other) = dir.recorded();
    assert!(other.is_empty(), "{other:?}");
    let subscribed = records
        .iter()
        .find(|r| r["type"] == "platform.telemetrySubscription")
        .unwrap();
    assert_eq!(subscribed["record"]["name"], "processor");
    assert_invocations(&records, &[first, second]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_is_down_leaves_the_emulator_serving_and_says_why() {
    let logs = logs();
    let dir = FunctionDir::new("telemetry-down");
    let config = dir.config("unheard", &[("TELEMETRY_DOWN", "1")]);
    let emulator = Running::start(vec![config]).await;
    for _ in 0..3 {
        invoke(&emulator, "unheard").await;
    }
    emulator.stop().await;
    dir.assert_no_processes().await;
    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    let warnings: Vec<&str> = logs
        .lines()
        .filter(|l| {
            l.contains("function=unheard") && l.contains("telemetry could not be delivered")
        })
        .collect();
    assert_eq!(warnings.len(), 1, "{logs}");
    assert!(
        warnings[0].contains("http://sandbox.localdomain:"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[0].contains("Connection refused"),
        "{}",
        warnings[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logs_api_delivers_its_older_schema() {
    let dir = FunctionDir::new("logs-api");
    let config = dir.config("logged", &[("TELEMETRY_API", "logs")]);
    let emulator = Running::start(vec![config]).await;
    let (id, _) = invoke(&emulator, "logged").await;
    emulator.stop().await;
    dir.assert_no_processes().await;

    let (records, _) = dir.recorded();
    // No init records in this schema.
    assert_eq!(records[0]["type"], "platform.logsSubscription");
    assert!(kinds(&records).contains(&"platform.extension"));
    assert!(!kinds(&records).contains(&"platform.initStart"));
    let start = position(&records, "platform.start", &id);
    let done = position(&records, "platform.runtimeDone", &id);
    let end = position(&records, "platform.end", &id);
    let report = position(&records, "platform.report", &id);
    assert!(start < done && done < end && end < report);
    assert_eq!(records[done]["record"]["status"], "success");
    assert!(records[report]["record"].get("status").is_none());
    assert_eq!(records[report]["record"]["metrics"]["memorySizeMB"], 128);
}
