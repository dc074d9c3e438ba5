//! Fixture: an API Gateway function (payload 1.0 or 2.0) told by its query string what to do.
//!
//! `sleep_ms=N` sleeps first; then `touch=PATH` writes the Lambda request id to PATH (so a test
//! sees that the function ran to its end); `fail=1` returns an error; `binary=1` answers five
//! bytes, base64-encoded, as `image/png`; otherwise it answers 200 with a JSON body holding its
//! Lambda request id (`lambdaRequestId`) and the event it received.

use std::time::Duration;

use serde_json::{Value, json};

#[lambkin::handler]
async fn probe(event: Value, ctx: lambkin::Context) -> Result<Value, lambkin::Error> {
    let query = &event["queryStringParameters"];
    let param = |key: &str| query[key].as_str();
    if let Some(ms) = param("sleep_ms").and_then(|ms| ms.parse().ok()) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if let Some(path) = param("touch") {
        std::fs::write(path, &ctx.request_id)?;
    }
    if param("fail").is_some() {
        return Err(lambkin::Error::new("Probe.Failed", "failed as asked"));
    }
    if param("binary").is_some() {
        return Ok(json!({
            "statusCode": 200,
            "headers": { "content-type": "image/png" },
            // The bytes 00 9F 92 96 FF.
            "body": "AJ+Slv8=",
            "isBase64Encoded": true,
        }));
    }
    let body = json!({ "lambdaRequestId": ctx.request_id, "event": event });
    Ok(json!({
        "statusCode": 200,
        "headers": { "content-type": "application/json" },
        "body": body.to_string(),
    }))
}
