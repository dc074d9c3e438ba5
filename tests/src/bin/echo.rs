//! Fixture: answers with the event it received.

#[lambkin::handler]
async fn echo(event: serde_json::Value) -> Result<serde_json::Value, lambkin::Error> {
    Ok(event)
}
