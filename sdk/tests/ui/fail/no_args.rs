#[lambkin::handler]
async fn handle() -> Result<(), lambkin::Error> {
    Ok(())
}
