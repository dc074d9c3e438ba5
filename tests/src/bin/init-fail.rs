//! Fixture: a function whose cold-start `init` fails.

async fn setup() -> Result<(), lambkin::Error> {
    Err(lambkin::Error::new(
        "ConfigError",
        "DATABASE_URL is not set",
    ))
}

#[lambkin::handler(init = setup)]
async fn handle(
    _state: &(),
    event: serde_json::Value,
) -> Result<serde_json::Value, lambkin::Error> {
    Ok(event)
}
