//! API Gateway WebSocket APIs, the parts without I/O: an API's routes and its route selection
//! expression ([`WebSocketApi`]), the events its functions receive (`event`) and the open
//! connections (`connections`). The front serves them (`front/websocket.rs`): the upgrade on
//! `/{stage}`, the messages, and the `@connections` management API on
//! `/{stage}/@connections/{connectionId}`.
//!
//! As API Gateway does
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-develop-routes.html>):
//! `$connect` runs while the upgrade waits (a non-2xx answer refuses it), `$disconnect` after the
//! connection ends, and each message goes to the route whose key its selection expression gives,
//! else to `$default`; with neither, the client is told `Forbidden`.

// What only the front's serving uses (feature `websocket`).
#[cfg(feature = "websocket")]
mod connections;
#[cfg(feature = "websocket")]
mod event;
mod selection;

use std::collections::BTreeMap;

#[cfg(feature = "websocket")]
pub(crate) use connections::{Connection, Connections, Gone, Outgoing};
#[cfg(feature = "websocket")]
pub(crate) use event::{Disconnect, Event, EventKind, proxy_answer};
pub use selection::SelectionExpression;

/// AWS's largest WebSocket frame, 32 KB: a bigger one closes the connection with 1009
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html>).
pub const MAX_FRAME: usize = 32 * 1024;
/// AWS's largest WebSocket message, 128 KB, whether it comes from the client (a bigger one
/// closes the connection with 1009) or through `@connections` (413).
pub const MAX_MESSAGE: usize = 128 * 1024;

/// The three route keys API Gateway defines.
pub const CONNECT: &str = "$connect";
/// Run when a connection ends, by either side.
pub const DISCONNECT: &str = "$disconnect";
/// Messages no other route takes.
pub const DEFAULT: &str = "$default";

/// A WebSocket API configuration problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebSocketError {
    /// The route selection expression cannot be used.
    #[error("invalid route selection expression {expression:?}: {reason}")]
    Selection {
        /// The expression as written.
        expression: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A route key is empty, or a `$` key other than `$connect`, `$disconnect`, `$default`.
    #[error(
        "invalid WebSocket route key {0:?}: a key is $connect, $disconnect, $default or a value of the route selection expression"
    )]
    RouteKey(String),
    /// Two routes of one API have the same key.
    #[error("the WebSocket route {0:?} is defined twice")]
    DuplicateRoute(String),
    /// The stage name cannot be a path segment (the message says why).
    #[error("invalid stage name: {0}")]
    Stage(String),
}

/// One route of a WebSocket API: the function it invokes, and whether the function's answer
/// goes back to the client (a route response, "two-way").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSocketRoute {
    function: String,
    two_way: bool,
}

impl WebSocketRoute {
    /// The function the route invokes.
    pub fn function(&self) -> &str {
        &self.function
    }

    /// Whether the function's answer is sent to the client (SAM/CloudFormation: a
    /// `RouteResponseSelectionExpression` on the route; serverless.yml:
    /// `routeResponseSelectionExpression`). Never for `$connect` and `$disconnect`.
    pub fn two_way(&self) -> bool {
        self.two_way
    }
}

/// A WebSocket API: its name, stage, route selection expression and routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSocketApi {
    name: String,
    stage: String,
    selection: SelectionExpression,
    routes: BTreeMap<String, WebSocketRoute>,
}

impl WebSocketApi {
    /// An API without routes, served under `stage` (`ws://host:port/{stage}`).
    pub fn new(
        name: impl Into<String>,
        stage: impl Into<String>,
        selection: SelectionExpression,
    ) -> Result<WebSocketApi, WebSocketError> {
        let stage = stage.into();
        // A WebSocket API's stage is a path segment: `$default` is not one.
        crate::apigw::Stage::check_name(&stage, false).map_err(WebSocketError::Stage)?;
        Ok(WebSocketApi {
            name: name.into(),
            stage,
            selection,
            routes: BTreeMap::new(),
        })
    }

    /// Adds the route `key` invoking `function`.
    pub fn with_route(
        mut self,
        key: &str,
        function: impl Into<String>,
        two_way: bool,
    ) -> Result<WebSocketApi, WebSocketError> {
        let reserved = key.starts_with('$') && ![CONNECT, DISCONNECT, DEFAULT].contains(&key);
        if key.is_empty() || reserved {
            return Err(WebSocketError::RouteKey(key.to_owned()));
        }
        if self.routes.contains_key(key) {
            return Err(WebSocketError::DuplicateRoute(key.to_owned()));
        }
        let two_way = two_way && key != CONNECT && key != DISCONNECT;
        let route = WebSocketRoute {
            function: function.into(),
            two_way,
        };
        self.routes.insert(key.to_owned(), route);
        Ok(self)
    }

    /// The API's name (the template's logical id or service name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The stage: the first path segment of the API's URL.
    pub fn stage(&self) -> &str {
        &self.stage
    }

    /// The route selection expression.
    pub fn selection(&self) -> &SelectionExpression {
        &self.selection
    }

    /// The routes by key.
    pub fn routes(&self) -> &BTreeMap<String, WebSocketRoute> {
        &self.routes
    }

    /// The route with `key`.
    pub fn route(&self, key: &str) -> Option<&WebSocketRoute> {
        self.routes.get(key)
    }

    /// The key and route of a message: the key the selection expression gives (text messages
    /// that are JSON) if a route has it, else `$default`; `None` when neither exists.
    pub fn select(&self, text: Option<&str>) -> Option<(&str, &WebSocketRoute)> {
        let selected = text.and_then(|text| self.selection.evaluate(text));
        selected
            .and_then(|key| self.routes.get_key_value(key.as_str()))
            .filter(|(key, _)| ![CONNECT, DISCONNECT].contains(&key.as_str()))
            .or_else(|| self.routes.get_key_value(DEFAULT))
            .map(|(key, route)| (key.as_str(), route))
    }

    /// The API's id in its events (`requestContext.apiId`): ten characters drawn from its name,
    /// stable across runs, in the form of API Gateway's ids.
    pub fn api_id(&self) -> String {
        // FNV-1a: stable and dependency-free; the id only needs to differ between APIs.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in self.name.bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        (0..10)
            .map(|i| {
                let digit = (hash >> (i * 6)) % 36;
                char::from(ALPHABET[usize::try_from(digit).unwrap_or(0)])
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api() -> WebSocketApi {
        WebSocketApi::new("Chat", "dev", SelectionExpression::default())
            .and_then(|api| api.with_route(CONNECT, "connect", false))
            .and_then(|api| api.with_route("send", "send", true))
            .and_then(|api| api.with_route(DEFAULT, "fallback", false))
            .unwrap()
    }

    #[test]
    fn messages_go_to_their_route_or_default() {
        let api = api();
        let selected = |text: Option<&str>| api.select(text).map(|(key, r)| (key, r.function()));
        assert_eq!(
            selected(Some(r#"{"action":"send"}"#)),
            Some(("send", "send"))
        );
        assert_eq!(
            selected(Some(r#"{"action":"other"}"#)),
            Some(("$default", "fallback"))
        );
        assert_eq!(selected(Some("plain text")), Some(("$default", "fallback")));
        // Binary messages and the reserved routes go to $default.
        assert_eq!(selected(None), Some(("$default", "fallback")));
        assert_eq!(
            selected(Some(r#"{"action":"$connect"}"#)),
            Some(("$default", "fallback"))
        );
        let without_default = WebSocketApi::new("Chat", "dev", SelectionExpression::default())
            .and_then(|api| api.with_route("send", "send", false))
            .unwrap();
        assert!(without_default.select(Some("plain")).is_none());
        assert!(api.route("send").unwrap().two_way());
        assert!(!api.route(CONNECT).unwrap().two_way());
    }

    #[test]
    fn bad_routes_and_stages_are_refused() {
        let empty = || WebSocketApi::new("Chat", "dev", SelectionExpression::default()).unwrap();
        assert_eq!(
            empty().with_route("$other", "f", false),
            Err(WebSocketError::RouteKey("$other".to_owned()))
        );
        assert!(empty().with_route("", "f", false).is_err());
        assert_eq!(
            api().with_route("send", "g", false),
            Err(WebSocketError::DuplicateRoute("send".to_owned()))
        );
        for stage in ["", "a/b", "a b", &"x".repeat(129)] {
            assert!(
                WebSocketApi::new("Chat", stage, SelectionExpression::default()).is_err(),
                "{stage}"
            );
        }
    }

    #[test]
    fn api_ids_are_stable_and_distinct() {
        let id = api().api_id();
        assert_eq!(id.len(), 10);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()), "{id}");
        assert_eq!(id, api().api_id());
        let other = WebSocketApi::new("Other", "dev", SelectionExpression::default()).unwrap();
        assert_ne!(id, other.api_id());
    }
}
