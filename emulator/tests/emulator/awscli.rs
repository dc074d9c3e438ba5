//! The real AWS CLI against the emulator (`pip install awscli`). Skipped, with a note, when `aws`
//! is not installed, unless `LAMBKIN_REQUIRE_AWSCLI` is set.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;

use common::{Running, bounded, fixture};
use lambkin_tests::awscli::stdout_json;
use serde_json::{Value, json};

/// Runs `aws lambda <args>` against the emulator.
async fn aws(endpoint: SocketAddr, dir: &Path, args: &[&str]) -> Option<Output> {
    lambkin_tests::awscli::aws("lambda", endpoint, dir, args).await
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
    use common::zip_of;

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

    /// `aws lambda …` against one emulator, from one directory (for `fileb://` and `out.json`).
    struct Cli {
        addr: SocketAddr,
        dir: std::path::PathBuf,
    }

    impl Cli {
        /// Runs a command that must succeed; its JSON output (`Null` when it prints nothing).
        async fn ok(&self, args: &[&str]) -> Value {
            let output = aws(self.addr, &self.dir, args).await.unwrap();
            assert!(
                output.status.success(),
                "aws {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            if output.stdout.iter().all(u8::is_ascii_whitespace) {
                Value::Null
            } else {
                serde_json::from_slice(&output.stdout).unwrap()
            }
        }

        /// Runs a command that must fail with the AWS error `code`; its stderr.
        async fn fails(&self, args: &[&str], code: &str) -> String {
            let output = aws(self.addr, &self.dir, args).await.unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            assert!(!output.status.success(), "aws {args:?} succeeded");
            assert!(stderr.contains(code), "aws {args:?}: {stderr}");
            stderr
        }

        /// Invokes `managed` (at `qualifier`); the function's answer.
        async fn invoke(&self, qualifier: Option<&str>) -> Value {
            let mut args = vec!["invoke", "--function-name", "managed", "out.json"];
            args.extend(qualifier.map(|q| ["--qualifier", q]).into_iter().flatten());
            assert_eq!(self.ok(&args).await["StatusCode"], 200);
            serde_json::from_slice(&std::fs::read(self.dir.join("out.json")).unwrap()).unwrap()
        }

        /// Waits until the last update of `managed` is done.
        async fn wait_updated(&self) {
            let wait = ["wait", "function-updated-v2", "--function-name", "managed"];
            self.ok(&wait).await;
        }
    }

    const ROLE: &str = "arn:aws:iam::123456789012:role/lambda-exec";

    /// `create-function` of `name` from the zip file `zip` (in the CLI's directory).
    fn create<'a>(name: &'a str, zip: &'a str) -> [&'a str; 13] {
        [
            "create-function",
            "--function-name",
            name,
            "--runtime",
            "provided.al2023",
            "--handler",
            "bootstrap",
            "--role",
            ROLE,
            "--environment",
            "Variables={FIXTURE=echo}",
            "--zip-file",
            zip,
        ]
    }

    /// `InvokeMode` through create-, get- and update-function-url-config, and the URL answering
    /// as it says: the `stream` fixture's status (201) and headers come from its metadata
    /// prelude only when the URL streams.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn aws_lambda_sets_function_url_invoke_modes() {
        let emulator = Running::start(Vec::new()).await;
        let cli = Cli {
            addr: emulator.addr,
            dir: std::env::temp_dir().join(format!("lambkin-awscli-urls-{}", std::process::id())),
        };
        std::fs::create_dir_all(&cli.dir).unwrap();
        if aws(cli.addr, &cli.dir, &["list-functions"]).await.is_none() {
            return;
        }
        let fixture = std::fs::read(common::fixture_path()).unwrap();
        std::fs::write(
            cli.dir.join("rust.zip"),
            zip_of(&[("bootstrap", 0o755, &fixture)]),
        )
        .unwrap();
        let mut args = create("managed", "fileb://rust.zip");
        args[10] = "Variables={FIXTURE=stream}";
        cli.ok(&args).await;
        let url = |mode: &str| {
            [
                "--function-name",
                "managed",
                "--auth-type",
                "NONE",
                "--invoke-mode",
                mode,
            ]
            .map(str::to_owned)
        };
        let mut args = vec!["create-function-url-config".to_owned()];
        args.extend(url("RESPONSE_STREAM"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let created = cli.ok(&args).await;
        assert_eq!(created["InvokeMode"], "RESPONSE_STREAM", "{created}");
        let address = created["FunctionUrl"].as_str().unwrap().to_owned();
        let address: SocketAddr = address
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap();
        let get = ["get-function-url-config", "--function-name", "managed"];
        assert_eq!(cli.ok(&get).await["InvokeMode"], "RESPONSE_STREAM");
        let streamed = common::request(address, "POST", "/", &[], b"{}").await;
        assert_eq!(streamed.status, 201, "{}", streamed.text());
        assert_eq!(streamed.header("x-fixture"), Some("streamed"));
        // Chunked as it was written (the raw client shows the chunks), ended well.
        assert_eq!(streamed.header("transfer-encoding"), Some("chunked"));
        let text = streamed.text();
        assert!(text.ends_with("\r\n0\r\n\r\n"), "{text:?}");
        for word in ["one\n", "two\n", "three\n"] {
            assert!(text.contains(word), "{text:?}");
        }

        let update = [
            "update-function-url-config",
            "--function-name",
            "managed",
            "--invoke-mode",
            "BUFFERED",
        ];
        let updated = cli.ok(&update).await;
        assert_eq!(updated["InvokeMode"], "BUFFERED", "{updated}");
        assert_eq!(updated["AuthType"], "NONE");
        assert_eq!(cli.ok(&get).await["InvokeMode"], "BUFFERED");
        // Buffered, the stream's bytes are one answer that is no function URL response.
        let buffered = common::request(address, "POST", "/", &[], b"{}").await;
        assert_ne!(buffered.status, 201, "{}", buffered.text());
        assert_eq!(buffered.header("x-fixture"), None);

        let mut bad = update;
        bad[4] = "SOMETIMES";
        cli.fails(&bad, "ValidationException").await;
        let _ = std::fs::remove_dir_all(&cli.dir);
        emulator.stop().await;
    }

    /// The asynchronous invocation settings through `aws lambda *-function-event-invoke-config`:
    /// AWS's shapes and errors, and the queue following them from the next event.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn aws_lambda_sets_event_invoke_configs() {
        let dir = std::env::temp_dir().join(format!("lambkin-awscli-async-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (log, records) = (dir.join("attempts.log"), dir.join("records.jsonl"));
        let mut flaky = fixture("flaky", "flaky");
        flaky.event_retry_delay = std::time::Duration::from_millis(50);
        flaky
            .env
            .insert("FIXTURE_LOG".into(), log.display().to_string());
        let mut sink = fixture("sink", "sink");
        sink.env
            .insert("FIXTURE_SINK".into(), records.display().to_string());
        let emulator = Running::start(vec![flaky, sink]).await;
        let cli = Cli {
            addr: emulator.addr,
            dir,
        };
        if aws(cli.addr, &cli.dir, &["list-functions"]).await.is_none() {
            return;
        }
        let get = [
            "get-function-event-invoke-config",
            "--function-name",
            "flaky",
        ];
        let stderr = cli.fails(&get, "ResourceNotFoundException").await;
        assert!(
            stderr.contains("doesn't have an EventInvokeConfig"),
            "{stderr}"
        );

        let sink_arn = "arn:aws:lambda:us-east-1:012345678912:function:sink";
        let on_failure = format!("OnFailure={{Destination={sink_arn}}}");
        let put = [
            "put-function-event-invoke-config",
            "--function-name",
            "flaky",
            "--maximum-retry-attempts",
            "0",
            "--maximum-event-age-in-seconds",
            "60",
            "--destination-config",
            &on_failure,
        ];
        let set = cli.ok(&put).await;
        let arn = "arn:aws:lambda:us-east-1:012345678912:function:flaky:$LATEST";
        assert_eq!(set["FunctionArn"], arn, "{set}");
        assert_eq!(set["MaximumRetryAttempts"], 0);
        assert_eq!(set["MaximumEventAgeInSeconds"], 60);
        assert_eq!(
            set["DestinationConfig"]["OnFailure"]["Destination"],
            sink_arn
        );
        assert_eq!(set["DestinationConfig"]["OnSuccess"], json!({}));
        assert!(set["LastModified"].as_f64().unwrap() > 1.7e9, "{set}");
        assert_eq!(cli.ok(&get).await, set);

        // Update changes what it names; the rest stays.
        let update = [
            "update-function-event-invoke-config",
            "--function-name",
            "flaky",
            "--maximum-retry-attempts",
            "1",
        ];
        let updated = cli.ok(&update).await;
        assert_eq!(updated["MaximumRetryAttempts"], 1);
        assert_eq!(updated["MaximumEventAgeInSeconds"], 60);
        assert_eq!(
            updated["DestinationConfig"]["OnFailure"]["Destination"],
            sink_arn
        );
        let list = [
            "list-function-event-invoke-configs",
            "--function-name",
            "flaky",
        ];
        let listed = cli.ok(&list).await;
        assert_eq!(listed["FunctionEventInvokeConfigs"], json!([updated]));

        // The queue follows: one retry, then the record to the sink.
        let event = [
            "invoke",
            "--function-name",
            "flaky",
            "--invocation-type",
            "Event",
        ];
        let mut args = event.to_vec();
        std::fs::write(cli.dir.join("event.json"), r#"{"fail": 9}"#).unwrap();
        args.extend(["--payload", "fileb://event.json", "out.json"]);
        assert_eq!(cli.ok(&args).await["StatusCode"], 202);
        let record: Value = bounded(async {
            loop {
                let text = std::fs::read_to_string(&records).unwrap_or_default();
                if let Some(line) = text.lines().next() {
                    return serde_json::from_str(line).unwrap();
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        })
        .await;
        assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
        assert_eq!(record["requestContext"]["approximateInvokeCount"], 2);
        assert_eq!(record["requestPayload"], json!({"fail": 9}));
        assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 2);

        // AWS's bounds, checked by the emulator (the CLI only checks minimums).
        let mut bad = put;
        bad[4] = "3";
        let stderr = cli.fails(&bad, "ValidationException").await;
        assert!(stderr.contains("maximumRetryAttempts"), "{stderr}");
        let mut bad = put;
        bad[6] = "21601";
        let stderr = cli.fails(&bad, "ValidationException").await;
        assert!(stderr.contains("less than or equal to 21600"), "{stderr}");
        let mut bad = put;
        let queue = "OnSuccess={Destination=my-queue}";
        bad[8] = queue;
        cli.fails(&bad, "ValidationException").await;
        let mut missing = get;
        missing[2] = "nobody";
        cli.fails(&missing, "ResourceNotFoundException").await;
        let mut version = get.to_vec();
        version.extend(["--qualifier", "7"]);
        cli.fails(&version, "ResourceNotFoundException").await;
        assert_eq!(
            cli.ok(&get).await,
            updated,
            "refused requests change nothing"
        );

        let delete = [
            "delete-function-event-invoke-config",
            "--function-name",
            "flaky",
        ];
        assert_eq!(cli.ok(&delete).await, Value::Null);
        cli.fails(&get, "ResourceNotFoundException").await;
        cli.fails(&delete, "ResourceNotFoundException").await;
        assert_eq!(cli.ok(&list).await["FunctionEventInvokeConfigs"], json!([]));

        // A deployed function's DeadLetterConfig, set, shown and removed.
        let fixture = std::fs::read(common::fixture_path()).unwrap();
        std::fs::write(
            cli.dir.join("rust.zip"),
            zip_of(&[("bootstrap", 0o755, &fixture)]),
        )
        .unwrap();
        let dlq = "arn:aws:sqs:us-east-1:012345678912:dead-letters";
        let target = format!("TargetArn={dlq}");
        let mut args = create("managed", "fileb://rust.zip").to_vec();
        args.extend(["--dead-letter-config", &target]);
        let created = cli.ok(&args).await;
        assert_eq!(created["DeadLetterConfig"]["TargetArn"], dlq, "{created}");
        cli.wait_updated().await;
        let shown = ["get-function-configuration", "--function-name", "managed"];
        assert_eq!(cli.ok(&shown).await["DeadLetterConfig"]["TargetArn"], dlq);
        let mut update = vec![
            "update-function-configuration",
            "--function-name",
            "managed",
        ];
        update.extend(["--dead-letter-config", "TargetArn=not-an-arn"]);
        cli.fails(&update, "ValidationException").await;
        update[4] = "TargetArn=";
        let updated = cli.ok(&update).await;
        assert!(updated.get("DeadLetterConfig").is_none(), "{updated}");
        let _ = std::fs::remove_dir_all(&cli.dir);
        emulator.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn aws_lambda_manages_functions() {
        let emulator = Running::start(Vec::new()).await;
        let cli = Cli {
            addr: emulator.addr,
            dir: std::env::temp_dir().join(format!("lambkin-awscli-manage-{}", std::process::id())),
        };
        std::fs::create_dir_all(&cli.dir).unwrap();
        if aws(cli.addr, &cli.dir, &["list-functions"]).await.is_none() {
            return;
        }
        let fixture = std::fs::read(common::fixture_path()).unwrap();
        let rust_zip = zip_of(&[("bootstrap", 0o755, &fixture)]);
        std::fs::write(cli.dir.join("rust.zip"), &rust_zip).unwrap();
        let python = zip_of(&[("bootstrap", 0o755, PYTHON_BOOTSTRAP.as_bytes())]);
        std::fs::write(cli.dir.join("python.zip"), python).unwrap();

        // CreateFunction with a hand-made zip of a real lambda_runtime binary.
        let created = cli.ok(&create("managed", "fileb://rust.zip")).await;
        assert_eq!(created["FunctionName"], "managed");
        assert_eq!(created["State"], "Active");
        assert_eq!(created["Version"], "$LATEST");
        assert_eq!(created["Role"], ROLE);
        assert_eq!(created["CodeSize"], rust_zip.len());
        assert_eq!(created["Environment"]["Variables"]["FIXTURE"], "echo");
        cli.fails(
            &create("managed", "fileb://rust.zip"),
            "ResourceConflictException",
        )
        .await;
        let answer = cli.invoke(None).await;
        assert_eq!(
            answer["env"]["AWS_LAMBDA_FUNCTION_NAME"], "managed",
            "{answer}"
        );
        assert_eq!(answer["env"]["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
        // Its code counts in GetAccountSettings' usage.
        let usage = &cli.ok(&["get-account-settings"]).await["AccountUsage"];
        assert!(usage["TotalCodeSize"].as_u64().unwrap() > 0, "{usage}");

        // Publish version 1 (the Rust code), then replace the code of $LATEST.
        let published = cli
            .ok(&["publish-version", "--function-name", "managed"])
            .await;
        assert_eq!(published["Version"], "1");
        let update_code = |zip| {
            [
                "update-function-code",
                "--function-name",
                "managed",
                "--zip-file",
                zip,
            ]
        };
        let updated = cli.ok(&update_code("fileb://python.zip")).await;
        assert_ne!(updated["CodeSha256"], created["CodeSha256"]);
        cli.wait_updated().await;
        assert_eq!(
            cli.invoke(None).await,
            json!({"code": "python", "version": "$LATEST", "memory": "128"})
        );
        // Version 1 still runs the code it was published with.
        let answer = cli.invoke(Some("1")).await;
        assert_eq!(
            answer["env"]["AWS_LAMBDA_FUNCTION_VERSION"], "1",
            "{answer}"
        );

        // Configuration updates reach new instances.
        let configure = |extra: &[&'static str]| {
            let mut args = vec![
                "update-function-configuration",
                "--function-name",
                "managed",
            ];
            args.extend_from_slice(extra);
            args
        };
        let updated = cli
            .ok(&configure(&["--memory-size", "256", "--timeout", "10"]))
            .await;
        assert_eq!(updated["MemorySize"], 256);
        cli.wait_updated().await;
        assert_eq!(cli.invoke(None).await["memory"], "256");
        cli.fails(&configure(&["--timeout", "901"]), "ValidationException")
            .await;

        // Preconditions: the revision, the code to publish, one update at a time.
        let stale = configure(&[
            "--revision-id",
            "00000000-0000-0000-0000-000000000000",
            "--description",
            "stale",
        ]);
        cli.fails(&stale, "PreconditionFailedException").await;
        let other_code = [
            "publish-version",
            "--function-name",
            "managed",
            "--code-sha256",
            "bm90IHRoZSBjb2Rl",
        ];
        cli.fails(&other_code, "InvalidParameterValueException")
            .await;
        // A new version whose first instance starts only once the test says so: the update
        // stays InProgress until then, however slow the machine.
        let gate = cli.dir.join("let-slow-start");
        let _ = std::fs::remove_file(&gate);
        let slow = PYTHON_BOOTSTRAP.replace(
            "import json, os, urllib.request",
            &format!(
                "import json, os, time, urllib.request\n\
                 while not os.path.exists({gate:?}): time.sleep(0.05)"
            ),
        );
        let slow_zip = zip_of(&[("bootstrap", 0o755, slow.as_bytes())]);
        std::fs::write(cli.dir.join("slow.zip"), slow_zip).unwrap();
        let updating = cli.ok(&update_code("fileb://slow.zip")).await;
        assert_eq!(updating["LastUpdateStatus"], "InProgress");
        cli.fails(
            &configure(&["--description", "meanwhile"]),
            "ResourceConflictException",
        )
        .await;
        std::fs::write(&gate, "").unwrap();
        cli.wait_updated().await;

        // Listing pages through functions and versions (one item a page).
        cli.ok(&create("managed2", "fileb://python.zip")).await;
        let list = [
            "list-functions",
            "--function-version",
            "ALL",
            "--page-size",
            "1",
        ];
        let listed: Vec<(Value, Value)> = cli.ok(&list).await["Functions"]
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
        let got = cli
            .ok(&[
                "get-function",
                "--function-name",
                "managed",
                "--qualifier",
                "1",
            ])
            .await;
        assert_eq!(got["Configuration"]["CodeSha256"], created["CodeSha256"]);
        let location = got["Code"]["Location"].as_str().unwrap();
        assert!(location.starts_with("http://"), "{location}");

        // Zips that would write outside their directory, links and damaged zips are refused.
        let escape = cli.dir.join("escaped");
        // Enough `..` to climb from wherever the emulator unpacks to `/`, then down to `escape`.
        let slip = format!(
            "{}{}",
            "../".repeat(32),
            escape.to_str().unwrap().trim_start_matches('/')
        );
        let mut corrupt = rust_zip.clone();
        corrupt[rust_zip.len() / 2] ^= 0xff; // the CLI itself checks that it is a zip
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
            ("corrupt", corrupt),
        ] {
            std::fs::write(cli.dir.join("bad.zip"), zip).unwrap();
            let stderr = cli
                .fails(
                    &create("evil", "fileb://bad.zip"),
                    "InvalidParameterValueException",
                )
                .await;
            assert!(stderr.contains("Could not unzip"), "{label}: {stderr}");
        }
        assert!(!escape.exists());
        cli.fails(
            &["get-function", "--function-name", "evil"],
            "ResourceNotFoundException",
        )
        .await;

        // Deleting a version leaves the function.
        let delete = ["delete-function", "--function-name", "managed"];
        cli.ok(&[&delete[..], &["--qualifier", "1"]].concat()).await;
        let invoke_one = [
            "invoke",
            "--function-name",
            "managed",
            "--qualifier",
            "1",
            "out.json",
        ];
        cli.fails(&invoke_one, "ResourceNotFoundException").await;
        assert_eq!(cli.invoke(None).await["code"], "python");

        // LoggingConfig: set at creation, changed by an update, in the instances' environment;
        // log levels need the JSON format.
        let logging = |config| {
            [
                "update-function-configuration",
                "--function-name",
                "logged",
                "--logging-config",
                config,
            ]
        };
        let created = cli
            .ok(&[
                &create("logged", "fileb://rust.zip")[..],
                &[
                    "--logging-config",
                    "LogFormat=JSON,ApplicationLogLevel=DEBUG",
                ],
            ]
            .concat())
            .await;
        assert_eq!(created["LoggingConfig"]["LogFormat"], "JSON", "{created}");
        assert_eq!(created["LoggingConfig"]["ApplicationLogLevel"], "DEBUG");
        let invoke_logged = ["invoke", "--function-name", "logged", "out.json"];
        let logged_env = || async {
            cli.ok(&invoke_logged).await;
            let answer: Value =
                serde_json::from_slice(&std::fs::read(cli.dir.join("out.json")).unwrap()).unwrap();
            answer["env"].clone()
        };
        let env = logged_env().await;
        assert_eq!(env["AWS_LAMBDA_LOG_FORMAT"], "JSON", "{env}");
        assert_eq!(env["AWS_LAMBDA_LOG_LEVEL"], "DEBUG", "{env}");
        let stderr = cli
            .fails(
                &logging("LogFormat=Text,SystemLogLevel=WARN"),
                "InvalidParameterValueException",
            )
            .await;
        assert!(
            stderr.contains("LogLevel is not supported when LogFormat is set to \"Text\""),
            "{stderr}"
        );
        cli.fails(&logging("LogFormat=Yaml"), "ValidationException")
            .await;
        let updated = cli.ok(&logging("LogFormat=Text")).await;
        assert_eq!(
            updated["LoggingConfig"],
            json!({ "LogFormat": "Text", "LogGroup": "/aws/lambda/logged" })
        );
        let wait = ["wait", "function-updated-v2", "--function-name", "logged"];
        cli.ok(&wait).await;
        assert_eq!(logged_env().await["AWS_LAMBDA_LOG_FORMAT"], "Text");

        // Delete: the function and its versions are gone.
        cli.ok(&delete).await;
        for qualifier in ["$LATEST", "1"] {
            let invoke = [
                "invoke",
                "--function-name",
                "managed",
                "--qualifier",
                qualifier,
                "out.json",
            ];
            cli.fails(&invoke, "ResourceNotFoundException").await;
        }

        let _ = std::fs::remove_dir_all(&cli.dir);
        emulator.stop().await;
    }

    /// Runs `parallel` invocations of the fixture `slow` at once, each holding its unit of
    /// concurrency for 3 s; their (200s, 429s), the 429s' reasons checked.
    async fn hold(addr: SocketAddr, parallel: usize, reason: &str) -> (usize, usize) {
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..parallel {
            calls.spawn(common::request(
                addr,
                "POST",
                "/2015-03-31/functions/slow/invocations",
                &[],
                br#"{"sleep_ms": 3000}"#,
            ));
        }
        let (mut ok, mut throttled) = (0, 0);
        for reply in bounded(calls.join_all()).await {
            if reply.status == 200 {
                ok += 1;
            } else {
                reply.assert_aws_error(429, "TooManyRequestsException");
                assert_eq!(reply.json()["Reason"], reason, "{}", reply.text());
                throttled += 1;
            }
        }
        (ok, throttled)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn aws_lambda_reserves_concurrency() {
        let mut slow = fixture("slow", "slow");
        slow.timeout = std::time::Duration::from_secs(20);
        let emulator = Running::start(vec![slow]).await;
        let cli = Cli {
            addr: emulator.addr,
            dir: std::env::temp_dir().join(format!("lambkin-awscli-conc-{}", std::process::id())),
        };
        std::fs::create_dir_all(&cli.dir).unwrap();
        if aws(cli.addr, &cli.dir, &["list-functions"]).await.is_none() {
            return;
        }
        let get = ["get-function-concurrency", "--function-name", "slow"];
        let get_function = ["get-function", "--function-name", "slow"];
        let put = |n: &'static str| {
            [
                "put-function-concurrency",
                "--function-name",
                "slow",
                "--reserved-concurrent-executions",
                n,
            ]
        };
        let reserved = "ReservedFunctionConcurrentInvocationLimitExceeded";

        // Unreserved at first: nothing to report, and more than ten run at once.
        let none = cli.ok(&get).await;
        assert!(none.get("ReservedConcurrentExecutions").is_none(), "{none}");
        assert!(cli.ok(&get_function).await.get("Concurrency").is_none());
        assert_eq!(hold(cli.addr, 12, reserved).await, (12, 0));

        // A project function's reservation is a runtime setting, effective at once.
        assert_eq!(
            cli.ok(&put("1")).await,
            json!({ "ReservedConcurrentExecutions": 1 })
        );
        assert_eq!(cli.ok(&get).await["ReservedConcurrentExecutions"], 1);
        assert_eq!(
            cli.ok(&get_function).await["Concurrency"],
            json!({ "ReservedConcurrentExecutions": 1 })
        );
        assert_eq!(hold(cli.addr, 3, reserved).await, (1, 2));
        cli.ok(&put("0")).await;
        let invoke = ["invoke", "--function-name", "slow", "out.json"];
        let stderr = cli.fails(&invoke, "TooManyRequestsException").await;
        assert!(stderr.contains("Rate Exceeded."), "{stderr}");

        // AWS keeps 100 of the account's 1,000 unreserved.
        let stderr = cli
            .fails(&put("901"), "InvalidParameterValueException")
            .await;
        assert!(
            stderr.contains("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100]."),
            "{stderr}"
        );
        assert_eq!(cli.ok(&get).await["ReservedConcurrentExecutions"], 0);
        cli.ok(&put("900")).await;
        // GetAccountSettings says what is left, and the limits the emulator applies.
        let settings = cli.ok(&["get-account-settings"]).await;
        assert_eq!(
            settings["AccountLimit"]["ConcurrentExecutions"], 1000,
            "{settings}"
        );
        assert_eq!(
            settings["AccountLimit"]["UnreservedConcurrentExecutions"],
            100
        );
        assert_eq!(settings["AccountLimit"]["CodeSizeZipped"], 52_428_800);
        assert_eq!(settings["AccountLimit"]["CodeSizeUnzipped"], 262_144_000);
        assert_eq!(
            settings["AccountUsage"],
            json!({ "TotalCodeSize": 0, "FunctionCount": 1 })
        );
        let unknown = [
            "put-function-concurrency",
            "--function-name",
            "nope",
            "--reserved-concurrent-executions",
            "1",
        ];
        cli.fails(&unknown, "ResourceNotFoundException").await;

        // Deleted: unreserved again.
        let delete = ["delete-function-concurrency", "--function-name", "slow"];
        assert_eq!(cli.ok(&delete).await, Value::Null);
        assert!(
            cli.ok(&get)
                .await
                .get("ReservedConcurrentExecutions")
                .is_none()
        );
        assert!(cli.ok(&get_function).await.get("Concurrency").is_none());
        assert_eq!(cli.ok(&invoke).await["StatusCode"], 200);
        let settings = cli.ok(&["get-account-settings"]).await;
        assert_eq!(
            settings["AccountLimit"]["UnreservedConcurrentExecutions"],
            1000
        );

        let _ = std::fs::remove_dir_all(&cli.dir);
        emulator.stop().await;
    }

    /// Create/Get/UpdateFunctionUrlConfig with `--cors`, and the URL answering as configured.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn aws_lambda_configures_function_url_cors() {
        let emulator = Running::start(vec![fixture("echo", "echo")]).await;
        let cli = Cli {
            addr: emulator.addr,
            dir: std::env::temp_dir().join(format!("lambkin-awscli-cors-{}", std::process::id())),
        };
        std::fs::create_dir_all(&cli.dir).unwrap();
        if aws(cli.addr, &cli.dir, &["list-functions"]).await.is_none() {
            return;
        }
        let app = "http://app.localhost:3000";
        let cors = json!({
            "AllowOrigins": [app],
            "AllowMethods": ["GET", "POST"],
            "AllowHeaders": ["x-key"],
            "ExposeHeaders": ["x-total"],
            "MaxAge": 300,
            "AllowCredentials": true,
        })
        .to_string();
        let create = [
            "create-function-url-config",
            "--function-name",
            "echo",
            "--auth-type",
            "NONE",
            "--cors",
            &cors,
        ];
        let created = cli.ok(&create).await;
        assert_eq!(created["Cors"]["AllowOrigins"], json!([app]), "{created}");
        assert_eq!(created["Cors"]["MaxAge"], 300);
        assert_eq!(created["Cors"]["AllowCredentials"], true);
        let get = ["get-function-url-config", "--function-name", "echo"];
        assert_eq!(cli.ok(&get).await["Cors"], created["Cors"]);
        let url: SocketAddr = created["FunctionUrl"]
            .as_str()
            .unwrap()
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap();

        // The URL answers the preflight itself, with the configured headers.
        let preflight = common::request(
            url,
            "OPTIONS",
            "/orders",
            &[("origin", app), ("access-control-request-method", "POST")],
            b"",
        )
        .await;
        assert_eq!(preflight.status, 200, "{}", preflight.text());
        assert!(preflight.body.is_empty(), "{}", preflight.text());
        assert_eq!(preflight.header("access-control-allow-origin"), Some(app));
        assert_eq!(
            preflight.header("access-control-allow-methods"),
            Some("GET,POST")
        );
        assert_eq!(preflight.header("access-control-max-age"), Some("300"));
        assert_eq!(preflight.header("vary"), Some("Origin"));
        let answer = common::request(url, "GET", "/orders", &[("origin", app)], b"").await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        assert_eq!(
            answer.json()["event"]["rawPath"],
            "/orders",
            "the function's answer"
        );
        assert_eq!(answer.header("access-control-allow-origin"), Some(app));
        assert_eq!(
            answer.header("access-control-expose-headers"),
            Some("x-total")
        );
        assert_eq!(
            answer.header("access-control-allow-credentials"),
            Some("true")
        );

        // UpdateFunctionUrlConfig replaces the CORS, for the requests that come next.
        let update = [
            "update-function-url-config",
            "--function-name",
            "echo",
            "--cors",
            r#"{"AllowOrigins": ["*"]}"#,
        ];
        let updated = cli.ok(&update).await;
        assert_eq!(updated["Cors"]["AllowOrigins"], json!(["*"]), "{updated}");
        assert_eq!(updated["AuthType"], "NONE");
        assert_eq!(updated["CreationTime"], created["CreationTime"]);
        let other = [("origin", "http://other.localhost:4000")];
        let answer = common::request(url, "GET", "/orders", &other, b"").await;
        assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
        assert_eq!(answer.header("access-control-expose-headers"), None);
        assert_eq!(cli.ok(&get).await["Cors"], updated["Cors"]);

        // Outside the limits of Lambda's Cors type: refused, the URL unchanged.
        let too_long = [
            "update-function-url-config",
            "--function-name",
            "echo",
            "--cors",
            r#"{"MaxAge": 86401}"#,
        ];
        let stderr = cli.fails(&too_long, "ValidationException").await;
        assert!(stderr.contains("cors.maxAge"), "{stderr}");
        assert_eq!(cli.ok(&get).await["Cors"], updated["Cors"]);
        // No URL: not found.
        cli.ok(&["delete-function-url-config", "--function-name", "echo"])
            .await;
        cli.fails(&update, "ResourceNotFoundException").await;

        let _ = std::fs::remove_dir_all(&cli.dir);
        emulator.stop().await;
    }
}
