//! Executions against AWS's documented semantics: each state type, input and output
//! processing (the developer guide's examples), Retry timing, Catch routing, Map and Parallel
//! failures, callbacks, limits, and the history events of each.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Functions, lambda_error, run};
use lambkin_workflow::{Callbacks, History, Outcome, Signal, StateMachine, StatesError};
use serde_json::{Value, json};
use std::sync::Arc;

fn task(resource: &str, extra: Value) -> Value {
    let mut state = json!({"Type": "Task", "Resource": resource});
    state
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    state
}

const HELLO: &str = "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction";

fn hello() -> Functions {
    Functions::default().with("HelloFunction", |payload, _| {
        Ok(json!(format!(
            "Hello, {}!",
            payload["who"].as_str().unwrap_or("nobody")
        )))
    })
}

/// <https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html>:
/// "Use ResultPath to include the result with the input".
#[tokio::test(start_paused = true)]
async fn result_path_includes_the_result_with_the_input() {
    let definition = json!({"StartAt": "Hello", "States": {"Hello": task(HELLO, json!({"ResultPath": "$.taskresult", "End": true}))}});
    let input = json!({"comment": "This is a test of the input and output of a Task state.", "details": "Default example", "who": "AWS Step Functions"});
    let run = run(definition, input, hello()).await;
    assert_eq!(
        run.output(),
        &json!({"comment": "This is a test of the input and output of a Task state.", "details": "Default example",
                "who": "AWS Step Functions", "taskresult": "Hello, AWS Step Functions!"})
    );
}

/// The same page: `ResultPath: "$"` replaces the input, `null` discards the result, and a
/// path into an existing field updates it.
#[tokio::test(start_paused = true)]
async fn result_path_replaces_discards_and_updates() {
    let input = json!({"master": {"detail": [1, 2, 3]}, "who": "AWS Step Functions"});
    let cases = [
        (json!("$"), json!("Hello, AWS Step Functions!")),
        (Value::Null, input.clone()),
        (
            json!("$.master.detail"),
            json!({"master": {"detail": "Hello, AWS Step Functions!"}, "who": "AWS Step Functions"}),
        ),
    ];
    for (result_path, expected) in cases {
        let definition = json!({"StartAt": "Hello", "States": {"Hello": task(HELLO, json!({"ResultPath": result_path, "End": true}))}});
        assert_eq!(
            run(definition, input.clone(), hello()).await.output(),
            &expected
        );
    }
}

/// <https://docs.aws.amazon.com/step-functions/latest/dg/input-output-example.html>: InputPath,
/// ResultPath and OutputPath together.
#[tokio::test(start_paused = true)]
async fn input_result_and_output_paths_together() {
    let definition = json!({"StartAt": "Hello", "States": {"Hello": task(HELLO, json!({
        "InputPath": "$.lambda", "ResultPath": "$.data.lambdaresult", "OutputPath": "$.data", "End": true}))}});
    let input = json!({"comment": "An input comment.", "data": {"val1": 23, "val2": 17}, "extra": "foo", "lambda": {"who": "AWS Step Functions"}});
    let run = run(definition, input, hello()).await;
    assert_eq!(
        run.output(),
        &json!({"val1": 23, "val2": 17, "lambdaresult": "Hello, AWS Step Functions!"})
    );
    assert_eq!(
        run.functions.calls(),
        vec![(
            "HelloFunction".to_owned(),
            json!({"who": "AWS Step Functions"})
        )]
    );
}

/// <https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html>:
/// ResultSelector picks from the task's result before ResultPath places it.
#[tokio::test(start_paused = true)]
async fn result_selector_then_result_path() {
    let emr = json!({"resourceType": "elasticmapreduce", "resource": "createCluster.sync",
        "output": {"SdkHttpMetadata": {"HttpStatusCode": 200}, "SdkResponseMetadata": {"RequestId": "1234"}, "ClusterId": "AKIAIOSFODNN7EXAMPLE"}});
    let functions = Functions::default().with("Emr", move |_, _| Ok(emr.clone()));
    let definition = json!({"StartAt": "Create", "States": {"Create": task("Emr", json!({
        "ResultSelector": {"ClusterId.$": "$.output.ClusterId", "ResourceType.$": "$.resourceType"},
        "ResultPath": "$.EMROutput", "End": true}))}});
    let run = run(definition, json!({"Name": "MyWorkflowCluster"}), functions).await;
    assert_eq!(
        run.output(),
        &json!({"Name": "MyWorkflowCluster", "EMROutput": {"ClusterId": "AKIAIOSFODNN7EXAMPLE", "ResourceType": "elasticmapreduce"}})
    );
}

/// Parameters build the task's input from the input, the context object and intrinsics.
#[tokio::test(start_paused = true)]
async fn parameters_with_context_and_intrinsics() {
    let functions = Functions::default().with("Echo", |payload, _| Ok(payload));
    let definition = json!({"StartAt": "Echo", "States": {"Echo": task("Echo", json!({
        "Parameters": {
            "execution.$": "$$.Execution.Name", "state.$": "$$.State.Name", "machine.$": "$$.StateMachine.Name",
            "greeting.$": "States.Format('Hello, {}', $.name)", "fixed": {"a": 1}
        }, "End": true}))}});
    let run = run(definition, json!({"name": "Ada"}), functions).await;
    assert_eq!(
        run.output(),
        &json!({"execution": "run-1", "state": "Echo", "machine": "test", "greeting": "Hello, Ada", "fixed": {"a": 1}})
    );
}

#[tokio::test(start_paused = true)]
async fn pass_states() {
    let definition = json!({"StartAt": "Result", "States": {
        "Result": {"Type": "Pass", "Result": {"x-datum": 0.381018, "y-datum": 622.2269926397355}, "ResultPath": "$.coords", "Next": "Params"},
        "Params": {"Type": "Pass", "Parameters": {"x.$": "$.coords.x-datum"}, "ResultPath": "$.picked", "Next": "Nulls"},
        "Nulls": {"Type": "Pass", "InputPath": null, "ResultPath": "$.empty", "End": true}
    }});
    let run = run(
        definition,
        json!({"georefOf": "Home"}),
        Functions::default(),
    )
    .await;
    // <https://docs.aws.amazon.com/step-functions/latest/dg/state-pass.html>'s example, then more.
    assert_eq!(
        run.output(),
        &json!({"georefOf": "Home", "coords": {"x-datum": 0.381018, "y-datum": 622.2269926397355}, "picked": {"x": 0.381018}, "empty": {}})
    );
    assert_eq!(
        run.types(),
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "PassStateEntered",
            "PassStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn choice_routes_and_no_match_fails() {
    let definition = json!({"StartAt": "Check", "States": {
        "Check": {"Type": "Choice", "Choices": [
            {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
            {"And": [{"Variable": "$.value", "NumericGreaterThanEquals": 20}, {"Variable": "$.value", "NumericLessThan": 30}], "Next": "ValueInTwenties"}
        ]},
        "Public": {"Type": "Pass", "Result": "public", "End": true},
        "ValueInTwenties": {"Type": "Pass", "Result": "twenties", "End": true}
    }});
    assert_eq!(
        run(
            definition.clone(),
            json!({"type": "Public"}),
            Functions::default()
        )
        .await
        .output(),
        &json!("public")
    );
    assert_eq!(
        run(
            definition.clone(),
            json!({"type": "Private", "value": 25}),
            Functions::default()
        )
        .await
        .output(),
        &json!("twenties")
    );
    let failed = run(
        definition,
        json!({"type": "Private", "value": 35}),
        Functions::default(),
    )
    .await;
    assert_eq!(failed.error().error, "States.NoChoiceMatched");
    assert_eq!(
        failed.types(),
        ["ExecutionStarted", "ChoiceStateEntered", "ExecutionFailed"]
    );
}

#[tokio::test(start_paused = true)]
async fn choice_default_and_output_path() {
    let definition = json!({"StartAt": "Check", "States": {
        "Check": {"Type": "Choice", "OutputPath": "$.keep", "Default": "Done",
                  "Choices": [{"Variable": "$.flag", "BooleanEquals": true, "Next": "Done"}]},
        "Done": {"Type": "Succeed"}
    }});
    let run = run(
        definition,
        json!({"flag": false, "keep": {"k": 1}}),
        Functions::default(),
    )
    .await;
    assert_eq!(run.output(), &json!({"k": 1}));
}

/// A Wait state waits on the clock: 10 virtual seconds between entering and leaving it.
#[tokio::test(start_paused = true)]
async fn wait_seconds_and_timestamps() {
    let definition = json!({"StartAt": "Wait", "States": {
        "Wait": {"Type": "Wait", "Seconds": 10, "Next": "WaitPath"},
        "WaitPath": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Past"},
        "Past": {"Type": "Wait", "Timestamp": "2016-03-14T01:59:00Z", "End": true}
    }});
    let run = run(definition, json!({"delay": 5}), Functions::default()).await;
    assert_eq!(run.output(), &json!({"delay": 5}));
    assert_eq!(run.times_of("WaitStateExited"), [10.0, 15.0, 15.0]);
}

#[tokio::test(start_paused = true)]
async fn fail_state_error_and_cause() {
    let definition = json!({"StartAt": "Fail", "States": {"Fail": {"Type": "Fail", "ErrorPath": "$.code", "Cause": "Invalid response."}}});
    let run = run(definition, json!({"code": "ErrorA"}), Functions::default()).await;
    assert_eq!(
        run.error(),
        &StatesError::new("ErrorA", "Invalid response.")
    );
    let last = run.history.last().unwrap().to_json();
    assert_eq!(last["type"], "ExecutionFailed");
    assert_eq!(
        last["executionFailedEventDetails"],
        json!({"error": "ErrorA", "cause": "Invalid response."})
    );
}

/// A function that fails twice: retried after 1 s, then 2 s (BackoffRate 2), then succeeds.
#[tokio::test(start_paused = true)]
async fn retry_backs_off_on_the_clock() {
    let functions = Functions::default().with("Flaky", |_, calls| {
        if calls < 2 {
            Err(lambda_error("Flaky.Error", "not yet"))
        } else {
            Ok(json!("done"))
        }
    });
    let definition = json!({"StartAt": "Call", "States": {"Call": task("Flaky", json!({
        "Retry": [{"ErrorEquals": ["Other"], "MaxAttempts": 5}, {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "BackoffRate": 2.0, "MaxAttempts": 3}],
        "End": true}))}});
    let run = run(definition, json!({}), functions).await;
    assert_eq!(run.output(), &json!("done"));
    let scheduled = run.times_of("LambdaFunctionScheduled");
    assert_eq!(scheduled.len(), 3);
    // Each call takes 10 ms (the harness); the delays between a failure and the next call are exact.
    let failed = run.times_of("LambdaFunctionFailed");
    assert_eq!(
        [scheduled[1] - failed[0], scheduled[2] - failed[1]].map(|d| (d * 1000.0).round()),
        [1000.0, 2000.0]
    );
    // A retry does not re-enter the state.
    assert_eq!(
        run.types()
            .iter()
            .filter(|t| **t == "TaskStateEntered")
            .count(),
        1
    );
}

/// MaxDelaySeconds caps the backoff; once MaxAttempts are used the Catch routes the error,
/// ResultPath placing `{Error, Cause}` in the state's input.
#[tokio::test(start_paused = true)]
async fn retries_exhausted_then_caught_with_result_path() {
    let functions =
        Functions::default().with("Broken", |_, _| Err(lambda_error("CustomError", "always")));
    let definition = json!({"StartAt": "Call", "States": {
        "Call": task("Broken", json!({
            "Retry": [{"ErrorEquals": ["CustomError"], "IntervalSeconds": 3, "BackoffRate": 10, "MaxDelaySeconds": 5, "MaxAttempts": 2}],
            "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Recover"}],
            "Next": "Unreached"})),
        "Unreached": {"Type": "Succeed"},
        "Recover": {"Type": "Pass", "End": true}
    }});
    let run = run(definition, json!({"order": 7}), functions).await;
    let output = run.output();
    assert_eq!(output["order"], 7);
    assert_eq!(output["error"]["Error"], "CustomError");
    assert_eq!(
        serde_json::from_str::<Value>(output["error"]["Cause"].as_str().unwrap()).unwrap()["errorMessage"],
        "always"
    );
    let (scheduled, failed) = (
        run.times_of("LambdaFunctionScheduled"),
        run.times_of("LambdaFunctionFailed"),
    );
    assert_eq!(scheduled.len(), 3);
    assert_eq!(
        [scheduled[1] - failed[0], scheduled[2] - failed[1]].map(|d| (d * 1000.0).round()),
        [3000.0, 5000.0]
    );
    assert!(run.types().contains(&"TaskStateExited"));
    assert!(!run.types().contains(&"SucceedStateEntered"));
}

/// JitterStrategy FULL waits a random share of the computed delay.
#[tokio::test(start_paused = true)]
async fn full_jitter_stays_within_the_delay() {
    let functions = Functions::default().with("Flaky", |_, calls| {
        if calls < 1 {
            Err(lambda_error("E", ""))
        } else {
            Ok(json!(1))
        }
    });
    let definition = json!({"StartAt": "Call", "States": {"Call": task("Flaky", json!({
        "Retry": [{"ErrorEquals": ["E"], "IntervalSeconds": 8, "JitterStrategy": "FULL"}], "End": true}))}});
    let run = run(definition, json!({}), functions).await;
    let waited =
        run.times_of("LambdaFunctionScheduled")[1] - run.times_of("LambdaFunctionFailed")[0];
    assert!((0.0..=8.0).contains(&waited), "{waited}");
}

/// Catchers are tried in order: a Lambda errorType by name, then States.ALL.
#[tokio::test(start_paused = true)]
async fn catch_routes_by_error_name() {
    let definition = json!({"StartAt": "Call", "States": {
        "Call": task("Thrower", json!({"Catch": [
            {"ErrorEquals": ["ValidationError"], "Next": "Invalid"},
            {"ErrorEquals": ["States.ALL"], "Next": "Other"}], "End": true})),
        "Invalid": {"Type": "Pass", "Result": "invalid", "End": true},
        "Other": {"Type": "Pass", "Result": "other", "End": true}
    }});
    for (error_type, expected) in [("ValidationError", "invalid"), ("RuntimeError", "other")] {
        let error = lambda_error(error_type, "x");
        let functions = Functions::default().with("Thrower", move |_, _| Err(error.clone()));
        assert_eq!(
            run(definition.clone(), json!({}), functions).await.output(),
            &json!(expected)
        );
    }
    // An unknown function is a Lambda error too, caught like any other.
    assert_eq!(
        run(definition, json!({}), Functions::default())
            .await
            .output(),
        &json!("other")
    );
}

/// TimeoutSeconds fails the task with States.Timeout, which States.TaskFailed does not catch.
#[tokio::test(start_paused = true)]
async fn task_timeout() {
    let definition = json!({"StartAt": "Call", "States": {
        "Call": task("Slow", json!({"TimeoutSeconds": 5, "Catch": [
            {"ErrorEquals": ["States.TaskFailed"], "Next": "Failed"},
            {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timeout", "Next": "TimedOut"}], "End": true})),
        "Failed": {"Type": "Pass", "Result": "failed", "End": true},
        "TimedOut": {"Type": "Pass", "End": true}
    }});
    let run = run(definition, json!({}), Functions::default().hanging("Slow")).await;
    assert_eq!(run.output()["timeout"]["Error"], "States.Timeout");
    assert_eq!(run.times_of("LambdaFunctionTimedOut"), [5.0]);
    let scheduled = run
        .history
        .iter()
        .find(|e| e.event_type.as_str() == "LambdaFunctionScheduled")
        .unwrap()
        .to_json();
    assert_eq!(
        scheduled["lambdaFunctionScheduledEventDetails"]["timeoutInSeconds"],
        5
    );
    assert_eq!(
        scheduled["lambdaFunctionScheduledEventDetails"]["resource"],
        "Slow"
    );
}

/// States.Runtime (a path selecting nothing) is neither retried nor caught, even by States.ALL.
#[tokio::test(start_paused = true)]
async fn a_path_selecting_nothing_fails_the_execution() {
    let definition = json!({"StartAt": "Call", "States": {
        "Call": task("Echo", json!({"InputPath": "$.missing",
            "Retry": [{"ErrorEquals": ["States.ALL"]}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true})),
        "Caught": {"Type": "Succeed"}
    }});
    let run = run(
        definition,
        json!({"present": 1}),
        Functions::default().with("Echo", |p, _| Ok(p)),
    )
    .await;
    assert_eq!(run.error().error, "States.Runtime");
    assert!(
        run.error().cause.contains("$.missing"),
        "{}",
        run.error().cause
    );
    assert!(run.functions.calls().is_empty());
}

/// A Parameters path selecting nothing is States.ParameterPathFailure: catchable.
#[tokio::test(start_paused = true)]
async fn a_parameter_path_failure_is_caught() {
    let definition = json!({"StartAt": "Call", "States": {
        "Call": task("Echo", json!({"Parameters": {"x.$": "$.missing"},
            "Catch": [{"ErrorEquals": ["States.ParameterPathFailure"], "Next": "Caught"}], "End": true})),
        "Caught": {"Type": "Pass", "Result": "caught", "End": true}
    }});
    assert_eq!(
        run(definition, json!({}), Functions::default())
            .await
            .output(),
        &json!("caught")
    );
}

#[tokio::test(start_paused = true)]
async fn result_path_into_a_non_object_is_a_match_failure() {
    let definition = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "ResultPath": "$.a.b", "End": true}}});
    let run = run(definition, json!({"a": "text"}), Functions::default()).await;
    assert_eq!(run.error().error, "States.ResultPathMatchFailure");
}

/// An output over 256 KiB is States.DataLimitExceeded, which Catch cannot handle.
#[tokio::test(start_paused = true)]
async fn data_limit() {
    let functions = Functions::default().with("Big", |_, _| Ok(json!("x".repeat(300 * 1024))));
    let definition = json!({"StartAt": "Call", "States": {
        "Call": task("Big", json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true})),
        "Caught": {"Type": "Succeed"}
    }});
    assert_eq!(
        run(definition, json!({}), functions).await.error().error,
        "States.DataLimitExceeded"
    );
}

fn functions_for_branches() -> Functions {
    Functions::default()
        .with("Double", |p, _| Ok(json!(p.as_i64().unwrap() * 2)))
        .with("Square", |p, _| Ok(json!(p.as_i64().unwrap().pow(2))))
        .with("Fails", |_, _| {
            Err(lambda_error("BranchError", "branch broke"))
        })
}

#[tokio::test(start_paused = true)]
async fn parallel_collects_each_branch_output_in_order() {
    let branch = |f: &str| json!({"StartAt": f, "States": {f: task(f, json!({"End": true}))}});
    let definition = json!({"StartAt": "Both", "States": {"Both": {"Type": "Parallel", "InputPath": "$.n",
        "Branches": [branch("Double"), branch("Square")], "ResultPath": "$.results", "End": true}}});
    let run = run(definition, json!({"n": 5}), functions_for_branches()).await;
    assert_eq!(run.output(), &json!({"n": 5, "results": [10, 25]}));
    let types = run.types();
    assert_eq!(
        types[..3],
        [
            "ExecutionStarted",
            "ParallelStateEntered",
            "ParallelStateStarted"
        ]
    );
    assert_eq!(
        types[types.len() - 3..],
        [
            "ParallelStateSucceeded",
            "ParallelStateExited",
            "ExecutionSucceeded"
        ]
    );
    // Each branch's first event follows ParallelStateStarted.
    let started = run
        .history
        .iter()
        .find(|e| e.event_type.as_str() == "ParallelStateStarted")
        .unwrap()
        .id;
    let branch_starts = run
        .history
        .iter()
        .filter(|e| e.event_type.as_str() == "TaskStateEntered")
        .map(|e| e.previous_event_id);
    assert!(branch_starts.into_iter().all(|p| p == started));
}

/// One failing branch fails the Parallel state with the branch's own error; Catch sees it.
#[tokio::test(start_paused = true)]
async fn parallel_fails_with_the_branch_error() {
    let branch = |f: &str| json!({"StartAt": f, "States": {f: task(f, json!({"End": true}))}});
    let definition = json!({"StartAt": "Both", "States": {
        "Both": {"Type": "Parallel", "Branches": [branch("Double"), branch("Fails")],
                 "Catch": [{"ErrorEquals": ["BranchError"], "Next": "Handled"}], "End": true},
        "Handled": {"Type": "Pass", "End": true}
    }});
    let run = run(definition, json!(3), functions_for_branches()).await;
    assert_eq!(run.output()["Error"], "BranchError");
    assert!(run.types().contains(&"ParallelStateFailed"));
}

#[tokio::test(start_paused = true)]
async fn map_runs_each_item_with_its_context() {
    let definition = json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2,
        "ItemSelector": {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value", "tag.$": "$.tag"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Echo", "States": {"Echo": task("Echo", json!({"End": true}))}},
        "ResultPath": "$.out", "End": true}}});
    let input = json!({"items": ["a", "b", "c"], "tag": "t"});
    let run = run(
        definition,
        input,
        Functions::default().with("Echo", |p, _| Ok(p)),
    )
    .await;
    assert_eq!(
        run.output()["out"],
        json!([{"index": 0, "value": "a", "tag": "t"}, {"index": 1, "value": "b", "tag": "t"}, {"index": 2, "value": "c", "tag": "t"}])
    );
    let started = run
        .history
        .iter()
        .find(|e| e.event_type.as_str() == "MapStateStarted")
        .unwrap()
        .to_json();
    assert_eq!(started["mapStateStartedEventDetails"], json!({"length": 3}));
    let iterations = run
        .history
        .iter()
        .filter(|e| e.event_type.as_str() == "MapIterationStarted");
    let indices: Vec<Value> = iterations
        .map(|e| e.to_json()["mapIterationStartedEventDetails"]["index"].clone())
        .collect();
    assert_eq!(indices.len(), 3);
    assert_eq!(
        run.types()
            .iter()
            .filter(|t| **t == "MapIterationSucceeded")
            .count(),
        3
    );
}

/// MaxConcurrency 1 runs items one after another: each takes 1 virtual second.
#[tokio::test(start_paused = true)]
async fn map_max_concurrency() {
    let each =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}});
    for (limit, seconds) in [(1, 4.0), (2, 2.0), (0, 1.0)] {
        let definition = json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "MaxConcurrency": limit, "Iterator": each, "End": true}}});
        let run = run(definition, json!([1, 2, 3, 4]), Functions::default()).await;
        assert_eq!(run.output(), &json!([1, 2, 3, 4]));
        assert_eq!(
            run.times_of("MapStateExited"),
            [seconds],
            "MaxConcurrency {limit}"
        );
    }
}

/// An item's failure fails the Map state with its error, unless tolerated.
#[tokio::test(start_paused = true)]
async fn map_failures_and_tolerance() {
    let processor =
        json!({"StartAt": "Check", "States": {"Check": task("Check", json!({"End": true}))}});
    let functions = || {
        Functions::default().with("Check", |p, _| {
            if p == json!(2) {
                Err(lambda_error("Bad", "two"))
            } else {
                Ok(p)
            }
        })
    };
    let map = |extra: Value| {
        let mut state = json!({"Type": "Map", "ItemProcessor": processor, "End": true});
        state
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"StartAt": "Each", "States": {"Each": state}})
    };
    let strict = run(map(json!({})), json!([1, 2, 3]), functions()).await;
    assert_eq!(strict.error().error, "Bad");
    assert!(
        strict.types().contains(&"MapIterationFailed")
            && strict.types().contains(&"MapStateFailed")
    );

    let tolerant = run(
        map(json!({"ToleratedFailureCount": 1})),
        json!([1, 2, 3]),
        functions(),
    )
    .await;
    assert_eq!(tolerant.output()[0], 1);
    assert_eq!(tolerant.output()[1]["Error"], "Bad");
    assert_eq!(tolerant.output()[2], 3);

    let over = run(
        map(json!({"ToleratedFailurePercentage": 10})),
        json!([1, 2, 3]),
        functions(),
    )
    .await;
    assert_eq!(over.error().error, "States.ExceedToleratedFailureThreshold");
}

#[tokio::test(start_paused = true)]
async fn map_items_must_be_an_array() {
    let definition = json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "ItemsPath": "$.items",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}});
    assert_eq!(
        run(definition, json!({"items": "nope"}), Functions::default())
            .await
            .error()
            .error,
        "States.Runtime"
    );
}

/// `arn:aws:states:::lambda:invoke`: FunctionName and Payload from Parameters, the result
/// wrapped as Lambda's Invoke answer, Task* events with resourceType "lambda".
#[tokio::test(start_paused = true)]
async fn lambda_invoke_integration() {
    let definition = json!({"StartAt": "Invoke", "States": {"Invoke": task("arn:aws:states:::lambda:invoke", json!({
        "Parameters": {"FunctionName": HELLO, "Payload.$": "$"},
        "ResultSelector": {"greeting.$": "$.Payload", "status.$": "$.StatusCode"}, "End": true}))}});
    let run = run(definition, json!({"who": "you"}), hello()).await;
    assert_eq!(
        run.output(),
        &json!({"greeting": "Hello, you!", "status": 200})
    );
    assert_eq!(
        run.types(),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    let events: Vec<Value> = run.history.iter().map(|e| e.to_json()).collect();
    let scheduled = &events[2]["taskScheduledEventDetails"];
    assert_eq!(scheduled["resourceType"], "lambda");
    assert_eq!(scheduled["resource"], "invoke");
    assert_eq!(scheduled["region"], "us-east-1");
    assert_eq!(
        serde_json::from_str::<Value>(scheduled["parameters"].as_str().unwrap()).unwrap()["Payload"],
        json!({"who": "you"})
    );
    assert_eq!(events[4]["taskSucceededEventDetails"]["resource"], "invoke");
    // Ids count up; each event follows the one before it.
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event["id"], i + 1);
        assert_eq!(event["previousEventId"], i);
    }
    assert_eq!(
        events[1]["stateEnteredEventDetails"],
        json!({"name": "Invoke", "input": "{\"who\":\"you\"}", "inputDetails": {"truncated": false}})
    );
}

/// `.waitForTaskToken`: the function gets `$$.Task.Token`; SendTaskSuccess ends the task.
#[tokio::test(start_paused = true)]
async fn wait_for_task_token() {
    let callbacks = Arc::new(Callbacks::default());
    let sender = callbacks.clone();
    let functions = Arc::new(Functions::default().with("Approver", move |payload, _| {
        let token = payload["token"].as_str().unwrap().to_owned();
        let sender = sender.clone();
        // The approval comes later, from elsewhere (SendTaskSuccess).
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            sender.send(&token, Signal::Heartbeat).unwrap();
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            sender
                .send(&token, Signal::Success(json!({"approved": true})))
                .unwrap();
        });
        Ok(json!(null))
    }));
    let definition = json!({"StartAt": "Ask", "States": {"Ask": task("arn:aws:states:::lambda:invoke.waitForTaskToken", json!({
        "Parameters": {"FunctionName": "Approver", "Payload": {"token.$": "$$.Task.Token"}},
        "HeartbeatSeconds": 45, "ResultPath": "$.answer", "End": true}))}});
    let machine = StateMachine::from_value(&definition).unwrap();
    let env = common::env(functions, callbacks.clone());
    let history = History::new();
    let outcome = lambkin_workflow::run(
        &machine,
        &common::execution(),
        json!({"id": 1}),
        &env,
        &history,
    )
    .await;
    assert_eq!(
        outcome,
        Outcome::Succeeded(json!({"id": 1, "answer": {"approved": true}}))
    );
    // The token is forgotten once the task is over.
    assert_eq!(
        callbacks.send("anything", Signal::Heartbeat),
        Err(lambkin_workflow::TokenError::Unknown)
    );
}

/// Without a heartbeat within HeartbeatSeconds the task times out.
#[tokio::test(start_paused = true)]
async fn missed_heartbeat_times_out() {
    let functions = Functions::default().with("Silent", |_, _| Ok(json!(null)));
    let definition = json!({"StartAt": "Ask", "States": {"Ask": task("arn:aws:states:::lambda:invoke.waitForTaskToken", json!({
        "Parameters": {"FunctionName": "Silent", "Payload": {"token.$": "$$.Task.Token"}}, "HeartbeatSeconds": 20, "End": true}))}});
    let run = run(definition, json!({}), functions).await;
    assert_eq!(run.error().error, "States.Timeout");
    assert_eq!(run.types()[run.types().len() - 2], "TaskTimedOut");
}

/// The machine's TimeoutSeconds ends the execution as ExecutionTimedOut.
#[tokio::test(start_paused = true)]
async fn execution_timeout() {
    let definition = json!({"TimeoutSeconds": 60, "StartAt": "Long", "States": {"Long": {"Type": "Wait", "Seconds": 3600, "End": true}}});
    let run = run(definition, json!({}), Functions::default()).await;
    assert!(matches!(run.outcome, Outcome::TimedOut(_)));
    assert_eq!(run.types().last(), Some(&"ExecutionTimedOut"));
    assert_eq!(run.times_of("ExecutionTimedOut"), [60.0]);
}

/// A loop that never ends stops at the history's 25,000 events.
#[tokio::test(start_paused = true)]
async fn endless_loops_hit_the_history_limit() {
    let definition = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "End"}], "Default": "A"},
        "End": {"Type": "Succeed"}
    }});
    let run = run(definition, json!({}), Functions::default()).await;
    assert_eq!(run.error().error, "States.Runtime");
    assert_eq!(run.history.len(), lambkin_workflow::history::MAX_EVENTS + 1);
    assert_eq!(
        run.error().cause,
        "The execution reached the maximum number of history events (25000)."
    );
}

#[tokio::test(start_paused = true)]
async fn execution_started_and_succeeded_details() {
    let definition = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let run = run(definition, json!({"a": 1}), Functions::default()).await;
    let first = run.history[0].to_json();
    assert_eq!(
        first["executionStartedEventDetails"],
        json!({"input": "{\"a\":1}", "inputDetails": {"truncated": false}, "roleArn": "arn:aws:iam::123456789012:role/test"})
    );
    assert!(first["timestamp"].is_f64());
    let last = run.history.last().unwrap().to_json();
    assert_eq!(
        last["executionSucceededEventDetails"],
        json!({"output": "{\"a\":1}", "outputDetails": {"truncated": false}})
    );
}

/// Services other than Lambda fail the task at run time, naming the resource.
#[tokio::test(start_paused = true)]
async fn other_service_integrations_are_refused() {
    let definition = json!({"StartAt": "Put", "States": {"Put": task("arn:aws:states:::dynamodb:putItem", json!({"End": true}))}});
    let run = run(definition, json!({}), Functions::default()).await;
    assert_eq!(run.error().error, "States.Runtime");
    assert!(run.error().cause.contains("dynamodb:putItem"));
}
