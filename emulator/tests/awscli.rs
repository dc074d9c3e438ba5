//! The real AWS CLI against the emulator (`pip install awscli`). Skipped, with a note, when `aws`
//! is not installed, unless `LAMBKIN_REQUIRE_AWSCLI` is set.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;

use common::{Running, bounded, fixture};
use serde_json::{Value, json};

/// Runs `aws lambda <args>` against the emulator with dummy credentials.
async fn aws(endpoint: SocketAddr, dir: &Path, args: &[&str]) -> Option<Output> {
    let output = tokio::process::Command::new("aws")
        .arg("lambda")
        .args(args)
        .args(["--endpoint-url", &format!("http://{endpoint}")])
        .current_dir(dir)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_PAGER", "")
        .env_remove("AWS_PROFILE")
        .kill_on_drop(true)
        .output();
    match bounded(output).await {
        Ok(output) => Some(output),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var_os("LAMBKIN_REQUIRE_AWSCLI").is_none(),
                "the AWS CLI is required"
            );
            eprintln!("skipped: `aws` is not installed (pip install awscli)");
            None
        }
        Err(e) => panic!("cannot run aws: {e}"),
    }
}

fn stdout_json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "aws failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_lambda_invoke_works() {
    let emulator = Running::start(vec![fixture("echo", "echo"), fixture("error", "error")]).await;
    let dir = std::env::temp_dir().join(format!("lambkin-awscli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("event.json"), r#"{"from":"aws"}"#).unwrap();

    let Some(output) = aws(
        emulator.addr,
        &dir,
        &[
            "invoke",
            "--function-name",
            "echo",
            "--payload",
            "fileb://event.json",
            "--log-type",
            "Tail",
            "out.json",
        ],
    )
    .await
    else {
        return;
    };
    let summary = stdout_json(&output);
    assert_eq!(summary["StatusCode"], 200, "{summary}");
    assert_eq!(summary["ExecutedVersion"], "$LATEST");
    assert!(summary.get("FunctionError").is_none());
    let log = summary["LogResult"].as_str().expect("LogResult");
    assert!(!log.is_empty());
    let out: Value = serde_json::from_slice(&std::fs::read(dir.join("out.json")).unwrap()).unwrap();
    assert_eq!(out["event"], json!({"from": "aws"}));

    // No payload: the function sees `{}`.
    let output = aws(
        emulator.addr,
        &dir,
        &["invoke", "--function-name", "echo", "out.json"],
    )
    .await
    .unwrap();
    assert_eq!(stdout_json(&output)["StatusCode"], 200);
    let out: Value = serde_json::from_slice(&std::fs::read(dir.join("out.json")).unwrap()).unwrap();
    assert_eq!(out["event"], json!({}));

    let output = aws(
        emulator.addr,
        &dir,
        &["invoke", "--function-name", "error", "out.json"],
    )
    .await
    .unwrap();
    assert_eq!(stdout_json(&output)["FunctionError"], "Unhandled");
    let out: Value = serde_json::from_slice(&std::fs::read(dir.join("out.json")).unwrap()).unwrap();
    assert_eq!(out["errorType"], "Fixture.Failed");

    let output = aws(
        emulator.addr,
        &dir,
        &[
            "invoke",
            "--function-name",
            "echo",
            "--invocation-type",
            "Event",
            "out.json",
        ],
    )
    .await
    .unwrap();
    assert_eq!(stdout_json(&output)["StatusCode"], 202);

    let output = aws(
        emulator.addr,
        &dir,
        &["invoke", "--function-name", "nope", "out.json"],
    )
    .await
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ResourceNotFoundException"), "{stderr}");
    assert!(
        stderr.contains("Function not found: arn:aws:lambda:"),
        "{stderr}"
    );

    std::fs::write(dir.join("bad.json"), "{not json").unwrap();
    let output = aws(
        emulator.addr,
        &dir,
        &[
            "invoke",
            "--function-name",
            "echo",
            "--payload",
            "fileb://bad.json",
            "out.json",
        ],
    )
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("InvalidRequestContentException"),
        "{stderr}"
    );

    let _ = std::fs::remove_dir_all(&dir);
    emulator.stop().await;
}
