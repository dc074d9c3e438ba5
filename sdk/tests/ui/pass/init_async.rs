//! Accepted: state from an async, fallible init. The generated `main` sits in the module (compiled, type-checked);
//! the handler stays an ordinary fn the rest of the crate can call.

mod function {
    use std::sync::atomic::{AtomicU64, Ordering};

    pub struct State {
        pub count: AtomicU64,
    }

    pub async fn setup() -> Result<State, lambkin::Error> {
        Ok(State { count: AtomicU64::new(0) })
    }

    #[lambkin::handler(init = setup)]
    pub async fn handle(state: &State, _event: serde_json::Value, _ctx: lambkin::Context) -> Result<u64, lambkin::Error> {
        Ok(state.count.fetch_add(1, Ordering::Relaxed) + 1)
    }
}

fn main() {
    let _ = function::handle;
}
