//! Validation at load, as ValidateStateMachineDefinition reports: each problem with its code
//! and the location of the field at fault.

use lambkin_workflow::StateMachine;
use lambkin_workflow::definition::Kind;
use serde_json::{Value, json};

/// The diagnostics of a definition, as `CODE at /location`.
fn problems(definition: Value) -> Vec<String> {
    match StateMachine::from_value(&definition) {
        Ok(_) => Vec::new(),
        Err(invalid) => invalid
            .0
            .iter()
            .map(|d| format!("{} at {}", d.code, d.location))
            .collect(),
    }
}

#[test]
fn a_valid_definition_reads_into_states() {
    let machine = StateMachine::from_json(
        r#"{"Comment": "ok", "StartAt": "A", "TimeoutSeconds": 30, "States": {
            "A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "TimeoutSeconds": 3, "Next": "B"},
            "B": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "C"}], "Default": "D"},
            "C": {"Type": "Succeed"},
            "D": {"Type": "Fail", "Error": "E", "Cause": "c"}
        }}"#,
    )
    .unwrap();
    assert_eq!(machine.start_at, "A");
    assert_eq!(machine.timeout_seconds, Some(30));
    assert!(matches!(machine.states["A"].kind, Kind::Task(_)));
    assert_eq!(machine.states["A"].next.as_deref(), Some("B"));
}

#[test]
fn unknown_targets() {
    let definition = json!({"StartAt": "Nope", "States": {"A": {"Type": "Pass", "Next": "Missing", "Catch": []}}});
    let found = problems(definition);
    assert!(
        found.contains(&"MISSING_TRANSITION_TARGET at /StartAt".to_owned()),
        "{found:?}"
    );
    let definition = json!({"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "f", "Next": "Missing", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Gone"}]},
        "B": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": true, "Next": "Nowhere"}]}
    }});
    let found = problems(definition);
    assert!(
        found.contains(&"MISSING_TRANSITION_TARGET at /States/A/Next".to_owned()),
        "{found:?}"
    );
    assert!(
        found.contains(&"MISSING_TRANSITION_TARGET at /States/A/Catch/0/Next".to_owned()),
        "{found:?}"
    );
    assert!(
        found.contains(&"UNREACHABLE_STATE at /States/B".to_owned()),
        "{found:?}"
    );
}

#[test]
fn unreachable_states() {
    let definition = json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "Orphan": {"Type": "Pass", "End": true}}});
    assert_eq!(
        problems(definition),
        ["UNREACHABLE_STATE at /States/Orphan"]
    );
}

#[test]
fn next_or_end() {
    let both = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B", "End": true}, "B": {"Type": "Succeed"}}});
    assert_eq!(problems(both), ["SCHEMA_VALIDATION_FAILED at /States/A"]);
    let neither = json!({"StartAt": "A", "States": {"A": {"Type": "Pass"}}});
    assert!(problems(neither).contains(&"SCHEMA_VALIDATION_FAILED at /States/A".to_owned()));
    let terminal_with_next =
        json!({"StartAt": "A", "States": {"A": {"Type": "Succeed", "Next": "A"}}});
    assert_eq!(
        problems(terminal_with_next),
        ["SCHEMA_VALIDATION_FAILED at /States/A/Next"]
    );
}

#[test]
fn no_terminal_state() {
    let definition = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}});
    assert_eq!(problems(definition), ["NO_TERMINAL_STATE at /States"]);
}

#[test]
fn bad_paths() {
    let definition = json!({"StartAt": "A", "States": {"A": {"Type": "Pass",
        "InputPath": "nope", "ResultPath": "$.a[*]", "OutputPath": "$.[", "Parameters": {"x.$": "$$$"}, "End": true}}});
    assert_eq!(
        problems(definition),
        [
            "SCHEMA_VALIDATION_FAILED at /States/A/Parameters/x.$",
            "SCHEMA_VALIDATION_FAILED at /States/A/InputPath",
            "SCHEMA_VALIDATION_FAILED at /States/A/OutputPath",
            "SCHEMA_VALIDATION_FAILED at /States/A/ResultPath",
        ]
    );
}

#[test]
fn bad_fields_and_types() {
    let definition = json!({"StartAt": "A", "States": {
        "A": {"Type": "Magic", "End": true},
        "B": {"Type": "Pass", "Resource": "x", "End": true},
        "C": {"Type": "Wait", "End": true},
        "D": {"Type": "Task", "Resource": "f", "TimeoutSeconds": 0, "End": true}
    }});
    let found = problems(definition);
    for expected in [
        "SCHEMA_VALIDATION_FAILED at /States/A/Type",
        "SCHEMA_VALIDATION_FAILED at /States/B/Resource",
        "SCHEMA_VALIDATION_FAILED at /States/C",
        "SCHEMA_VALIDATION_FAILED at /States/D/TimeoutSeconds",
    ] {
        assert!(
            found.contains(&expected.to_owned()),
            "{expected} not in {found:?}"
        );
    }
}

#[test]
fn retry_and_catch_rules() {
    let definition = json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "f", "End": true,
        "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"], "BackoffRate": 0.5, "JitterStrategy": "SOME"}],
        "Catch": [{"ErrorEquals": []}]}}});
    let found = problems(definition);
    for expected in [
        "SCHEMA_VALIDATION_FAILED at /States/A/Retry/0/ErrorEquals",
        "SCHEMA_VALIDATION_FAILED at /States/A/Retry/1/BackoffRate",
        "SCHEMA_VALIDATION_FAILED at /States/A/Retry/1/JitterStrategy",
        "SCHEMA_VALIDATION_FAILED at /States/A/Catch/0/ErrorEquals",
    ] {
        assert!(
            found.contains(&expected.to_owned()),
            "{expected} not in {found:?}"
        );
    }
}

/// Problems inside a Parallel branch or a Map's processor carry the whole path.
#[test]
fn nested_locations() {
    let definition = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Next": "M", "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "Outside"}}}]},
        "M": {"Type": "Map", "End": true, "ItemProcessor": {"StartAt": "Y", "States": {"Y": {"Type": "Choice", "Choices": [
            {"Variable": "$.a", "NumericEquals": "one", "Next": "Y"}]}}}}
    }});
    let found = problems(definition);
    assert!(
        found.contains(
            &"MISSING_TRANSITION_TARGET at /States/P/Branches/0/States/X/Next".to_owned()
        ),
        "{found:?}"
    );
    assert!(
        found.contains(
            &"SCHEMA_VALIDATION_FAILED at /States/M/ItemProcessor/States/Y/Choices/0/NumericEquals"
                .to_owned()
        ),
        "{found:?}"
    );
}

/// JSONata and variables are refused with a message naming the state.
#[test]
fn jsonata_is_not_supported() {
    let definition = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "Output": "{% $states.input %}", "End": true}}});
    let invalid = StateMachine::from_value(&definition).unwrap_err();
    let text = invalid.to_string();
    assert!(
        text.contains("UNSUPPORTED_FEATURE: JSONata is not supported"),
        "{text}"
    );
    assert!(
        text.contains("State 'A': JSONata ('Output') is not supported by lambkin"),
        "{text}"
    );
    assert!(text.contains("at /States/A/Output"), "{text}");
}

#[test]
fn not_json() {
    let invalid = StateMachine::from_json("{").unwrap_err();
    assert_eq!(invalid.0[0].code, "INVALID_JSON_DESCRIPTION");
}

#[test]
fn task_functions_are_listed_with_their_locations() {
    let machine = StateMachine::from_value(&json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Next": "M", "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:a", "End": true}}}
        ]},
        "M": {"Type": "Map", "Next": "I", "ItemProcessor": {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": "b", "End": true}}}},
        "I": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "c"}, "End": true}
    }}))
    .unwrap();
    assert_eq!(
        machine.task_functions(),
        [
            ("/States/M/ItemProcessor/States/B/Resource".to_owned(), "b"),
            (
                "/States/P/Branches/0/States/A/Resource".to_owned(),
                "arn:aws:lambda:us-east-1:123456789012:function:a"
            ),
        ]
    );
}
