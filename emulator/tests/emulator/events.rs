//! Asynchronous (`Event`) invocations through real emulator processes: the `lambkin` binary
//! serving a SAM project, and the fixture's `host` mode (an `Emulator` in a child process) where
//! a library setting is needed. Queues are bounded in memory, events survive a restart and run
//! once more with their request ids, events that are too old or whose function is gone are
//! discarded with a count, and an event directory serves one emulator at a time.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use common::process::Process;
use common::{Reply, Scratch, bounded, fixture_path, request};
use lambkin_emulator::QueueLimits;

impl Process {
    async fn event(&self, function: &str, payload: &[u8]) -> Reply {
        let path = format!("/2015-03-31/functions/{function}/invocations");
        request(
            self.addr,
            "POST",
            &path,
            &[("X-Amz-Invocation-Type", "Event")],
            payload,
        )
        .await
    }

    /// Queues an event, returning its request id.
    async fn queue(&self, function: &str, payload: &[u8]) -> String {
        let reply = self.event(function, payload).await;
        assert_eq!(reply.status, 202, "{}", reply.text());
        reply.header("x-amzn-RequestId").unwrap().to_owned()
    }
}

/// A SAM project (no Cargo.toml) whose function `Slow` is the fixture as a `bootstrap`, one
/// instance at a time, behaving as `behaviour` and logging each request id to `log`.
fn sam_project(dir: &Path, behaviour: &str, log: &Path) {
    let code = dir.join("fn");
    std::fs::create_dir_all(&code).unwrap();
    let bootstrap = code.join("bootstrap");
    if !bootstrap.exists() && std::fs::hard_link(fixture_path(), &bootstrap).is_err() {
        std::fs::copy(fixture_path(), &bootstrap).unwrap();
    }
    let template = format!(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Slow:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: ./fn\n      Handler: bootstrap\n      Runtime: provided.al2023\n      Timeout: 120\n      ReservedConcurrentExecutions: 1\n      Environment:\n        Variables:\n          FIXTURE: {behaviour}\n          FIXTURE_LOG: {}\n",
        log.display()
    );
    std::fs::write(dir.join("template.yaml"), template).unwrap();
}

/// The request ids of the events waiting in `dir`, sorted.
fn event_files(dir: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter_map(|name| name.strip_suffix(".event").map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// The request ids the function logged, once there are at least `n` (bounded).
async fn invocations(log: &Path, n: usize) -> Vec<String> {
    bounded(async {
        loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let ids: Vec<String> = text.lines().map(str::to_owned).collect();
            if ids.len() >= n {
                return ids;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

/// Waits (bounded) until no event waits in `dir`.
async fn drained(dir: &Path) {
    bounded(async {
        while !event_files(dir).is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_events_survive_a_restart_and_run_once_more() {
    let project = Scratch::new("events-restart");
    let log = project.0.join("invocations.log");
    sam_project(&project.0, "slow", &log);
    let events = project.0.join(".lambkin").join("events");

    let mut lambkin = Process::lambkin(&project.0).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(lambkin.queue("Slow", br#"{"sleep_ms": 60000}"#).await);
    }
    // One instance: the first event runs (for a minute), the other four wait.
    let first = invocations(&log, 1).await;
    assert_eq!(event_files(&events), sorted(ids.clone()));
    let mode = std::fs::metadata(&events).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    lambkin.terminate().await;
    assert!(
        lambkin.logged(&["kept for the next start", "count=5"]),
        "shutdown says what is kept"
    );
    // The running one stays too: it did not finish.
    assert_eq!(event_files(&events), sorted(ids.clone()));

    // Started again, now quick: every event runs once more, with its request id.
    sam_project(&project.0, "echo", &log);
    let mut again = Process::lambkin(&project.0).await;
    again
        .saw_or_wait_for(|l| {
            l.contains("resuming asynchronous invocations") && l.contains("count=5")
        })
        .await;
    let ran = invocations(&log, 6).await;
    drained(&events).await;
    again.terminate().await;
    let ran_after = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        ran_after.lines().count(),
        6,
        "no event ran twice: {ran_after}"
    );
    assert!(ids.contains(&first[0]));
    assert_eq!(sorted(ran[1..].to_vec()), sorted(ids));
    assert!(!again.logged(&["kept for the next start"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_big_events_is_bounded_in_memory() {
    let project = Scratch::new("events-flood");
    let log = project.0.join("invocations.log");
    sam_project(&project.0, "slow", &log);
    let lambkin = Process::lambkin(&project.0).await;
    let addr = lambkin.addr;

    // 1,000 events of exactly 1 MB (the Event limit), 8 at a time, for a function busy for a
    // minute with the first.
    let size = 1_048_576;
    let head = r#"{"sleep_ms": 60000, "pad": ""#;
    let mut payload = head.as_bytes().to_vec();
    payload.resize(size - 2, b'x');
    payload.extend_from_slice(b"\"}");
    let payload = std::sync::Arc::new(payload);
    let mut replies = Vec::new();
    for _ in 0..125 {
        let mut batch = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let payload = payload.clone();
            batch.spawn(async move {
                let path = "/2015-03-31/functions/Slow/invocations";
                let headers = [("X-Amz-Invocation-Type", "Event")];
                request(addr, "POST", path, &headers, &payload).await
            });
        }
        while let Some(reply) = batch.join_next().await {
            replies.push(reply.unwrap());
        }
    }
    let accepted = replies.iter().filter(|r| r.status == 202).count();
    assert_eq!(accepted, QueueLimits::default().max_bytes / size);
    for reply in replies.iter().filter(|r| r.status != 202) {
        let message = reply.assert_aws_error(429, "TooManyRequestsException");
        assert_eq!(message, "Rate Exceeded.");
        assert_eq!(
            reply.json()["Reason"],
            "ReservedFunctionInvocationRateLimitExceeded"
        );
    }

    // A memory bound, not a timing one: the queue holds 64 MB, the emulator far less than the
    // 1 GB sent.
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", lambkin.child.id().unwrap())).unwrap();
    let peak_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    eprintln!("emulator peak RSS: {peak_kb} kB");
    assert!(peak_kb < 300 * 1024, "peak RSS {peak_kb} kB");

    // Still serving.
    let reply = request(
        addr,
        "POST",
        "/2015-03-31/functions/Slow/invocations",
        &[("X-Amz-Invocation-Type", "DryRun")],
        b"{}",
    )
    .await;
    assert_eq!(reply.status, 204);
    let mut lambkin = lambkin;
    lambkin.terminate().await;
    assert!(!lambkin.logged(&["panicked"]));
    assert!(lambkin.logged(&["kept for the next start", &format!("count={accepted}")]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_and_orphaned_events_are_discarded_with_a_count() {
    let temp = Scratch::new("events-discard");
    let dir = temp.0.join("events");
    let log = temp.0.join("invocations.log");
    let (dir_text, log_text) = (dir.display().to_string(), log.display().to_string());
    let slow = [
        ("HOST_FUNCTION", "slow"),
        ("HOST_CONCURRENCY", "1"),
        ("HOST_TIMEOUT_MS", "120000"),
        ("HOST_MAX_EVENT_AGE_MS", "1000"),
        ("HOST_EVENT_DIR", dir_text.as_str()),
        ("HOST_LOG", log_text.as_str()),
    ];
    let payload = br#"{"sleep_ms": 60000}"#;

    let mut host = Process::host(&slow).await;
    for _ in 0..3 {
        host.queue("slow", payload).await;
    }
    invocations(&log, 1).await;
    host.terminate().await;
    assert_eq!(event_files(&dir).len(), 3);

    // Older than the function's maximum age (1 s) when the emulator starts again.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let mut host = Process::host(&slow).await;
    host.saw_or_wait_for(|l| {
        l.contains("older than their function's maximum event age") && l.contains("count=3")
    })
    .await;
    assert_eq!(event_files(&dir), Vec::<String>::new());
    for _ in 0..2 {
        host.queue("slow", payload).await;
    }
    invocations(&log, 2).await;
    host.terminate().await;
    assert_eq!(event_files(&dir).len(), 2);

    // The function is gone when the emulator starts again (it serves `echo` instead).
    let echo = [
        ("HOST_FUNCTION", "echo"),
        ("HOST_EVENT_DIR", dir_text.as_str()),
    ];
    let mut host = Process::host(&echo).await;
    host.saw_or_wait_for(|l| l.contains("functions that no longer exist") && l.contains("count=2"))
        .await;
    assert_eq!(event_files(&dir), Vec::<String>::new());
    host.terminate().await;
    assert_eq!(
        invocations(&log, 2).await.len(),
        2,
        "no discarded event ran"
    );

    // Without an event directory, what is left at shutdown is lost, and said so.
    let memory = [("HOST_FUNCTION", "slow"), ("HOST_CONCURRENCY", "1")];
    let mut host = Process::host(&memory).await;
    for _ in 0..3 {
        host.queue("slow", payload).await;
    }
    host.terminate().await;
    assert!(host.logged(&["dropped at shutdown", "count=3"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_limits_are_the_library_users_to_set() {
    let mut slow = common::fixture("slow", "slow");
    slow.reserved_concurrency = Some(1);
    slow.timeout = Duration::from_secs(60);
    let options = lambkin_emulator::Options {
        event_queue_limits: QueueLimits {
            max_events: 2,
            max_bytes: 1024,
        },
        ..lambkin_emulator::Options::default()
    };
    let emulator = lambkin_emulator::Emulator::with_options([slow], options).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(emulator.serve_listener(listener, async {
        let _ = stopped.await;
    }));
    let path = "/2015-03-31/functions/slow/invocations";
    let event = [("X-Amz-Invocation-Type", "Event")];
    let slow_event = br#"{"sleep_ms": 30000}"#;

    // Too many bytes for the queue: refused whatever the count.
    let big = format!(r#"{{"pad": "{}"}}"#, "x".repeat(1024));
    let reply = request(addr, "POST", path, &event, big.as_bytes()).await;
    reply.assert_aws_error(429, "TooManyRequestsException");
    // Two events (one running, one waiting) fill it; the third is refused.
    for _ in 0..2 {
        let reply = request(addr, "POST", path, &event, slow_event).await;
        assert_eq!(reply.status, 202, "{}", reply.text());
    }
    let reply = request(addr, "POST", path, &event, slow_event).await;
    reply.assert_aws_error(429, "TooManyRequestsException");
    assert_eq!(
        reply.json()["Reason"],
        "ReservedFunctionInvocationRateLimitExceeded"
    );
    // The synchronous path is a different limit: every instance is busy.
    let reply = request(addr, "POST", path, &[], br#"{"sleep_ms": 0}"#).await;
    reply.assert_aws_error(429, "TooManyRequestsException");
    assert_eq!(
        reply.json()["Reason"],
        "ReservedFunctionConcurrentInvocationLimitExceeded"
    );
    let _ = stop.send(());
    bounded(server).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_directory_in_use_is_refused_and_lambkin_keeps_events_in_memory() {
    let project = Scratch::new("events-in-use");
    let log = project.0.join("invocations.log");
    sam_project(&project.0, "echo", &log);
    let events = project.0.join(".lambkin").join("events");
    let mut first = Process::lambkin(&project.0).await;

    // The library refuses a directory another emulator holds...
    let options = lambkin_emulator::Options {
        event_dir: Some(events.clone()),
        ..lambkin_emulator::Options::default()
    };
    let error =
        lambkin_emulator::Emulator::with_options([common::fixture("echo", "echo")], options)
            .unwrap_err();
    assert!(
        matches!(&error, lambkin_emulator::Error::EventDir { dir, .. } if *dir == events),
        "{error}"
    );
    assert!(
        error.to_string().contains("used by another emulator"),
        "{error}"
    );

    // ...and `lambkin watch` serves anyway, its events in memory only.
    let mut second = Process::lambkin(&project.0).await;
    second
        .saw_or_wait_for(|l| l.contains("kept in memory only"))
        .await;
    assert!(second.logged(&["kept in memory only", "used by another emulator"]));
    let id = second.queue("Slow", b"{}").await;
    assert_eq!(invocations(&log, 1).await, [id]);
    assert!(event_files(&events).is_empty());
    second.terminate().await;
    first.terminate().await;
}

/// The JSON lines a `sink` function wrote to `file`, once there are at least `n` (bounded).
async fn sunk(file: &Path, n: usize) -> Vec<serde_json::Value> {
    bounded(async {
        loop {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            let lines: Vec<serde_json::Value> = text
                .lines()
                .map(|line| serde_json::from_str(line).unwrap())
                .collect();
            if lines.len() >= n {
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

const ARN: &str = "arn:aws:lambda:us-east-1:012345678912:function";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_back_off_and_destinations_get_aws_records() {
    let temp = Scratch::new("events-destinations");
    let log = temp.0.join("invocations.log");
    let (dir, log_text) = (temp.0.display().to_string(), log.display().to_string());
    let (ok, failed) = (format!("{ARN}:ok"), format!("{ARN}:failed"));
    let mut host = Process::host(&[
        ("HOST_FUNCTION", "flaky"),
        ("HOST_LOG", log_text.as_str()),
        ("HOST_RETRY_DELAY_MS", "100"),
        ("HOST_RETRIES", "2"),
        ("HOST_ON_SUCCESS", ok.as_str()),
        ("HOST_ON_FAILURE", failed.as_str()),
        ("HOST_SINKS", "ok,failed"),
        ("HOST_SINK_DIR", dir.as_str()),
    ])
    .await;

    // Fails twice, then succeeds on the last retry Lambda allows.
    let id = host.queue("flaky", br#"{"fail": 2}"#).await;
    let records = sunk(&temp.0.join("ok.jsonl"), 1).await;
    assert_eq!(invocations(&log, 3).await, [id.as_str(); 3]);
    let record = &records[0];
    assert_eq!(record["version"], "1.0");
    let timestamp = record["timestamp"].as_str().unwrap();
    assert!(
        timestamp.len() == 24 && timestamp.ends_with('Z') && timestamp.as_bytes()[10] == b'T',
        "{timestamp}"
    );
    assert_eq!(
        record["requestContext"],
        serde_json::json!({
            "requestId": id,
            "functionArn": format!("{ARN}:flaky:$LATEST"),
            "condition": "Success",
            "approximateInvokeCount": 3,
        })
    );
    assert_eq!(record["requestPayload"], serde_json::json!({"fail": 2}));
    assert_eq!(
        record["responseContext"],
        serde_json::json!({"statusCode": 200, "executedVersion": "$LATEST"})
    );
    assert_eq!(
        record["responsePayload"],
        serde_json::json!({"attempt": 3, "event": {"fail": 2}})
    );
    // Lambda's backoff: the configured delay, then twice as long.
    let retried = |delay: &'static str| {
        let id = id.clone();
        move |line: &str| line.contains("retrying") && line.contains(&id) && line.contains(delay)
    };
    host.saw_or_wait_for(retried("delay=100ms")).await;
    host.saw_or_wait_for(retried("delay=200ms")).await;
    host.saw_or_wait_for(|l| {
        l.contains("OnSuccess record sent to a local function") && l.contains(&id)
    })
    .await;

    // Fails every time: given up after two retries, recorded for the failure destination.
    let id = host.queue("flaky", br#"{"fail": 9}"#).await;
    let records = sunk(&temp.0.join("failed.jsonl"), 1).await;
    let record = &records[0];
    assert_eq!(record["requestContext"]["requestId"], id.as_str());
    assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 3);
    assert_eq!(
        record["requestContext"]["functionArn"],
        format!("{ARN}:flaky:$LATEST")
    );
    assert_eq!(record["requestPayload"], serde_json::json!({"fail": 9}));
    assert_eq!(
        record["responseContext"],
        serde_json::json!({
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        })
    );
    assert_eq!(record["responsePayload"]["errorType"], "Fixture.Flaky");
    assert_eq!(
        record["responsePayload"]["errorMessage"],
        "attempt 3 failed on purpose"
    );
    let ran = invocations(&log, 6).await;
    assert_eq!(ran[3..], [id.as_str(); 3]);
    host.saw_or_wait_for(|l| {
        l.contains("giving up") && l.contains(&id) && l.contains("attempts=3")
    })
    .await;
    // Each record once, to its own destination.
    host.terminate().await;
    assert_eq!(sunk(&temp.0.join("ok.jsonl"), 1).await.len(), 1);
    assert_eq!(sunk(&temp.0.join("failed.jsonl"), 1).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_old_events_go_to_the_failure_destination_and_remote_targets_to_files() {
    let temp = Scratch::new("events-expired");
    let log = temp.0.join("invocations.log");
    let events = temp.0.join("events");
    let (dir, log_text) = (temp.0.display().to_string(), log.display().to_string());
    let events_text = events.display().to_string();
    let failed = format!("{ARN}:failed");
    let topic = "arn:aws:sns:us-east-1:012345678912:successes";
    let queue = "arn:aws:sqs:us-east-1:012345678912:dead-letters";
    let mut host = Process::host(&[
        ("HOST_FUNCTION", "flaky"),
        ("HOST_LOG", log_text.as_str()),
        ("HOST_EVENT_DIR", events_text.as_str()),
        // The retry comes after the event's maximum age: it is discarded instead.
        // (Ages with room for a loaded machine: the first attempt must come before the age.)
        ("HOST_RETRY_DELAY_MS", "1500"),
        ("HOST_MAX_EVENT_AGE_MS", "1000"),
        ("HOST_ON_SUCCESS", topic),
        ("HOST_ON_FAILURE", failed.as_str()),
        ("HOST_DEAD_LETTER", queue),
        ("HOST_SINKS", "failed"),
        ("HOST_SINK_DIR", dir.as_str()),
    ])
    .await;

    let id = host.queue("flaky", br#"{"fail": 1}"#).await;
    let records = sunk(&temp.0.join("failed.jsonl"), 1).await;
    let record = &records[0];
    assert_eq!(record["requestContext"]["requestId"], id.as_str());
    assert_eq!(record["requestContext"]["condition"], "EventAgeExceeded");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 1);
    assert_eq!(record["requestPayload"], serde_json::json!({"fail": 1}));
    assert_eq!(record["responseContext"]["functionError"], "Unhandled");
    assert_eq!(
        record["responsePayload"]["errorMessage"],
        "attempt 1 failed on purpose"
    );
    assert_eq!(invocations(&log, 1).await, [id.as_str()], "never retried");
    host.saw_or_wait_for(|l| {
        l.contains("older than the function's maximum event age") && l.contains(&id)
    })
    .await;

    // The dead-letter queue is not local: the event is kept in a file, and the log says where.
    let dead = events
        .join("records")
        .join(format!("flaky-{id}-DeadLetter.json"));
    host.saw_or_wait_for(|l| {
        l.contains("DeadLetter record not delivered locally") && l.contains(queue)
    })
    .await;
    assert_eq!(std::fs::read(&dead).unwrap(), br#"{"fail": 1}"#);

    // A success goes to the SNS topic: not reachable locally either.
    let id = host.queue("flaky", br#"{"fail": 0}"#).await;
    let line = host
        .wait_for(|l| l.contains("OnSuccess record not delivered locally") && l.contains(&id))
        .await;
    assert!(line.contains(topic), "{line}");
    let kept = events
        .join("records")
        .join(format!("flaky-{id}-OnSuccess.json"));
    assert!(line.contains(&kept.display().to_string()), "{line}");
    let record: serde_json::Value = serde_json::from_slice(&std::fs::read(&kept).unwrap()).unwrap();
    assert_eq!(record["requestContext"]["condition"], "Success");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 1);
    assert_eq!(record["responsePayload"]["attempt"], 1);
    host.terminate().await;
    assert_eq!(event_files(&events), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sam_templates_event_invoke_config_drives_lambkin_watch() {
    let project = Scratch::new("events-sam-destinations");
    let code = project.0.join("fn");
    std::fs::create_dir_all(&code).unwrap();
    if std::fs::hard_link(fixture_path(), code.join("bootstrap")).is_err() {
        std::fs::copy(fixture_path(), code.join("bootstrap")).unwrap();
    }
    let (log, records) = (
        project.0.join("attempts.log"),
        project.0.join("records.jsonl"),
    );
    let template = format!(
        "Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    CodeUri: ./fn
    Runtime: provided.al2023
Resources:
  Fails:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          FIXTURE: error
          FIXTURE_LOG: {}
      EventInvokeConfig:
        MaximumRetryAttempts: 0
        DestinationConfig:
          OnFailure:
            Type: Lambda
            Destination: !GetAtt Sink.Arn
          OnSuccess:
            Type: SQS
  Sink:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          FIXTURE: sink
          FIXTURE_SINK: {}
",
        log.display(),
        records.display()
    );
    std::fs::write(project.0.join("template.yaml"), template).unwrap();
    let mut lambkin = Process::lambkin(&project.0).await;

    // The template's settings, as the API reports them.
    let path = "/2019-09-25/functions/Fails/event-invoke-config";
    let reply = request(lambkin.addr, "GET", path, &[common::SIGNED], b"").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let config = reply.json();
    assert_eq!(config["MaximumRetryAttempts"], 0);
    assert_eq!(config["MaximumEventAgeInSeconds"], 21_600);
    assert_eq!(
        config["DestinationConfig"]["OnFailure"]["Destination"],
        "arn:aws:lambda:us-east-1:012345678912:function:Sink"
    );

    // No retry: one attempt, then the record to the sink function.
    let id = lambkin.queue("Fails", br#"{"n": 1}"#).await;
    let record = &sunk(&records, 1).await[0];
    assert_eq!(record["requestContext"]["requestId"], id.as_str());
    assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 1);
    assert_eq!(record["requestPayload"], serde_json::json!({"n": 1}));
    assert_eq!(record["responsePayload"]["errorType"], "Fixture.Failed");
    assert_eq!(invocations(&log, 1).await, [id.as_str()]);
    lambkin
        .saw_or_wait_for(|l| l.contains("REPORT RequestId") && l.contains(&id))
        .await;
    lambkin.terminate().await;
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 1);
    assert!(!lambkin.logged(&["retrying", &id]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_that_grew_too_old_while_stopped_still_reaches_the_failure_destination() {
    let temp = Scratch::new("events-expired-restart");
    let log = temp.0.join("invocations.log");
    let events = temp.0.join("events");
    let (dir, log_text) = (temp.0.display().to_string(), log.display().to_string());
    let events_text = events.display().to_string();
    let failed = format!("{ARN}:failed");
    let env = [
        ("HOST_FUNCTION", "flaky"),
        ("HOST_LOG", log_text.as_str()),
        ("HOST_EVENT_DIR", events_text.as_str()),
        ("HOST_RETRY_DELAY_MS", "60000"),
        ("HOST_MAX_EVENT_AGE_MS", "1000"),
        ("HOST_ON_FAILURE", failed.as_str()),
        ("HOST_SINKS", "failed"),
        ("HOST_SINK_DIR", dir.as_str()),
    ];
    let mut host = Process::host(&env).await;
    let id = host.queue("flaky", br#"{"fail": 9}"#).await;
    // The failed attempt is written to the event's file (its retry is a minute away).
    let file = events.join(format!("{id}.event"));
    bounded(async {
        while !std::fs::read_to_string(&file)
            .unwrap_or_default()
            .contains("attempt 1 failed")
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    host.terminate().await;

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let mut host = Process::host(&env).await;
    let record = &sunk(&temp.0.join("failed.jsonl"), 1).await[0];
    assert_eq!(record["requestContext"]["requestId"], id.as_str());
    assert_eq!(record["requestContext"]["condition"], "EventAgeExceeded");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 1);
    assert_eq!(
        record["responsePayload"]["errorMessage"],
        "attempt 1 failed on purpose"
    );
    host.saw_or_wait_for(|l| l.contains("maximum event age") && l.contains("count=1"))
        .await;
    // The record went to the failure destination as an event of its own, whose file goes once
    // that invocation has ended (the sink has the record before then).
    bounded(async {
        while !event_files(&events).is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    host.terminate().await;
    assert_eq!(invocations(&log, 1).await, [id.as_str()], "not run again");
}
