//! Hello with `#[lambkin::handler]` and its defaults (current-thread runtime, logging on,
//! local mode compiled in), answering the same JSON as `plain-hello`.

use serde_json::{Value, json};

#[lambkin::handler]
async fn hello(event: Value) -> Result<Value, lambkin::Error> {
    let name = event.get("name").and_then(Value::as_str).unwrap_or("world");
    Ok(json!({ "message": format!("Hello, {name}!") }))
}
