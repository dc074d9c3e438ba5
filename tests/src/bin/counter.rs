//! Fixture: counts the invocations its instance served; `{"panic": true}` panics instead.

use std::sync::atomic::{AtomicU64, Ordering};

fn setup() -> Result<AtomicU64, lambkin::Error> {
    Ok(AtomicU64::new(0))
}

#[lambkin::handler(init = setup)]
fn count(served: &AtomicU64, event: serde_json::Value) -> Result<u64, lambkin::Error> {
    let n = served.fetch_add(1, Ordering::Relaxed) + 1;
    lambkin::tracing::info!(n, "counted");
    if event["panic"] == true {
        panic!("panic number {n}");
    }
    Ok(n)
}
