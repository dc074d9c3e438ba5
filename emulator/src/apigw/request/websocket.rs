//! What a WebSocket API's `$connect` event takes from the upgrade request: the headers (with
//! the `X-Forwarded-*` and trace headers API Gateway adds), the query string and the caller, in
//! the shapes of a REST (1.0) event, which the WebSocket events share.

use std::net::SocketAddr;
use std::time::SystemTime;

use bytes::Bytes;
use http::Request;
use serde_json::{Map, Value, json};

use super::encode::{group_query, last_values, query_pairs, short_request_id, title_case};
use super::parts::Parts;

/// The upgrade request as a WebSocket API's events carry it.
#[derive(Debug, Clone)]
pub(crate) struct Handshake {
    /// `headers`, `multiValueHeaders`, `queryStringParameters` and
    /// `multiValueQueryStringParameters` (the last two only when there is a query string).
    pub(crate) fields: Map<String, Value>,
    /// The caller's address (`requestContext.identity.sourceIp`).
    pub(crate) source_ip: String,
    /// Its `User-Agent`, if it sent one.
    pub(crate) user_agent: Option<String>,
    /// The `Host` it asked for (with the port), the `domainName` the events carry.
    pub(crate) host: String,
    /// The X-Ray trace header of the connection.
    pub(crate) trace_id: String,
}

/// What the `$connect` event takes from `request`, received from `peer`.
pub(crate) fn handshake(request: &Request<Bytes>, peer: SocketAddr, now: SystemTime) -> Handshake {
    let parts = Parts::new(request, peer, now);
    // `headers` holds the last value of a repeated header, `multiValueHeaders` all of them,
    // named in title case as REST events name them (see `v1`).
    let mut headers = Map::new();
    let mut multi = Map::new();
    for (name, values) in parts.grouped_headers() {
        let name = title_case(name.as_str());
        if let Some(last) = values.last() {
            headers.insert(name.clone(), json!(last));
        }
        multi.insert(name, json!(values));
    }
    let mut fields = Map::new();
    fields.insert("headers".to_owned(), Value::Object(headers));
    fields.insert("multiValueHeaders".to_owned(), Value::Object(multi));
    let query = group_query(&query_pairs(&parts.raw_query, true));
    if !query.is_empty() {
        fields.insert(
            "queryStringParameters".to_owned(),
            json!(last_values(&query)),
        );
        fields.insert("multiValueQueryStringParameters".to_owned(), json!(query));
    }
    Handshake {
        fields,
        source_ip: parts.source_ip.clone(),
        user_agent: parts.user_agent.clone(),
        host: parts.host.clone().unwrap_or_else(|| "localhost".to_owned()),
        trace_id: parts.trace_id.clone(),
    }
}

/// A new id in the form of API Gateway's WebSocket ids (`connectionId`, `messageId`,
/// `requestId`): 16 characters of URL-safe base64, as in `Vn2w3cmAIAMCFAw=`.
pub(crate) fn new_id() -> String {
    short_request_id()
}
