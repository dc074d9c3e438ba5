#[lambkin::handler]
async fn handle(event: serde_json::Value) {
    drop(event);
}
