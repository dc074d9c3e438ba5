//! Fixture: answers an API Gateway or ALB event with the event itself as a JSON body, so tests
//! see exactly what the function received.

#[lambkin::handler]
async fn echo_http(event: serde_json::Value) -> Result<serde_json::Value, lambkin::Error> {
    Ok(serde_json::json!({
        "statusCode": 200,
        "headers": { "content-type": "application/json" },
        "body": event.to_string(),
    }))
}
