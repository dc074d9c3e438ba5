#[derive(Debug)]
struct Oops;

#[lambkin::handler]
async fn handle(_event: serde_json::Value) -> Result<(), Oops> {
    Err(Oops)
}
