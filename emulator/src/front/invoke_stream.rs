//! Lambda's InvokeWithResponseStream (`POST /2021-11-15/functions/{name}/response-streaming-invocations`):
//! the answer as the function writes it, in the `application/vnd.amazon.eventstream` framing
//! (<https://docs.aws.amazon.com/lambda/latest/api/API_InvokeWithResponseStream.html>).
//!
//! The request is the Invoke API's (the same qualifier, payload and headers; `X-Amz-Invocation-Type`
//! is `RequestResponse` or `DryRun`). Errors before the stream starts (no such function,
//! throttling, a bad payload) are the Invoke API's JSON errors; after that the answer is `200`
//! and a stream of events: a `PayloadChunk` per piece the function writes, then one
//! `InvokeComplete` with `ErrorCode` and `ErrorDetails` if the function failed (the `errorType`
//! and `errorMessage` of its error, mid-stream ones included) and `LogResult` (the log's end,
//! base64) if `X-Amz-Log-Type: Tail` asked for it. A function that answers whole is delivered
//! the same way, as AWS does: its answer in one `PayloadChunk`, then `InvokeComplete`.
//!
//! The stream's bytes pass through unchanged: a metadata prelude a function writes (as
//! `lambda_http`'s streaming responses do) reaches the caller with its 8 NUL bytes.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue as EventHeader, Message};
use axum::body::{Body, HttpBody};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header::CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::{Bytes, BytesMut};
use hyper::body::Frame;
use serde_json::{Value, json};
use tracing::Instrument;

use super::aws_error::{AwsError, Region, with_request_id};
use super::invoke::{Call, InvocationType};
use super::streamed::{self, Next, Pieces, Start};
use crate::instance::{InvokeResult, Outcome};
use crate::registry::Registry;
use crate::runtime_api::{PRELUDE_END, Piece};

/// The invocation types InvokeWithResponseStream takes, in the order of AWS's validation
/// message.
const TYPES: [InvocationType; 2] = [InvocationType::RequestResponse, InvocationType::DryRun];

/// `POST /2021-11-15/functions/{name}/response-streaming-invocations`.
pub(super) async fn invoke(
    State(registry): State<Arc<Registry>>,
    State(region): State<Region>,
    name: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AwsError> {
    let call = Call::read(
        &registry,
        &region,
        name,
        query.as_deref(),
        &headers,
        body,
        &TYPES,
    )
    .await?;
    let request_id = call.invocation.request_id.clone();
    if call.asked.kind == InvocationType::DryRun {
        return Ok(with_request_id(
            StatusCode::NO_CONTENT.into_response(),
            &request_id,
        ));
    }
    let span = tracing::info_span!("invoke_stream", %request_id);
    let version = call.function.config().version.clone();
    let tail = call.asked.tail;
    let body = match streamed::start(call.function, call.invocation)
        .instrument(span)
        .await
    {
        Start::Ended(result) => Body::from(ending(&result?, tail)),
        Start::Streaming(first, pieces) => Body::new(Events {
            first: Some(first),
            pieces,
            tail,
        }),
    };
    let mut response = (
        StatusCode::OK,
        [(CONTENT_TYPE, "application/vnd.amazon.eventstream")],
        body,
    )
        .into_response();
    if let Ok(version) = HeaderValue::from_str(&version) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-amz-executed-version"), version);
    }
    Ok(with_request_id(response, &request_id))
}

/// The streamed body: a `PayloadChunk` per piece, then the `InvokeComplete` event.
struct Events {
    /// The piece taken before the body was made.
    first: Option<Piece>,
    pieces: Pieces,
    /// Whether `InvokeComplete` carries the log's end.
    tail: bool,
}

impl HttpBody for Events {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let next = match this.first.take() {
            Some(piece) => Next::Piece(piece),
            None => match std::task::ready!(this.pieces.poll_next(cx)) {
                Some(next) => next,
                None => return Poll::Ready(None),
            },
        };
        let bytes = match next {
            Next::Piece(Piece::Prelude(json)) => {
                let mut raw = BytesMut::from(&json[..]);
                raw.extend_from_slice(&PRELUDE_END);
                payload_chunk(raw.freeze())
            }
            Next::Piece(Piece::Chunk(chunk)) => payload_chunk(chunk),
            Next::End(Some(result)) => ending(&result, this.tail),
            // The invocation's task failed (a bug, logged where it happened).
            Next::End(None) => complete(
                Some((
                    "ServiceException",
                    "The emulator failed to run the invocation",
                )),
                None,
            ),
        };
        Poll::Ready(Some(Ok(Frame::data(bytes))))
    }
}

/// The events that end an invocation's stream: the answer of a function that answered whole
/// (a streamed answer has already been passed on, and is empty here), then `InvokeComplete`.
fn ending(result: &InvokeResult, tail: bool) -> Bytes {
    let mut events = BytesMut::new();
    let log = tail.then(|| BASE64.encode(&result.log_tail));
    match &result.outcome {
        Outcome::Success(body) => {
            if !body.is_empty() {
                events.extend_from_slice(&payload_chunk(body.clone()));
            }
            events.extend_from_slice(&complete(None, log.as_deref()));
        }
        Outcome::Unhandled(error) => {
            let error: Value = serde_json::from_slice(error).unwrap_or(Value::Null);
            let code = error["errorType"].as_str().unwrap_or("Unhandled");
            let details = error["errorMessage"].as_str().unwrap_or_default();
            events.extend_from_slice(&complete(Some((code, details)), log.as_deref()));
        }
    }
    events.freeze()
}

/// A `PayloadChunk` event carrying `payload`.
fn payload_chunk(payload: Bytes) -> Bytes {
    event("PayloadChunk", "application/octet-stream", payload)
}

/// The `InvokeComplete` event: the error's code and details if the function failed, the log's
/// end if asked for.
fn complete(error: Option<(&str, &str)>, log: Option<&str>) -> Bytes {
    let mut fields = serde_json::Map::new();
    if let Some((code, details)) = error {
        fields.insert("ErrorCode".to_owned(), json!(code));
        fields.insert("ErrorDetails".to_owned(), json!(details));
    }
    if let Some(log) = log {
        fields.insert("LogResult".to_owned(), json!(log));
    }
    event(
        "InvokeComplete",
        "application/json",
        Bytes::from(Value::Object(fields).to_string()),
    )
}

/// One event-stream message of type `kind`.
fn event(kind: &'static str, content_type: &'static str, payload: Bytes) -> Bytes {
    let message = Message::new_from_parts(
        vec![
            Header::new(":event-type", EventHeader::String(kind.into())),
            Header::new(":content-type", EventHeader::String(content_type.into())),
            Header::new(":message-type", EventHeader::String("event".into())),
        ],
        payload,
    );
    let mut frame = Vec::with_capacity(message.payload().len() + 128);
    // Only a payload over 4 GiB fails to frame; a stream is cut at 200 MB long before.
    if let Err(error) = write_message_to(&message, &mut frame) {
        tracing::error!(%error, "cannot frame an event");
    }
    Bytes::from(frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::read_message_from;

    fn header<'a>(message: &'a Message, name: &str) -> &'a str {
        message
            .headers()
            .iter()
            .find(|h| h.name().as_str() == name)
            .and_then(|h| h.value().as_string().ok())
            .map_or("", |s| s.as_str())
    }

    #[test]
    fn a_whole_error_answer_is_one_invoke_complete() {
        let result = InvokeResult {
            outcome: Outcome::Unhandled(Bytes::from_static(
                br#"{"errorType":"Boom","errorMessage":"went off"}"#,
            )),
            log_tail: "the end".to_owned(),
            report: None,
        };
        let mut bytes = ending(&result, true);
        let message = read_message_from(&mut bytes).unwrap();
        assert!(bytes.is_empty());
        assert_eq!(header(&message, ":event-type"), "InvokeComplete");
        assert_eq!(header(&message, ":message-type"), "event");
        let body: Value = serde_json::from_slice(message.payload()).unwrap();
        assert_eq!(
            body,
            json!({"ErrorCode": "Boom", "ErrorDetails": "went off", "LogResult": BASE64.encode("the end")})
        );
    }

    #[test]
    fn a_whole_answer_is_a_chunk_then_invoke_complete() {
        let result = InvokeResult {
            outcome: Outcome::Success(Bytes::from_static(b"\"hi\"")),
            log_tail: String::new(),
            report: None,
        };
        let mut bytes = ending(&result, false);
        let chunk = read_message_from(&mut bytes).unwrap();
        assert_eq!(header(&chunk, ":event-type"), "PayloadChunk");
        assert_eq!(header(&chunk, ":content-type"), "application/octet-stream");
        assert_eq!(chunk.payload().as_ref(), b"\"hi\"");
        let done = read_message_from(&mut bytes).unwrap();
        assert_eq!(header(&done, ":event-type"), "InvokeComplete");
        assert_eq!(done.payload().as_ref(), b"{}");
    }
}
