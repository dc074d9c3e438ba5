//! Response streaming end to end: the fixture function streams as `lambda_runtime`'s
//! `StreamResponse` does, through a function URL with `InvokeMode: RESPONSE_STREAM` (and the
//! buffered Invoke API), read over raw HTTP so each chunk is seen as it arrives.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::PathBuf;
use std::time::Duration;

use common::{Running, bounded, fixture};
use lambkin_emulator::{Emulator, InvokeMode, Options};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An emulator serving the `stream` fixture as `streamer` (with a 20 s timeout), and its
/// function URL's address.
async fn start() -> (Running, std::net::SocketAddr) {
    start_with_timeout(Duration::from_secs(20)).await
}

async fn start_with_timeout(timeout: Duration) -> (Running, std::net::SocketAddr) {
    let mut function = fixture("streamer", "stream");
    function.url_invoke_mode = InvokeMode::ResponseStream;
    function.timeout = timeout;
    let emulator = Emulator::with_options([function], Options::default()).unwrap();
    let url = emulator
        .serve_function_url("streamer", "127.0.0.1".parse().unwrap(), None)
        .await
        .unwrap()
        .unwrap();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    (Running::serve(emulator).await, addr)
}

/// A file path for the fixture's gate, not yet existing.
fn gate(test: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("lambkin-gate-{test}-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// Posts `body` to the URL and returns the connection, the request written.
async fn post(url: std::net::SocketAddr, body: &str) -> TcpStream {
    let mut stream = TcpStream::connect(url).await.unwrap();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {url}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// Reads into `raw` until it holds `needle`.
async fn read_until(stream: &mut TcpStream, raw: &mut Vec<u8>, needle: &[u8]) {
    while !raw.windows(needle.len()).any(|w| w == needle) {
        let mut buf = [0u8; 4096];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(
            n > 0,
            "the stream ended early: {}",
            String::from_utf8_lossy(raw)
        );
        raw.extend_from_slice(&buf[..n]);
    }
}

/// Reads to the connection's end (a cut connection ends it too).
async fn read_rest(stream: &mut TcpStream, raw: &mut Vec<u8>) {
    let _ = stream.read_to_end(raw).await;
}

/// The last chunk of a chunked body that ended well.
const LAST_CHUNK: &[u8] = b"\r\n0\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_url_answers_as_the_function_writes() {
    let (running, url) = start().await;
    let gate = gate("order");
    let body = format!(r#"{{"gate":"{}"}}"#, gate.display());
    let mut stream = post(url, &body).await;
    let mut raw = Vec::new();
    // The first chunk arrives while the function still waits at its gate: it cannot have
    // finished, so the response is streamed, not buffered.
    bounded(read_until(&mut stream, &mut raw, b"one\n")).await;
    let head = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 201"), "{head}");
    assert!(head.contains("x-fixture: streamed"), "{head}");
    assert!(head.contains("set-cookie: flavour=streamed"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(head.contains("x-amzn-requestid: "), "{head}");
    assert!(!head.contains("two"), "{head}");
    std::fs::write(&gate, b"").unwrap();
    bounded(read_rest(&mut stream, &mut raw)).await;
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("two\n") && text.contains("three\n"), "{text}");
    assert!(raw.ends_with(LAST_CHUNK), "{text}");
    let _ = std::fs::remove_file(&gate);

    // GetFunctionUrlConfig says how the URL answers.
    let config = common::request(
        running.addr,
        "GET",
        "/2021-10-31/functions/streamer/url",
        &[common::SIGNED],
        b"",
    )
    .await;
    assert_eq!(config.status, 200, "{}", config.text());
    assert_eq!(config.json()["InvokeMode"], "RESPONSE_STREAM");

    // The buffered Invoke API gets the whole stream, its prelude included.
    let reply = running.invoke("streamer", &[], b"{}").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("X-Amz-Function-Error"), None);
    assert!(
        reply.text().ends_with("one\ntwo\nthree\n"),
        "{}",
        reply.text()
    );
    assert!(
        reply.text().contains(r#""statusCode":201"#),
        "{}",
        reply.text()
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_past_200_mb_is_cut() {
    let (running, url) = start().await;
    let mut stream = post(url, r#"{"mb":201}"#).await;
    let mut raw = Vec::new();
    bounded(read_until(&mut stream, &mut raw, b"one\n")).await;
    bounded(read_rest(&mut stream, &mut raw)).await;
    // Cut: no last chunk, and not all 201 MiB.
    assert!(!raw.ends_with(LAST_CHUNK));
    assert!(raw.len() < 201 * 1024 * 1024, "{}", raw.len());
    assert!(raw.len() > 199 * 1024 * 1024, "{}", raw.len());

    // A buffered caller (Invoke) of a streaming function gets at most a buffered answer's 6 MB.
    let reply = running.invoke("streamer", &[], br#"{"mb":7}"#).await;
    assert_eq!(reply.header("X-Amz-Function-Error"), Some("Unhandled"));
    assert_eq!(reply.json()["errorType"], "Function.ResponseSizeTooLarge");
    assert!(reply.text().contains("6291556"), "{}", reply.text());
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_failing_mid_stream_cuts_the_response() {
    let (running, url) = start().await;
    let gate = gate("crash");
    let body = format!(r#"{{"gate":"{}","crash":true}}"#, gate.display());
    let mut stream = post(url, &body).await;
    let mut raw = Vec::new();
    bounded(read_until(&mut stream, &mut raw, b"one\n")).await;
    std::fs::write(&gate, b"").unwrap();
    bounded(read_rest(&mut stream, &mut raw)).await;
    let text = String::from_utf8_lossy(&raw);
    assert!(!raw.ends_with(LAST_CHUNK), "{text}");
    assert!(!text.contains("two"), "{text}");
    let _ = std::fs::remove_file(&gate);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeout_covers_the_whole_stream() {
    let (running, url) = start_with_timeout(Duration::from_secs(1)).await;
    // The gate never opens: the function times out after its first chunk.
    let gate = gate("timeout");
    let body = format!(r#"{{"gate":"{}"}}"#, gate.display());
    let mut stream = post(url, &body).await;
    let mut raw = Vec::new();
    bounded(read_until(&mut stream, &mut raw, b"one\n")).await;
    bounded(read_rest(&mut stream, &mut raw)).await;
    let text = String::from_utf8_lossy(&raw);
    assert!(!raw.ends_with(LAST_CHUNK), "{text}");
    assert!(!text.contains("two"), "{text}");

    // The REPORT comes once the stream has ended: the buffered caller's log tail has it, with
    // the timeout.
    let reply = running
        .invoke("streamer", &[("X-Amz-Log-Type", "Tail")], body.as_bytes())
        .await;
    assert_eq!(reply.header("X-Amz-Function-Error"), Some("Unhandled"));
    let tail = reply.log_tail();
    assert!(
        tail.contains("REPORT") && tail.contains("Status: timeout"),
        "{tail}"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_leaving_mid_stream_leaves_the_emulator_serving() {
    let (running, url) = start().await;
    let gate = gate("leave");
    let body = format!(r#"{{"gate":"{}","mb":2}}"#, gate.display());
    let mut stream = post(url, &body).await;
    let mut raw = Vec::new();
    bounded(read_until(&mut stream, &mut raw, b"one\n")).await;
    drop(stream);
    std::fs::write(&gate, b"").unwrap();
    // The function streams on with nobody reading (AWS does not stop it either), and the
    // function still answers the next caller.
    let reply = running.invoke("streamer", &[], b"{}").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(
        reply.text().ends_with("one\ntwo\nthree\n"),
        "{}",
        reply.text()
    );
    let _ = std::fs::remove_file(&gate);
    running.stop().await;
}
