//! InvokeWithResponseStream end to end, read by boto3's `invoke_with_response_stream` (`pip
//! install boto3`): the fixture function streams as `lambda_runtime`'s `StreamResponse` does,
//! and each event boto3 decodes is printed as one JSON line as it arrives, so the test sees
//! chunks before the function has finished. Skipped with a note when boto3 is not installed,
//! unless `CI` is set (`.ci/run` installs it).

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use common::{Running, bounded, fixture};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// Calls `invoke_with_response_stream(**argv[2])` on the endpoint `argv[1]` and prints a line per
/// event: the response head, each chunk (bytes as Latin-1), `InvokeComplete`, or the error.
const CLIENT: &str = r#"
import json, sys
import boto3, botocore.config, botocore.exceptions
client = boto3.client(
    "lambda", endpoint_url=sys.argv[1], region_name="us-east-1",
    aws_access_key_id="test", aws_secret_access_key="test",
    config=botocore.config.Config(retries={"max_attempts": 1}, read_timeout=60),
)
def say(value):
    print(json.dumps(value), flush=True)
try:
    answer = client.invoke_with_response_stream(**json.loads(sys.argv[2]))
except botocore.exceptions.ClientError as error:
    say({"error": error.response["Error"]["Code"],
         "status": error.response["ResponseMetadata"]["HTTPStatusCode"]})
    sys.exit(0)
say({"status": answer["ResponseMetadata"]["HTTPStatusCode"],
     "version": answer.get("ExecutedVersion")})
for event in answer["EventStream"]:
    if "PayloadChunk" in event:
        say({"chunk": event["PayloadChunk"]["Payload"].decode("latin-1")})
    elif "InvokeComplete" in event:
        say({"complete": event["InvokeComplete"]})
say({"end": True})
"#;

/// Whether boto3 is installed; with `CI` set, it must be.
async fn boto3_installed() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import boto3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "boto3 is required on CI (.ci/run installs it: pip install boto3)"
        );
        eprintln!("SKIPPED: boto3 is not installed (pip install boto3)");
    }
    found
}

/// A running boto3 client and the lines it prints.
struct Client {
    _child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Client {
    fn start(addr: SocketAddr, args: &Value) -> Client {
        let mut child = Command::new("python3")
            .args(["-c", CLIENT, &format!("http://{addr}"), &args.to_string()])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        Client {
            _child: child,
            lines: BufReader::new(stdout).lines(),
        }
    }

    /// The next event boto3 printed.
    async fn next(&mut self) -> Value {
        let line = bounded(self.lines.next_line()).await.unwrap();
        let line = line.expect("boto3 ended early (see its stderr)");
        serde_json::from_str(&line).unwrap()
    }

    /// Chunks up to `InvokeComplete`: their text, and `InvokeComplete`.
    async fn rest(&mut self, mut text: String) -> (String, Value) {
        loop {
            let event = self.next().await;
            if let Some(chunk) = event["chunk"].as_str() {
                text.push_str(chunk);
            } else {
                assert_eq!(self.next().await, json!({"end": true}));
                return (text, event["complete"].clone());
            }
        }
    }
}

/// An emulator serving the `stream` fixture as `streamer` and the `echo` and `error` fixtures.
async fn start() -> Running {
    let mut streamer = fixture("streamer", "stream");
    streamer.timeout = Duration::from_secs(20);
    Running::start(vec![
        streamer,
        fixture("echo", "echo"),
        fixture("error", "error"),
    ])
    .await
}

/// A file path for the fixture's gate, not yet existing.
fn gate(test: &str) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("lambkin-stream-gate-{test}-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// Starts boto3 on `streamer` with the fixture's gate at `gate` (and `settings`), and reads
/// until the first chunk, which the function writes before waiting at its gate.
async fn first_chunk(
    running: &Running,
    gate: &Path,
    settings: Value,
    tail: bool,
) -> (Client, String) {
    let mut payload = settings;
    payload["gate"] = json!(gate.display().to_string());
    let mut args = json!({"FunctionName": "streamer", "Payload": payload.to_string()});
    if tail {
        args["LogType"] = json!("Tail");
    }
    let mut client = Client::start(running.addr, &args);
    assert_eq!(
        client.next().await,
        json!({"status": 200, "version": "$LATEST"})
    );
    let mut text = String::new();
    while !text.contains("one\n") {
        let event = client.next().await;
        text.push_str(event["chunk"].as_str().expect("a chunk"));
    }
    (client, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_reads_the_stream_as_the_function_writes() {
    if !boto3_installed().await {
        return;
    }
    let running = start().await;
    let gate = gate("order");
    let (mut client, text) = first_chunk(&running, &gate, json!({}), true).await;
    // The first chunk came while the function waits at its gate: it has not finished, so the
    // answer streams. The bytes are the function's own, its metadata prelude included.
    assert!(text.starts_with(r#"{"statusCode":201"#), "{text:?}");
    assert!(text.contains("\0\0\0\0\0\0\0\0one\n"), "{text:?}");
    assert!(!text.contains("two"), "{text:?}");
    std::fs::write(&gate, b"").unwrap();
    let (text, complete) = client.rest(text).await;
    assert!(text.ends_with("one\ntwo\nthree\n"), "{text:?}");
    assert!(complete.get("ErrorCode").is_none(), "{complete}");
    let log = base64::engine::general_purpose::STANDARD
        .decode(complete["LogResult"].as_str().expect("LogResult"))
        .unwrap();
    let log = String::from_utf8(log).unwrap();
    assert!(log.contains("REPORT RequestId: "), "{log}");
    let _ = std::fs::remove_file(&gate);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_failing_mid_stream_ends_with_its_error() {
    if !boto3_installed().await {
        return;
    }
    let running = start().await;
    let gate = gate("crash");
    let (mut client, text) = first_chunk(&running, &gate, json!({"crash": true}), false).await;
    std::fs::write(&gate, b"").unwrap();
    let (text, complete) = client.rest(text).await;
    assert!(!text.contains("two"), "{text:?}");
    // The process died mid-answer: its exit, or its broken stream if the emulator sees that
    // first, is the error.
    let code = complete["ErrorCode"].as_str().unwrap_or_default();
    assert!(
        ["Runtime.ExitError", "Runtime.InvalidResponse"].contains(&code),
        "{complete}"
    );
    assert!(
        complete["ErrorDetails"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{complete}"
    );
    // No tail asked for, none given.
    assert!(complete.get("LogResult").is_none(), "{complete}");
    let _ = std::fs::remove_file(&gate);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_answering_whole_comes_as_one_chunk() {
    if !boto3_installed().await {
        return;
    }
    let running = start().await;
    let args = json!({"FunctionName": "echo", "Payload": r#"{"a":1}"#, "Qualifier": "$LATEST"});
    let mut client = Client::start(running.addr, &args);
    assert_eq!(client.next().await["status"], 200);
    let chunk = client.next().await;
    let answer: Value = serde_json::from_str(chunk["chunk"].as_str().expect("a chunk")).unwrap();
    assert_eq!(answer["event"], json!({"a": 1}));
    let (rest, complete) = client.rest(String::new()).await;
    assert_eq!(rest, "", "one chunk only");
    assert_eq!(complete, json!({}));

    // A function error: no chunk, its type and message in InvokeComplete.
    let mut client = Client::start(running.addr, &json!({"FunctionName": "error"}));
    assert_eq!(client.next().await["status"], 200);
    let (text, complete) = client.rest(String::new()).await;
    assert_eq!(text, "");
    assert_eq!(complete["ErrorCode"], "Fixture.Failed", "{complete}");
    assert_eq!(complete["ErrorDetails"], "the fixture failed on purpose");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_before_the_stream_are_the_invoke_apis() {
    if !boto3_installed().await {
        return;
    }
    let running = start().await;
    let cases = [
        (
            json!({"FunctionName": "nope"}),
            json!({"error": "ResourceNotFoundException", "status": 404}),
        ),
        (
            json!({"FunctionName": "echo", "InvocationType": "Event"}),
            json!({"error": "InvalidParameterValueException", "status": 400}),
        ),
        (
            json!({"FunctionName": "echo", "Payload": "{"}),
            json!({"error": "InvalidRequestContentException", "status": 400}),
        ),
    ];
    for (args, expected) in cases {
        let mut client = Client::start(running.addr, &args);
        assert_eq!(client.next().await, expected, "{args}");
    }
    // DryRun checks the call and runs nothing.
    let args = json!({"FunctionName": "echo", "InvocationType": "DryRun"});
    let mut client = Client::start(running.addr, &args);
    assert_eq!(client.next().await["status"], 204);

    // The invocation type's message lists what this operation takes.
    let reply = common::request(
        running.addr,
        "POST",
        "/2021-11-15/functions/echo/response-streaming-invocations",
        &[("X-Amz-Invocation-Type", "Event")],
        b"{}",
    )
    .await;
    let message = reply.assert_aws_error(400, "InvalidParameterValueException");
    assert!(message.ends_with("[RequestResponse, DryRun]"), "{message}");
    running.stop().await;
}
