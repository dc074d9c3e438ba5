//! Concurrency as AWS counts it, through the Invoke API of a real emulator running real function
//! processes: unreserved functions share the account's limit, reserved concurrency caps a
//! function, and the local instance cap makes callers wait rather than throttling them.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::HashSet;
use std::time::Duration;

use common::{Reply, Running, bounded, fixture, request};
use lambkin_emulator::{Emulator, FunctionConfig, Options};

/// The fixture sleeping on request, with room for cold starts on a busy machine.
fn slow(name: &str) -> FunctionConfig {
    let mut config = fixture(name, "slow");
    config.timeout = Duration::from_secs(20);
    config
}

/// `count` synchronous invocations of `function` at once, each sleeping `sleep_ms`.
async fn parallel(emulator: &Running, function: &str, count: usize, sleep_ms: u64) -> Vec<Reply> {
    let path = format!("/2015-03-31/functions/{function}/invocations");
    let payload = format!(r#"{{"sleep_ms": {sleep_ms}}}"#);
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..count {
        let (addr, path, payload) = (emulator.addr, path.clone(), payload.clone());
        calls.spawn(async move { request(addr, "POST", &path, &[], payload.as_bytes()).await });
    }
    bounded(calls.join_all()).await
}

/// The replies' statuses, counted: (200s, 429s with `reason`); anything else fails the test.
fn tally(replies: &[Reply], reason: &str) -> (usize, usize) {
    let (mut ok, mut throttled) = (0, 0);
    for reply in replies {
        if reply.status == 200 {
            assert_eq!(reply.json()["slept"], true, "{}", reply.text());
            ok += 1;
        } else {
            let message = reply.assert_aws_error(429, "TooManyRequestsException");
            assert_eq!(message, "Rate Exceeded.");
            assert_eq!(reply.json()["Reason"], reason, "{}", reply.text());
            throttled += 1;
        }
    }
    (ok, throttled)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreserved_functions_scale_past_ten() {
    let emulator = Running::start(vec![slow("slow")]).await;
    let replies = parallel(&emulator, "slow", 64, 300).await;
    assert_eq!(tally(&replies, "none"), (64, 0));
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_concurrency_throttles_above_it() {
    let mut reserved = slow("reserved");
    reserved.reserved_concurrency = Some(5);
    let emulator = Running::start(vec![reserved]).await;
    // Each call holds its unit for 5 s: all 20 arrive while the first 5 still hold theirs.
    let replies = parallel(&emulator, "reserved", 20, 5_000).await;
    assert_eq!(
        tally(
            &replies,
            "ReservedFunctionConcurrentInvocationLimitExceeded"
        ),
        (5, 15)
    );
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_zero_throttles_every_invocation() {
    let mut off = slow("off");
    off.reserved_concurrency = Some(0);
    let emulator = Running::start(vec![off]).await;
    let replies = parallel(&emulator, "off", 1, 0).await;
    assert_eq!(
        tally(
            &replies,
            "ReservedFunctionConcurrentInvocationLimitExceeded"
        ),
        (0, 1)
    );
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreserved_functions_share_what_the_account_has_left() {
    // The account's 6, less 2 reserved for `kept`: 4 for everyone else.
    let mut kept = slow("kept");
    kept.reserved_concurrency = Some(2);
    let options = Options {
        account_concurrency: 6,
        ..Options::default()
    };
    let emulator = Emulator::with_options([slow("slow"), slow("other"), kept], options).unwrap();
    let emulator = Running::serve(emulator).await;
    let (shared, reserved) = tokio::join!(
        parallel(&emulator, "slow", 5, 3_000),
        parallel(&emulator, "kept", 2, 3_000),
    );
    assert_eq!(tally(&shared, "ConcurrentInvocationLimitExceeded"), (4, 1));
    // The reservation is the reserved function's own: the pool being full does not touch it.
    assert_eq!(tally(&reserved, "none"), (2, 0));
    // Another unreserved function shares the pool, now free again.
    let replies = parallel(&emulator, "other", 4, 0).await;
    assert_eq!(tally(&replies, "none"), (4, 0));
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn above_the_local_instance_cap_callers_wait() {
    let options = Options {
        max_instances: 2,
        ..Options::default()
    };
    let emulator = Emulator::with_options([slow("slow")], options).unwrap();
    let emulator = Running::serve(emulator).await;
    let replies = parallel(&emulator, "slow", 6, 500).await;
    assert_eq!(tally(&replies, "none"), (6, 0));
    let pids: HashSet<u64> = replies
        .iter()
        .map(|reply| reply.json()["pid"].as_u64().expect("pid"))
        .collect();
    assert!(pids.len() <= 2, "at most 2 instances, got {pids:?}");
    emulator.stop().await;
}

/// What the AWS CLI checks before sending (tests/awscli.rs covers the rest), answered by the
/// emulator itself as AWS would.
#[cfg(feature = "manage")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_function_concurrency_validates_its_input() {
    let emulator = Running::start(vec![slow("slow")]).await;
    // Shaped like the SigV4 header the AWS CLI sends (the emulator checks its form, not its keys).
    let signed = [common::SIGNED];
    let put = |path: &'static str, body: &'static [u8]| {
        request(emulator.addr, "PUT", path, &signed, body)
    };
    let path = "/2017-10-31/functions/slow/concurrency";
    let message = put(path, br#"{"ReservedConcurrentExecutions": -1}"#)
        .await
        .assert_aws_error(400, "ValidationException");
    assert!(message.contains("greater than or equal to 0"), "{message}");
    let message = put(path, b"{}")
        .await
        .assert_aws_error(400, "ValidationException");
    assert!(message.contains("must not be null"), "{message}");
    put(path, b"{")
        .await
        .assert_aws_error(400, "InvalidRequestContentException");
    put(
        "/2017-10-31/functions/slow:1/concurrency",
        br#"{"ReservedConcurrentExecutions": 1}"#,
    )
    .await
    .assert_aws_error(400, "InvalidParameterValueException");
    // Nothing was reserved by the refused calls.
    let reply = request(
        emulator.addr,
        "GET",
        "/2019-09-30/functions/slow/concurrency",
        &signed,
        b"",
    )
    .await;
    assert_eq!((reply.status, reply.json()), (200, serde_json::json!({})));
    emulator.stop().await;
}
