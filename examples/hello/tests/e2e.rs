//! The real binary, started as `cargo run -p example-hello` starts it, answering over HTTP.

use lambkin_tests::LocalFunction;
use serde_json::json;

#[tokio::test]
async fn serves_itself_on_cargo_run_and_stays_warm() {
    let function = LocalFunction::start(env!("CARGO_BIN_EXE_hello")).await;
    assert_eq!(function.name(), "hello");
    let first = function.invoke(&json!({"name": "Ada"})).await;
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.body["message"], "Hello, Ada!");
    let second = function.invoke(&json!({})).await;
    assert_eq!(second.body["message"], "Hello, world!");
    assert_ne!(
        first.body["requestId"], second.body["requestId"],
        "each invocation has its own request id"
    );
}
