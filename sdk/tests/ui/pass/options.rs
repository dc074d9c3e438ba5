//! Accepted: every option. The generated `main` sits in the module (compiled, type-checked);
//! the handler stays an ordinary fn the rest of the crate can call.

mod function {
    #[lambkin::handler(flavor = "multi_thread", logging = false)]
    pub async fn handle(event: serde_json::Value) -> Result<serde_json::Value, lambkin::Error> {
        Ok(event)
    }
}

fn main() {
    let _ = function::handle;
}
