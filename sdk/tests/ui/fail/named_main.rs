#[lambkin::handler]
async fn main(_event: serde_json::Value) -> Result<(), lambkin::Error> {
    Ok(())
}
