//! The baseline: hello as the `lambda_runtime` README writes it (`#[tokio::main]`, the
//! multi-thread runtime, its default tracing subscriber), answering the same JSON as
//! `sdk-hello`. An HTTP event (API Gateway, a function URL: it has a `requestContext`) gets the
//! same JSON as an HTTP response's body, which every emulator turns into HTTP. The response
//! spells out `isBase64Encoded` and `cookies`, which AWS lets a function leave out: cargo-lambda's
//! function URL answers 500 without them.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(hello)).await
}

async fn hello(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let name = event
        .payload
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("world");
    let hello = json!({ "message": format!("Hello, {name}!") });
    if event.payload.get("requestContext").is_none() {
        return Ok(hello);
    }
    Ok(json!({
        "statusCode": 200,
        "headers": { "content-type": "application/json" },
        "body": hello.to_string(),
        "isBase64Encoded": false,
        "cookies": [],
    }))
}
