//! The listeners' limits against slow, idle and too many clients, on real sockets: slow request
//! heads, idle and kept-alive connections and stalled bodies are cut after their timeouts while
//! others are served; the connection cap makes new clients wait (with one warning) and
//! recovers; a shutdown ends on time whatever clients do.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{LIMIT, Running, bounded, fixture, logs, wait_gone};
use lambkin_emulator::apigw::{EventOptions, PayloadFormat, RouteTable};
use lambkin_emulator::front::gateway::Gateway;
use lambkin_emulator::{Emulator, FunctionConfig, Limits, Options};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The short timeout the tests set, instead of the default 10 s.
const SHORT: Duration = Duration::from_secs(1);

/// An emulator serving `functions` (the first one also behind API Gateway's `$default` route)
/// under `limits`.
async fn start(functions: Vec<FunctionConfig>, limits: Limits) -> Running {
    let routes = RouteTable::default_for(&[(functions[0].name.clone(), PayloadFormat::Http)]);
    let options = Options {
        gateway: Some(Gateway::new(routes.unwrap(), EventOptions::default())),
        limits,
        ..Options::default()
    };
    Running::serve(Emulator::with_options(functions, options).unwrap()).await
}

/// A connection that has sent `sent` and nothing more.
async fn holding(addr: SocketAddr, sent: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(sent.as_bytes()).await.unwrap();
    stream
}

/// Reads until the server closes the connection (end of stream or reset); what it sent.
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&seen).into_owned(),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads one response (head and `Content-Length` body) from a kept-alive connection.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(
            n > 0,
            "closed mid-response: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&seen).into_owned();
        let Some(end) = text.find("\r\n\r\n") else {
            continue;
        };
        let length: usize = text[..end]
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap())
            })
            .unwrap_or(0);
        if seen.len() >= end + 4 + length {
            return text;
        }
    }
}

/// A complete keep-alive invocation request of the echo function.
fn invoke_request(addr: SocketAddr) -> String {
    format!(
        "POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 2\r\n\r\n{{}}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_cut_while_others_are_served() {
    let limits = Limits {
        header_timeout: Some(SHORT),
        ..Limits::default()
    };
    let emulator = start(vec![fixture("echo", "echo")], limits).await;
    let addr = emulator.addr;
    // Bounded: 300 client sockets (and as many on the server side) stay under 1024 descriptors.
    let mut held = Vec::new();
    for _ in 0..150 {
        let head = "POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nHost: x\r\n";
        held.push((Instant::now(), holding(addr, head).await));
        held.push((Instant::now(), holding(addr, "").await));
    }
    // A kept-alive connection, idle after one exchange (the server's clock starts once it has
    // answered, so before the request is a safe lower bound).
    let sent = Instant::now();
    let mut kept = holding(addr, &invoke_request(addr)).await;
    let first = bounded(read_response(&mut kept)).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    held.push((sent, kept));

    // Meanwhile others are served.
    let reply = emulator.invoke("echo", &[], b"{\"n\":1}").await;
    assert_eq!(reply.status, 200, "{}", reply.text());

    // Every one of them is closed by the server, after (never before) the timeout.
    for (idle_since, stream) in &mut held {
        let sent = bounded(until_closed(stream)).await;
        assert!(!sent.contains(" 200 "), "{sent}");
        assert!(idle_since.elapsed() >= SHORT);
    }
    let reply = emulator.invoke("echo", &[], b"{\"n\":2}").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    emulator.stop().await;
}

/// An instance's Runtime API keeps a kept-alive connection open however long it idles: the
/// runtime is frozen with its function between invocations and cannot see a close, and its
/// HTTP client writes its next request on a pooled connection (one reset under it made
/// `lambda_runtime` exit with its handler's result undelivered).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtimes_idle_connection_is_kept_open() {
    let emulator = start(vec![fixture("echo", "echo")], Limits::default()).await;
    let api = emulator.invoke("echo", &[], b"{}").await.runtime_api();
    let request = "GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let mut kept = holding(api, request).await;
    let first = bounded(read_response(&mut kept)).await;
    assert!(first.starts_with("HTTP/1.1 404"), "{first}");
    // Idle for longer than the front lets a kept-alive connection idle.
    let front = Limits::default().header_timeout.unwrap();
    tokio::time::sleep(front + Duration::from_secs(1)).await;
    kept.write_all(request.as_bytes()).await.unwrap();
    let second = bounded(read_response(&mut kept)).await;
    assert!(second.starts_with("HTTP/1.1 404"), "{second}");
    let reply = emulator.invoke("echo", &[], b"{}").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_bodies_get_408_in_the_listeners_shape() {
    let limits = Limits {
        body_stall_timeout: SHORT,
        ..Limits::default()
    };
    let emulator = start(vec![fixture("echo", "echo")], limits).await;
    let addr = emulator.addr;
    // Ten bytes of a hundred, then nothing: the Invoke API answers as AWS's API does.
    let mut invoke = holding(
        addr,
        &format!("POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 100\r\n\r\n{{\"a\":\"bcd\""),
    )
    .await;
    let answer = bounded(until_closed(&mut invoke)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("x-amzn-errortype: requesttimeoutexception"),
        "{answer}"
    );
    // Through API Gateway: its own `{"message": …}` shape.
    let mut api = holding(
        addr,
        &format!(
            "POST /anything HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 100\r\n\r\n0123456789"
        ),
    )
    .await;
    let answer = bounded(until_closed(&mut api)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.ends_with(r#"{"message":"Request Timeout"}"#),
        "{answer}"
    );
    // A body sent in time is unaffected.
    let reply = emulator.invoke("echo", &[], b"{\"n\":1}").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    emulator.stop().await;
}

/// How many cap warnings the listener at `addr` logged.
fn cap_warnings(logs: &Mutex<Vec<u8>>, addr: SocketAddr) -> usize {
    let logs = logs.lock().unwrap();
    String::from_utf8_lossy(&logs)
        .lines()
        .filter(|l| l.contains("connection limit reached") && l.contains(&addr.to_string()))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_makes_new_clients_wait_and_recovers() {
    let logs = logs();
    const CAP: usize = 8;
    let limits = Limits {
        max_connections: CAP,
        // Longer than the test: only the test closes the connections it holds.
        header_timeout: Some(LIMIT * 2),
        ..Limits::default()
    };
    let emulator = start(vec![fixture("echo", "echo")], limits).await;
    let addr = emulator.addr;
    let started = Instant::now();
    // One kept-alive connection in use, the rest of the cap idle.
    let mut kept = holding(addr, &invoke_request(addr)).await;
    assert!(
        bounded(read_response(&mut kept))
            .await
            .starts_with("HTTP/1.1 200")
    );
    let mut idle = Vec::new();
    for _ in 1..CAP {
        idle.push(holding(addr, "").await);
    }
    // Over the cap: new clients wait (their connect succeeds; nothing answers them yet).
    let waiting: Vec<_> = (0..3)
        .map(|n| {
            tokio::spawn(async move {
                common::request(
                    addr,
                    "POST",
                    "/2015-03-31/functions/echo/invocations",
                    &[],
                    format!("{{\"n\":{n}}}").as_bytes(),
                )
                .await
            })
        })
        .collect();
    bounded(async {
        while cap_warnings(&logs, addr) == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        waiting.iter().all(|w| !w.is_finished()),
        "served over the cap"
    );
    // Connections already accepted keep being served.
    kept.write_all(invoke_request(addr).as_bytes())
        .await
        .unwrap();
    assert!(
        bounded(read_response(&mut kept))
            .await
            .starts_with("HTTP/1.1 200")
    );

    // Each closed connection lets a waiting client in.
    let keep = CAP - 1 - waiting.len();
    idle.truncate(keep);
    for waiter in waiting {
        let reply = bounded(waiter).await.unwrap();
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    // One warning, not one per waiting client (at most one per 10 s).
    let warnings = cap_warnings(&logs, addr);
    let periods = usize::try_from(started.elapsed().as_secs() / 10).unwrap();
    assert!((1..=1 + periods).contains(&warnings), "{warnings} warnings");
    drop(idle);
    emulator.stop().await;
}

/// Pids of the running instances of `function` started by this test process.
fn instances_of(function: &str) -> Vec<u64> {
    let me = std::process::id().to_string();
    let wanted = format!("AWS_LAMBDA_FUNCTION_NAME={function}");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // The parent pid is the second field after the parenthesised command name.
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1));
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            parent == Some(me.as_str())
                && environ.split(|b| *b == 0).any(|v| v == wanted.as_bytes())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_on_time_whatever_clients_do() {
    let limits = Limits {
        shutdown_grace: SHORT,
        // Longer than the test: only the shutdown can end these clients' connections.
        header_timeout: Some(LIMIT * 2),
        body_stall_timeout: LIMIT * 2,
        ..Limits::default()
    };
    let emulator = start(vec![fixture("slow-shutdown", "slow")], limits).await;
    let addr = emulator.addr;
    // A half-sent head, a body stalled mid-request (in flight).
    let mut half = holding(
        addr,
        "POST /2015-03-31/functions/slow-shutdown/invocations HTTP/1.1\r\n",
    )
    .await;
    let mut stalled = holding(
        addr,
        &format!("POST /2015-03-31/functions/slow-shutdown/invocations HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 100\r\n\r\n{{"),
    )
    .await;
    // An invocation that would take a minute…
    let slow = tokio::spawn(async move {
        let path = "/2015-03-31/functions/slow-shutdown/invocations";
        common::request(addr, "POST", path, &[], br#"{"sleep_ms": 60000}"#).await
    });
    let running = |count: usize| async move {
        bounded(async {
            loop {
                let pids = instances_of("slow-shutdown");
                if pids.len() == count {
                    return pids;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
    };
    running(1).await;
    // …and an idle kept-alive connection whose quick invocation needed a second instance.
    let mut kept = holding(
        addr,
        &format!("POST /2015-03-31/functions/slow-shutdown/invocations HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 16\r\n\r\n{{\"sleep_ms\": 0 }}"),
    )
    .await;
    assert!(
        bounded(read_response(&mut kept))
            .await
            .starts_with("HTTP/1.1 200")
    );
    let instances = running(2).await;

    emulator.stop().await; // bounded
    let answer = bounded(slow).await.unwrap();
    answer.assert_aws_error(503, "ServiceException");
    for stream in [&mut half, &mut stalled, &mut kept] {
        bounded(until_closed(stream)).await;
    }
    for pid in instances {
        assert!(wait_gone(pid).await, "instance {pid} still running");
    }
    // The listener is closed: new clients are refused.
    assert!(TcpStream::connect(addr).await.is_err());
}
