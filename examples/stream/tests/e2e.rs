//! The real binary, started as `cargo run -p example-stream` starts it (serving itself), read
//! through InvokeWithResponseStream by the AWS SDK for Rust.

use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvokeWithResponseStreamResponseEvent as Event, LogType};
use lambkin_tests::LocalFunction;

#[tokio::test]
async fn the_aws_sdk_reads_the_words_as_they_are_written() {
    let function = LocalFunction::start(env!("CARGO_BIN_EXE_stream")).await;
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(format!("http://{}", function.front()))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    let client = aws_sdk_lambda::Client::from_conf(config);
    let mut answer = client
        .invoke_with_response_stream()
        .function_name(function.name())
        .payload(Blob::new(r#"{"text":"one two three four"}"#))
        .log_type(LogType::Tail)
        .send()
        .await
        .expect("InvokeWithResponseStream");
    assert_eq!(answer.executed_version(), Some("$LATEST"));
    let mut chunks = Vec::new();
    let complete = loop {
        let event = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            answer.event_stream.recv(),
        )
        .await
        .expect("an event in time")
        .expect("a well-formed event")
        .expect("InvokeComplete before the end");
        match event {
            Event::PayloadChunk(chunk) => {
                chunks.push(chunk.payload().expect("a payload").as_ref().to_vec());
            }
            Event::InvokeComplete(complete) => break complete,
            other => panic!("unexpected event {other:?}"),
        }
    };
    assert_eq!(complete.error_code(), None, "{complete:?}");
    assert!(complete.log_result().is_some_and(|log| !log.is_empty()));
    let text: Vec<u8> = chunks.concat();
    let text = String::from_utf8_lossy(&text);
    // The metadata prelude, its 8 NUL bytes, then the words.
    assert!(text.contains("text/plain"), "{text:?}");
    assert!(
        text.ends_with("\0\0\0\0\0\0\0\0one\ntwo\nthree\nfour\n"),
        "{text:?}"
    );
    // A pause comes between words, so they arrive as separate chunks: a buffered answer would
    // have come as one.
    let words = chunks
        .iter()
        .filter(|c| c.ends_with(b"\n") && !c.contains(&0))
        .count();
    assert_eq!(words, 4, "{chunks:?}");
}
