//! The real binary, started as `cargo run -p example-http-api` starts it, answering over HTTP.

use lambkin_tests::LocalFunction;
use serde_json::json;

#[tokio::test]
async fn answers_a_typed_http_api_event() {
    let function = LocalFunction::start(env!("CARGO_BIN_EXE_http-api")).await;
    let mut event: serde_json::Value =
        lambkin::testing::fixture("example-apigw-v2-request-no-authorizer");
    event["pathParameters"] = json!({"id": "7"});
    let answer = function.invoke(&event).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["statusCode"], 200);
    let user: serde_json::Value =
        serde_json::from_str(answer.body["body"].as_str().unwrap()).unwrap();
    assert_eq!(user["name"], "user-7");
}
