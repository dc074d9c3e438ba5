//! A `provided.al2023`-style `bootstrap` in another language (Python here) served as it is,
//! API Gateway's answers to slow, malformed and oversized exchanges, a bad configuration
//! refused up front, and the `lambkin invoke` / `lambkin event` commands.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use std::{os::unix::fs::PermissionsExt, path::PathBuf};

use lambkin_tests::project::{Watching, lambkin_binary, target_dir};
use lambkin_tests::{developer_command, request};
use serde_json::{Value, json};

/// A Runtime API client in Python: the whole `provided.al2023` contract, no Rust.
const BOOTSTRAP: &str = r#"#!/usr/bin/env python3
import json, os, time, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
print("python runtime starting", flush=True)
while True:
    with urllib.request.urlopen(api + "next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    path = event.get("rawPath", "")
    if path == "/slow":
        time.sleep(5)
    if path == "/malformed":
        result = {"statusCode": "not a status"}
    elif "rawPath" in event:
        api_id = event.get("requestContext", {}).get("apiId", "")
        headers = {"x-lang": "python", "x-api-id": api_id}
        result = {"statusCode": 201, "headers": headers, "body": "hi from python " + path}
    else:
        result = {"echo": event}
    body = json.dumps(result).encode()
    urllib.request.urlopen(urllib.request.Request(api + request_id + "/response", data=body, method="POST")).read()
"#;

/// A SAM project in a temp dir whose function is `py/bootstrap`.
struct PythonProject(PathBuf);

impl PythonProject {
    fn new(name: &str, timeout: &str) -> PythonProject {
        let dir = std::env::temp_dir().join(format!("lambkin-{name}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("py")).unwrap();
        let bootstrap = dir.join("py/bootstrap");
        std::fs::write(&bootstrap, BOOTSTRAP).unwrap();
        std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).unwrap();
        let template = format!(
            "Transform: AWS::Serverless-2016-10-31\nResources:\n  Py:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: ./py\n      Handler: bootstrap\n      Runtime: provided.al2023\n      Timeout: {timeout}\n      FunctionUrlConfig:\n        AuthType: NONE\n      Events:\n        All:\n          Type: HttpApi\n"
        );
        std::fs::write(dir.join("template.yaml"), template).unwrap();
        PythonProject(dir)
    }
}

impl Drop for PythonProject {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_bootstrap_serves_through_api_gateway() {
    let project = PythonProject::new("python", "1");
    let mut lambkin = Watching::start_in(
        &lambkin_binary(),
        &project.0,
        &["--no-reload"],
        &target_dir(),
    )
    .await;
    let addr = lambkin.addr;

    let answer = request(addr, "GET", "/hello", &[], Vec::new()).await;
    assert_eq!(
        (answer.status, &answer.body),
        (201, &json!("hi from python /hello")),
        "{answer:?}"
    );
    assert_eq!(answer.headers["x-lang"], "python");
    assert_eq!(
        answer.headers["x-api-id"],
        lambkin_emulator::apigw::request::API_ID,
        "an HTTP API event"
    );

    // The function URL: a listener of its own, function URL events.
    let line = lambkin
        .wait_for(lambkin_tests::STEP, |l| l.contains("function URL"))
        .await;
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap();
    let url_addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let answer = request(url_addr, "GET", "/from/url?x=1", &[], Vec::new()).await;
    assert_eq!(
        (answer.status, &answer.body),
        (201, &json!("hi from python /from/url"))
    );
    // A function URL event's apiId is the URL's id (its host's first label), not an API's id.
    let api_id = answer.headers["x-api-id"].to_str().unwrap();
    assert_ne!(
        api_id,
        lambkin_emulator::apigw::request::API_ID,
        "a function URL event"
    );

    // A result an HTTP API cannot turn into a response: 500.
    let answer = request(addr, "GET", "/malformed", &[], Vec::new()).await;
    assert_eq!(
        (answer.status, &answer.body),
        (500, &json!({"message": "Internal Server Error"}))
    );

    // Past the function's 1 s timeout: the instance is killed, the HTTP API answers 500.
    let answer = request(addr, "GET", "/slow", &[], Vec::new()).await;
    assert_eq!(answer.status, 500, "{answer:?}");
    // ... and the next request gets a fresh instance.
    let answer = request(addr, "GET", "/again", &[], Vec::new()).await;
    assert_eq!(answer.status, 201, "{answer:?}");

    // Over API Gateway's 10 MB payload limit: 413, and the emulator keeps serving.
    let big = vec![b'x'; 10 * 1024 * 1024 + 1];
    let answer = request(
        addr,
        "POST",
        "/upload",
        &[("content-type", "text/plain")],
        big,
    )
    .await;
    assert_eq!(answer.status, 413, "{answer:?}");
    assert_eq!(request(addr, "GET", "/", &[], Vec::new()).await.status, 201);

    // `lambkin invoke` through the Invoke API, with the log tail.
    let port = addr.port().to_string();
    let output = developer_command(lambkin_binary())
        .args([
            "invoke",
            "Py",
            "--data",
            r#"{"n":1}"#,
            "--logs",
            "--port",
            &port,
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed, json!({"echo": {"n": 1}}));
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(
        logs.contains("START RequestId:") && logs.contains("REPORT RequestId:"),
        "{logs}"
    );

    // `--event` sends a sample event: here the API Gateway one, answered as HTTP.
    let output = developer_command(lambkin_binary())
        .args(["invoke", "Py", "--event", "apigw-v2", "--port", &port])
        .output()
        .unwrap();
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["body"], "hi from python /hello");
}

/// Two hundred functions sharing one `bootstrap` (a project of many small functions): all are
/// served, and invoking one starts that function's instance only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_functions_start_only_what_is_invoked() {
    const COUNT: usize = 200;
    let project = PythonProject::new("many", "3");
    let mut template = String::from("Transform: AWS::Serverless-2016-10-31\nResources:\n");
    for i in 0..COUNT {
        let dir = project.0.join(format!("f{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink(project.0.join("py/bootstrap"), dir.join("bootstrap")).unwrap();
        template.push_str(&format!(
            "  F{i}:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: ./f{i}\n      Handler: bootstrap\n      Runtime: provided.al2023\n"
        ));
    }
    std::fs::write(project.0.join("template.yaml"), template).unwrap();
    let lambkin = Watching::start_in(
        &lambkin_binary(),
        &project.0,
        &["--no-reload"],
        &target_dir(),
    )
    .await;
    let instances = |model: &Value| -> Vec<(String, usize)> {
        model["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let count = f["instances"].as_array().map_or(0, Vec::len);
                (f["name"].as_str().unwrap().to_owned(), count)
            })
            .filter(|(_, count)| *count > 0)
            .collect()
    };
    let model = request(lambkin.addr, "GET", "/_lambkin", &[], Vec::new()).await;
    assert_eq!(model.body["details"].as_array().unwrap().len(), COUNT);
    assert_eq!(instances(&model.body), [], "nothing starts before an event");

    let answer = request(
        lambkin.addr,
        "POST",
        "/2015-03-31/functions/F137/invocations",
        &[],
        br#"{"n":137}"#.to_vec(),
    )
    .await;
    assert_eq!(answer.body, json!({"echo": {"n": 137}}), "{answer:?}");
    let model = request(lambkin.addr, "GET", "/_lambkin", &[], Vec::new()).await;
    assert_eq!(instances(&model.body), [("F137".to_owned(), 1)]);
}

#[test]
fn lambkin_event_prints_typed_samples() {
    for (kind, check) in [
        ("apigw-v2", "rawPath"),
        ("sqs", "Records"),
        ("schedule", "detail-type"),
    ] {
        let output = developer_command(lambkin_binary())
            .args(["event", kind])
            .output()
            .unwrap();
        assert!(output.status.success());
        let event: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert!(event.get(check).is_some(), "{kind}: {event}");
    }
    let output = developer_command(lambkin_binary())
        .args(["event", "carrier-pigeon"])
        .output()
        .unwrap();
    assert!(!output.status.success());
}

#[test]
fn a_bad_configuration_is_refused_with_its_file_and_line() {
    let project = PythonProject::new("bad-config", "-5");
    let output = developer_command(lambkin_binary())
        .args(["watch", "--port", "0", "--no-reload"])
        .current_dir(&project.0)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "the emulator must not start: {stderr}"
    );
    assert!(stderr.contains("template.yaml:9:16"), "{stderr}");
    assert!(stderr.contains("Timeout"), "{stderr}");
}

/// Lambda reserves some environment variables (`AWS_REGION`, …): a template or an env file that
/// sets one is refused up front, naming the function and the key, as AWS refuses it on deploy.
#[test]
fn reserved_environment_variables_are_refused() {
    let project = PythonProject::new("reserved-env", "3");
    let template_path = project.0.join("template.yaml");
    let template = std::fs::read_to_string(&template_path).unwrap().replace(
        "      Timeout: 3\n",
        "      Timeout: 3\n      Environment:\n        Variables:\n          AWS_REGION: eu-west-1\n",
    );
    std::fs::write(&template_path, template).unwrap();
    let refused = |args: &[&str]| {
        let output = developer_command(lambkin_binary())
            .args(["watch", "--port", "0", "--no-reload"])
            .args(args)
            .current_dir(&project.0)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(!output.status.success(), "must not start: {stderr}");
        assert!(stderr.contains("function `Py`"), "{stderr}");
        assert!(stderr.contains("AWS_REGION"), "{stderr}");
        assert!(stderr.contains("reserve"), "{stderr}");
        stderr
    };
    let stderr = refused(&[]);
    assert!(stderr.contains("template.yaml:12:"), "{stderr}");

    // The same key from an env file, under a template that sets none.
    let template = std::fs::read_to_string(&template_path).unwrap().replace(
        "      Environment:\n        Variables:\n          AWS_REGION: eu-west-1\n",
        "",
    );
    std::fs::write(&template_path, template).unwrap();
    std::fs::write(
        project.0.join("lambda.env"),
        "GREETING=hi\nAWS_REGION=eu-west-1\n",
    )
    .unwrap();
    refused(&["--env-file", "lambda.env"]);
}
