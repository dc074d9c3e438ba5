//! The Runtime API spoken over raw HTTP, the test playing the function's runtime, through local
//! mode ([`InProcess`]), whose one instance is whoever polls its Runtime API.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Reply, bounded, request};
use lambkin_emulator::FunctionConfig;
use lambkin_emulator::local::InProcess;
use serde_json::json;
use tokio::task::JoinHandle;

const NEXT: &str = "/2018-06-01/runtime/invocation/next";

struct Local {
    front: SocketAddr,
    api: SocketAddr,
    server: JoinHandle<Result<(), lambkin_emulator::Error>>,
}

impl Drop for Local {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn start(config: FunctionConfig) -> Local {
    let local = InProcess::bind(config, "127.0.0.1:0".parse().unwrap()).unwrap();
    let (front, api) = (local.front(), local.runtime_api());
    assert!(api.ip().is_loopback());
    Local {
        front,
        api,
        server: tokio::spawn(local.serve()),
    }
}

impl Local {
    /// Starts a synchronous invocation in the background.
    fn invoke(
        &self,
        headers: &'static [(&'static str, &'static str)],
        payload: &'static [u8],
    ) -> JoinHandle<Reply> {
        let front = self.front;
        tokio::spawn(async move {
            request(
                front,
                "POST",
                "/2015-03-31/functions/local/invocations",
                headers,
                payload,
            )
            .await
        })
    }

    async fn next(&self) -> Reply {
        let reply = request(self.api, "GET", NEXT, &[], b"").await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply
    }

    async fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        request(self.api, "POST", path, headers, body).await
    }
}

fn runtime_error(reply: &Reply, status: u16, error_type: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(reply.json()["errorType"], error_type);
    assert!(reply.json()["errorMessage"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_lifecycle() {
    let local = start(FunctionConfig::new("local", "unused"));
    let reply = local
        .post("/2018-06-01/runtime/invocation/bogus/response", &[], b"{}")
        .await;
    runtime_error(&reply, 400, "InvalidRequestID");
    assert_eq!(reply.json()["errorMessage"], "Invalid request ID");

    // `/next` long-polls: no answer while there is nothing to do.
    let early = tokio::time::timeout(
        Duration::from_millis(300),
        common::try_request(local.api, "GET", NEXT, &[], b""),
    )
    .await;
    assert!(
        early.is_err(),
        "/next must not answer without an invocation"
    );

    let caller = local.invoke(
        &[
            ("X-Amz-Client-Context", "eyJjdXN0b20iOnsiYSI6ImIifX0="),
            ("X-Amz-Log-Type", "Tail"),
        ],
        br#"{"n":1}"#,
    );
    let event = local.next().await;
    assert_eq!(event.json(), json!({"n": 1}));
    let id = event
        .header("Lambda-Runtime-Aws-Request-Id")
        .unwrap()
        .to_owned();
    let deadline: u128 = event
        .header("Lambda-Runtime-Deadline-Ms")
        .unwrap()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    assert!(
        deadline > now + 2_000 && deadline <= now + 3_000,
        "{deadline} vs {now}"
    );
    assert_eq!(
        event.header("Lambda-Runtime-Invoked-Function-Arn"),
        Some("arn:aws:lambda:us-east-1:012345678912:function:local")
    );
    assert!(
        event
            .header("Lambda-Runtime-Trace-Id")
            .unwrap()
            .starts_with("Root=1-")
    );
    assert_eq!(
        event.header("Lambda-Runtime-Client-Context"),
        Some(r#"{"custom":{"a":"b"}}"#)
    );
    assert_eq!(event.header("Lambda-Runtime-Cognito-Identity"), None);

    let path = format!("/2018-06-01/runtime/invocation/{id}/response");
    let reply = local.post(&path, &[], br#"{"ok":true}"#).await;
    assert_eq!(reply.status, 202);
    assert_eq!(reply.json(), json!({"status": "OK"}));
    let again = local.post(&path, &[], b"{}").await;
    runtime_error(&again, 403, "InvalidStateTransition");
    let error_path = format!("/2018-06-01/runtime/invocation/{id}/error");
    runtime_error(
        &local.post(&error_path, &[], b"{}").await,
        403,
        "InvalidStateTransition",
    );

    let answer = bounded(caller).await.unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json(), json!({"ok": true}));
    assert_eq!(answer.header("x-amzn-RequestId"), Some(id.as_str()));
    let log = answer.log_tail();
    assert!(log.contains(&format!("START RequestId: {id}")), "{log}");
    assert!(log.contains("Init Duration"), "{log}");

    // Init errors are only for the init phase.
    let reply = local
        .post("/2018-06-01/runtime/init/error", &[], b"{}")
        .await;
    runtime_error(&reply, 403, "InvalidStateTransition");

    // Unknown paths and methods get Runtime API errors too.
    assert_eq!(local.post(NEXT, &[], b"").await.status, 405);
    assert_eq!(
        request(local.api, "GET", "/nope", &[], b"").await.status,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_and_oversized_response() {
    let local = start(FunctionConfig::new("local", "unused"));
    let caller = local.invoke(&[], b"{}");
    let id = local
        .next()
        .await
        .header("Lambda-Runtime-Aws-Request-Id")
        .unwrap()
        .to_owned();
    let path = format!("/2018-06-01/runtime/invocation/{id}/error");
    let body = br#"{"errorMessage":"boom","errorType":"Boom","stackTrace":["a"]}"#;
    let reply = local
        .post(
            &path,
            &[("Lambda-Runtime-Function-Error-Type", "Boom")],
            body,
        )
        .await;
    assert_eq!(reply.status, 202);
    let answer = bounded(caller).await.unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("X-Amz-Function-Error"), Some("Unhandled"));
    assert_eq!(answer.json()["errorType"], "Boom");
    assert_eq!(answer.json()["stackTrace"], json!(["a"]));

    // An error that is not JSON is wrapped with the header's type.
    let caller = local.invoke(&[], b"{}");
    let id = local
        .next()
        .await
        .header("Lambda-Runtime-Aws-Request-Id")
        .unwrap()
        .to_owned();
    let path = format!("/2018-06-01/runtime/invocation/{id}/error");
    let reply = local
        .post(
            &path,
            &[("Lambda-Runtime-Function-Error-Type", "Plain")],
            b"oops",
        )
        .await;
    assert_eq!(reply.status, 202);
    let answer = bounded(caller).await.unwrap();
    assert_eq!(
        answer.json(),
        json!({"errorType": "Plain", "errorMessage": "oops"})
    );

    let caller = local.invoke(&[], b"{}");
    let id = local
        .next()
        .await
        .header("Lambda-Runtime-Aws-Request-Id")
        .unwrap()
        .to_owned();
    let path = format!("/2018-06-01/runtime/invocation/{id}/response");
    let big = vec![b'x'; 6_291_557];
    let reply = local.post(&path, &[], &big).await;
    runtime_error(&reply, 413, "RequestEntityTooLarge");
    let answer = bounded(caller).await.unwrap();
    assert_eq!(answer.header("X-Amz-Function-Error"), Some("Unhandled"));
    assert_eq!(answer.json()["errorType"], "Function.ResponseSizeTooLarge");

    // Exactly the limit is fine.
    let caller = local.invoke(&[], b"{}");
    let id = local
        .next()
        .await
        .header("Lambda-Runtime-Aws-Request-Id")
        .unwrap()
        .to_owned();
    let path = format!("/2018-06-01/runtime/invocation/{id}/response");
    let mut exact = vec![b'x'; 6_291_556 - 2];
    exact.insert(0, b'"');
    exact.push(b'"');
    assert_eq!(local.post(&path, &[], &exact).await.status, 202);
    assert_eq!(bounded(caller).await.unwrap().body.len(), 6_291_556);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_error_fails_invocations() {
    let local = start(FunctionConfig::new("local", "unused"));
    let body = br#"{"errorMessage":"no config","errorType":"Setup.Failed"}"#;
    let reply = local
        .post("/2018-06-01/runtime/init/error", &[], body)
        .await;
    assert_eq!(reply.status, 202);
    assert_eq!(reply.json(), json!({"status": "OK"}));
    let reply = local
        .post("/2018-06-01/runtime/init/error", &[], body)
        .await;
    runtime_error(&reply, 403, "InvalidStateTransition");
    for _ in 0..2 {
        let answer = bounded(local.invoke(&[], b"{}")).await.unwrap();
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("X-Amz-Function-Error"), Some("Unhandled"));
        assert_eq!(answer.json()["errorType"], "Setup.Failed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_timeout_discards_the_late_answer() {
    let mut config = FunctionConfig::new("local", "unused");
    config.timeout = Duration::from_secs(1);
    let local = start(config);
    let caller = local.invoke(&[], br#"{"first":true}"#);
    let id = local
        .next()
        .await
        .header("Lambda-Runtime-Aws-Request-Id")
        .unwrap()
        .to_owned();
    let answer = bounded(caller).await.unwrap();
    assert_eq!(answer.header("X-Amz-Function-Error"), Some("Unhandled"));
    let message = answer.json()["errorMessage"].as_str().unwrap().to_owned();
    assert!(
        message.ends_with("Task timed out after 1.00 seconds"),
        "{message}"
    );

    // A caller arriving while the handler still runs waits for it…
    let waiting = local.invoke(&[], br#"{"second":true}"#);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let path = format!("/2018-06-01/runtime/invocation/{id}/response");
    assert_eq!(local.post(&path, &[], b"\"late\"").await.status, 202);
    let event = local.next().await;
    assert_eq!(event.json(), json!({"second": true}));
    let id = event
        .header("Lambda-Runtime-Aws-Request-Id")
        .unwrap()
        .to_owned();
    let path = format!("/2018-06-01/runtime/invocation/{id}/response");
    assert_eq!(local.post(&path, &[], b"\"second\"").await.status, 202);
    assert_eq!(bounded(waiting).await.unwrap().json(), json!("second"));

    // …but not forever: with the handler stuck, the next caller is throttled.
    let stuck = local.invoke(&[], b"{}");
    let _ = local.next().await;
    assert!(
        bounded(stuck)
            .await
            .unwrap()
            .header("X-Amz-Function-Error")
            .is_some()
    );
    let throttled = bounded(local.invoke(&[], b"{}")).await.unwrap();
    throttled.assert_aws_error(429, "TooManyRequestsException");
}

/// Posts a streamed `/response` as a runtime does (AWS's custom runtime guide, "Response
/// streaming"): chunked, with the streaming mode header and `trailers` after the last chunk.
/// Answers the Runtime API's status.
async fn post_stream(api: SocketAddr, id: &str, chunks: &[&[u8]], trailers: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(api).await.unwrap();
    let head = format!(
        "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nHost: {api}\r\n\
         Connection: close\r\nTransfer-Encoding: chunked\r\n\
         Lambda-Runtime-Function-Response-Mode: streaming\r\n\
         Trailer: Lambda-Runtime-Function-Error-Type\r\n\
         Trailer: Lambda-Runtime-Function-Error-Body\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The Runtime API may answer (413) and close before the stream's end: a write failing
    // then ends the sending, and the answer is read.
    let mut sent = Ok(());
    for chunk in chunks {
        let size = format!("{:x}\r\n", chunk.len());
        sent = async {
            stream.write_all(size.as_bytes()).await?;
            stream.write_all(chunk).await?;
            stream.write_all(b"\r\n").await
        }
        .await;
        if sent.is_err() {
            break;
        }
    }
    if sent.is_ok() {
        let end = format!("0\r\n{trailers}\r\n");
        let _ = stream.write_all(end.as_bytes()).await;
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_responses() {
    let local = start(FunctionConfig::new("local", "unused"));
    let request_id = |reply: Reply| {
        reply
            .header("Lambda-Runtime-Aws-Request-Id")
            .unwrap()
            .to_owned()
    };

    // A buffered caller gets the whole stream.
    let caller = local.invoke(&[], b"{}");
    let id = request_id(local.next().await);
    let status = bounded(post_stream(
        local.api,
        &id,
        &[b"one ", b"two ", b"three"],
        "",
    ))
    .await;
    assert_eq!(status, 202);
    let answer = bounded(caller).await.unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("X-Amz-Function-Error"), None);
    assert_eq!(answer.text(), "one two three");

    // An error after the stream started comes in the trailers, its body base64-encoded.
    let caller = local.invoke(&[], b"{}");
    let id = request_id(local.next().await);
    let trailers = "Lambda-Runtime-Function-Error-Type: Fixture.MidStream\r\n\
                    Lambda-Runtime-Function-Error-Body: d2VudCB3cm9uZw==\r\n";
    assert_eq!(
        bounded(post_stream(local.api, &id, &[b"partial"], trailers)).await,
        202
    );
    let answer = bounded(caller).await.unwrap();
    assert_eq!(answer.header("X-Amz-Function-Error"), Some("Unhandled"));
    assert_eq!(
        answer.json(),
        json!({"errorType": "Fixture.MidStream", "errorMessage": "went wrong"})
    );

    // A buffered caller takes at most a buffered answer's 6 MB of a stream (a caller reading
    // as it comes, 200 MB: tests/streaming.rs): past it the stream is cut and the invocation
    // fails.
    let caller = local.invoke(&[], b"{}");
    let id = request_id(local.next().await);
    let chunk = vec![b'x'; 1024 * 1024];
    let too_many: Vec<&[u8]> = vec![&chunk; 7];
    assert_eq!(
        bounded(post_stream(local.api, &id, &too_many, "")).await,
        413
    );
    let answer = bounded(caller).await.unwrap();
    assert_eq!(answer.header("X-Amz-Function-Error"), Some("Unhandled"));
    assert_eq!(answer.json()["errorType"], "Function.ResponseSizeTooLarge");
    assert!(answer.text().contains("6291556"), "{}", answer.text());
}
