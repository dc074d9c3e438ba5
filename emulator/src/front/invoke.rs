//! Lambda's Invoke API (`POST /2015-03-31/functions/{name}/invocations`): synchronous
//! (`RequestResponse`), asynchronous (`Event`) and `DryRun` invocations, answered as Lambda
//! answers them.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header::CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use tracing::Instrument;

use super::aws_error::{AwsError, Region, header, with_request_id};
use crate::body::{BodyError, read_limited};
use crate::events::Events;
use crate::instance::{Invocation, Outcome, Trigger, new_trace_id};
use crate::pool::Function;
use crate::registry::{FunctionKey, Registry};

/// Largest synchronous (`RequestResponse`, `DryRun`) request body.
pub const MAX_REQUEST_BYTES: usize = 6_291_456;

/// Largest asynchronous (`Event`) request body.
pub const MAX_EVENT_BYTES: usize = 1_048_576;

/// The kinds of `X-Amz-Invocation-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum InvocationType {
    RequestResponse,
    Event,
    DryRun,
}

impl InvocationType {
    /// The kinds the Invoke API takes, in the order of AWS's validation message.
    const INVOKE: [InvocationType; 3] = [
        InvocationType::Event,
        InvocationType::RequestResponse,
        InvocationType::DryRun,
    ];

    fn name(self) -> &'static str {
        match self {
            InvocationType::RequestResponse => "RequestResponse",
            InvocationType::Event => "Event",
            InvocationType::DryRun => "DryRun",
        }
    }

    /// The kind a header names (none: `RequestResponse`), if the operation takes it.
    fn parse(value: Option<&str>, allowed: &[InvocationType]) -> Result<Self, AwsError> {
        let value = value.unwrap_or("RequestResponse");
        allowed
            .iter()
            .copied()
            .find(|kind| kind.name() == value)
            .ok_or_else(|| {
                let names: Vec<_> = allowed.iter().map(|kind| kind.name()).collect();
                AwsError::invalid_parameter(format!(
                    "1 validation error detected: Value '{value}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                    names.join(", ")
                ))
            })
    }
}

/// What the caller asks for in the headers of an Invoke call.
#[derive(Debug)]
pub(super) struct Asked {
    pub(super) kind: InvocationType,
    /// `X-Amz-Log-Type: Tail`: the end of the log in `X-Amz-Log-Result`.
    pub(super) tail: bool,
    /// The decoded `X-Amz-Client-Context`.
    client_context: Option<String>,
    /// `X-Amzn-Trace-Id`, or a new one.
    trace_id: String,
}

impl Asked {
    /// Reads the headers, refusing values Lambda refuses (invocation types not in `allowed`).
    fn parse(headers: &HeaderMap, allowed: &[InvocationType]) -> Result<Asked, AwsError> {
        let kind = InvocationType::parse(header(headers, "x-amz-invocation-type")?, allowed)?;
        let tail = match header(headers, "x-amz-log-type")? {
            None | Some("None") => false,
            Some("Tail") => true,
            Some(other) => {
                return Err(AwsError::invalid_parameter(format!(
                    "1 validation error detected: Value '{other}' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [None, Tail]"
                )));
            }
        };
        let client_context = header(headers, "x-amz-client-context")?
            .map(decode_client_context)
            .transpose()?;
        let trace_id = header(headers, "x-amzn-trace-id")?.map_or_else(new_trace_id, str::to_owned);
        Ok(Asked {
            kind,
            tail,
            client_context,
            trace_id,
        })
    }
}

/// A call of the Invoke API (or InvokeWithResponseStream) read and checked: the function, what
/// the caller asks and the invocation to run.
#[derive(Debug)]
pub(super) struct Call {
    pub(super) key: FunctionKey,
    pub(super) function: Arc<Function>,
    pub(super) asked: Asked,
    pub(super) invocation: Invocation,
}

impl Call {
    /// Finds the function, reads what the caller asks (of the invocation types `allowed`) and
    /// the payload.
    pub(super) async fn read(
        registry: &Registry,
        region: &Region,
        name: Result<Path<String>, PathRejection>,
        query: Option<&str>,
        headers: &HeaderMap,
        body: Body,
        allowed: &[InvocationType],
    ) -> Result<Call, AwsError> {
        let Path(name) = name.map_err(|e| AwsError::invalid_parameter(e.body_text()))?;
        let (key, function) = resolve(registry, region, &name, query)?;
        let asked = Asked::parse(headers, allowed)?;
        let payload = read_payload(body, asked.kind).await?;
        let invocation = Invocation {
            request_id: crate::ids::uuid().to_string(),
            payload,
            trace_id: asked.trace_id.clone(),
            client_context: asked.client_context.clone(),
            cognito_identity: None,
            stream: None,
            trigger: Trigger::Invoke {
                asynchronous: asked.kind == InvocationType::Event,
            },
        };
        Ok(Call {
            key,
            function,
            asked,
            invocation,
        })
    }
}

/// `POST /2015-03-31/functions/{name}/invocations`: finds the function, reads what the caller
/// asks and the payload, then runs, queues or only checks the invocation.
pub(super) async fn invoke(
    State(registry): State<Arc<Registry>>,
    State(region): State<Region>,
    State(events): State<Arc<Events>>,
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
        &InvocationType::INVOKE,
    )
    .await?;
    let request_id = call.invocation.request_id.clone();
    // Debug-level, as the instance's own invocation span: an enabled span costs microseconds
    // on every invocation, and the function's lines are logged under the instance's span.
    let span = tracing::debug_span!("invoke", %request_id);
    async move {
        let response = match call.asked.kind {
            InvocationType::DryRun => StatusCode::NO_CONTENT.into_response(),
            InvocationType::Event => {
                events.enqueue(call.key, call.invocation).await?;
                StatusCode::ACCEPTED.into_response()
            }
            InvocationType::RequestResponse => {
                run(&call.function, call.invocation, call.asked.tail).await?
            }
        };
        Ok(with_request_id(response, &request_id))
    }
    .instrument(span)
    .await
}

/// The request body as the payload of a `kind` invocation, within its operation's limit.
async fn read_payload(body: Body, kind: InvocationType) -> Result<Bytes, AwsError> {
    let (limit, operation) = match kind {
        InvocationType::Event => (MAX_EVENT_BYTES, "InvokeAsync"),
        _ => (MAX_REQUEST_BYTES, "InvokeFunction"),
    };
    match read_limited(body, limit).await {
        Ok(payload) => json_payload(payload),
        Err(BodyError::TooLarge) => Err(AwsError::too_large(limit, operation)),
        Err(BodyError::TimedOut) => Err(AwsError::request_timeout()),
        Err(BodyError::Failed) => Err(AwsError::invalid_request_content(
            "Could not read the request body".to_owned(),
        )),
    }
}

/// Runs a `RequestResponse` invocation: the function's answer, with `X-Amz-Function-Error` for
/// an unhandled error and the log's end if `tail`.
async fn run(
    function: &Function,
    invocation: Invocation,
    tail: bool,
) -> Result<Response, AwsError> {
    let version = function.config().version.clone();
    let result = function.invoke(invocation, false).await?;
    let (body, unhandled) = match result.outcome {
        Outcome::Success(body) => (body, false),
        Outcome::Unhandled(body) => (body, true),
    };
    let mut response = (
        StatusCode::OK,
        [
            (CONTENT_TYPE, "application/json"),
            (
                HeaderName::from_static("x-amz-executed-version"),
                version.as_str(),
            ),
        ],
        body,
    )
        .into_response();
    let headers = response.headers_mut();
    if unhandled {
        headers.insert(
            "x-amz-function-error",
            HeaderValue::from_static("Unhandled"),
        );
    }
    if tail {
        if let Ok(value) = HeaderValue::from_str(&BASE64.encode(result.log_tail)) {
            headers.insert("x-amz-log-result", value);
        }
    }
    Ok(response)
}

/// The payload Lambda runs with: `{}` for an empty body, else the body if it is JSON.
///
/// The whole body must be UTF-8: serde_json does not check the contents of strings it skips.
fn json_payload(payload: Bytes) -> Result<Bytes, AwsError> {
    if payload.iter().all(u8::is_ascii_whitespace) {
        // Lambda invokes with `{}` when the caller sends no payload.
        return Ok(Bytes::from_static(b"{}"));
    }
    let invalid = |error: &dyn std::fmt::Display| {
        AwsError::invalid_request_content(format!(
            "Could not parse request body into json: Could not parse payload into json: {error}"
        ))
    };
    let text = std::str::from_utf8(&payload)
        .map_err(|error| invalid(&format_args!("Invalid UTF-8: {error}")))?;
    serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|error| invalid(&error))?;
    Ok(payload)
}

/// The function a (possibly qualified, possibly ARN) name refers to, and its registry key.
fn resolve(
    registry: &Registry,
    region: &Region,
    name: &str,
    query: Option<&str>,
) -> Result<(FunctionKey, Arc<Function>), AwsError> {
    let (bare, qualifier) = crate::registry::split_name(name);
    let query_qualifier = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("Qualifier="))
        .map(|q| q.replace("%24", "$"));
    let qualifier = qualifier.map(str::to_owned).or(query_qualifier);
    let key = FunctionKey::new(bare, qualifier.as_deref());
    let function = registry
        .get(&key)
        .ok_or_else(|| AwsError::function_not_found(region, bare, qualifier.as_deref()))?;
    Ok((key, function))
}

/// `X-Amz-Client-Context` is base64 JSON; the Runtime API passes on the JSON itself.
fn decode_client_context(encoded: &str) -> Result<String, AwsError> {
    let invalid = || {
        AwsError::invalid_request_content(
            "Client context must be a valid Base64-encoded JSON object.".to_owned(),
        )
    };
    let decoded = BASE64.decode(encoded.trim()).map_err(|_| invalid())?;
    let text = String::from_utf8(decoded).map_err(|_| invalid())?;
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(_)) => Ok(text),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_context_must_be_base64_json() {
        let encoded = BASE64.encode(r#"{"custom":{"a":"b"}}"#);
        assert_eq!(
            decode_client_context(&encoded).unwrap(),
            r#"{"custom":{"a":"b"}}"#
        );
        assert!(decode_client_context("%%%").is_err());
        assert!(decode_client_context(&BASE64.encode("[1]")).is_err());
    }

    #[test]
    fn trace_ids_look_like_xray() {
        let id = new_trace_id();
        assert!(id.starts_with("Root=1-"), "{id}");
        assert!(id.ends_with(";Sampled=0"), "{id}");
    }

    #[test]
    fn payloads_must_be_utf8_json() {
        assert_eq!(json_payload(Bytes::from_static(b" \n")).unwrap(), "{}");
        assert_eq!(json_payload(Bytes::from_static(b"[1]")).unwrap(), "[1]");
        for bad in [&b"{\"a\":\"\xff\"}"[..], b"{", b"\"\xed\xa0\x80\""] {
            let error = json_payload(Bytes::copy_from_slice(bad)).unwrap_err();
            assert_eq!(error.error_type(), "InvalidRequestContentException");
            assert!(
                error
                    .message()
                    .starts_with("Could not parse request body into json: ")
            );
        }
    }
}
