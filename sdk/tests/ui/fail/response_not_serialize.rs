struct Receipt;

#[lambkin::handler]
async fn handle(_event: serde_json::Value) -> Result<Receipt, lambkin::Error> {
    Ok(Receipt)
}
