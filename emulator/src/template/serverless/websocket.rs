//! The service's WebSocket API: every function's `websocket` events
//! (<https://www.serverless.com/framework/docs/providers/aws/events/websocket>), in their
//! short (`- websocket: $connect`) and long (`- websocket: {route, routeResponseSelectionExpression}`)
//! forms, with `provider.websocketsApiRouteSelectionExpression` (default
//! `$request.body.action`) and `provider.websocketsApiName`. The API is served under the
//! service's stage (`provider.stage`, default `dev`, as the framework deploys it).

use serde_yaml::{Mapping, Value};

use super::super::ConfigError;
use super::super::yaml::{YPath, key_text};
use super::Reader;
use crate::websocket::{SelectionExpression, WebSocketApi};

impl Reader<'_> {
    /// The WebSocket API of the served functions' (`served`) `websocket` events; `None` when
    /// there are none.
    pub(super) fn websocket_api(
        &self,
        service: &str,
        (provider, provider_path): (&Mapping, &YPath),
        (functions, functions_path): (&Mapping, &YPath),
        served: &[String],
    ) -> Result<Option<WebSocketApi>, ConfigError> {
        let mut routes: Vec<(String, String, bool, YPath)> = Vec::new();
        for (key, function) in functions {
            let name = key_text(key).unwrap_or_default();
            let events_path = functions_path.key(&name).key("events");
            let Some(Value::Sequence(events)) = function.get("events") else {
                continue; // reported by the function's reader
            };
            for (i, event) in events.iter().enumerate() {
                let Some(body) = event.as_mapping().and_then(|m| m.get("websocket")) else {
                    continue;
                };
                let path = events_path.index(i).key("websocket");
                let what = format!("function `{name}`: websocket event");
                let hint = "write `- websocket: $connect` or `- websocket:` with route:";
                let (route, two_way) = match body {
                    Value::Mapping(m) => {
                        let (route, _) = self.required_text(m, &path, "route", &what, hint)?;
                        (route, m.contains_key("routeResponseSelectionExpression"))
                    }
                    other => match self.text(other, &path, &what)? {
                        Some(route) => (route, false),
                        None => {
                            return Err(self.src.invalid(&path, format!("{what} is empty"), hint));
                        }
                    },
                };
                if served.contains(&name) {
                    routes.push((route, name.clone(), two_way, path));
                }
            }
        }
        if routes.is_empty() {
            return Ok(None);
        }
        let expression = match provider.get("websocketsApiRouteSelectionExpression") {
            Some(value) => {
                let path = provider_path.key("websocketsApiRouteSelectionExpression");
                let what = "provider.websocketsApiRouteSelectionExpression";
                let text = self.text(value, &path, what)?.unwrap_or_default();
                SelectionExpression::parse(&text).map_err(|e| {
                    self.src.invalid(
                        &path,
                        e.to_string(),
                        "write $request.body.{field}, e.g. $request.body.action",
                    )
                })?
            }
            None => SelectionExpression::default(),
        };
        let stage = self.stage(provider, provider_path)?.name;
        let name = match provider.get("websocketsApiName").and_then(key_text) {
            Some(name) => name,
            None => format!("{stage}-{service}-websockets"),
        };
        let mut api = WebSocketApi::new(name, stage, expression).map_err(|e| {
            self.src.invalid(
                &provider_path.key("stage"),
                e.to_string(),
                "write stage: dev",
            )
        })?;
        for (route, function, two_way, path) in routes {
            api = api.with_route(&route, function, two_way).map_err(|e| {
                self.src.invalid(
                    &path,
                    e.to_string(),
                    "each route key goes to one function: $connect, $disconnect, $default or a value of the route selection expression",
                )
            })?;
        }
        Ok(Some(api))
    }
}

#[cfg(test)]
mod tests {
    use crate::template::testutil::TempDir;
    use crate::template::{ConfigError, ErrorKind, parse_serverless};
    use crate::websocket::WebSocketApi;

    const CHAT: &str = r#"service: chat
provider:
  name: aws
  runtime: provided.al2023
  stage: staging
  websocketsApiRouteSelectionExpression: $request.body.route
functions:
  connection:
    handler: dist/connection
    events:
      - websocket: $connect
      - websocket:
          route: $disconnect
  messages:
    handler: dist/messages
    events:
      - websocket:
          route: send
          routeResponseSelectionExpression: $default
      - websocket: $default
      - httpApi: 'GET /health'
"#;

    fn parse(text: &str) -> Result<Vec<WebSocketApi>, ConfigError> {
        let tmp = TempDir::new();
        tmp.bootstrap("dist/connection", true);
        tmp.bootstrap("dist/messages", true);
        let file = tmp.write("serverless.yml", text);
        parse_serverless(text, &file).map(|project| project.websockets)
    }

    #[test]
    fn websocket_events_make_the_services_api() {
        let apis = parse(CHAT).unwrap();
        assert_eq!(apis.len(), 1);
        let api = &apis[0];
        assert_eq!(
            (api.name(), api.stage()),
            ("staging-chat-websockets", "staging")
        );
        assert_eq!(api.selection().to_string(), "$request.body.route");
        let routes: Vec<(&str, &str, bool)> = api
            .routes()
            .iter()
            .map(|(key, route)| (key.as_str(), route.function(), route.two_way()))
            .collect();
        assert_eq!(
            routes,
            [
                ("$connect", "connection", false),
                ("$default", "messages", false),
                ("$disconnect", "connection", false),
                ("send", "messages", true),
            ]
        );
        // The framework's defaults: stage `dev`, `$request.body.action`.
        let plain = CHAT.replace("  stage: staging\n", "").replace(
            "  websocketsApiRouteSelectionExpression: $request.body.route\n",
            "",
        );
        let api = &parse(&plain).unwrap()[0];
        assert_eq!(api.stage(), "dev");
        assert_eq!(api.selection().to_string(), "$request.body.action");
        let variable = CHAT.replace("stage: staging", "stage: ${opt:stage, 'dev'}");
        assert_eq!(parse(&variable).unwrap()[0].stage(), "dev");
        // No websocket events, no API.
        let none = "service: s\nfunctions:\n  connection:\n    handler: dist/connection\n";
        assert_eq!(parse(none).unwrap(), Vec::new());
    }

    #[test]
    fn malformed_websocket_events_are_errors_at_their_field() {
        let cases = [
            (
                CHAT.replace("$request.body.route", "route"),
                "invalid route selection expression",
            ),
            (
                CHAT.replace("route: send", "route: $connect"),
                "defined twice",
            ),
            (CHAT.replace("route: send", "path: send"), "route"),
            (
                CHAT.replace("- websocket: $default", "- websocket: ''"),
                "invalid WebSocket route key",
            ),
            (
                CHAT.replace("stage: staging", "stage: a b"),
                "stage name `a b` may hold only",
            ),
        ];
        for (text, expected) in cases {
            let error = parse(&text).unwrap_err();
            assert_eq!(error.kind, ErrorKind::Invalid, "{error}");
            assert!(error.to_string().contains(expected), "{expected}: {error}");
            assert!(error.line.is_some(), "{error}");
        }
    }
}
