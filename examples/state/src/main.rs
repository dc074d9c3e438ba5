//! Run with: cargo run -p example-state
//!
//! `init` runs once per cold start (here: a counter and the time it started); every
//! invocation of the same instance shares it. Invoke twice and watch `invocation` grow.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use lambkin::Error;
use serde_json::{Value, json};

/// What survives between invocations of one instance.
struct State {
    invocations: AtomicU64,
    started_ms: u128,
}

/// Built once, before the first event (a database pool or an SDK client would go here).
async fn setup() -> Result<State, Error> {
    let started_ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    Ok(State {
        invocations: AtomicU64::new(0),
        started_ms,
    })
}

/// Counts the invocations this instance has served.
#[lambkin::handler(init = setup)]
async fn count(state: &State, _event: Value) -> Result<Value, Error> {
    let invocation = state.invocations.fetch_add(1, Ordering::Relaxed) + 1;
    Ok(json!({ "invocation": invocation, "instanceStartedMs": state.started_ms.to_string() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn state_is_shared_across_invocations() {
        let state = setup().await.unwrap();
        for expected in 1..=3 {
            let out = lambkin::testing::invoke(|e| count(&state, e), json!({}))
                .await
                .unwrap();
            assert_eq!(out["invocation"], expected);
        }
    }
}
