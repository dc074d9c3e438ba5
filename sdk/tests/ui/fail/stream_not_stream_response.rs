#[lambkin::handler(stream)]
async fn handle(event: serde_json::Value) -> Result<serde_json::Value, lambkin::Error> {
    Ok(event)
}
