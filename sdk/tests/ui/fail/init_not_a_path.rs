#[lambkin::handler(init = "setup")]
async fn handle(state: &u32, _event: serde_json::Value) -> Result<(), lambkin::Error> {
    Ok(())
}
