//! The fault and load suite: 64 connections for a bounded number of requests against functions
//! that succeed, fail, panic, time out, crash, answer too much, and answer API Gateway with
//! something that is no HTTP response, in three rounds. Every request must get the AWS-shaped
//! answer it should; afterwards no child process or file descriptor is left, and the
//! emulator's heap does not grow from round to round.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Reply, Running, fixture, processes};
use lambkin_emulator::apigw::{EventOptions, PayloadFormat, Route, RouteTable};
use lambkin_emulator::front::gateway::Gateway;

const CONNECTIONS: usize = 64;
const REQUESTS_PER_CONNECTION: usize = 12;
const ROUNDS: usize = 3;
/// How long one round (768 requests over 64 connections) may take before the test fails
/// instead of hanging. The whole test takes about a minute in CI; a load average of 10 on
/// 2 cores has pushed one client past 30 s, the limit before.
const ROUND_LIMIT: Duration = Duration::from_secs(180);

/// The functions under load, with what a caller must get from each.
const FUNCTIONS: [(&str, &str); 7] = [
    ("echo", ""),
    // The echo function behind a REST route: its answer (the event) is no HTTP response.
    ("malformed", "malformed"),
    ("error", "Fixture.Failed"),
    ("panic", "Unhandled panic"),
    ("slow", "timeout"),
    ("crash", "Runtime.ExitError"),
    ("big", "Function.ResponseSizeTooLarge"),
];

/// Checks one answer; returns whether it was a throttle.
fn check(function: &str, expected: &str, reply: &Reply) -> bool {
    if expected == "malformed" {
        // Through API Gateway: a result that is not an HTTP response.
        if reply.status == 429 {
            assert_eq!(
                reply.json(),
                serde_json::json!({"message": "Too Many Requests"})
            );
            return true;
        }
        assert_eq!(reply.status, 502, "{function}: {}", reply.text());
        assert_eq!(
            reply.json(),
            serde_json::json!({"message": "Internal server error"})
        );
        return false;
    }
    if reply.status == 429 {
        reply.assert_aws_error(429, "TooManyRequestsException");
        return true;
    }
    assert_eq!(reply.status, 200, "{function}: {}", reply.text());
    let body = reply.json();
    match expected {
        "" => {
            assert_eq!(
                reply.header("x-amz-function-error"),
                None,
                "{function}: {body}"
            );
            assert_eq!(body["event"]["n"], 1, "{function}: {body}");
        }
        _ => {
            assert_eq!(
                reply.header("x-amz-function-error"),
                Some("Unhandled"),
                "{function}: {body}"
            );
            let message = body["errorMessage"].as_str().unwrap_or_default();
            match expected {
                "timeout" => assert!(
                    message.contains("Task timed out after 1.00 seconds"),
                    "{body}"
                ),
                "Unhandled panic" => assert!(message.contains("panicked on purpose"), "{body}"),
                error_type => assert_eq!(body["errorType"], error_type, "{function}: {body}"),
            }
        }
    }
    false
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// The system allocator, counting the bytes live on the heap. Unlike RSS, the count does not
/// depend on how much freed memory the allocator keeps, or on the machine's load.
struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on to `System` unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        if !moved.is_null() {
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes live on this process's heap (the emulator runs in the test process).
fn heap_kb() -> usize {
    LIVE_BYTES.load(Ordering::Relaxed) / 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_gets_its_aws_answer_and_nothing_leaks() {
    let fds_before = open_fds();
    // Every process the functions start carries it, however it was started.
    let marker = processes::new_marker("fault");
    let functions: Vec<_> = FUNCTIONS
        .iter()
        .filter(|(name, _)| *name != "malformed")
        .map(|(name, _)| {
            let mut config = fixture(name, name);
            // `slow` must time out; the others (a 7 MB answer under load included) must not.
            config.timeout = Duration::from_secs(if *name == "slow" { 1 } else { 20 });
            // A panic's backtrace of this debug binary would be symbolised past 128 MB.
            config.env.insert("RUST_BACKTRACE".into(), "0".into());
            config.env.insert(processes::MARKER.into(), marker.clone());
            config
        })
        .collect();
    let rest = Route::parse("POST /malformed", "echo", PayloadFormat::Rest).unwrap();
    let gateway = Gateway::new(
        RouteTable::new(vec![rest]).unwrap(),
        EventOptions::default(),
    );
    let emulator = Running::start_with(functions, Some(gateway)).await;
    let addr = emulator.addr;
    let mut heap = Vec::new();
    for round in 0..ROUNDS {
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|connection| {
                tokio::spawn(async move {
                    let (mut answered, mut throttled) = (0, 0);
                    for i in 0..REQUESTS_PER_CONNECTION {
                        let (function, expected) = FUNCTIONS[(connection + i) % FUNCTIONS.len()];
                        let payload = format!(r#"{{"n":1,"sleep_ms":2000,"round":{round}}}"#);
                        let path = match function {
                            "malformed" => "/malformed".to_owned(),
                            _ => format!("/2015-03-31/functions/{function}/invocations"),
                        };
                        let reply =
                            common::request(addr, "POST", &path, &[], payload.as_bytes()).await;
                        if check(function, expected, &reply) {
                            throttled += 1;
                        } else {
                            answered += 1;
                        }
                    }
                    (answered, throttled)
                })
            })
            .collect();
        let all_answered = async {
            let (mut answered, mut throttled) = (0, 0);
            for client in clients {
                let (a, t) = client.await.unwrap();
                answered += a;
                throttled += t;
            }
            (answered, throttled)
        };
        let (answered, throttled) = tokio::time::timeout(ROUND_LIMIT, all_answered)
            .await
            .unwrap_or_else(|_| panic!("round {round} took over {ROUND_LIMIT:?}"));
        assert_eq!(
            answered + throttled,
            CONNECTIONS * REQUESTS_PER_CONNECTION,
            "every request was answered"
        );
        assert!(
            answered >= CONNECTIONS,
            "round {round}: mostly throttled ({throttled} of {})",
            answered + throttled
        );
        heap.push(heap_kb());
    }
    emulator.stop().await;
    // After the first round (pools, buffers and warm instances set up), the live heap stays
    // put: what a round leaves is bounded by the state of its warm instances, while a leak of
    // 10 KB per request, or of one big answer in 20, adds more than the slack every round.
    const SLACK_KB: usize = 6 * 1024;
    assert!(
        heap[ROUNDS - 1] <= heap[1] + SLACK_KB,
        "the heap grew across rounds: {heap:?} kB"
    );
    // Every instance is gone, whatever it started, and so are their pipes and sockets.
    let left = processes::wait_none(|| {
        let mut left = processes::marked(&marker);
        left.extend(processes::children());
        left.sort();
        left.dedup();
        left
    })
    .await;
    assert!(left.is_empty(), "processes left running: {left:?}");
    // Pipes and sockets close as their tasks see the ends; give them a bounded moment.
    let mut fds_after = open_fds();
    for _ in 0..100 {
        if fds_after <= fds_before + 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        fds_after = open_fds();
    }
    let kinds: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .map(|target| target.to_string_lossy().into_owned())
        .collect();
    assert!(
        fds_after <= fds_before + 4,
        "file descriptors leaked: {fds_before} before, {fds_after} after: {kinds:?}"
    );
}
