//! Route selection expressions: how a WebSocket API picks the route of a message.
//!
//! The language is API Gateway's
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-selection-expressions.html>):
//! `$` starts a variable, braces bound one (`${request.body.version}-beta`), `\$` is a literal
//! dollar, several variables may appear and each is evaluated once. A WebSocket API's route
//! selection expression reads only the message's JSON body:
//! `$request.body.{path}` (<https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-develop-routes.html>),
//! a dotted path (`action`, `data.kind`; a numeric segment indexes an array). A value that is
//! not a string is used as its JSON text ("the result will be stringified").

use std::fmt;

use serde_json::Value;

use super::WebSocketError;

/// A parsed route selection expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectionExpression {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    /// `request.body.a.b` as `["a", "b"]`.
    Body(Vec<String>),
}

impl SelectionExpression {
    /// The expression SAM and the Serverless Framework default to: `$request.body.action`.
    pub const DEFAULT: &'static str = "$request.body.action";

    /// Parses `source`; a variable other than `request.body.…`, an empty path or an unclosed
    /// brace is an error.
    pub fn parse(source: &str) -> Result<SelectionExpression, WebSocketError> {
        let bad = |why: &str| WebSocketError::Selection {
            expression: source.to_owned(),
            reason: why.to_owned(),
        };
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = source.char_indices().peekable();
        while let Some((_, c)) = chars.next() {
            match c {
                '\\' if chars.peek().is_some_and(|&(_, n)| n == '$') => {
                    chars.next();
                    literal.push('$');
                }
                '$' => {
                    let braced = chars.peek().is_some_and(|&(_, n)| n == '{');
                    if braced {
                        chars.next();
                    }
                    let mut name = String::new();
                    let mut closed = false;
                    while let Some(&(_, n)) = chars.peek() {
                        if braced && n == '}' {
                            chars.next();
                            closed = true;
                            break;
                        }
                        if !(braced || n.is_ascii_alphanumeric() || matches!(n, '.' | '_' | '-')) {
                            break;
                        }
                        name.push(n);
                        chars.next();
                    }
                    if braced && !closed {
                        return Err(bad("a `${` has no closing `}`"));
                    }
                    let path = name.strip_prefix("request.body.").ok_or_else(|| {
                        bad("a WebSocket API selects routes by `$request.body.{path}` only")
                    })?;
                    let path: Vec<String> = path.split('.').map(str::to_owned).collect();
                    if path.iter().any(String::is_empty) {
                        return Err(bad("the path after `$request.body.` has an empty segment"));
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Body(path));
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        if !parts.iter().any(|p| matches!(p, Part::Body(_))) {
            return Err(bad(
                "it reads nothing of the message (expected `$request.body.{path}`)",
            ));
        }
        Ok(SelectionExpression {
            source: source.to_owned(),
            parts,
        })
    }

    /// The route key the expression gives for a text message, or `None` when the message is
    /// not JSON or lacks a field the expression reads (the message then goes to `$default`).
    pub fn evaluate(&self, message: &str) -> Option<String> {
        let body: Value = serde_json::from_str(message).ok()?;
        let mut key = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => key.push_str(text),
                Part::Body(path) => {
                    let mut value = &body;
                    for segment in path {
                        value = match value {
                            Value::Object(map) => map.get(segment)?,
                            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                            _ => return None,
                        };
                    }
                    match value {
                        Value::String(text) => key.push_str(text),
                        Value::Null => return None,
                        other => key.push_str(&other.to_string()),
                    }
                }
            }
        }
        Some(key)
    }
}

impl Default for SelectionExpression {
    fn default() -> Self {
        SelectionExpression {
            source: Self::DEFAULT.to_owned(),
            parts: vec![Part::Body(vec!["action".to_owned()])],
        }
    }
}

impl fmt::Display for SelectionExpression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(expression: &str, message: &str) -> Option<String> {
        SelectionExpression::parse(expression)
            .unwrap()
            .evaluate(message)
    }

    #[test]
    fn routes_are_selected_by_the_body() {
        assert_eq!(
            SelectionExpression::parse(SelectionExpression::DEFAULT).unwrap(),
            SelectionExpression::default()
        );
        let action = "$request.body.action";
        assert_eq!(key(action, r#"{"action":"join"}"#).as_deref(), Some("join"));
        assert_eq!(key(action, r#"{"action":7}"#).as_deref(), Some("7"));
        assert_eq!(key(action, r#"{"action":true}"#).as_deref(), Some("true"));
        // Not JSON, no such field, null: no key ($default).
        assert_eq!(key(action, "join"), None);
        assert_eq!(key(action, r#"{"other":"join"}"#), None);
        assert_eq!(key(action, r#"{"action":null}"#), None);
        assert_eq!(key(action, r#"["join"]"#), None);
        let nested = "$request.body.data.kind";
        assert_eq!(
            key(nested, r#"{"data":{"kind":"a"}}"#).as_deref(),
            Some("a")
        );
        assert_eq!(
            key("$request.body.items.1", r#"{"items":["a","b"]}"#).as_deref(),
            Some("b")
        );
        let versioned = "${request.body.version}-beta";
        assert_eq!(
            key(versioned, r#"{"version":"v2"}"#).as_deref(),
            Some("v2-beta")
        );
        let escaped = r"\$${request.body.a}";
        assert_eq!(
            key(escaped, r#"{"a":"default"}"#).as_deref(),
            Some("$default")
        );
        let two = "${request.body.a}/${request.body.b}";
        assert_eq!(key(two, r#"{"a":"x","b":"y"}"#).as_deref(), Some("x/y"));
    }

    #[test]
    fn malformed_expressions_are_refused() {
        for bad in [
            "",
            "action",
            "$request.header.x",
            "$context.routeKey",
            "${request.body.action",
            "$request.body.",
            "$request.body.a..b",
        ] {
            let error = SelectionExpression::parse(bad).unwrap_err();
            assert!(
                error.to_string().contains("route selection expression"),
                "{bad}: {error}"
            );
        }
    }
}
