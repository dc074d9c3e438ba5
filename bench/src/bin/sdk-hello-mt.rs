//! `sdk-hello` on the multi-thread runtime, to isolate what the runtime flavor costs.

use serde_json::{Value, json};

#[lambkin::handler(flavor = "multi_thread")]
async fn hello(event: Value) -> Result<Value, lambkin::Error> {
    let name = event.get("name").and_then(Value::as_str).unwrap_or("world");
    Ok(json!({ "message": format!("Hello, {name}!") }))
}
