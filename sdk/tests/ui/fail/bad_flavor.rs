#[lambkin::handler(flavor = "single")]
async fn handle(_event: serde_json::Value) -> Result<(), lambkin::Error> {
    Ok(())
}
