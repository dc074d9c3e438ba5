//! A non-Rust function behind a SAM template, the way AWS runs it on `provided.al2023`: the
//! standard `bootstrap` (`exec python3 -m awslambdaric "$_HANDLER"`) starts the official Python
//! runtime interface client, which imports the template's `Handler` and follows its
//! `LoggingConfig`. Needs `awslambdaric` (`pip install awslambdaric`): skipped with a note when it
//! is missing, a failure when `CI` is set.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use lambkin_tests::awscli::aws;
use lambkin_tests::project::{Watching, lambkin_binary, target_dir};
use lambkin_tests::{SIGNED, STEP, SamProject, awslambdaric_installed, post, request};
use serde_json::{Value, json};

/// The function: answers with what it sees of Lambda, and logs through Python's `logging`.
const APP: &str = r#"import logging
import os

logger = logging.getLogger()


def handler(event, context):
    logger.info("greeting %s", event.get("name"))
    return {
        "greeting": "hello " + event.get("name", "world"),
        "functionName": context.function_name,
        "logGroup": context.log_group_name,
        "env": {
            name: os.environ.get(name)
            for name in [
                "_HANDLER",
                "AWS_LAMBDA_INITIALIZATION_TYPE",
                "AWS_EXECUTION_ENV",
                "AWS_LAMBDA_LOG_FORMAT",
                "AWS_LAMBDA_LOG_LEVEL",
            ]
        },
    }
"#;

const TEMPLATE: &str = "\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Timeout: 10
Resources:
  Greeter:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: provided.al2023
      Handler: app.handler
      CodeUri: fn/
      LoggingConfig:
        LogFormat: JSON
        SystemLogLevel: WARN
";

/// The SAM project in a temp dir: `template.yaml`, `fn/bootstrap`, `fn/app.py`.
fn sam_project() -> SamProject {
    let project = SamProject::new("runtimes");
    project.file("template.yaml", TEMPLATE);
    project.python_function("fn", APP);
    project
}

/// What the handler answers for `name`.
fn expected(name: &str) -> Value {
    json!({
        "greeting": format!("hello {name}"),
        "functionName": "Greeter",
        "logGroup": "/aws/lambda/Greeter",
        "env": {
            "_HANDLER": "app.handler",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": null,
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
            "AWS_LAMBDA_LOG_LEVEL": "INFO",
        },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_handler_runs_through_the_standard_bootstrap() {
    if !awslambdaric_installed() {
        return;
    }
    let project = sam_project();
    let mut lambkin = Watching::start_in(
        &lambkin_binary(),
        project.dir(),
        &["--no-reload"],
        &target_dir(),
    )
    .await;
    let addr = lambkin.addr;

    // The Invoke API, with the log tail.
    let answer = post(
        addr,
        "/2015-03-31/functions/Greeter/invocations",
        &[("x-amz-log-type", "Tail")],
        json!({"name": "Ada"}).to_string(),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.function_error(), None, "{answer:?}");
    assert_eq!(answer.body, expected("Ada"));

    // With LogFormat JSON the client logs JSON lines: the handler's INFO line among them.
    let tail = answer.headers["x-amz-log-result"].to_str().unwrap();
    let tail = String::from_utf8(BASE64.decode(tail).unwrap()).unwrap();
    let logged: Vec<Value> = tail
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(Value::is_object)
        .collect();
    let line = logged
        .iter()
        .find(|l| l["message"] == "greeting Ada")
        .unwrap_or_else(|| panic!("no JSON log line of the handler in:\n{tail}"));
    assert_eq!(line["level"], "INFO", "{line}");
    assert!(
        line["requestId"].as_str().is_some_and(|id| !id.is_empty()),
        "{line}"
    );
    // The emulator's own log names the function on Lambda's lines (several share one output).
    let report = lambkin
        .wait_for(STEP, |l| l.contains("REPORT RequestId:"))
        .await;
    assert!(report.contains("function{name=Greeter}"), "{report}");

    // GetFunctionConfiguration over HTTP: the template's handler and logging settings.
    let config = request(
        addr,
        "GET",
        "/2015-03-31/functions/Greeter/configuration",
        &[SIGNED],
        Vec::new(),
    )
    .await;
    assert_eq!(config.status, 200, "{config:?}");
    assert_eq!(config.body["Handler"], "app.handler");
    assert_eq!(
        config.body["LoggingConfig"],
        json!({
            "LogFormat": "JSON",
            "ApplicationLogLevel": "INFO",
            "SystemLogLevel": "WARN",
            "LogGroup": "/aws/lambda/Greeter",
        })
    );

    // The same through the AWS CLI.
    std::fs::write(project.dir().join("event.json"), r#"{"name":"CLI"}"#).unwrap();
    let shown = aws(
        "lambda",
        addr,
        project.dir(),
        &["get-function-configuration", "--function-name", "Greeter"],
    )
    .await;
    if let Some(output) = shown {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let shown: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(shown["Handler"], "app.handler");
        assert_eq!(shown["LoggingConfig"], config.body["LoggingConfig"]);

        // `fileb://` sends the file as it is, with AWS CLI v1 and v2 alike.
        let output = aws(
            "lambda",
            addr,
            project.dir(),
            &[
                "invoke",
                "--function-name",
                "Greeter",
                "--payload",
                "fileb://event.json",
                "out.json",
            ],
        )
        .await
        .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let answer: Value =
            serde_json::from_slice(&std::fs::read(project.dir().join("out.json")).unwrap())
                .unwrap();
        assert_eq!(answer, expected("CLI"));
    }
}
