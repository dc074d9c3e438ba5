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

/// The management API (`create-function`, `update-function-code`, …) with hand-made zips.
#[cfg(feature = "manage")]
mod manage {
    use super::*;

    /// A zip of `(name, unix mode, contents)` entries, as a user's packaging script would make it.
    fn zip_of(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
        use std::io::Write;
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, mode, data) in entries {
            let options = zip::write::SimpleFileOptions::default().unix_permissions(*mode);
            if mode & 0o170_000 == 0o120_000 {
                let target = std::str::from_utf8(data).unwrap();
                writer.add_symlink(*name, target, options).unwrap();
            } else {
                writer.start_file(*name, options).unwrap();
                writer.write_all(data).unwrap();
            }
        }
        writer.finish().unwrap().into_inner()
    }

    /// A custom runtime in Python (the AWS CLI brings Python): answers which code it is.
    const PYTHON_BOOTSTRAP: &str = r#"#!/usr/bin/env python3
import json, os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
    body = json.dumps({
        "code": "python",
        "version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"],
        "memory": os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"],
    })
    urllib.request.urlopen(api + request_id + "/response", data=body.encode()).read()
"#;

    fn read_json(path: &Path) -> Value {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    fn stderr_of(output: &Output) -> String {
        assert!(!output.status.success(), "expected a failure");
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn aws_lambda_manages_functions() {
        let emulator = Running::start(Vec::new()).await;
        let addr = emulator.addr;
        let dir =
            std::env::temp_dir().join(format!("lambkin-awscli-manage-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fixture = std::fs::read(common::fixture_path()).unwrap();
        let rust_zip = zip_of(&[("bootstrap", 0o755, &fixture)]);
        std::fs::write(dir.join("rust.zip"), &rust_zip).unwrap();
        std::fs::write(
            dir.join("python.zip"),
            zip_of(&[("bootstrap", 0o755, PYTHON_BOOTSTRAP.as_bytes())]),
        )
        .unwrap();
        let role = "arn:aws:iam::123456789012:role/lambda-exec";
        let create = |name: &'static str, zip: &'static str| {
            let dir = dir.clone();
            async move {
                aws(
                    addr,
                    &dir,
                    &[
                        "create-function",
                        "--function-name",
                        name,
                        "--runtime",
                        "provided.al2023",
                        "--handler",
                        "bootstrap",
                        "--role",
                        role,
                        "--environment",
                        "Variables={FIXTURE=echo}",
                        "--zip-file",
                        &format!("fileb://{zip}"),
                    ],
                )
                .await
            }
        };

        // CreateFunction with a hand-made zip of a real lambda_runtime binary.
        let Some(output) = create("managed", "rust.zip").await else {
            return;
        };
        let created = stdout_json(&output);
        assert_eq!(created["FunctionName"], "managed");
        assert_eq!(created["State"], "Active");
        assert_eq!(created["Version"], "$LATEST");
        assert_eq!(created["Role"], role);
        assert_eq!(created["CodeSize"], rust_zip.len());
        assert_eq!(created["Environment"]["Variables"]["FIXTURE"], "echo");
        let output = create("managed", "rust.zip").await.unwrap();
        assert!(stderr_of(&output).contains("ResourceConflictException"));

        let invoke = |qualifier: Option<&'static str>| {
            let dir = dir.clone();
            async move {
                let mut args = vec!["invoke", "--function-name", "managed", "out.json"];
                if let Some(qualifier) = qualifier {
                    args.extend(["--qualifier", qualifier]);
                }
                let output = aws(addr, &dir, &args).await.unwrap();
                assert_eq!(stdout_json(&output)["StatusCode"], 200);
                read_json(&dir.join("out.json"))
            }
        };
        let answer = invoke(None).await;
        assert_eq!(
            answer["env"]["AWS_LAMBDA_FUNCTION_NAME"], "managed",
            "{answer}"
        );
        assert_eq!(answer["env"]["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");

        // Publish version 1 (the Rust code), then replace the code of $LATEST.
        let output = aws(
            addr,
            &dir,
            &["publish-version", "--function-name", "managed"],
        )
        .await
        .unwrap();
        assert_eq!(stdout_json(&output)["Version"], "1");
        let output = aws(
            addr,
            &dir,
            &[
                "update-function-code",
                "--function-name",
                "managed",
                "--zip-file",
                "fileb://python.zip",
            ],
        )
        .await
        .unwrap();
        let updated = stdout_json(&output);
        assert_ne!(updated["CodeSha256"], created["CodeSha256"]);
        let output = aws(
            addr,
            &dir,
            &["wait", "function-updated-v2", "--function-name", "managed"],
        )
        .await
        .unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
        assert_eq!(
            invoke(None).await,
            json!({"code": "python", "version": "$LATEST", "memory": "128"})
        );
        // Version 1 still runs the code it was published with.
        let answer = invoke(Some("1")).await;
        assert_eq!(
            answer["env"]["AWS_LAMBDA_FUNCTION_VERSION"], "1",
            "{answer}"
        );

        // Configuration updates reach new instances.
        let output = aws(
            addr,
            &dir,
            &[
                "update-function-configuration",
                "--function-name",
                "managed",
                "--memory-size",
                "256",
                "--timeout",
                "10",
            ],
        )
        .await
        .unwrap();
        assert_eq!(stdout_json(&output)["MemorySize"], 256);
        let output = aws(
            addr,
            &dir,
            &["wait", "function-updated-v2", "--function-name", "managed"],
        )
        .await
        .unwrap();
        assert!(output.status.success());
        assert_eq!(invoke(None).await["memory"], "256");
        let output = aws(
            addr,
            &dir,
            &[
                "update-function-configuration",
                "--function-name",
                "managed",
                "--timeout",
                "901",
            ],
        )
        .await
        .unwrap();
        let stderr = stderr_of(&output);
        assert!(stderr.contains("ValidationException"), "{stderr}");

        // Preconditions: the revision, the code to publish, one update at a time.
        let stale = [
            "update-function-configuration",
            "--function-name",
            "managed",
            "--revision-id",
            "00000000-0000-0000-0000-000000000000",
            "--description",
            "stale",
        ];
        let stderr = stderr_of(&aws(addr, &dir, &stale).await.unwrap());
        assert!(stderr.contains("PreconditionFailedException"), "{stderr}");
        let output = aws(
            addr,
            &dir,
            &[
                "publish-version",
                "--function-name",
                "managed",
                "--code-sha256",
                "bm90IHRoZSBjb2Rl",
            ],
        )
        .await
        .unwrap();
        let stderr = stderr_of(&output);
        assert!(
            stderr.contains("InvalidParameterValueException"),
            "{stderr}"
        );
        // A new version whose first instance takes 3 s to start: the update stays InProgress.
        let slow = PYTHON_BOOTSTRAP.replace(
            "import json, os, urllib.request",
            "import json, os, time, urllib.request\ntime.sleep(3)",
        );
        std::fs::write(
            dir.join("slow.zip"),
            zip_of(&[("bootstrap", 0o755, slow.as_bytes())]),
        )
        .unwrap();
        let output = aws(
            addr,
            &dir,
            &[
                "update-function-code",
                "--function-name",
                "managed",
                "--zip-file",
                "fileb://slow.zip",
            ],
        )
        .await
        .unwrap();
        assert_eq!(stdout_json(&output)["LastUpdateStatus"], "InProgress");
        let meanwhile = [
            "update-function-configuration",
            "--function-name",
            "managed",
            "--description",
            "meanwhile",
        ];
        let stderr = stderr_of(&aws(addr, &dir, &meanwhile).await.unwrap());
        assert!(stderr.contains("ResourceConflictException"), "{stderr}");
        let output = aws(
            addr,
            &dir,
            &["wait", "function-updated-v2", "--function-name", "managed"],
        )
        .await
        .unwrap();
        assert!(output.status.success());

        // Listing pages through functions and versions (one item a page).
        let output = create("managed2", "python.zip").await.unwrap();
        stdout_json(&output);

        let list = [
            "list-functions",
            "--function-version",
            "ALL",
            "--page-size",
            "1",
        ];
        let output = aws(addr, &dir, &list).await.unwrap();
        let listed: Vec<(Value, Value)> = stdout_json(&output)["Functions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["FunctionName"].clone(), f["Version"].clone()))
            .collect();
        assert_eq!(
            listed,
            [
                (json!("managed"), json!("$LATEST")),
                (json!("managed"), json!("1")),
                (json!("managed2"), json!("$LATEST")),
            ]
        );
        let output = aws(
            addr,
            &dir,
            &[
                "get-function",
                "--function-name",
                "managed",
                "--qualifier",
                "1",
            ],
        )
        .await
        .unwrap();
        let got = stdout_json(&output);
        assert_eq!(got["Configuration"]["CodeSha256"], created["CodeSha256"]);
        assert!(
            got["Code"]["Location"]
                .as_str()
                .unwrap()
                .starts_with("http://")
        );

        // Zips that would write outside their directory, links and non-zips are refused whole.
        let escape = dir.join("escaped");
        // Enough `..` to climb from wherever the emulator unpacks to `/`, then down to `escape`.
        let slip = format!(
            "{}{}",
            "../".repeat(32),
            escape.to_str().unwrap().trim_start_matches('/')
        );
        for (label, zip) in [
            (
                "slip",
                zip_of(&[("bootstrap", 0o755, b"x"), (&slip, 0o644, b"x")]),
            ),
            (
                "absolute",
                zip_of(&[(escape.to_str().unwrap(), 0o644, b"x")]),
            ),
            ("symlink", zip_of(&[("bootstrap", 0o120_777, b"/bin/sh")])),
            // The CLI itself checks that it is a zip; damage the data instead.
            ("corrupt", {
                let mut zip = rust_zip.clone();
                zip[rust_zip.len() / 2] ^= 0xff;
                zip
            }),
        ] {
            std::fs::write(dir.join("bad.zip"), zip).unwrap();
            let output = aws(
                addr,
                &dir,
                &[
                    "create-function",
                    "--function-name",
                    "evil",
                    "--runtime",
                    "provided.al2023",
                    "--role",
                    role,
                    "--zip-file",
                    "fileb://bad.zip",
                ],
            )
            .await
            .unwrap();
            let stderr = stderr_of(&output);
            assert!(
                stderr.contains("InvalidParameterValueException"),
                "{label}: {stderr}"
            );
            assert!(stderr.contains("Could not unzip"), "{label}: {stderr}");
        }
        assert!(!escape.exists());
        let output = aws(addr, &dir, &["get-function", "--function-name", "evil"])
            .await
            .unwrap();
        assert!(stderr_of(&output).contains("ResourceNotFoundException"));

        // Deleting a version leaves the function.
        let output = aws(
            addr,
            &dir,
            &[
                "delete-function",
                "--function-name",
                "managed",
                "--qualifier",
                "1",
            ],
        )
        .await
        .unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
        let gone = [
            "invoke",
            "--function-name",
            "managed",
            "--qualifier",
            "1",
            "out.json",
        ];
        let stderr = stderr_of(&aws(addr, &dir, &gone).await.unwrap());
        assert!(stderr.contains("ResourceNotFoundException"), "{stderr}");
        assert_eq!(invoke(None).await["code"], "python");

        // Delete: the function and its versions are gone.
        let output = aws(
            addr,
            &dir,
            &["delete-function", "--function-name", "managed"],
        )
        .await
        .unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
        for qualifier in ["$LATEST", "1"] {
            let output = aws(
                addr,
                &dir,
                &[
                    "invoke",
                    "--function-name",
                    "managed",
                    "--qualifier",
                    qualifier,
                    "out.json",
                ],
            )
            .await
            .unwrap();
            assert!(stderr_of(&output).contains("ResourceNotFoundException"));
        }

        let _ = std::fs::remove_dir_all(&dir);
        emulator.stop().await;
    }
}
