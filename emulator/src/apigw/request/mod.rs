//! HTTP request → the event API Gateway (or a function URL, or an ALB) sends to the function.
//!
//! Every event is built by filling the `aws_lambda_events` type of its format and serialising it;
//! the resulting JSON is then trimmed to the shape AWS really sends (fields AWS leaves `null` or
//! omits, keys the Rust type carries only for other event kinds). `parts` holds what every
//! format reads from the request; `v1`, `v2` and `alb` build the events of each format.

mod alb;
mod encode;
mod parts;
mod v1;
mod v2;
#[cfg(feature = "websocket")]
mod websocket;

use std::net::SocketAddr;
use std::time::SystemTime;

use bytes::Bytes;
use http::Request;
use serde_json::Value;

use super::route::{DEFAULT_STAGE, PayloadFormat, RouteMatch};
use parts::Parts;

pub use encode::accepts_binary;
#[cfg(feature = "websocket")]
pub(crate) use parts::clf_time;
#[cfg(feature = "websocket")]
pub(crate) use websocket::{Handshake, handshake, new_id};

/// The API id the emulator reports (`requestContext.apiId`), the one `sam local` uses too.
pub const API_ID: &str = "1234567890";

/// Why a request could not be turned into an event.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Serialising the event failed (not expected: every header and body is made valid first).
    #[error("could not serialise the event: {0}")]
    Serialize(#[from] serde_json::Error),
}

/// Gateway-wide settings that shape the event, beyond the request and the route (the stage and
/// its variables are the route's: [`Route::stage`](super::Route::stage)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventOptions {
    /// REST API `binaryMediaTypes` (`image/png`, `image/*`, `*/*`) of every REST route, on top
    /// of the route's own API's ([`Route::binary_media_types`](super::Route::binary_media_types)):
    /// request bodies of these content types are base64-encoded, and see [`accepts_binary`].
    pub binary_media_types: Vec<String>,
    /// The region in the ALB target group ARN.
    pub region: String,
    /// ALB only: the target group's `lambda.multi_value_headers.enabled` attribute.
    pub alb_multi_value_headers: bool,
}

impl Default for EventOptions {
    /// No binary media types, region `us-east-1`, ALB multi-value headers off.
    fn default() -> Self {
        Self {
            binary_media_types: Vec::new(),
            region: "us-east-1".to_owned(),
            alb_multi_value_headers: false,
        }
    }
}

/// An event ready to send, with the request id API Gateway gave the request.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedEvent {
    /// The event JSON.
    pub event: Value,
    /// `requestContext.requestId` (HTTP APIs return it as the `apigw-requestid` header).
    pub request_id: String,
    /// The X-Ray trace header of the request (`Root=1-…`): the client's `X-Amzn-Trace-Id`, or
    /// a new one, which the event's headers carry too (as API Gateway and ALBs add it).
    pub trace_id: String,
}

/// Builds the event for `request` from `peer`, routed to `matched`, in the route's format.
pub fn to_event(
    request: &Request<Bytes>,
    peer: SocketAddr,
    matched: &RouteMatch,
    options: &EventOptions,
) -> Result<MappedEvent, EventError> {
    to_event_at(request, peer, matched, options, SystemTime::now())
}

/// [`to_event`] in `format` rather than the route's own (an authorizer's event may be of
/// another payload format than its route's).
pub fn to_event_as(
    request: &Request<Bytes>,
    peer: SocketAddr,
    matched: &RouteMatch,
    options: &EventOptions,
    format: PayloadFormat,
) -> Result<MappedEvent, EventError> {
    let parts = Parts::new(request, peer, SystemTime::now());
    event_of(&parts, matched, options, format)
}

/// [`to_event`] at a given time (tests pin the clock).
pub(crate) fn to_event_at(
    request: &Request<Bytes>,
    peer: SocketAddr,
    matched: &RouteMatch,
    options: &EventOptions,
    now: SystemTime,
) -> Result<MappedEvent, EventError> {
    let parts = Parts::new(request, peer, now);
    event_of(&parts, matched, options, matched.route.format())
}

/// The event of `parts` in `format`.
fn event_of(
    parts: &Parts<'_>,
    matched: &RouteMatch,
    options: &EventOptions,
    format: PayloadFormat,
) -> Result<MappedEvent, EventError> {
    match format {
        PayloadFormat::Rest => v1::event(parts, matched, options, false),
        PayloadFormat::HttpV1 => v1::event(parts, matched, options, true),
        PayloadFormat::Http => v2::http_event(parts, matched),
        PayloadFormat::FunctionUrl => v2::function_url_event(parts),
        PayloadFormat::Alb => alb::event(parts, matched, options),
    }
}
