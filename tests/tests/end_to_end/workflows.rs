//! Step Functions over a SAM project, end to end: `lambkin watch` serves a template with a Rust
//! function (the `echo` fixture) and a Python `bootstrap` function (AWS's runtime interface
//! client) and a state machine over both with Choice, Parallel, Map, a Retry on a function that
//! fails twice before it succeeds, and a Catch. The real AWS CLI starts the execution and reads
//! its history, checked event by event. Needs `awslambdaric` (`pip install awslambdaric`).
//! And a state machine started by a SAM `Api` event's route.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use lambkin_tests::awscli::{ended, stepfunctions};
use lambkin_tests::project::{Watching, lambkin_binary, repository, target_dir};
use lambkin_tests::{SamProject, awslambdaric_installed, post};
use serde_json::{Value, json};

/// The Python function: greets, doubles, fails on its first two attempts for a key (counted in a
/// file of `ATTEMPTS_DIR`), or raises `ValueError`.
const APP: &str = r#"import os


class FlakyError(Exception):
    pass


def handler(event, context):
    action = event.get("action")
    if action == "greet":
        return {"greeting": "hello " + event["name"], "from": context.function_name}
    if action == "double":
        return {"doubled": event["n"] * 2}
    if action == "flaky":
        path = os.path.join(os.environ["ATTEMPTS_DIR"], "attempts-" + event["key"])
        attempts = int(open(path).read()) if os.path.exists(path) else 0
        attempts += 1
        with open(path, "w") as f:
            f.write(str(attempts))
        if attempts < 3:
            raise FlakyError("attempt %d failed" % attempts)
        return {"attempts": attempts}
    raise ValueError("unknown action %r" % action)
"#;

/// `{fixtures}`: the tests crate (the Rust `echo` fixture); `{dir}`: the project.
const TEMPLATE: &str = "\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Timeout: 10
    Runtime: provided.al2023
Resources:
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {fixtures}
      Handler: echo
  Py:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: py/
      Handler: app.handler
      Environment:
        Variables:
          ATTEMPTS_DIR: {dir}
  Orders:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: orders
      DefinitionUri: orders.asl.json
      DefinitionSubstitutions:
        EchoArn: !GetAtt Echo.Arn
        PyArn: !GetAtt Py.Arn
";

/// Choice → Parallel (Rust by ARN, Python through `lambda:invoke`) → Map (Python, one item at
/// a time) → Flaky (retried twice) → Boom (caught) → Done.
fn definition() -> Value {
    json!({
        "StartAt": "Route",
        "States": {
            "Route": {"Type": "Choice", "Default": "Rejected",
                "Choices": [{"Variable": "$.kind", "StringEquals": "order", "Next": "Fan"}]},
            "Rejected": {"Type": "Fail", "Error": "Rejected", "Cause": "not an order"},
            "Fan": {"Type": "Parallel", "ResultPath": "$.parallel", "Next": "Each", "Branches": [
                {"StartAt": "Rust", "States": {"Rust": {"Type": "Task", "Resource": "${EchoArn}",
                    "Parameters": {"echoed.$": "$.name"}, "End": true}}},
                {"StartAt": "Python", "States": {"Python": {"Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "${PyArn}", "Payload": {"action": "greet", "name.$": "$.name"}},
                    "ResultSelector": {"greeting.$": "$.Payload.greeting", "from.$": "$.Payload.from"}, "End": true}}}
            ]},
            "Each": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1,
                "ItemSelector": {"action": "double", "n.$": "$$.Map.Item.Value"},
                "ItemProcessor": {"StartAt": "Double", "States": {"Double": {"Type": "Task", "Resource": "${PyArn}", "End": true}}},
                "ResultPath": "$.doubled", "Next": "Flaky"},
            "Flaky": {"Type": "Task", "Resource": "${PyArn}",
                "Parameters": {"action": "flaky", "key.$": "$$.Execution.Name"},
                "Retry": [{"ErrorEquals": ["FlakyError"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1.0}],
                "ResultPath": "$.flaky", "Next": "Boom"},
            "Boom": {"Type": "Task", "Resource": "${PyArn}", "Parameters": {"action": "boom"},
                "Retry": [{"ErrorEquals": ["FlakyError"], "MaxAttempts": 3}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught", "Next": "Done"}],
                "Next": "Done"},
            "Done": {"Type": "Pass", "End": true}
        }
    })
}

/// The SAM project in a temp dir: `template.yaml`, `orders.asl.json`, `py/bootstrap`, `py/app.py`.
fn sam_project() -> SamProject {
    let project = SamProject::new("workflows");
    let template = TEMPLATE
        .replace(
            "{fixtures}",
            &repository().join("tests").display().to_string(),
        )
        .replace("{dir}", &project.dir().display().to_string());
    project.file("template.yaml", &template);
    project.file("orders.asl.json", &definition().to_string());
    project.python_function("py", APP);
    project
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sam_state_machine_over_rust_and_python_functions() {
    if !awslambdaric_installed() {
        return;
    }
    let project = sam_project();
    // From the repository, whose workspace builds the Rust fixture.
    let template = project.dir().join("template.yaml");
    let lambkin = Watching::start_in(
        &lambkin_binary(),
        repository(),
        &["--no-reload", "--template", template.to_str().unwrap()],
        &target_dir(),
    )
    .await;
    let (addr, dir) = (lambkin.addr, project.dir());
    let Some(machines) = stepfunctions(addr, dir, &["list-state-machines"]).await else {
        return;
    };
    let machine = "arn:aws:states:us-east-1:012345678912:stateMachine:orders";
    assert_eq!(machines["stateMachines"][0]["stateMachineArn"], machine);

    let input = json!({"kind": "order", "name": "Ada", "items": [1, 2, 3]}).to_string();
    let started = stepfunctions(
        addr,
        dir,
        &[
            "start-execution",
            "--state-machine-arn",
            machine,
            "--name",
            "first",
            "--input",
            &input,
        ],
    )
    .await
    .unwrap();
    let execution = started["executionArn"].as_str().unwrap().to_owned();
    assert_eq!(
        execution,
        "arn:aws:states:us-east-1:012345678912:execution:orders:first"
    );
    let described = ended(addr, dir, &execution).await;
    assert_eq!(described["status"], "SUCCEEDED", "{described}");
    let output: Value = serde_json::from_str(described["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        output["parallel"],
        json!([{"echoed": "Ada"}, {"greeting": "hello Ada", "from": "Py"}])
    );
    assert_eq!(
        output["doubled"],
        json!([{"doubled": 2}, {"doubled": 4}, {"doubled": 6}])
    );
    assert_eq!(output["flaky"], json!({"attempts": 3}));
    assert_eq!(output["caught"]["Error"], "ValueError");
    let cause: Value = serde_json::from_str(output["caught"]["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["errorMessage"], "unknown action 'boom'");

    let history = stepfunctions(
        addr,
        dir,
        &["get-execution-history", "--execution-arn", &execution],
    )
    .await
    .unwrap();
    let events = history["events"].as_array().unwrap();
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event["id"], i + 1, "{event}");
    }
    let line: Vec<String> = events.iter().map(summary).collect();
    let mut expected: Vec<String> = [
        "ExecutionStarted",
        "ChoiceStateEntered Route",
        "ChoiceStateExited Route",
        "ParallelStateEntered Fan",
        "ParallelStateStarted",
    ]
    .map(str::to_owned)
    .to_vec();
    // The two branches run at once: their ten events interleave (checked branch by branch below).
    let branches = expected.len()..expected.len() + 10;
    expected.extend(line[branches.clone()].iter().cloned());
    expected.extend(
        [
            "ParallelStateSucceeded",
            "ParallelStateExited Fan",
            "MapStateEntered Each",
            "MapStateStarted",
        ]
        .map(str::to_owned),
    );
    for (index, n) in [1, 2, 3].into_iter().enumerate() {
        expected.extend([
            format!("MapIterationStarted {index}"),
            "TaskStateEntered Double".to_owned(),
            format!("LambdaFunctionScheduled {{\"action\":\"double\",\"n\":{n}}}"),
            "LambdaFunctionStarted".to_owned(),
            format!("LambdaFunctionSucceeded {{\"doubled\":{}}}", 2 * n),
            "TaskStateExited Double".to_owned(),
            format!("MapIterationSucceeded {index}"),
        ]);
    }
    let flaky = r#"LambdaFunctionScheduled {"action":"flaky","key":"first"}"#;
    expected.extend(
        [
            "MapStateSucceeded",
            "MapStateExited Each",
            "TaskStateEntered Flaky",
            // Two failed attempts, each retried, then the third succeeds.
            flaky,
            "LambdaFunctionStarted",
            "LambdaFunctionFailed FlakyError",
            flaky,
            "LambdaFunctionStarted",
            "LambdaFunctionFailed FlakyError",
            flaky,
            "LambdaFunctionStarted",
            r#"LambdaFunctionSucceeded {"attempts":3}"#,
            "TaskStateExited Flaky",
            "TaskStateEntered Boom",
            r#"LambdaFunctionScheduled {"action":"boom"}"#,
            "LambdaFunctionStarted",
            // Not retried (the Retry names FlakyError only), caught by States.ALL.
            "LambdaFunctionFailed ValueError",
            "TaskStateExited Boom",
            "PassStateEntered Done",
            "PassStateExited Done",
            "ExecutionSucceeded",
        ]
        .map(str::to_owned),
    );
    assert_eq!(line, expected, "the history, event by event");

    // Each branch in order, each event following the one before it in its branch.
    let rust = [
        "TaskStateEntered Rust",
        r#"LambdaFunctionScheduled {"echoed":"Ada"}"#,
        "LambdaFunctionStarted",
        r#"LambdaFunctionSucceeded {"echoed":"Ada"}"#,
        "TaskStateExited Rust",
    ];
    let python = [
        "TaskStateEntered Python",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited Python",
    ];
    for branch in [&rust, &python] {
        let mut previous = 5;
        for step in branch {
            let event = events[branches.clone()]
                .iter()
                .find(|e| e["previousEventId"] == previous && summary(e) == *step)
                .unwrap_or_else(|| panic!("{step} after event {previous}: {line:#?}"));
            previous = event["id"].as_u64().unwrap();
        }
    }
    let scheduled = events
        .iter()
        .find(|e| e["type"] == "TaskScheduled")
        .unwrap();
    let parameters: Value = serde_json::from_str(
        scheduled["taskScheduledEventDetails"]["parameters"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        parameters,
        json!({"FunctionName": "arn:aws:lambda:us-east-1:012345678912:function:Py",
               "Payload": {"action": "greet", "name": "Ada"}})
    );
    // A failed attempt's cause is the Python client's error document.
    let failed = &events[line.iter().position(|l| l.ends_with("FlakyError")).unwrap()];
    let cause: Value = serde_json::from_str(
        failed["lambdaFunctionFailedEventDetails"]["cause"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (&cause["errorType"], &cause["errorMessage"]),
        (&json!("FlakyError"), &json!("attempt 1 failed"))
    );
    // The retry waited its IntervalSeconds (1 s) after the failure.
    let at = |i: usize| events[i]["timestamp"].as_f64().unwrap();
    let first_failure = line.iter().position(|l| l.ends_with("FlakyError")).unwrap();
    assert!(
        at(first_failure + 1) - at(first_failure) >= 0.999,
        "{line:#?}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("attempts-first")).unwrap(),
        "3"
    );

    // The Choice's Default: a Fail state ends the execution with its error and cause.
    let started = stepfunctions(
        addr,
        dir,
        &[
            "start-execution",
            "--state-machine-arn",
            machine,
            "--input",
            r#"{"kind":"refund"}"#,
        ],
    )
    .await
    .unwrap();
    let described = ended(addr, dir, started["executionArn"].as_str().unwrap()).await;
    assert_eq!(
        (
            &described["status"],
            &described["error"],
            &described["cause"]
        ),
        (&json!("FAILED"), &json!("Rejected"), &json!("not an order"))
    );
}

/// A state machine started by an `Api` event: a POST to its route starts an execution of the
/// Rust `echo` fixture with the request body as input, as SAM's StartExecution integration does.
const API_TEMPLATE: &str = "\
Transform: AWS::Serverless-2016-10-31
Resources:
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {fixtures}
      Handler: echo
      Runtime: provided.al2023
  Orders:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: orders
      DefinitionSubstitutions:
        EchoArn: !GetAtt Echo.Arn
      Definition:
        StartAt: Echo
        States:
          Echo:
            Type: Task
            Resource: ${EchoArn}
            End: true
      Events:
        Start:
          Type: Api
          Properties:
            Path: /orders
            Method: post
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_event_starts_the_state_machine() {
    let project = SamProject::new("workflow-api");
    let fixtures = repository().join("tests").display().to_string();
    project.file(
        "template.yaml",
        &API_TEMPLATE.replace("{fixtures}", &fixtures),
    );
    let template = project.dir().join("template.yaml");
    let lambkin = Watching::start_in(
        &lambkin_binary(),
        repository(),
        &["--no-reload", "--template", template.to_str().unwrap()],
        &target_dir(),
    )
    .await;
    let (addr, dir) = (lambkin.addr, project.dir());
    let body = json!({"order": 7, "items": ["tea"]});
    // The implicit REST API's stage prefix is optional, as for a function's routes.
    let answer = post(addr, "/Prod/orders", &[], body.to_string()).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(answer.headers.contains_key("x-amzn-requestid"));
    let execution = answer.body["executionArn"].as_str().unwrap().to_owned();
    assert!(
        execution.starts_with("arn:aws:states:us-east-1:012345678912:execution:orders:"),
        "{execution}"
    );
    assert!(
        answer.body["startDate"].as_f64().is_some(),
        "{:?}",
        answer.body
    );
    let Some(described) = stepfunctions(
        addr,
        dir,
        &["describe-execution", "--execution-arn", &execution],
    )
    .await
    else {
        return;
    };
    assert_eq!(described["input"].as_str().map(parse), Some(body.clone()));
    let described = ended(addr, dir, &execution).await;
    assert_eq!(described["status"], "SUCCEEDED", "{described}");
    assert_eq!(described["output"].as_str().map(parse), Some(body));

    // A body that is not JSON: StartExecution's refusal, passed through with 400.
    let refused = post(addr, "/orders", &[], "not json".to_owned()).await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert_eq!(refused.body["__type"], "InvalidExecutionInput");
    // An empty body is `{}`.
    let empty = post(addr, "/orders", &[], String::new()).await;
    assert_eq!(empty.status, 200, "{:?}", empty.body);
    // The gateway's Host check applies (DNS rebinding): no execution starts.
    let rebound = post(
        addr,
        "/orders",
        &[("host", "evil.example")],
        "{}".to_owned(),
    )
    .await;
    assert_eq!(rebound.status, 403, "{:?}", rebound.body);
    let machine = "arn:aws:states:us-east-1:012345678912:stateMachine:orders";
    let listed = stepfunctions(
        addr,
        dir,
        &["list-executions", "--state-machine-arn", machine],
    )
    .await
    .unwrap();
    assert_eq!(listed["executions"].as_array().map(Vec::len), Some(2));
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// An event in one line: its type and what tells it apart (the state's name, the error, the
/// function's input or output, the Map iteration's index).
fn summary(event: &Value) -> String {
    let kind = event["type"].as_str().unwrap();
    let details = event
        .as_object()
        .unwrap()
        .iter()
        .find(|(key, _)| key.ends_with("EventDetails"))
        .map(|(_, details)| details);
    let detail = details.and_then(|d| {
        if kind == "ExecutionStarted" || kind == "ExecutionSucceeded" {
            return None;
        }
        ["index", "name", "error", "input", "output"]
            .iter()
            .find_map(|key| d.get(*key))
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
    });
    match detail {
        Some(detail) if !kind.starts_with("Task") || kind.starts_with("TaskState") => {
            format!("{kind} {detail}")
        }
        _ => kind.to_owned(),
    }
}
