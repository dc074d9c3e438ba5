#[lambkin::handler]
async fn handle(&self, _event: serde_json::Value) -> Result<(), lambkin::Error> {
    Ok(())
}
