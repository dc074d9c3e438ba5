//! Run with: cargo run -p example-stream
//!
//! Response streaming: the function writes a sentence word by word, a pause between words, and
//! the caller reads each word as it is written: through the function URL (`InvokeMode:
//! RESPONSE_STREAM`, set in Cargo.toml) or InvokeWithResponseStream. Try it:
//!
//! ```text
//! curl -N -d '{"text":"tokens arrive one by one"}' http://127.0.0.1:9000/2015-03-31/functions/stream/invocations
//! ```
//! (the buffered Invoke API waits for the whole answer; `lambkin watch` serves the function URL,
//! where `curl -N` shows each word as it comes).

use std::time::Duration;

use lambkin::stream::{Body, MetadataPrelude, StreamResponse, channel};
use serde_json::Value;

/// What is streamed when the event says nothing.
const SENTENCE: &str = "Lambda streams this answer to you one word at a time";

/// The pause between words.
const PAUSE: Duration = Duration::from_millis(100);

/// Streams the words of `text` (from the event, or from the body of a function URL request).
#[lambkin::handler]
async fn stream(event: Value) -> Result<StreamResponse<Body>, lambkin::Error> {
    let settings = match event.get("body").and_then(Value::as_str) {
        Some(body) => serde_json::from_str(body).unwrap_or(Value::Null),
        None => event,
    };
    let text = settings["text"].as_str().unwrap_or(SENTENCE).to_owned();
    let (mut tx, body) = channel();
    tokio::spawn(async move {
        for (i, word) in text.split_whitespace().enumerate() {
            if i > 0 {
                tokio::time::sleep(PAUSE).await;
            }
            if tx.send_data(format!("{word}\n").into()).await.is_err() {
                return; // the invocation is over
            }
        }
    });
    let mut prelude = MetadataPrelude::default();
    prelude
        .headers
        .insert("content-type", "text/plain; charset=utf-8".parse()?);
    Ok(StreamResponse {
        metadata_prelude: prelude,
        stream: body,
    })
}
