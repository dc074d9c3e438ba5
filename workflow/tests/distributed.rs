//! Map in Distributed mode, from AWS's "Using Map state in Distributed mode": each item (or
//! batch) runs as a child execution of a Map Run, with its own ARN and history; `ItemBatcher`,
//! `ToleratedFailure…` (at the threshold and past it, and their paths), `Label`, and the
//! parent's `MapRun*` events. <https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html>

#![allow(clippy::unwrap_used)]

mod common;

use common::{Functions, lambda_error, run};
use lambkin_workflow::{Counts, Outcome, RunStatus, StateMachine};
use serde_json::{Value, json};

/// A Distributed Map over `$.items` whose processor calls `Check`, with `extra` fields.
fn distributed(extra: Value) -> Value {
    let mut state = json!({"Type": "Map", "ItemsPath": "$.items", "End": true,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Check", "States": {"Check": {"Type": "Task", "Resource": "Check", "End": true}}}});
    state
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({"StartAt": "Each", "States": {"Each": state}})
}

/// `Check` doubles a number and fails on an even one; a batch it echoes.
fn check() -> Functions {
    Functions::default().with("Check", |p, _| match p.as_i64() {
        Some(n) if n % 2 == 0 => Err(lambda_error("Even", &format!("{n} is even"))),
        Some(n) => Ok(json!(n * 2)),
        None => Ok(p),
    })
}

#[tokio::test(start_paused = true)]
async fn each_item_runs_as_a_child_execution_of_a_map_run() {
    let definition = distributed(json!({"Label": "odd", "MaxConcurrency": 2,
        "ItemSelector": {"n.$": "$$.Map.Item.Value"}}));
    let mut definition = definition;
    definition["States"]["Each"]["ItemProcessor"]["States"]["Check"]["InputPath"] = json!("$.n");
    let run = run(definition, json!({"items": [1, 3, 5]}), check()).await;
    assert_eq!(run.output(), &json!([2, 6, 10]));
    // The parent's history: the Map Run, not the iterations.
    assert_eq!(
        run.types(),
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapRunStarted",
            "MapRunSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );
    let runs = run
        .map_runs
        .of_execution("arn:aws:states:us-east-1:123456789012:execution:test:run-1");
    assert_eq!(runs.len(), 1);
    let map_run = &runs[0];
    let started = &run.history[2];
    assert_eq!(
        started.details.as_ref().unwrap()["mapRunArn"],
        json!(map_run.arn)
    );
    let id = map_run
        .arn
        .strip_prefix("arn:aws:states:us-east-1:123456789012:mapRun:test/odd:")
        .unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{}", map_run.arn);
    assert_eq!(
        map_run.state_machine_arn,
        "arn:aws:states:us-east-1:123456789012:stateMachine:test/odd"
    );
    assert_eq!(
        (map_run.status(), map_run.max_concurrency),
        (RunStatus::Succeeded, 2)
    );
    let succeeded = Counts {
        succeeded: 3,
        total: 3,
        ..Counts::default()
    };
    assert_eq!(map_run.item_counts(), succeeded);
    assert_eq!(map_run.execution_counts(), succeeded);
    // Child executions: named by a UUID, under the Map Run's machine and label.
    let children = map_run.children();
    assert_eq!(children.len(), 3);
    for (child, n) in children.iter().zip([1, 3, 5]) {
        let name = &child.execution.name;
        assert!(uuid::Uuid::parse_str(name).is_ok(), "{name}");
        assert_eq!(
            child.execution.arn,
            format!("arn:aws:states:us-east-1:123456789012:execution:test/odd:{name}")
        );
        assert_eq!(child.execution.state_machine_name, "test/odd");
        assert_eq!(child.input, json!({"n": n}));
        assert!(!child.express);
        assert_eq!(child.outcome(), Some(Outcome::Succeeded(json!(n * 2))));
        let types: Vec<_> = (child.history.events().iter())
            .map(|e| e.event_type.as_str())
            .collect();
        assert_eq!(types.first(), Some(&"ExecutionStarted"));
        assert_eq!(types.last(), Some(&"ExecutionSucceeded"));
        assert!(types.contains(&"LambdaFunctionSucceeded"), "{types:?}");
    }
    assert!(run.map_runs.child(&children[0].execution.arn).is_some());
}

#[tokio::test(start_paused = true)]
async fn a_label_is_generated_and_express_children_are_marked() {
    let mut definition = distributed(json!({}));
    definition["States"]["Each"]["ItemProcessor"]["ProcessorConfig"]["ExecutionType"] =
        json!("EXPRESS");
    let run = run(definition, json!({"items": [1]}), check()).await;
    let map_run = &run.map_runs.of_execution(&common::execution().arn)[0];
    let label = (map_run.state_machine_arn)
        .strip_prefix("arn:aws:states:us-east-1:123456789012:stateMachine:test/")
        .unwrap();
    assert!(uuid::Uuid::parse_str(label).is_ok(), "{label}");
    assert!(map_run.children()[0].express);
}

/// `ItemBatcher`: `MaxItemsPerBatch`, `MaxInputBytesPerBatch` and `BatchInput`; the counts of
/// items and of child executions differ.
#[tokio::test(start_paused = true)]
async fn items_run_in_batches() {
    let definition = distributed(json!({"ItemBatcher": {"MaxItemsPerBatch": 2,
        "BatchInput": {"tag.$": "$.tag"}}}));
    let batched = run(
        definition,
        json!({"items": ["a", "b", "c", "d", "e"], "tag": "t"}),
        check(),
    )
    .await;
    let inputs: Vec<Value> = (batched.map_runs.of_execution(&common::execution().arn)[0]
        .children())
    .iter()
    .map(|c| c.input.clone())
    .collect();
    assert_eq!(
        inputs,
        [
            json!({"BatchInput": {"tag": "t"}, "Items": ["a", "b"]}),
            json!({"BatchInput": {"tag": "t"}, "Items": ["c", "d"]}),
            json!({"BatchInput": {"tag": "t"}, "Items": ["e"]}),
        ]
    );
    // Each child's output, in order.
    assert_eq!(batched.output().as_array().unwrap().len(), 3);
    assert_eq!(batched.output()[2], inputs[2]);
    let map_run = &batched.map_runs.of_execution(&common::execution().arn)[0];
    assert_eq!(map_run.item_counts().total, 5);
    assert_eq!(map_run.execution_counts().total, 3);

    // `{"Items":[]}` is 12 bytes, each `"xxxx"` and its comma 7: 26 bytes hold two.
    let by_size = distributed(json!({"ItemBatcher": {"MaxInputBytesPerBatchPath": "$.bytes"}}));
    let run = run(
        by_size,
        json!({"items": ["aaaa", "bbbb", "cccc"], "bytes": 26}),
        check(),
    )
    .await;
    let sizes: Vec<usize> = (run.map_runs.of_execution(&common::execution().arn)[0].children())
        .iter()
        .map(|c| c.items)
        .collect();
    assert_eq!(sizes, [2, 1]);
}

/// Failed items within `ToleratedFailure…` leave their error in the output; one more fails
/// the Map Run with `States.ExceedToleratedFailureThreshold`.
#[tokio::test(start_paused = true)]
async fn tolerated_failures_at_the_threshold_and_past_it() {
    let items = json!({"items": [1, 2, 3, 4], "tolerate": 2});
    // Two of four items fail: 50 % is tolerated, as are 2 (from the input).
    for tolerance in [
        json!({"ToleratedFailurePercentage": 50}),
        json!({"ToleratedFailureCountPath": "$.tolerate"}),
    ] {
        let run = run(distributed(tolerance.clone()), items.clone(), check()).await;
        let output = run.output();
        assert_eq!(
            (&output[0], &output[2]),
            (&json!(2), &json!(6)),
            "{tolerance}"
        );
        assert_eq!(output[1]["Error"], "Even");
        let map_run = &run.map_runs.of_execution(&common::execution().arn)[0];
        assert_eq!(map_run.status(), RunStatus::Succeeded);
        assert_eq!(
            (
                map_run.item_counts().succeeded,
                map_run.item_counts().failed
            ),
            (2, 2)
        );
    }
    for tolerance in [
        json!({"ToleratedFailurePercentage": 49.9}),
        json!({"ToleratedFailureCount": 1}),
        json!({}),
    ] {
        let run = run(distributed(tolerance.clone()), items.clone(), check()).await;
        assert_eq!(
            run.error().error,
            "States.ExceedToleratedFailureThreshold",
            "{tolerance}"
        );
        assert!(run.types().contains(&"MapRunFailed"), "{:?}", run.types());
        let map_run = &run.map_runs.of_execution(&common::execution().arn)[0];
        assert_eq!(map_run.status(), RunStatus::Failed);
        assert!(map_run.stop_date().is_some());
    }
    // One at a time, nothing tolerated: the run stops at the first failure; the items after it
    // never start (aborted).
    let run = run(
        distributed(json!({"MaxConcurrency": 1})),
        items.clone(),
        check(),
    )
    .await;
    let counts = run.map_runs.of_execution(&common::execution().arn)[0].item_counts();
    assert_eq!(
        counts,
        Counts {
            succeeded: 1,
            failed: 1,
            aborted: 2,
            total: 4,
            ..Counts::default()
        }
    );
    assert_eq!(run.functions.calls().len(), 2);
}

/// What Distributed mode refuses, each problem at its location.
#[test]
fn distributed_settings_are_validated() {
    let problem = |definition: Value| {
        let error = StateMachine::from_value(&definition).unwrap_err();
        (error.0[0].message.clone(), error.0[0].location.clone())
    };
    let (message, location) = problem(distributed(
        json!({"ItemReader": {"Resource": "arn:aws:states:::s3:getObject"}}),
    ));
    assert!(
        message.contains("State 'Each'") && message.contains("ItemReader"),
        "{message}"
    );
    assert_eq!(location, "/States/Each/ItemReader");
    let (message, _) = problem(distributed(json!({"ResultWriter": {}})));
    assert!(message.contains("ResultWriter"), "{message}");
    let (message, location) = problem(distributed(json!({"ItemBatcher": {}})));
    assert!(message.contains("MaxItemsPerBatch"), "{message}");
    assert_eq!(location, "/States/Each/ItemBatcher");
    let mut no_type = distributed(json!({}));
    no_type["States"]["Each"]["ItemProcessor"]["ProcessorConfig"] = json!({"Mode": "DISTRIBUTED"});
    assert_eq!(
        problem(no_type).1,
        "/States/Each/ItemProcessor/ProcessorConfig/ExecutionType"
    );
    let mut inline = distributed(json!({"ItemBatcher": {"MaxItemsPerBatch": 2}}));
    inline["States"]["Each"]["ItemProcessor"]["ProcessorConfig"] = json!({"Mode": "INLINE"});
    assert_eq!(problem(inline).1, "/States/Each/ItemBatcher");
    let (_, location) = problem(distributed(json!({"Label": "no spaces"})));
    assert_eq!(location, "/States/Each/Label");
    let (message, _) = problem(distributed(json!({"ToleratedFailureCount": 1,
        "ToleratedFailureCountPath": "$.n"})));
    assert!(message.contains("cannot both be given"), "{message}");
}

/// Each child execution keeps its history in memory: one Map Run starts at most 10,000 of them
/// (a States.Runtime error past that); batches keep a long item list within it.
#[tokio::test(start_paused = true)]
async fn child_executions_per_map_run_are_capped() {
    let items = json!({"items": vec![1; 10_001]});
    let unbatched = run(distributed(json!({})), items.clone(), check()).await;
    assert_eq!(unbatched.error().error, "States.Runtime");
    assert!(
        unbatched.error().cause.contains("ItemBatcher"),
        "{}",
        unbatched.error().cause
    );
    let batched = run(
        distributed(json!({"ItemBatcher": {"MaxItemsPerBatch": 100}})),
        items,
        check(),
    )
    .await;
    assert_eq!(batched.output().as_array().unwrap().len(), 101);
}

/// `MaxConcurrency` bounds how many child executions run at once: each waits one virtual
/// second, so four items take four seconds one at a time, two at two at once, one with no bound.
#[tokio::test(start_paused = true)]
async fn max_concurrency_bounds_the_children_running_at_once() {
    for (limit, seconds) in [(1, 4.0), (2, 2.0), (0, 1.0)] {
        let mut definition = distributed(json!({ "MaxConcurrency": limit }));
        definition["States"]["Each"]["ItemProcessor"]["States"] =
            json!({"Check": {"Type": "Wait", "Seconds": 1, "End": true}});
        let run = run(definition, json!({"items": [1, 2, 3, 4]}), check()).await;
        assert_eq!(run.output(), &json!([1, 2, 3, 4]));
        assert_eq!(
            run.times_of("MapStateExited"),
            [seconds],
            "MaxConcurrency {limit}"
        );
    }
}
