fn setup() -> u32 {
    7
}

#[lambkin::handler(init = setup)]
async fn handle(state: &u32, _event: serde_json::Value) -> Result<u32, lambkin::Error> {
    Ok(*state)
}
