//! Function binaries as Lambda runs them: child processes of the emulator, each polling its
//! own Runtime API with the official `lambda_runtime` client.

use lambkin_emulator::FunctionConfig;
use lambkin_tests::{Emulated, LocalFunction};
use serde_json::{Value, json};

fn function(name: &str, binary: &str) -> FunctionConfig {
    FunctionConfig::new(name, binary)
}

#[tokio::test]
async fn a_handler_answers_through_the_runtime_api() {
    let emulator = Emulated::start([function("echo", env!("CARGO_BIN_EXE_echo"))]).await;
    let answer = emulator.invoke("echo", &json!({"a": [1, 2]})).await;
    assert_eq!(
        (answer.status, &answer.body),
        (200, &json!({"a": [1, 2]})),
        "{answer:?}"
    );
    emulator.stop().await;
}

#[tokio::test]
async fn a_panic_is_an_error_response_and_the_instance_keeps_serving() {
    let emulator = Emulated::start([function("counter", env!("CARGO_BIN_EXE_counter"))]).await;
    assert_eq!(emulator.invoke("counter", &json!({})).await.body, json!(1));
    let answer = emulator.invoke("counter", &json!({"panic": true})).await;
    assert_eq!(answer.function_error(), Some("Unhandled"));
    assert_eq!(
        answer.body["errorType"],
        lambkin::PANIC_ERROR_TYPE,
        "{answer:?}"
    );
    assert_eq!(answer.body["errorMessage"], "panic number 2");
    // The same process (its count went on) served the next event.
    assert_eq!(emulator.invoke("counter", &json!({})).await.body, json!(3));
    emulator.stop().await;
}

#[tokio::test]
async fn a_failed_init_fails_the_invocation_with_the_init_error() {
    let emulator = Emulated::start([function("init-fail", env!("CARGO_BIN_EXE_init-fail"))]).await;
    for _ in 0..2 {
        // Each attempt is a fresh cold start that fails the same way.
        let answer = emulator.invoke("init-fail", &json!({})).await;
        assert_eq!(answer.function_error(), Some("Unhandled"));
        assert_eq!(answer.body["errorType"], "ConfigError", "{answer:?}");
        assert_eq!(answer.body["errorMessage"], "DATABASE_URL is not set");
    }
    emulator.stop().await;
}

#[tokio::test]
async fn json_logs_carry_the_request_id() {
    let mut function = LocalFunction::start_with(
        env!("CARGO_BIN_EXE_counter"),
        &[("AWS_LAMBDA_LOG_FORMAT", "JSON")],
    )
    .await;
    let answer = function.invoke(&json!({})).await;
    assert_eq!(answer.body, json!(1));
    let line = function
        .wait_for_line(|l| l.contains("counted"))
        .await
        .expect("a log line");
    let record: Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    assert_eq!(record["level"], "INFO");
    assert_eq!(record["n"], 1);
    let request_id = record["span"]["requestId"]
        .as_str()
        .expect("requestId in the span");
    assert!(!request_id.is_empty());
}

#[tokio::test]
async fn text_logs_carry_the_request_id_and_honour_the_level() {
    let mut function = LocalFunction::start_with(
        env!("CARGO_BIN_EXE_counter"),
        &[("AWS_LAMBDA_LOG_LEVEL", "WARN")],
    )
    .await;
    function.invoke(&json!({})).await;
    function.invoke(&json!({"panic": true})).await;
    // INFO is filtered out at WARN; the panic (ERROR) is logged inside the invocation's span.
    let line = function
        .wait_for_line(|l| l.contains("counted") || l.contains("panicked"))
        .await
        .expect("a log line");
    assert!(
        line.contains("panicked: panic number 2") && line.contains("requestId="),
        "{line}"
    );
}
