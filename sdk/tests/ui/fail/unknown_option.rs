#[lambkin::handler(workers = 4)]
async fn handle(_event: serde_json::Value) -> Result<(), lambkin::Error> {
    Ok(())
}
