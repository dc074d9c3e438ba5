//! The Step Functions API on the front: the real AWS CLI running a state machine over real
//! fixture functions (Choice, Parallel, Map, Retry, Catch), its history checked event by
//! event; and bad input answered in AWS JSON 1.0's error shape.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::{Running, SIGNED_STATES, bounded, fixture, request, states_call as call};
use lambkin_emulator::{Emulator, Options, StateMachineConfig};
use lambkin_tests::awscli::{ended, stepfunctions};
use serde_json::{Value, json};

/// A Choice into a Parallel (a direct Lambda ARN and the `lambda:invoke` integration), a Map
/// over the items, then a function that always fails: retried twice, then caught.
fn definition() -> Value {
    let echo = "arn:aws:lambda:us-east-1:012345678912:function:echo";
    json!({
        "Comment": "lambkin end-to-end",
        "StartAt": "Route",
        "States": {
            "Route": {"Type": "Choice", "Choices": [{"Variable": "$.kind", "StringEquals": "fan", "Next": "Fan"}], "Default": "Refused"},
            "Refused": {"Type": "Fail", "Error": "Refused", "Cause": "not a fan"},
            "Fan": {"Type": "Parallel", "ResultPath": "$.parallel", "Next": "Each", "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": echo, "Parameters": {"branch": "a", "n.$": "$.n"}, "End": true}}},
                {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "echo", "Payload": {"branch": "b"}}, "ResultSelector": {"payload.$": "$.Payload"}, "End": true}}}
            ]},
            "Each": {"Type": "Map", "ItemsPath": "$.items", "ItemSelector": {"item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
                "ItemProcessor": {"StartAt": "Echo", "States": {"Echo": {"Type": "Task", "Resource": "echo", "End": true}}},
                "ResultPath": "$.mapped", "Next": "Flaky"},
            "Flaky": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:012345678912:function:error",
                "Retry": [{"ErrorEquals": ["Fixture.Failed"], "IntervalSeconds": 1, "BackoffRate": 1.0, "MaxAttempts": 2}],
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Done"}],
                "Next": "Done"},
            "Done": {"Type": "Pass", "End": true}
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_stepfunctions_runs_a_machine_over_local_functions() {
    let emulator = Running::start(vec![fixture("echo", "echo"), fixture("error", "error")]).await;
    let dir = std::env::temp_dir().join(format!("lambkin-sfn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("flow.asl.json"), definition().to_string()).unwrap();
    let addr = emulator.addr;

    let role = "arn:aws:iam::012345678912:role/flow";
    let Some(created) = stepfunctions(
        addr,
        &dir,
        &[
            "create-state-machine",
            "--name",
            "flow",
            "--definition",
            "file://flow.asl.json",
            "--role-arn",
            role,
        ],
    )
    .await
    else {
        return;
    };
    let machine = created["stateMachineArn"].as_str().unwrap().to_owned();
    assert_eq!(
        machine,
        "arn:aws:states:us-east-1:012345678912:stateMachine:flow"
    );
    let listed = stepfunctions(addr, &dir, &["list-state-machines"])
        .await
        .unwrap();
    assert_eq!(listed["stateMachines"][0]["name"], "flow");

    let input = json!({"kind": "fan", "n": 7, "items": ["x", "y", "z"]}).to_string();
    let started = stepfunctions(
        addr,
        &dir,
        &[
            "start-execution",
            "--state-machine-arn",
            &machine,
            "--name",
            "run-1",
            "--input",
            &input,
        ],
    )
    .await
    .unwrap();
    let execution = started["executionArn"].as_str().unwrap().to_owned();
    assert_eq!(
        execution,
        "arn:aws:states:us-east-1:012345678912:execution:flow:run-1"
    );

    // The execution runs in the background (two 1 s retry delays): wait for its end.
    let described = ended(addr, &dir, &execution).await;
    assert_eq!(described["status"], "SUCCEEDED", "{described}");
    let output: Value = serde_json::from_str(described["output"].as_str().unwrap()).unwrap();
    // The echo fixture answers with the event it got (and where it ran).
    assert_eq!(
        output["parallel"][0]["event"],
        json!({"branch": "a", "n": 7})
    );
    assert_eq!(
        output["parallel"][1]["payload"]["event"],
        json!({"branch": "b"})
    );
    let mapped: Vec<&Value> = output["mapped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["event"])
        .collect();
    assert_eq!(
        mapped,
        [
            &json!({"item": "x", "index": 0}),
            &json!({"item": "y", "index": 1}),
            &json!({"item": "z", "index": 2})
        ]
    );
    assert_eq!(output["error"]["Error"], "Fixture.Failed");
    let cause: Value = serde_json::from_str(output["error"]["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["errorMessage"], "the fixture failed on purpose");

    let history = stepfunctions(
        addr,
        &dir,
        &["get-execution-history", "--execution-arn", &execution],
    )
    .await
    .unwrap();
    let events = history["events"].as_array().unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    // The branches and items interleave; what comes before and after them is in order.
    assert_eq!(
        types[..5],
        [
            "ExecutionStarted",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "ParallelStateEntered",
            "ParallelStateStarted"
        ]
    );
    let tail = [
        "MapStateSucceeded",
        "MapStateExited",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionFailed",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionFailed",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionFailed",
        "TaskStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ];
    assert_eq!(types[types.len() - tail.len()..], tail);
    let count = |t: &str| types.iter().filter(|x| **x == t).count();
    assert_eq!(
        count("LambdaFunctionSucceeded"),
        4,
        "branch A and three items"
    );
    assert_eq!(
        (count("TaskScheduled"), count("TaskSucceeded")),
        (1, 1),
        "branch B"
    );
    assert_eq!(count("MapIterationStarted"), 3);
    // Event by event: ids in order, details where AWS puts them.
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event["id"], i + 1);
        assert!(
            event["timestamp"].is_string() || event["timestamp"].is_number(),
            "{event}"
        );
    }
    assert_eq!(events[0]["executionStartedEventDetails"]["roleArn"], role);
    assert_eq!(events[1]["stateEnteredEventDetails"]["name"], "Route");
    let scheduled = events
        .iter()
        .find(|e| e["type"] == "TaskScheduled")
        .unwrap();
    assert_eq!(scheduled["taskScheduledEventDetails"]["resource"], "invoke");
    assert_eq!(
        scheduled["taskScheduledEventDetails"]["resourceType"],
        "lambda"
    );
    let failed = events
        .iter()
        .find(|e| e["type"] == "LambdaFunctionFailed")
        .unwrap();
    assert_eq!(
        failed["lambdaFunctionFailedEventDetails"]["error"],
        "Fixture.Failed"
    );

    let executions = stepfunctions(
        addr,
        &dir,
        &["list-executions", "--state-machine-arn", &machine],
    )
    .await
    .unwrap();
    assert_eq!(executions["executions"][0]["status"], "SUCCEEDED");

    // The Default branch: a Fail state ends the execution with its error.
    let refused = stepfunctions(
        addr,
        &dir,
        &[
            "start-execution",
            "--state-machine-arn",
            &machine,
            "--input",
            "{\"kind\":\"other\"}",
        ],
    )
    .await
    .unwrap();
    let refused_arn = refused["executionArn"].as_str().unwrap().to_owned();
    let described = ended(addr, &dir, &refused_arn).await;
    assert_eq!(
        (described["status"].as_str(), described["error"].as_str()),
        (Some("FAILED"), Some("Refused"))
    );

    stepfunctions(
        addr,
        &dir,
        &["delete-state-machine", "--state-machine-arn", &machine],
    )
    .await
    .unwrap();
    assert_eq!(
        stepfunctions(addr, &dir, &["list-state-machines"])
            .await
            .unwrap()["stateMachines"],
        json!([])
    );
    std::fs::remove_dir_all(&dir).ok();
    emulator.stop().await;
}

/// StartSyncExecution through the AWS CLI. The CLI sends it to `sync-<endpoint host>` (the
/// operation's host prefix), a name that does not resolve for `127.0.0.1`: with
/// `AWS_DISABLE_HOST_PREFIX_INJECTION=true` it calls the endpoint as given; through an HTTP
/// proxy (here the emulator itself) the request reaches it naming `sync-127.0.0.1`, which the
/// guard takes for this operation.
/// A Map in Distributed mode over the echo fixture, items in batches of two: the Map Run and
/// its child executions through the AWS CLI (list-map-runs, describe-map-run,
/// `list-executions --map-run-arn`, a child's describe-execution and history).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_distributed_map_runs() {
    let emulator = Running::start(vec![fixture("echo", "echo")]).await;
    let dir = std::env::temp_dir().join(format!("lambkin-sfn-dist-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let definition = json!({"StartAt": "Each", "States": {"Each": {"Type": "Map",
        "ItemsPath": "$.items", "Label": "orders", "MaxConcurrency": 2,
        "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"from.$": "$.from"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Echo", "States": {"Echo": {"Type": "Task", "Resource": "echo",
                "ResultSelector": {"echoed.$": "$.event"}, "End": true}}},
        "End": true}}});
    std::fs::write(dir.join("dist.asl.json"), definition.to_string()).unwrap();
    let addr = emulator.addr;
    let Some(created) = stepfunctions(
        addr,
        &dir,
        &[
            "create-state-machine",
            "--name",
            "dist",
            "--definition",
            "file://dist.asl.json",
            "--role-arn",
            "arn:aws:iam::012345678912:role/dist",
        ],
    )
    .await
    else {
        return;
    };
    let machine = created["stateMachineArn"].as_str().unwrap();
    let input = json!({"items": [1, 2, 3, 4, 5], "from": "cli"}).to_string();
    let started = stepfunctions(
        addr,
        &dir,
        &[
            "start-execution",
            "--state-machine-arn",
            machine,
            "--input",
            &input,
        ],
    )
    .await
    .unwrap();
    let execution = started["executionArn"].as_str().unwrap().to_owned();
    let described = ended(addr, &dir, &execution).await;
    assert_eq!(described["status"], "SUCCEEDED", "{described}");
    let output: Value = serde_json::from_str(described["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        output,
        json!([
            {"echoed": {"BatchInput": {"from": "cli"}, "Items": [1, 2]}},
            {"echoed": {"BatchInput": {"from": "cli"}, "Items": [3, 4]}},
            {"echoed": {"BatchInput": {"from": "cli"}, "Items": [5]}},
        ])
    );

    let runs = stepfunctions(
        addr,
        &dir,
        &["list-map-runs", "--execution-arn", &execution],
    )
    .await
    .unwrap();
    let runs = runs["mapRuns"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let map_run = runs[0]["mapRunArn"].as_str().unwrap().to_owned();
    assert!(
        map_run.starts_with("arn:aws:states:us-east-1:012345678912:mapRun:dist/orders:"),
        "{map_run}"
    );
    assert_eq!(
        runs[0]["stateMachineArn"],
        "arn:aws:states:us-east-1:012345678912:stateMachine:dist/orders"
    );
    assert_eq!(runs[0]["executionArn"], json!(execution));

    let detail = stepfunctions(addr, &dir, &["describe-map-run", "--map-run-arn", &map_run])
        .await
        .unwrap();
    assert_eq!(detail["status"], "SUCCEEDED");
    assert_eq!(detail["maxConcurrency"], 2);
    let counts = |key: &str| {
        let c = &detail[key];
        (
            c["succeeded"].as_u64(),
            c["failed"].as_u64(),
            c["total"].as_u64(),
        )
    };
    assert_eq!(counts("itemCounts"), (Some(5), Some(0), Some(5)));
    assert_eq!(counts("executionCounts"), (Some(3), Some(0), Some(3)));

    let children = stepfunctions(addr, &dir, &["list-executions", "--map-run-arn", &map_run])
        .await
        .unwrap();
    let children = children["executions"].as_array().unwrap();
    assert_eq!(children.len(), 3);
    let mut items: Vec<u64> = children
        .iter()
        .map(|c| c["itemCount"].as_u64().unwrap())
        .collect();
    items.sort_unstable();
    assert_eq!(items, [1, 2, 2]);
    for child in children {
        let arn = child["executionArn"].as_str().unwrap();
        let name = child["name"].as_str().unwrap();
        assert_eq!(
            arn,
            format!("arn:aws:states:us-east-1:012345678912:execution:dist/orders:{name}")
        );
        assert_eq!(
            (&child["status"], &child["mapRunArn"]),
            (&json!("SUCCEEDED"), &json!(map_run))
        );
    }
    let child = children[0]["executionArn"].as_str().unwrap();
    let described = stepfunctions(
        addr,
        &dir,
        &["describe-execution", "--execution-arn", child],
    )
    .await
    .unwrap();
    assert_eq!(described["status"], "SUCCEEDED");
    assert_eq!(described["mapRunArn"], json!(map_run));
    let history = stepfunctions(
        addr,
        &dir,
        &["get-execution-history", "--execution-arn", child],
    )
    .await
    .unwrap();
    let types: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.first(), Some(&"ExecutionStarted"));
    assert_eq!(types.last(), Some(&"ExecutionSucceeded"));
    // The parent's history names the Map Run.
    let history = stepfunctions(
        addr,
        &dir,
        &["get-execution-history", "--execution-arn", &execution],
    )
    .await
    .unwrap();
    let started = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "MapRunStarted")
        .unwrap();
    assert_eq!(
        started["mapRunStartedEventDetails"]["mapRunArn"],
        json!(map_run)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A state machine's API route (a StartExecution integration, as serverless-step-functions'
/// `http` event gives it) starts executions named after the request id, stays served when the
/// gateway is replaced (hot reload), and a replacing gateway may not take it over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_machines_route_survives_gateway_reloads() {
    use lambkin_emulator::apigw::{EventOptions, Integration, PayloadFormat, Route, RouteTable};
    use lambkin_emulator::front::gateway::Gateway;

    let mut machine = StateMachineConfig::new(
        "hello",
        r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#,
    );
    let route = Route::parse("POST /start", "hello", PayloadFormat::Rest).unwrap();
    machine
        .routes
        .push(route.with_integration(Integration::StartExecution {
            named_by_request: true,
        }));
    let options = Options {
        state_machines: vec![machine],
        ..Options::default()
    };
    let emulator = Emulator::with_options(vec![fixture("echo", "echo")], options).unwrap();
    let running = Running::serve(emulator.clone()).await;
    let start = || request(running.addr, "POST", "/start", &[], br#"{"a": 1}"#);
    let started = start().await;
    assert_eq!(
        started.status,
        200,
        "{}",
        String::from_utf8_lossy(&started.body)
    );
    let id = started.header("x-amzn-requestid").unwrap().to_owned();
    assert_eq!(
        started.json()["executionArn"],
        format!("arn:aws:states:us-east-1:012345678912:execution:hello:{id}")
    );

    // Bytes that are not UTF-8 are no JSON input, even where a lossy reading would be.
    let garbled = request(running.addr, "POST", "/start", &[], b"\"\xff\"").await;
    assert_eq!(garbled.status, 400);
    assert_eq!(garbled.json()["__type"], "InvalidExecutionInput");

    emulator.replace_gateway(Gateway::default()).unwrap();
    assert_eq!(start().await.status, 200);
    let taken = RouteTable::new(vec![
        Route::parse("POST /start", "echo", PayloadFormat::Rest).unwrap(),
    ])
    .unwrap();
    let refused = emulator.replace_gateway(Gateway::new(taken, EventOptions::default()));
    assert!(
        matches!(&refused, Err(lambkin_emulator::Error::InvalidStateMachine { name, .. }) if name == "hello"),
        "{refused:?}"
    );
    // The gateway in force stays.
    assert!(start().await.json()["executionArn"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_start_sync_execution() {
    let emulator = Running::start(vec![fixture("echo", "echo")]).await;
    let addr = emulator.addr;
    let dir = std::env::temp_dir().join(format!("lambkin-sfn-sync-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let definition = json!({"StartAt": "Echo", "States": {"Echo": {"Type": "Task", "Resource": "echo", "OutputPath": "$.event", "End": true}}}).to_string();
    let create = |name: &'static str, kind: &'static str| {
        let definition = definition.clone();
        let dir = dir.clone();
        async move {
            stepfunctions(
                addr,
                &dir,
                &[
                    "create-state-machine",
                    "--name",
                    name,
                    "--definition",
                    &definition,
                    "--role-arn",
                    "arn:aws:iam::012345678912:role/r",
                    "--type",
                    kind,
                ],
            )
            .await
            .map(|created| created["stateMachineArn"].as_str().unwrap().to_owned())
        }
    };
    let Some(express) = create("quick", "EXPRESS").await else {
        return;
    };
    let standard = create("slow", "STANDARD").await.unwrap();
    let sync = |machine: String, env: Vec<(&'static str, String)>| {
        let dir = dir.clone();
        async move {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let args = [
                "start-sync-execution",
                "--state-machine-arn",
                &machine,
                "--input",
                r#"{"n":1}"#,
                "--output",
                "json",
            ];
            lambkin_tests::awscli::aws_env("stepfunctions", addr, &dir, &args, &env)
                .await
                .unwrap()
        }
    };
    let no_prefix = || vec![("AWS_DISABLE_HOST_PREFIX_INJECTION", "true".to_owned())];
    let proxied = || {
        vec![
            ("HTTP_PROXY", format!("http://{addr}")),
            ("http_proxy", format!("http://{addr}")),
            ("NO_PROXY", String::new()),
            ("no_proxy", String::new()),
        ]
    };
    for env in [no_prefix(), proxied()] {
        let ended = lambkin_tests::awscli::stdout_json(&sync(express.clone(), env).await);
        assert_eq!(ended["status"], "SUCCEEDED", "{ended}");
        assert_eq!(ended["stateMachineArn"], express.as_str());
        assert_eq!(ended["output"], r#"{"n":1}"#);
        let execution = ended["executionArn"].as_str().unwrap();
        assert!(
            execution.starts_with("arn:aws:states:us-east-1:012345678912:")
                && execution.contains(":quick:"),
            "{ended}"
        );
    }
    // A STANDARD machine: AWS's error.
    let refused = sync(standard, no_prefix()).await;
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("StateMachineTypeNotSupported"), "{stderr}");
    // The prefix is taken for StartSyncExecution only.
    let other = [
        ("X-Amz-Target", "AWSStepFunctions.ListStateMachines"),
        ("Host", "sync-127.0.0.1"),
        SIGNED_STATES,
    ];
    assert_eq!(request(addr, "POST", "/", &other, b"{}").await.status, 403);
    std::fs::remove_dir_all(&dir).ok();
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_aws_errors() {
    let emulator = Running::start(vec![fixture("echo", "echo")]).await;
    let addr = emulator.addr;

    // An invalid definition names the problem and where it is.
    let bad =
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}).to_string();
    let reply = call(
        addr,
        "CreateStateMachine",
        &json!({"name": "bad", "definition": bad, "roleArn": "r"}),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["__type"], "InvalidDefinition");
    let message = reply.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("MISSING_TRANSITION_TARGET") && message.contains("/States/A/Next"),
        "{message}"
    );
    let validated = call(
        addr,
        "ValidateStateMachineDefinition",
        &json!({"definition": bad}),
    )
    .await
    .json();
    assert_eq!(validated["result"], "FAIL");
    assert_eq!(validated["diagnostics"][0]["location"], "/States/A/Next");

    // A Task naming a function that does not exist fails the execution, with Lambda's error.
    let unknown = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "nobody", "End": true}}}).to_string();
    let created = call(
        addr,
        "CreateStateMachine",
        &json!({"name": "unknown", "definition": unknown, "roleArn": "r", "type": "EXPRESS"}),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.text());
    let machine = created.json()["stateMachineArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let ended = call(
        addr,
        "StartSyncExecution",
        &json!({"stateMachineArn": machine}),
    )
    .await
    .json();
    assert_eq!(ended["status"], "FAILED");
    assert_eq!(ended["error"], "Lambda.ResourceNotFoundException");

    // A path that selects nothing: States.Runtime, which no Catch takes.
    let nothing = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "echo", "InputPath": "$.missing", "End": true,
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Q"}]}, "Q": {"Type": "Succeed"}}}).to_string();
    let created = call(
        addr,
        "CreateStateMachine",
        &json!({"name": "nothing", "definition": nothing, "roleArn": "r", "type": "EXPRESS"}),
    )
    .await
    .json();
    let ended = call(
        addr,
        "StartSyncExecution",
        &json!({"stateMachineArn": created["stateMachineArn"], "input": "{\"present\":1}"}),
    )
    .await
    .json();
    assert_eq!(
        (ended["status"].as_str(), ended["error"].as_str()),
        (Some("FAILED"), Some("States.Runtime")),
        "{ended}"
    );
    assert!(
        ended["cause"].as_str().unwrap().contains("$.missing"),
        "{ended}"
    );

    // An input over 256 KiB.
    let big = json!({"stateMachineArn": machine, "input": format!("\"{}\"", "x".repeat(262_144))});
    let reply = call(addr, "StartExecution", &big).await;
    assert_eq!(
        (reply.status, reply.json()["__type"].as_str()),
        (400, Some("ValidationException"))
    );
    // Input that is not JSON, an unknown machine, an unknown operation, a body that is not JSON.
    let reply = call(
        addr,
        "StartExecution",
        &json!({"stateMachineArn": machine, "input": "{"}),
    )
    .await;
    assert_eq!(reply.json()["__type"], "InvalidExecutionInput");
    let reply = call(
        addr,
        "DescribeStateMachine",
        &json!({"stateMachineArn": "arn:aws:states:us-east-1:012345678912:stateMachine:none"}),
    )
    .await;
    assert_eq!(reply.json()["__type"], "StateMachineDoesNotExist");
    assert_eq!(
        call(addr, "Frobnicate", &json!({})).await.json()["__type"],
        "UnknownOperationException"
    );
    let headers = [
        ("X-Amz-Target", "AWSStepFunctions.ListStateMachines"),
        SIGNED_STATES,
    ];
    let reply = request(addr, "POST", "/", &headers, b"[1").await;
    assert_eq!(
        (reply.status, reply.json()["__type"].as_str()),
        (400, Some("SerializationException"))
    );
    // A token no task waits for.
    let reply = call(
        addr,
        "SendTaskSuccess",
        &json!({"taskToken": "nope", "output": "{}"}),
    )
    .await;
    assert_eq!(reply.json()["__type"], "TaskDoesNotExist");

    // The guard: no unsigned call, no cross-site call from a browser.
    let list = [("X-Amz-Target", "AWSStepFunctions.ListStateMachines")];
    let reply = request(addr, "POST", "/", &list, b"{}").await;
    assert_eq!(
        (reply.status, reply.json()["__type"].as_str()),
        (403, Some("MissingAuthenticationTokenException"))
    );
    let cross = [
        ("X-Amz-Target", "AWSStepFunctions.ListStateMachines"),
        SIGNED_STATES,
        ("Origin", "https://evil.example"),
        ("Sec-Fetch-Site", "cross-site"),
    ];
    assert_eq!(request(addr, "POST", "/", &cross, b"{}").await.status, 403);

    // Still serving.
    assert_eq!(
        call(addr, "ListStateMachines", &json!({})).await.status,
        200
    );
    emulator.stop().await;
}

/// A bare `.asl.json` file is a state machine named after it.
#[test]
fn state_machines_from_asl_files() {
    let dir = std::env::temp_dir().join(format!("lambkin-asl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("orders.asl.json");
    std::fs::write(
        &file,
        r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#,
    )
    .unwrap();
    let machine = StateMachineConfig::from_file(&file).unwrap();
    assert_eq!(machine.name, "orders");
    let options = Options {
        state_machines: vec![machine],
        ..Options::default()
    };
    assert!(Emulator::with_options(vec![fixture("echo", "echo")], options).is_ok());
    assert!(StateMachineConfig::from_file(&dir.join("missing.asl.json")).is_err());
    std::fs::remove_dir_all(&dir).ok();
}

/// State machines given at start (a template, a `.asl.json`) are validated then, and served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_machines_given_at_start() {
    let machine = |definition: &Value| StateMachineConfig::new("hello", definition.to_string());
    let emulator = |definition: &Value| {
        let options = Options {
            state_machines: vec![machine(definition)],
            ..Options::default()
        };
        Emulator::with_options(vec![fixture("echo", "echo")], options)
    };
    let refusal = |definition: &Value| emulator(definition).err().unwrap().to_string();
    let bad = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}, "B": {"Type": "Pass", "End": true}}});
    let error = refusal(&bad);
    assert!(
        error.contains("state machine `hello`")
            && error.contains("UNREACHABLE_STATE")
            && error.contains("/States/B"),
        "{error}"
    );

    // A Task naming a function the emulator does not serve: refused at start, naming where.
    let typo = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:012345678912:function:ehco", "End": true}}}]}}});
    let error = refusal(&typo);
    assert!(
        error.contains("/States/P/Branches/0/States/T/Resource")
            && error.contains("`arn:aws:lambda:us-east-1:012345678912:function:ehco`"),
        "{error}"
    );

    let good = json!({"StartAt": "Echo", "States": {"Echo": {"Type": "Task", "Resource": "echo", "OutputPath": "$.event", "End": true}}});
    let emulator = Running::serve(emulator(&good).unwrap()).await;
    let arn = "arn:aws:states:us-east-1:012345678912:stateMachine:hello";
    let started = call(
        emulator.addr,
        "StartExecution",
        &json!({"stateMachineArn": arn, "name": "first", "input": "{\"hi\":1}"}),
    )
    .await
    .json();
    let execution = started["executionArn"].as_str().unwrap().to_owned();
    let described = bounded(async {
        loop {
            let d = call(
                emulator.addr,
                "DescribeExecution",
                &json!({"executionArn": execution}),
            )
            .await
            .json();
            if d["status"] != "RUNNING" {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert_eq!(
        (described["status"].as_str(), described["output"].as_str()),
        (Some("SUCCEEDED"), Some("{\"hi\":1}"))
    );
    // The status page lists the execution.
    let page = request(emulator.addr, "GET", "/_lambkin", &[], b"")
        .await
        .json();
    assert_eq!(page["executions"][0]["name"], "first");
    assert_eq!(page["executions"][0]["status"], "SUCCEEDED");

    // `lambkin workflow run`: the events on stderr as they happen, the output on stdout.
    let port = emulator.addr.port().to_string();
    let lambkin = |args: &[&str]| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_lambkin"))
            .args(args)
            .args(["--port", &port])
            .kill_on_drop(true)
            .output()
    };
    let run = bounded(lambkin(&[
        "workflow",
        "run",
        "hello",
        "--input",
        r#"{"from":"cli"}"#,
    ]))
    .await
    .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&run.stdout).unwrap(),
        json!({"from": "cli"})
    );
    let events = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(
        events.contains("execution arn:aws:states:us-east-1:012345678912:execution:hello:"),
        "{events}"
    );
    let order = [
        "ExecutionStarted",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|e| events.find(e).unwrap_or_else(|| panic!("{e} in {events}")))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{events}");
    // A machine that is not there.
    let missing = bounded(lambkin(&["workflow", "run", "nope"]))
        .await
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no state machine `nope`"));
    emulator.stop().await;
}

/// A state machine's schedule (SAM `Schedule` event on it) starts an execution with the
/// Scheduled Event as its input, on the emulator's clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_start_executions() {
    use lambkin_emulator::Clock;
    use lambkin_emulator::sources::schedule::{Schedule, Service, Target};
    use std::time::SystemTime;

    let definition = json!({"StartAt": "Echo", "States": {"Echo": {"Type": "Task", "Resource": "echo", "OutputPath": "$.event", "End": true}}});
    let mut machine = StateMachineConfig::new("ticker", definition.to_string());
    let mut schedule = Schedule::new(
        Service::Rule,
        "TickerEveryMinute",
        "ticker",
        "rate(1 minute)",
        None,
    )
    .unwrap();
    schedule.target = Target::StateMachine;
    machine.schedules.push(schedule);
    let clock = Clock::manual(SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600));
    let options = Options {
        state_machines: vec![machine],
        clock: clock.clone(),
        ..Options::default()
    };
    let emulator =
        Running::serve(Emulator::with_options(vec![fixture("echo", "echo")], options).unwrap())
            .await;
    let addr = emulator.addr;
    let arn = "arn:aws:states:us-east-1:012345678912:stateMachine:ticker";
    let list = || async {
        call(addr, "ListExecutions", &json!({"stateMachineArn": arn}))
            .await
            .json()["executions"]
            .as_array()
            .unwrap()
            .clone()
    };
    assert!(list().await.is_empty());

    clock.advance(Duration::from_secs(60));
    let execution = bounded(async {
        loop {
            let executions = list().await;
            if let Some(done) = executions.iter().find(|e| e["status"] != "RUNNING") {
                return done["executionArn"].as_str().unwrap().to_owned();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let described = call(
        addr,
        "DescribeExecution",
        &json!({"executionArn": execution}),
    )
    .await
    .json();
    assert_eq!(described["status"], "SUCCEEDED", "{described}");
    let input: Value = serde_json::from_str(described["input"].as_str().unwrap()).unwrap();
    assert_eq!(input["detail-type"], "Scheduled Event");
    assert_eq!(input["time"], "2026-01-01T00:01:00Z");
    assert_eq!(
        input["resources"],
        json!(["arn:aws:events:us-east-1:012345678912:rule/TickerEveryMinute"])
    );
    let output: Value = serde_json::from_str(described["output"].as_str().unwrap()).unwrap();
    assert_eq!(output, input, "the function got the Scheduled Event");
    // The status page counts it.
    let page = request(addr, "GET", "/_lambkin", &[], b"").await.json();
    let source = &page["sources"][0];
    assert_eq!(
        (source["name"].as_str(), source["fired"].as_u64()),
        (Some("TickerEveryMinute"), Some(1))
    );
    emulator.stop().await;
}
