//! The SDK's process-level contract: a bad environment and a failed init end the process with a
//! clear message and a non-zero status, never a panic.

use lambkin_tests::{LocalFunction, run_to_exit};

const LAMBDA_ENV: [(&str, &str); 4] = [
    ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9"),
    ("AWS_LAMBDA_FUNCTION_NAME", "echo"),
    ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
    ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
];

#[tokio::test]
async fn a_missing_lambda_variable_is_a_clear_error() {
    let (status, output) = run_to_exit(env!("CARGO_BIN_EXE_echo"), &LAMBDA_ENV[..2]).await;
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(
        output.contains("missing AWS_LAMBDA_FUNCTION_VERSION, AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
        "{output}"
    );
    assert!(!output.contains("panicked"), "{output}");
}

#[tokio::test]
async fn an_invalid_lambda_variable_is_a_clear_error() {
    let mut env = LAMBDA_ENV;
    env[3].1 = "big";
    let (status, output) = run_to_exit(env!("CARGO_BIN_EXE_echo"), &env).await;
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(
        output.contains(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE must be a positive number of MB, got \"big\""
        ),
        "{output}"
    );
    assert!(!output.contains("panicked"), "{output}");
}

#[tokio::test]
async fn an_unreachable_runtime_api_ends_the_process_cleanly() {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    let (status, output) = run_to_exit(env!("CARGO_BIN_EXE_echo"), &LAMBDA_ENV).await;
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(output.contains("lambkin: Lambda runtime error"), "{output}");
    assert!(!output.contains("panicked"), "{output}");
}

#[tokio::test]
async fn a_failed_init_is_reported_and_the_process_exits_non_zero() {
    let mut function = LocalFunction::start(env!("CARGO_BIN_EXE_init-fail")).await;
    let line = function.wait_for_line(|l| l.contains("init failed")).await;
    assert!(
        line.is_some_and(|l| l.contains("ConfigError") && l.contains("DATABASE_URL is not set"))
    );
    assert_eq!(function.exit_status().await.code(), Some(1));
}

#[tokio::test]
async fn a_streaming_http_handler_streams_in_local_mode() {
    let function = LocalFunction::start(env!("CARGO_BIN_EXE_stream-http")).await;
    let event: serde_json::Value =
        lambkin::testing::fixture("example-apigw-v2-request-no-authorizer");
    // The buffered Invoke API gets the stream as the function wrote it: lambda_http's metadata
    // prelude (status and headers), its 8 NUL bytes, then the body's pieces.
    let answer = function.invoke(&event).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.function_error(), None, "{answer:?}");
    let text = answer.body.as_str().expect("not a JSON answer");
    let (prelude, body) = text.split_once("\0\0\0\0\0\0\0\0").expect("a prelude");
    let prelude: serde_json::Value = serde_json::from_str(prelude).unwrap();
    assert_eq!(prelude["statusCode"], 201, "{prelude}");
    assert_eq!(prelude["headers"]["x-streamed"], "yes", "{prelude}");
    assert_eq!(body, "first\nsecond\n");
}
