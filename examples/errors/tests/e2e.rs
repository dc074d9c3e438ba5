//! The real binary, started as `cargo run -p example-errors` starts it, answering over HTTP.

use lambkin_tests::LocalFunction;
use serde_json::json;

#[tokio::test]
async fn errors_and_panics_are_lambda_error_responses_and_the_process_keeps_serving() {
    let function = LocalFunction::start(env!("CARGO_BIN_EXE_errors")).await;
    let answer = function.invoke(&json!({"quantity": "700"})).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.function_error(), Some("Unhandled"));
    assert_eq!(answer.body["errorType"], "OrderError", "{answer:?}");
    assert_eq!(
        answer.body["errorMessage"],
        "quantity must be between 1 and 100, got 700"
    );

    let answer = function.invoke(&json!({"quantity": "many"})).await;
    assert_eq!(answer.body["errorType"], "ParseIntError", "{answer:?}");

    let answer = function
        .invoke(&json!({"quantity": "1", "panic": true}))
        .await;
    assert_eq!(
        answer.body["errorType"],
        lambkin::PANIC_ERROR_TYPE,
        "{answer:?}"
    );
    assert_eq!(answer.body["errorMessage"], "asked to panic");

    let answer = function.invoke(&json!({"quantity": "5"})).await;
    assert_eq!(
        (answer.status, &answer.body),
        (200, &json!(5)),
        "the process survived the panic"
    );

    let answer = function.invoke(&json!({"wrong": "shape"})).await;
    assert_eq!(
        answer.body["errorType"], "Runtime.UnmarshalError",
        "{answer:?}"
    );
}
