#[lambkin::handler]
async fn handle<E: serde::de::DeserializeOwned>(_event: E) -> Result<(), lambkin::Error> {
    Ok(())
}
