//! The bad-input corpus: malformed HTTP, invalid JSON, huge headers, oversized bodies, unknown
//! and hostile function names. Each gets its expected answer (AWS's shape where AWS defines
//! one), and the emulator keeps serving throughout.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::net::SocketAddr;

use common::{Running, bounded, fixture, request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends raw bytes and returns the status of the answer (`None` if the connection was closed
/// without one).
async fn raw(addr: SocketAddr, bytes: &[u8]) -> Option<u16> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(bytes).await;
    // Half-close: a server waiting for the rest of a request sees there is none.
    let _ = stream.shutdown().await;
    let mut answer = Vec::new();
    let _ = bounded(stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

async fn still_serving(emulator: &Running) {
    let reply = emulator.invoke("echo", &[], br#"{"n":1}"#).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_its_answer_and_the_emulator_keeps_serving() {
    let emulator = Running::start(vec![fixture("echo", "echo")]).await;
    let addr = emulator.addr;
    let invoke = "/2015-03-31/functions/echo/invocations";

    // Malformed HTTP: hyper answers 400 and closes, or just closes.
    for garbage in [
        &b"\x00\x01\x02 garbage\r\n\r\n"[..],
        b"GET\r\n\r\n",
        b"POST / HTTP/9.9\r\n\r\n",
    ] {
        let status = raw(addr, garbage).await;
        assert!(
            matches!(status, None | Some(400 | 505)),
            "{garbage:?}: {status:?}"
        );
        still_serving(&emulator).await;
    }

    // A body that is not JSON.
    request(addr, "POST", invoke, &[], b"{not json")
        .await
        .assert_aws_error(400, "InvalidRequestContentException");

    // Invalid UTF-8 inside a JSON string (which a JSON parser skipping the value would not
    // check), synchronous and asynchronous: 400, and nothing is run.
    for body in [
        &b"{\"a\":\"\xff\xfe\"}"[..],
        b"[\"\xc3\x28\"]",
        b"\"\xed\xa0\x80\"",
    ] {
        for kind in ["RequestResponse", "Event"] {
            let reply = request(
                addr,
                "POST",
                invoke,
                &[("X-Amz-Invocation-Type", kind)],
                body,
            )
            .await;
            let message = reply.assert_aws_error(400, "InvalidRequestContentException");
            assert!(
                message.starts_with("Could not parse request body into json: "),
                "{message}"
            );
            still_serving(&emulator).await;
        }
    }

    // A huge header: rejected (431 or 400), never a hang or a crash.
    let huge = "x".repeat(128 * 1024);
    let head = format!(
        "POST {invoke} HTTP/1.1\r\nHost: localhost\r\nX-Huge: {huge}\r\nContent-Length: 2\r\n\r\n{{}}"
    );
    let status = raw(addr, head.as_bytes()).await;
    assert!(
        matches!(status, None | Some(400 | 431)),
        "huge header: {status:?}"
    );
    still_serving(&emulator).await;

    // 7 MB: over the Invoke API's 6 MB.
    let big = vec![b' '; 7 * 1024 * 1024];
    request(addr, "POST", invoke, &[], &big)
        .await
        .assert_aws_error(413, "RequestEntityTooLargeException");

    // Unknown and hostile function names: AWS's errors, nothing else happens.
    let long = "f".repeat(300);
    for name in [
        "nope",
        "..%2F..%2Fetc%2Fpasswd",
        "a%3Brm%20-rf%20%2F",
        "%24(reboot)",
        long.as_str(),
    ] {
        let reply = request(
            addr,
            "POST",
            &format!("/2015-03-31/functions/{name}/invocations"),
            &[],
            b"{}",
        )
        .await;
        assert!(
            matches!(reply.status, 400 | 404),
            "{name}: {} {}",
            reply.status,
            reply.text()
        );
        assert!(
            reply.header("x-amzn-errortype").is_some(),
            "{name}: {}",
            reply.text()
        );
    }
    // A path that escapes the API: still an AWS error, not a file.
    let reply = request(addr, "GET", "/2015-03-31/../../etc/passwd", &[], b"").await;
    assert!(
        reply.status >= 400 && !reply.text().contains("root:"),
        "{}",
        reply.text()
    );

    still_serving(&emulator).await;
    emulator.stop().await;
}

/// Deployments over AWS's limits: the request (70,167,211 bytes) and the zip inside it (50 MB).
#[cfg(feature = "manage")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_deployments_get_413_and_nothing_is_created() {
    use base64::Engine;
    use common::SIGNED;
    let emulator = Running::start(vec![fixture("echo", "echo")]).await;
    let addr = emulator.addr;
    let functions = "/2015-03-31/functions";

    let too_long = vec![b' '; 70_167_212];
    let message = request(addr, "POST", functions, &[SIGNED], &too_long)
        .await
        .assert_aws_error(413, "RequestEntityTooLargeException");
    assert!(message.contains("CreateFunction"), "{message}");

    // Under the request limit once base64-encoded, but one byte over the zip limit.
    let zip = base64::engine::general_purpose::STANDARD.encode(vec![0u8; 52_428_801]);
    let create = serde_json::json!({
        "FunctionName": "huge",
        "Runtime": "provided.al2023",
        "Role": "arn:aws:iam::123456789012:role/lambda-exec",
        "Code": { "ZipFile": zip },
    });
    let message = request(
        addr,
        "POST",
        functions,
        &[SIGNED],
        create.to_string().as_bytes(),
    )
    .await
    .assert_aws_error(413, "RequestEntityTooLargeException");
    assert!(message.contains("Zipped file size"), "{message}");
    request(addr, "GET", &format!("{functions}/huge"), &[SIGNED], b"")
        .await
        .assert_aws_error(404, "ResourceNotFoundException");
    still_serving(&emulator).await;
    emulator.stop().await;
}
