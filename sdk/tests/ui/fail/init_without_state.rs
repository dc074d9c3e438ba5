fn setup() -> Result<u32, lambkin::Error> {
    Ok(7)
}

#[lambkin::handler(init = setup)]
async fn handle(_event: serde_json::Value) -> Result<(), lambkin::Error> {
    Ok(())
}
