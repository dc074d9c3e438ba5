//! The events a WebSocket API sends its functions, and what it makes of their answers.
//!
//! The shapes are AWS's
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-keys-connect-disconnect.html>,
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html>):
//! a `requestContext` with `routeKey`, `eventType` (`CONNECT`, `MESSAGE`, `DISCONNECT`),
//! `connectionId`, `connectedAt`, `requestTimeEpoch`, `stage`, `domainName`, `apiId`, … ;
//! `$connect` adds the upgrade request's headers and query string, a message its `body` (binary
//! frames base64, `isBase64Encoded: true`), `$disconnect` the close code and reason.

use std::time::SystemTime;

use base64::Engine;
use serde_json::{Map, Value, json};

use super::{Connection, WebSocketApi};
use crate::apigw::request::{clf_time, new_id};
use crate::clock::epoch_ms;

/// Which event, with what it alone carries.
#[derive(Debug)]
pub(crate) enum EventKind<'a> {
    /// `$connect`: the upgrade request's fields are the connection's.
    Connect,
    /// A message for the route `route_key`.
    Message {
        /// The route selected.
        route_key: &'a str,
        /// The message as received.
        data: &'a [u8],
        /// Whether it came in a binary frame.
        binary: bool,
    },
    /// `$disconnect`.
    Disconnect(&'a Disconnect),
}

/// How a connection ended: the close code and reason of the `$disconnect` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Disconnect {
    /// The WebSocket close code (1000 normal, 1001 going away, 1005 none given, 1006 dropped,
    /// 1009 too big).
    pub(crate) status: u16,
    /// The reason given with it.
    pub(crate) reason: String,
}

/// An event, the request id API Gateway gave it and its X-Ray trace header.
#[derive(Debug)]
pub(crate) struct Event {
    /// The event JSON.
    pub(crate) json: Value,
    /// `requestContext.requestId`.
    pub(crate) request_id: String,
    /// The trace header of the invocation: the upgrade request's for `$connect`, a new one for
    /// the other events.
    pub(crate) trace_id: String,
}

impl Event {
    /// The event `kind` of `connection` on `api`, at `now`.
    pub(crate) fn new(
        api: &WebSocketApi,
        connection: &Connection,
        kind: &EventKind<'_>,
        now: SystemTime,
    ) -> Event {
        let request_id = new_id();
        let (route_key, event_type) = match kind {
            EventKind::Connect => (super::CONNECT, "CONNECT"),
            EventKind::Message { route_key, .. } => (*route_key, "MESSAGE"),
            EventKind::Disconnect(_) => (super::DISCONNECT, "DISCONNECT"),
        };
        let mut identity = Map::new();
        identity.insert("sourceIp".to_owned(), json!(connection.source_ip));
        if let Some(agent) = &connection.user_agent {
            identity.insert("userAgent".to_owned(), json!(agent));
        }
        let mut context = json!({
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": request_id,
            "requestTime": clf_time(now),
            "messageDirection": "IN",
            "stage": api.stage(),
            "connectedAt": connection.connected_at_ms,
            "requestTimeEpoch": epoch_ms(now),
            "identity": identity,
            "requestId": request_id,
            "domainName": connection.domain_name,
            "connectionId": connection.id,
            "apiId": api.api_id(),
        });
        let mut event = Map::new();
        let trace_id = match kind {
            EventKind::Connect => connection.trace_id.clone(),
            _ => crate::ids::trace_root(now),
        };
        match kind {
            EventKind::Connect => {
                event.extend(connection.handshake.clone());
                event.insert("isBase64Encoded".to_owned(), json!(false));
            }
            EventKind::Message { data, binary, .. } => {
                context["messageId"] = json!(new_id());
                let body = match std::str::from_utf8(data) {
                    Ok(text) if !binary => text.to_owned(),
                    _ => base64::engine::general_purpose::STANDARD.encode(data),
                };
                let encoded = *binary || std::str::from_utf8(data).is_err();
                event.insert("body".to_owned(), json!(body));
                event.insert("isBase64Encoded".to_owned(), json!(encoded));
            }
            EventKind::Disconnect(how) => {
                context["disconnectStatusCode"] = json!(how.status);
                context["disconnectReason"] = json!(how.reason);
                event.insert("isBase64Encoded".to_owned(), json!(false));
            }
        }
        event.insert("requestContext".to_owned(), context);
        Event {
            json: Value::Object(event),
            request_id,
            trace_id,
        }
    }
}

/// A function's answer as a Lambda proxy integration reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProxyAnswer {
    /// `statusCode` (200 when the answer has none).
    pub(crate) status: u16,
    /// `body`, decoded if `isBase64Encoded`; `None` when there is none.
    pub(crate) body: Option<Vec<u8>>,
    /// Whether the body was base64 (it goes back in a binary frame).
    pub(crate) binary: bool,
    /// `headers["Sec-WebSocket-Protocol"]`: the subprotocol a `$connect` answer accepts.
    pub(crate) protocol: Option<String>,
}

/// Reads a function's answer: `{"statusCode", "body", "isBase64Encoded", "headers"}`; any
/// other JSON is a 200 whose body is the answer itself (a string's text, else the JSON).
pub(crate) fn proxy_answer(answer: &[u8]) -> ProxyAnswer {
    let value: Value = serde_json::from_slice(answer).unwrap_or(Value::Null);
    let status = value.get("statusCode").and_then(|code| {
        code.as_u64()
            .or_else(|| code.as_str().and_then(|s| s.parse().ok()))
    });
    let Some(status) = status else {
        let body = match value {
            Value::Null => None,
            Value::String(text) => Some(text.into_bytes()),
            other => Some(other.to_string().into_bytes()),
        };
        return ProxyAnswer {
            status: 200,
            body,
            binary: false,
            protocol: None,
        };
    };
    let binary = value
        .get("isBase64Encoded")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let body = value.get("body").and_then(Value::as_str).map(|text| {
        if binary {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap_or_default()
        } else {
            text.as_bytes().to_vec()
        }
    });
    let protocol = value
        .get("headers")
        .and_then(Value::as_object)
        .and_then(|headers| {
            headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("sec-websocket-protocol"))
                .and_then(|(_, v)| v.as_str().map(str::to_owned))
        });
    ProxyAnswer {
        status: u16::try_from(status).unwrap_or(500),
        body,
        binary,
        protocol,
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::{Duration, UNIX_EPOCH};

    use bytes::Bytes;

    use super::*;
    use crate::websocket::SelectionExpression;

    fn setup() -> (WebSocketApi, Connection) {
        let api = WebSocketApi::new("Chat", "dev", SelectionExpression::default()).unwrap();
        let request = http::Request::get("/dev?room=1&room=2")
            .header("host", "127.0.0.1:9000")
            .header("user-agent", "test-client")
            .header("sec-websocket-key", "abc")
            .body(Bytes::new())
            .unwrap();
        let peer = SocketAddr::from(([127, 0, 0, 1], 5555));
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let handshake = crate::apigw::request::handshake(&request, peer, at);
        (api, Connection::new(handshake, at))
    }

    #[test]
    fn events_carry_aws_request_context() {
        let (api, connection) = setup();
        let now = UNIX_EPOCH + Duration::from_millis(1_700_000_001_000);
        let connect = Event::new(&api, &connection, &EventKind::Connect, now);
        // The invocation carries the upgrade request's trace header.
        assert_eq!(
            connect.json["headers"]["X-Amzn-Trace-Id"],
            json!(connect.trace_id)
        );
        let connect = connect.json;
        let ctx = &connect["requestContext"];
        assert_eq!(ctx["routeKey"], "$connect");
        assert_eq!(ctx["eventType"], "CONNECT");
        assert_eq!(ctx["stage"], "dev");
        assert_eq!(ctx["connectedAt"], 1_700_000_000_123_u64);
        assert_eq!(ctx["requestTimeEpoch"], 1_700_000_001_000_u64);
        assert_eq!(ctx["requestTime"], "14/Nov/2023:22:13:21 +0000");
        assert_eq!(ctx["domainName"], "127.0.0.1:9000");
        assert_eq!(ctx["connectionId"], json!(connection.id));
        assert_eq!(ctx["apiId"], json!(api.api_id()));
        assert_eq!(ctx["messageDirection"], "IN");
        assert_eq!(ctx["identity"]["sourceIp"], "127.0.0.1");
        assert_eq!(ctx["identity"]["userAgent"], "test-client");
        assert!(ctx.get("messageId").is_none());
        assert_eq!(connect["headers"]["Sec-Websocket-Key"], "abc");
        assert_eq!(connect["headers"]["X-Forwarded-For"], "127.0.0.1");
        assert_eq!(connect["queryStringParameters"]["room"], "2");
        assert_eq!(
            connect["multiValueQueryStringParameters"]["room"],
            json!(["1", "2"])
        );

        let text = EventKind::Message {
            route_key: "send",
            data: b"{\"action\":\"send\"}",
            binary: false,
        };
        let message = Event::new(&api, &connection, &text, now);
        let ctx = &message.json["requestContext"];
        assert_eq!(ctx["eventType"], "MESSAGE");
        assert_eq!(ctx["routeKey"], "send");
        assert_eq!(ctx["requestId"], json!(message.request_id));
        assert_ne!(ctx["messageId"], ctx["requestId"]);
        assert!(
            message.trace_id.starts_with("Root=1-"),
            "{}",
            message.trace_id
        );
        assert_ne!(message.trace_id, connection.trace_id);
        assert_eq!(message.json["body"], "{\"action\":\"send\"}");
        assert_eq!(message.json["isBase64Encoded"], false);
        assert!(message.json.get("headers").is_none());

        let binary = EventKind::Message {
            route_key: "$default",
            data: &[0, 159, 146, 150],
            binary: true,
        };
        let binary = Event::new(&api, &connection, &binary, now).json;
        assert_eq!(binary["body"], "AJ+Slg==");
        assert_eq!(binary["isBase64Encoded"], true);

        let how = Disconnect {
            status: 1001,
            reason: "bye".to_owned(),
        };
        let gone = Event::new(&api, &connection, &EventKind::Disconnect(&how), now).json;
        assert_eq!(gone["requestContext"]["eventType"], "DISCONNECT");
        assert_eq!(gone["requestContext"]["disconnectStatusCode"], 1001);
        assert_eq!(gone["requestContext"]["disconnectReason"], "bye");
    }

    #[test]
    fn answers_are_read_as_proxy_results() {
        let answer = proxy_answer(br#"{"statusCode":403,"body":"no"}"#);
        assert_eq!(answer.status, 403);
        assert_eq!(answer.body.as_deref(), Some(&b"no"[..]));
        let answer = proxy_answer(br#"{"statusCode":"200","body":"AAE=","isBase64Encoded":true}"#);
        assert_eq!((answer.status, answer.binary), (200, true));
        assert_eq!(answer.body.as_deref(), Some(&[0u8, 1][..]));
        let answer =
            proxy_answer(br#"{"statusCode":200,"headers":{"Sec-WebSocket-Protocol":"chat"}}"#);
        assert_eq!(answer.protocol.as_deref(), Some("chat"));
        assert_eq!(answer.body, None);
        assert_eq!(proxy_answer(br#""hi""#).body.as_deref(), Some(&b"hi"[..]));
        assert_eq!(
            proxy_answer(br#"{"a":1}"#).body.as_deref(),
            Some(&br#"{"a":1}"#[..])
        );
        assert_eq!(
            proxy_answer(b"null"),
            ProxyAnswer {
                status: 200,
                body: None,
                binary: false,
                protocol: None,
            }
        );
    }
}
