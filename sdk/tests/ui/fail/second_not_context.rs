#[lambkin::handler]
async fn handle(_event: serde_json::Value, name: String) -> Result<(), lambkin::Error> {
    Ok(())
}
