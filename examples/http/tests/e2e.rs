//! The real binary, started as `cargo run -p example-http` starts it, answering over HTTP.

use lambkin_tests::LocalFunction;

#[tokio::test]
async fn answers_v2_and_alb_events_through_lambda_http() {
    let function = LocalFunction::start(env!("CARGO_BIN_EXE_http")).await;
    let v2: serde_json::Value = lambkin::testing::fixture("example-apigw-v2-request-no-authorizer");
    let answer = function.invoke(&v2).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["statusCode"], 200);
    assert_eq!(answer.body["body"], "Hello, world!");
    let alb: serde_json::Value =
        lambkin::testing::fixture("example-alb-lambda-target-request-headers-only");
    let answer = function.invoke(&alb).await;
    assert_eq!(answer.body["statusCode"], 200, "{answer:?}");
}
