fn setup() -> Result<u32, lambkin::Error> {
    Ok(7)
}

#[lambkin::handler(init = setup)]
async fn handle(state: &mut u32, _event: serde_json::Value) -> Result<(), lambkin::Error> {
    Ok(())
}
