//! Streamed answers: a runtime posting `/response` with `Lambda-Runtime-Function-Response-Mode:
//! streaming` and a chunked body, as AWS documents for custom runtimes
//! (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-custom.html#runtimes-custom-response-streaming>).
//!
//! The stream may be larger than a buffered answer: up to [`MAX_STREAMED_RESPONSE_BYTES`]
//! (<https://docs.aws.amazon.com/lambda/latest/dg/configuration-response-streaming.html>:
//! "response streaming functions can return payloads up to 200 MB, compared to the 6 MB maximum
//! for buffered responses"; the limit was a 20 MB soft limit until July 2025). An error after
//! the stream has started comes as HTTP trailers: `Lambda-Runtime-Function-Error-Type` and
//! `Lambda-Runtime-Function-Error-Body` (the error body, base64-encoded).
//!
//! An invocation whose caller takes the answer as it comes (a function URL with `InvokeMode:
//! RESPONSE_STREAM`) carries a [`Tap`]: the stream's pieces go to it as they arrive, the
//! metadata prelude of an HTTP integration response (JSON, then 8 NUL bytes, as `lambda_http`
//! and `lambda_runtime`'s `StreamResponse` write it) split off first.

use axum::body::Body;
use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use tokio::sync::mpsc;

use super::{Answer, error_document};

/// Largest streamed response a runtime may post, in bytes (AWS's 200 MB).
pub const MAX_STREAMED_RESPONSE_BYTES: usize = 200 * 1024 * 1024;

/// The header that makes a `/response` a stream.
const MODE_HEADER: &str = "lambda-runtime-function-response-mode";
/// The trailer naming a mid-stream error's type.
const ERROR_TYPE_TRAILER: &str = "lambda-runtime-function-error-type";
/// The trailer carrying a mid-stream error's body, base64-encoded.
const ERROR_BODY_TRAILER: &str = "lambda-runtime-function-error-body";

/// Whether a `/response` with these headers is a stream.
pub(super) fn is_streaming(headers: &HeaderMap) -> bool {
    headers
        .get(MODE_HEADER)
        .is_some_and(|mode| mode.as_bytes().eq_ignore_ascii_case(b"streaming"))
}

/// The `Content-Type` of a stream that starts with a metadata prelude.
const HTTP_INTEGRATION: &str = "application/vnd.awslambda.http-integration-response";
/// What ends the metadata prelude.
pub(crate) const PRELUDE_END: [u8; 8] = [0; 8];
/// The most bytes held back while looking for the prelude's end: a stream with no end in them has
/// no prelude, and what was held back is body.
const MAX_PRELUDE_BYTES: usize = 64 * 1024;

/// A piece of a streamed answer, passed on as it arrives.
#[derive(Debug)]
pub(crate) enum Piece {
    /// The metadata prelude's JSON (`statusCode`, `headers`, `cookies`), first, if the stream
    /// has one.
    Prelude(Bytes),
    /// Bytes of the body.
    Chunk(Bytes),
}

/// Where an invocation's streamed answer goes as it arrives.
pub(crate) type Tap = mpsc::Sender<Piece>;

/// Whether a stream with these headers starts with a metadata prelude.
pub(super) fn has_prelude(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(HTTP_INTEGRATION.as_bytes()))
}

/// How a streamed body ended, when it did not end well.
#[derive(Debug)]
pub(super) enum StreamFailure {
    /// Past the limit (the number, in bytes): the stream is cut there.
    TooLarge(usize),
    /// The connection broke or the body was malformed.
    Broken,
}

/// Reads a streamed answer to its end: its bytes go to `tap` as they arrive, up to
/// [`MAX_STREAMED_RESPONSE_BYTES`], or, without one (a buffered caller: Invoke, an API Gateway
/// route, a `BUFFERED` function URL), are kept whole for the answer, up to a buffered answer's
/// [`MAX_RESPONSE_BYTES`](super::MAX_RESPONSE_BYTES) (AWS: a `BUFFERED` URL's "maximum payload
/// size is 6 MB", <https://docs.aws.amazon.com/lambda/latest/dg/config-rs-invoke-furls.html>).
/// Answers the function's mid-stream error from the trailers if it sent one.
pub(super) async fn read(
    mut body: Body,
    prelude: bool,
    mut tap: Option<Tap>,
) -> Result<Answer, StreamFailure> {
    let mut data = BytesMut::new();
    let mut seen = 0usize;
    let limit = if tap.is_some() {
        MAX_STREAMED_RESPONSE_BYTES
    } else {
        super::MAX_RESPONSE_BYTES
    };
    let mut splitter = Splitter {
        head: prelude.then(BytesMut::new),
    };
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| StreamFailure::Broken)?;
        let frame = match frame.into_data() {
            Ok(chunk) => {
                seen = seen.saturating_add(chunk.len());
                if seen > limit {
                    return Err(StreamFailure::TooLarge(limit));
                }
                // A caller that went away does not stop the function (AWS: "streamed responses
                // are not interrupted or stopped when the invoking client connection is
                // broken"): the rest is read and dropped.
                if let Some(to) = &tap {
                    if splitter.pass(to, chunk).await.is_err() {
                        tap = None;
                    }
                } else {
                    data.extend_from_slice(&chunk);
                }
                continue;
            }
            Err(frame) => frame,
        };
        if let Ok(trailers) = frame.into_trailers()
            && let Some(error) = trailer_error(&trailers)
        {
            return Ok(Answer::Error(error));
        }
    }
    if let (Some(to), Some(head)) = (&tap, splitter.head.take())
        && !head.is_empty()
    {
        // No prelude end came: what was held back is body.
        let _ = to.send(Piece::Chunk(head.freeze())).await;
    }
    Ok(Answer::Response(data.freeze()))
}

/// Splits the metadata prelude off the start of a stream.
struct Splitter {
    /// The bytes held back while looking for the prelude's end; `None` once it was found (or
    /// for a stream without one).
    head: Option<BytesMut>,
}

impl Splitter {
    /// Passes `chunk` on to `tap`, the prelude first; fails if the tap's receiver is gone.
    async fn pass(&mut self, tap: &Tap, chunk: Bytes) -> Result<(), ()> {
        let chunk = match &mut self.head {
            None => chunk,
            Some(head) => {
                // Only the new bytes (and the 7 before them, where an end may begin) are searched.
                let from = head.len().saturating_sub(PRELUDE_END.len() - 1);
                head.extend_from_slice(&chunk);
                let found = head[from..]
                    .windows(PRELUDE_END.len())
                    .position(|w| w == PRELUDE_END);
                let Some(at) = found.map(|at| from + at) else {
                    if head.len() > MAX_PRELUDE_BYTES {
                        let body = self.head.take().unwrap_or_default();
                        return tap.send(Piece::Chunk(body.freeze())).await.map_err(|_| ());
                    }
                    return Ok(());
                };
                let mut json = self.head.take().unwrap_or_default();
                let rest = json.split_off(at + PRELUDE_END.len());
                json.truncate(at);
                tap.send(Piece::Prelude(json.freeze()))
                    .await
                    .map_err(|_| ())?;
                rest.freeze()
            }
        };
        if chunk.is_empty() {
            return Ok(());
        }
        tap.send(Piece::Chunk(chunk)).await.map_err(|_| ())
    }
}

/// The error JSON a runtime reported in its trailers, if it reported one.
fn trailer_error(trailers: &HeaderMap) -> Option<Bytes> {
    trailers.get(ERROR_TYPE_TRAILER)?;
    let body = trailers
        .get(ERROR_BODY_TRAILER)
        .map(|value| {
            // A body that is not base64 is passed on as it was sent.
            BASE64
                .decode(value.as_bytes())
                .unwrap_or_else(|_| value.as_bytes().to_vec())
        })
        .unwrap_or_default();
    Some(error_document(
        trailers,
        Bytes::from(body),
        "Runtime.StreamError",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use hyper::body::Frame;

    fn body(frames: Vec<Frame<Bytes>>) -> Body {
        crate::body::frames(frames)
    }

    #[tokio::test]
    async fn chunks_are_joined() {
        let frames = vec![
            Frame::data(Bytes::from_static(b"ab")),
            Frame::data(Bytes::from_static(b"cd")),
        ];
        let answer = read(body(frames), false, None).await.unwrap();
        assert!(matches!(answer, Answer::Response(b) if b == "abcd"));
    }

    #[tokio::test]
    async fn trailers_report_an_error() {
        let mut trailers = HeaderMap::new();
        trailers.insert(ERROR_TYPE_TRAILER, HeaderValue::from_static("Fixture.Mid"));
        let encoded = BASE64.encode("went wrong");
        trailers.insert(ERROR_BODY_TRAILER, HeaderValue::from_str(&encoded).unwrap());
        let frames = vec![
            Frame::data(Bytes::from_static(b"partial")),
            Frame::trailers(trailers),
        ];
        let Answer::Error(error) = read(body(frames), false, None).await.unwrap() else {
            panic!("not an error");
        };
        let error: serde_json::Value = serde_json::from_slice(&error).unwrap();
        assert_eq!(error["errorType"], "Fixture.Mid");
        assert_eq!(error["errorMessage"], "went wrong");
    }

    #[tokio::test]
    async fn the_limits_cut_the_stream() {
        let chunk = Bytes::from(vec![b'x'; 1024 * 1024]);
        // A buffered caller: a buffered answer's 6 MB.
        let frames = (0..7).map(|_| Frame::data(chunk.clone())).collect();
        assert!(matches!(
            read(body(frames), false, None).await,
            Err(StreamFailure::TooLarge(super::super::MAX_RESPONSE_BYTES))
        ));
        // A caller reading as it comes: 200 MB.
        let (tap, mut taken) = mpsc::channel(4);
        let drain = tokio::spawn(async move { while taken.recv().await.is_some() {} });
        let frames = (0..201).map(|_| Frame::data(chunk.clone())).collect();
        assert!(matches!(
            read(body(frames), false, Some(tap)).await,
            Err(StreamFailure::TooLarge(MAX_STREAMED_RESPONSE_BYTES))
        ));
        drain.await.unwrap();
    }

    #[tokio::test]
    async fn a_stream_without_a_prelude_end_is_body_past_the_prelude_limit() {
        let (tap, mut taken) = mpsc::channel(8);
        let chunk = Bytes::from(vec![b'x'; 16 * 1024]);
        let frames = (0..6).map(|_| Frame::data(chunk.clone())).collect();
        let reading = tokio::spawn(read(body(frames), true, Some(tap)));
        // The first piece comes once the held-back bytes pass the limit, not at the end.
        let Some(Piece::Chunk(first)) = taken.recv().await else {
            panic!("not a chunk");
        };
        assert_eq!(first.len(), 5 * 16 * 1024);
        let Some(Piece::Chunk(rest)) = taken.recv().await else {
            panic!("not a chunk");
        };
        assert_eq!(rest.len(), 16 * 1024);
        assert!(reading.await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn a_tap_gets_the_prelude_then_the_chunks() {
        let frames = vec![
            Frame::data(Bytes::from_static(b"{\"statusCode\":201}\0\0\0")),
            Frame::data(Bytes::from_static(b"\0\0\0\0\0first")),
            Frame::data(Bytes::from_static(b"second")),
        ];
        let (tap, mut taken) = mpsc::channel(8);
        let answer = read(body(frames), true, Some(tap)).await.unwrap();
        assert!(matches!(answer, Answer::Response(b) if b.is_empty()));
        let mut pieces = Vec::new();
        while let Some(piece) = taken.recv().await {
            pieces.push(format!("{piece:?}"));
        }
        assert_eq!(
            pieces,
            [
                r#"Prelude(b"{\"statusCode\":201}")"#,
                r#"Chunk(b"first")"#,
                r#"Chunk(b"second")"#
            ]
        );
    }

    #[test]
    fn the_mode_header() {
        let mut headers = HeaderMap::new();
        assert!(!is_streaming(&headers));
        headers.insert(MODE_HEADER, HeaderValue::from_static("streaming"));
        assert!(is_streaming(&headers));
    }
}
