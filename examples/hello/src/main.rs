//! Run with: cargo run -p example-hello
//!
//! The smallest function: raw JSON in, JSON out. Then
//! `curl -d '{"name":"Ada"}' localhost:9000/2015-03-31/functions/hello/invocations`.

use lambkin::{Context, Error};
use serde_json::{Value, json};

/// Greets `event.name` (or the world) and says which request it answered.
#[lambkin::handler]
async fn hello(event: Value, ctx: Context) -> Result<Value, Error> {
    let name = event.get("name").and_then(Value::as_str).unwrap_or("world");
    lambkin::tracing::info!(%name, "greeting");
    Ok(json!({ "message": format!("Hello, {name}!"), "requestId": ctx.request_id }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn greets_by_name() {
        let out = lambkin::testing::invoke(hello, json!({"name": "Ada"}))
            .await
            .unwrap();
        assert_eq!(out["message"], "Hello, Ada!");
        assert!(out["requestId"].as_str().is_some_and(|id| !id.is_empty()));
    }

    #[tokio::test]
    async fn greets_the_world_by_default() {
        let out = lambkin::testing::invoke(hello, json!({})).await.unwrap();
        assert_eq!(out["message"], "Hello, world!");
    }
}
