//! The real binary, started as `cargo run -p example-state` starts it, answering over HTTP.

use lambkin_tests::LocalFunction;
use serde_json::json;

#[tokio::test]
async fn init_runs_once_and_state_survives_invocations() {
    let function = LocalFunction::start(env!("CARGO_BIN_EXE_state")).await;
    let mut started = None;
    for expected in 1..=3 {
        let answer = function.invoke(&json!({})).await;
        assert_eq!(answer.body["invocation"], expected, "{answer:?}");
        let this = answer.body["instanceStartedMs"].clone();
        assert_eq!(
            started.get_or_insert_with(|| this.clone()),
            &this,
            "one cold start only"
        );
    }
}
