#[lambkin::handler]
async fn handle(_event: serde_json::Value, _ctx: lambkin::Context, _extra: u8) -> Result<(), lambkin::Error> {
    Ok(())
}
