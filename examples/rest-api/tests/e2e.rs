//! The real binary, started as `cargo run -p example-rest-api` starts it, answering over HTTP.

use lambkin_tests::LocalFunction;
use serde_json::json;

#[tokio::test]
async fn answers_a_rest_api_event() {
    let function = LocalFunction::start(env!("CARGO_BIN_EXE_rest-api")).await;
    let event: serde_json::Value = lambkin::testing::fixture("example-apigw-request");
    let answer = function.invoke(&event).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let body: serde_json::Value =
        serde_json::from_str(answer.body["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["path"], "/hello/world");
    assert_eq!(body["name"], json!(["me"]));
}
