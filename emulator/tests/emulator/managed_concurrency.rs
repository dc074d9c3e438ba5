//! A function configured for several invocations per instance (Lambda Managed Instances'
//! `PerExecutionEnvironmentMaxConcurrency`), through the Invoke API of a real emulator running
//! the fixture as a real `lambda_runtime::run_concurrent` client: its instances get
//! `AWS_LAMBDA_MAX_CONCURRENCY`, its runtime keeps that many `/next` long polls open, and every
//! event reaches one of them and is answered under its own request id. Invocations overlap in
//! one process up to that number (the fixture's barrier proves they ran at the same time), the
//! next goes to a new instance, and a timeout fails only its own invocation.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::HashSet;

use common::{Running, bounded, fixture};
use lambkin_emulator::FunctionConfig;

/// The fixture under `run_concurrent`, configured for `max_concurrency` per instance.
fn concurrent(name: &str, max_concurrency: u32) -> FunctionConfig {
    let mut config = fixture(name, "concurrent");
    config.max_concurrency = max_concurrency;
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_with_several_polls_serves_every_event_from_one_instance() {
    let emulator = Running::start(vec![concurrent("many", 4)]).await;
    let mut pids = HashSet::new();
    let mut ids = HashSet::new();
    for i in 0..6 {
        let payload = format!(r#"{{"n": {i}}}"#);
        let reply = bounded(emulator.invoke("many", &[], payload.as_bytes())).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let body = reply.json();
        assert_eq!(body["env"]["AWS_LAMBDA_MAX_CONCURRENCY"], "4");
        // The answer came back under the event's own request id, to this event's caller.
        assert_eq!(body["event"]["n"], i);
        let id = body["request_id"].as_str().unwrap().to_owned();
        assert_eq!(reply.header("x-amzn-RequestId"), Some(id.as_str()));
        ids.insert(id);
        pids.insert(body["pid"].as_u64().unwrap());
    }
    assert_eq!(ids.len(), 6, "one request id per event");
    // Four long polls wait in the one process between events: it stays the only instance.
    assert_eq!(pids.len(), 1, "one instance served every event: {pids:?}");
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_events_are_all_answered() {
    let emulator = Running::start(vec![concurrent("many", 4)]).await;
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..5 {
        let addr = emulator.addr;
        calls.spawn(async move {
            let path = "/2015-03-31/functions/many/invocations";
            let payload = format!(r#"{{"n": {i}}}"#);
            (
                i,
                common::request(addr, "POST", path, &[], payload.as_bytes()).await,
            )
        });
    }
    for (i, reply) in bounded(calls.join_all()).await {
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(
            reply.json()["event"]["n"],
            i,
            "each caller gets its own answer"
        );
    }
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_per_instance_sets_no_variable() {
    let emulator = Running::start(vec![concurrent("single", 1)]).await;
    let reply = bounded(emulator.invoke("single", &[], b"{}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let env = &reply.json()["env"];
    assert!(env.get("AWS_LAMBDA_MAX_CONCURRENCY").is_none(), "{env}");
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_instance_keeps_running_between_invocations() {
    let dir = std::env::temp_dir().join(format!("lambkin-managed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (log, gate) = (dir.join("log"), dir.join("gate"));
    let mut config = concurrent("busy", 4);
    config
        .env
        .insert("FIXTURE_LOG".into(), log.to_str().unwrap().into());
    let emulator = Running::start(vec![config]).await;
    let payload = serde_json::json!({ "gate": gate }).to_string();
    let reply = bounded(emulator.invoke("busy", &[], payload.as_bytes())).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    // Opened only once the instance is idle, its other long polls waiting: a frozen instance
    // (Lambda's default) would never see it until its next event.
    std::fs::write(&gate, "").unwrap();
    bounded(async {
        while !std::fs::read_to_string(&log).is_ok_and(|l| l.contains("after gate")) {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
    emulator.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fresh, empty directory for the fixture's barrier.
fn barrier_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("lambkin-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Invokes `function` `count` times at once, each event meeting at a barrier of `count`
/// parties in `dir`; the answers' bodies.
async fn meet(
    emulator: &Running,
    function: &str,
    count: usize,
    dir: &std::path::Path,
) -> Vec<serde_json::Value> {
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..count {
        let (addr, path) = (
            emulator.addr,
            format!("/2015-03-31/functions/{function}/invocations"),
        );
        let payload = serde_json::json!({ "barrier": dir, "parties": count }).to_string();
        calls.spawn(
            async move { common::request(addr, "POST", &path, &[], payload.as_bytes()).await },
        );
    }
    bounded(calls.join_all())
        .await
        .into_iter()
        .map(|reply| {
            assert_eq!(reply.status, 200, "{}", reply.text());
            let body = reply.json();
            assert_eq!(
                body["overlapped"], true,
                "every event was in flight at once: {body}"
            );
            body
        })
        .collect()
}

fn pids(bodies: &[serde_json::Value]) -> HashSet<u64> {
    bodies
        .iter()
        .map(|body| body["pid"].as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invocations_overlap_in_one_instance() {
    let emulator = Running::start(vec![concurrent("overlap", 4)]).await;
    let dir = barrier_dir("overlap");
    let bodies = meet(&emulator, "overlap", 4, &dir).await;
    assert_eq!(pids(&bodies).len(), 1, "one process ran all four at once");
    emulator.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_instance_sends_the_next_event_to_a_new_one() {
    let emulator = Running::start(vec![concurrent("full", 2)]).await;
    let dir = barrier_dir("full");
    let bodies = meet(&emulator, "full", 3, &dir).await;
    assert_eq!(
        pids(&bodies).len(),
        2,
        "two events per instance: a second one ran the third"
    );
    emulator.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_fails_only_its_own_invocation() {
    let mut config = concurrent("late", 4);
    config.timeout = std::time::Duration::from_secs(1);
    let emulator = Running::start(vec![config]).await;
    let first = bounded(emulator.invoke("late", &[], b"{}")).await;
    let pid = first.json()["pid"].as_u64().unwrap();
    let slow = {
        let addr = emulator.addr;
        tokio::spawn(async move {
            let path = "/2015-03-31/functions/late/invocations";
            common::request(addr, "POST", path, &[], br#"{"sleep_ms": 2500}"#).await
        })
    };
    // While the slow one runs, and after it timed out, the same process serves others.
    let during = bounded(emulator.invoke("late", &[], b"{}")).await;
    assert_eq!(during.status, 200, "{}", during.text());
    assert_eq!(during.json()["pid"], pid);
    let slow = bounded(slow).await.unwrap();
    assert_eq!(slow.header("x-amz-function-error"), Some("Unhandled"));
    let message = slow.json()["errorMessage"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("Task timed out after 1.00 seconds"),
        "{message}"
    );
    let after = bounded(emulator.invoke("late", &[], b"{}")).await;
    assert_eq!(after.status, 200, "{}", after.text());
    assert_eq!(
        after.json()["pid"],
        pid,
        "the timeout did not end the instance"
    );
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_ends_every_invocation_of_the_instance() {
    let emulator = Running::start(vec![concurrent("crashing", 2)]).await;
    let dir = barrier_dir("crashing");
    // Waits at a barrier no other event joins; its process exits under it.
    let waiting = {
        let (addr, dir) = (emulator.addr, dir.clone());
        tokio::spawn(async move {
            let payload = serde_json::json!({ "barrier": dir, "parties": 2 }).to_string();
            let path = "/2015-03-31/functions/crashing/invocations";
            common::request(addr, "POST", path, &[], payload.as_bytes()).await
        })
    };
    bounded(async {
        while std::fs::read_dir(&dir).map_or(0, Iterator::count) == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
    let crash = bounded(emulator.invoke("crashing", &[], br#"{"exit": 3}"#)).await;
    assert_eq!(
        crash.json()["errorType"],
        "Runtime.ExitError",
        "{}",
        crash.text()
    );
    let waiting = bounded(waiting).await.unwrap();
    assert_eq!(waiting.header("x-amz-function-error"), Some("Unhandled"));
    assert_eq!(
        waiting.json()["errorType"],
        "Runtime.ExitError",
        "the other invocation ended with its process: {}",
        waiting.text()
    );
    // The next event gets a new instance.
    let next = bounded(emulator.invoke("crashing", &[], b"{}")).await;
    assert_eq!(next.status, 200, "{}", next.text());
    emulator.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The dashboard's used concurrency counts invocations: two running in one instance are two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn used_concurrency_counts_invocations_not_instances() {
    let emulator = Running::start(vec![concurrent("used", 4)]).await;
    let dir = barrier_dir("used");
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..2 {
        let addr = emulator.addr;
        // Three parties: the two invocations wait for the test, the third.
        let payload = serde_json::json!({ "barrier": dir, "parties": 3 }).to_string();
        calls.spawn(async move {
            let path = "/2015-03-31/functions/used/invocations";
            common::request(addr, "POST", path, &[], payload.as_bytes()).await
        });
    }
    let function = bounded(async {
        loop {
            let model = common::request(emulator.addr, "GET", "/_lambkin", &[], b"")
                .await
                .json();
            let function = model["details"][0].clone();
            if function["usedConcurrency"] == 2 {
                return function;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(
        function["instances"].as_array().map(Vec::len),
        Some(1),
        "{function}"
    );
    std::fs::write(dir.join("the-test"), "").unwrap();
    for reply in bounded(calls.join_all()).await {
        assert_eq!(reply.json()["overlapped"], true, "{}", reply.text());
    }
    emulator.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
