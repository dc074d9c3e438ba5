//! Lambda authorizers: the event the function receives, and what its answer means.
//!
//! Events (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html>,
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html>):
//! REST `TOKEN` is `{type, authorizationToken, methodArn}`; REST `REQUEST` is the 1.0 event's
//! request fields with `type` and `methodArn`; HTTP API 1.0 adds `version`, `identitySource` and
//! `authorizationToken` (the identity values joined by commas); HTTP API 2.0 is the 2.0 event's
//! request fields with `type`, `routeArn` and `identitySource` (a list). None carries the body.
//!
//! Answers (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html>):
//! an IAM policy (`principalId`, `policyDocument`, `context`, `usageIdentifierKey`), evaluated
//! against the request's ARN (a `Deny` wins; no matching `Allow` is an implicit deny), or, for
//! HTTP API 2.0 authorizers with simple responses, `{isAuthorized, context}`. A REST `context`
//! holds only strings, numbers and booleans; the function receives them as strings.

use serde_json::{Map, Value};

use super::{LambdaAuthorizer, LambdaPayload};
use crate::apigw::route::PayloadFormat;

/// The ARN of a request as authorizers see it (`methodArn` / `routeArn`):
/// `arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path without its leading /}`.
pub fn request_arn(region: &str, api_id: &str, stage: &str, method: &str, path: &str) -> String {
    format!(
        "arn:aws:execute-api:{region}:{}:{api_id}/{stage}/{method}/{}",
        crate::ACCOUNT_ID,
        path.strip_prefix('/').unwrap_or(path)
    )
}

/// The event for `authorizer` from `base`, the integration event of the authorizer's payload
/// format (1.0 for `Request`/`HttpV1`, 2.0 for `HttpV2`; unused for `Token`), the request's
/// `identity` values and its `arn`.
pub fn event(
    authorizer: &LambdaAuthorizer,
    mut base: Value,
    identity: &[String],
    arn: &str,
) -> Value {
    if authorizer.payload == LambdaPayload::Token {
        return serde_json::json!({
            "type": "TOKEN",
            "authorizationToken": identity.first().cloned().unwrap_or_default(),
            "methodArn": arn,
        });
    }
    let Some(obj) = base.as_object_mut() else {
        return base;
    };
    obj.remove("body");
    obj.remove("isBase64Encoded");
    obj.insert("type".to_owned(), Value::from("REQUEST"));
    match authorizer.payload {
        LambdaPayload::HttpV2 => {
            obj.insert("routeArn".to_owned(), Value::from(arn));
            obj.insert("identitySource".to_owned(), Value::from(identity.to_vec()));
        }
        LambdaPayload::HttpV1 => {
            let joined = Value::from(identity.join(","));
            obj.insert("methodArn".to_owned(), Value::from(arn));
            obj.insert("identitySource".to_owned(), joined.clone());
            obj.insert("authorizationToken".to_owned(), joined);
        }
        LambdaPayload::Request | LambdaPayload::Token => {
            obj.insert("methodArn".to_owned(), Value::from(arn));
        }
    }
    base
}

/// Why an authorizer's answer cannot be used (API Gateway answers 500).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutputError {
    /// Not a JSON object.
    #[error("the authorizer's answer is not a JSON object")]
    NotAnObject,
    /// A simple response without a boolean `isAuthorized`.
    #[error("a simple response needs a boolean isAuthorized")]
    NoIsAuthorized,
    /// A policy answer without a readable `policyDocument.Statement`.
    #[error("the answer has no policyDocument with Statement")]
    NoPolicy,
    /// A statement without `Effect: Allow|Deny`.
    #[error("a statement's Effect is neither Allow nor Deny")]
    BadEffect,
    /// `context` is not an object, or (REST) holds an object or array.
    #[error("context must be an object of strings, numbers and booleans")]
    BadContext,
}

/// One statement of a policy: its effect and the `execute-api:Invoke` resources it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    allow: bool,
    /// Resource patterns (`*` and `?` wildcards); empty when the actions are not Invoke.
    resources: Vec<String>,
}

/// A Lambda authorizer's answer, as cached: a policy is evaluated again for each request's ARN.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// `{isAuthorized, context}`.
    Simple {
        /// `isAuthorized`.
        authorized: bool,
        /// `context`, if any.
        context: Option<Map<String, Value>>,
    },
    /// An IAM policy answer.
    Policy {
        /// `principalId` as sent.
        principal_id: Value,
        /// The statements.
        statements: Vec<Statement>,
        /// `context`, if any.
        context: Option<Map<String, Value>>,
    },
}

/// What a policy or a simple response decides for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go on to the integration.
    Allow,
    /// A `Deny` statement matched.
    ExplicitDeny,
    /// No `Allow` statement matched, or `isAuthorized` is false.
    ImplicitDeny,
}

impl Output {
    /// Reads the answer `body` of `authorizer`.
    pub fn parse(authorizer: &LambdaAuthorizer, body: &[u8]) -> Result<Output, OutputError> {
        let Ok(Value::Object(mut obj)) = serde_json::from_slice::<Value>(body) else {
            return Err(OutputError::NotAnObject);
        };
        let rest = matches!(
            authorizer.payload,
            LambdaPayload::Token | LambdaPayload::Request
        );
        let context = match obj.remove("context") {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => {
                if rest && map.values().any(|v| v.is_object() || v.is_array()) {
                    return Err(OutputError::BadContext);
                }
                Some(map)
            }
            Some(_) => return Err(OutputError::BadContext),
        };
        if authorizer.payload == LambdaPayload::HttpV2 && authorizer.simple_responses {
            let Some(Value::Bool(authorized)) = obj.get("isAuthorized") else {
                return Err(OutputError::NoIsAuthorized);
            };
            return Ok(Output::Simple {
                authorized: *authorized,
                context,
            });
        }
        let statements = obj
            .get("policyDocument")
            .and_then(|d| d.get("Statement"))
            .ok_or(OutputError::NoPolicy)?;
        let statements = match statements {
            Value::Array(items) => items.iter().map(statement).collect::<Result<_, _>>()?,
            one @ Value::Object(_) => vec![statement(one)?],
            _ => return Err(OutputError::NoPolicy),
        };
        Ok(Output::Policy {
            principal_id: obj.remove("principalId").unwrap_or(Value::Null),
            statements,
            context,
        })
    }

    /// The decision for the request of `arn`.
    pub fn decide(&self, arn: &str) -> Decision {
        match self {
            Output::Simple { authorized, .. } => {
                if *authorized {
                    Decision::Allow
                } else {
                    Decision::ImplicitDeny
                }
            }
            Output::Policy { statements, .. } => {
                let matching = |allow: bool| {
                    statements.iter().any(|s| {
                        s.allow == allow && s.resources.iter().any(|r| wildcard_match(r, arn))
                    })
                };
                if matching(false) {
                    Decision::ExplicitDeny
                } else if matching(true) {
                    Decision::Allow
                } else {
                    Decision::ImplicitDeny
                }
            }
        }
    }

    /// The integration event's `requestContext.authorizer` for a route of `format`:
    /// REST APIs flatten `context` (as strings) with `principalId` and `integrationLatency`;
    /// HTTP APIs nest `context` under `lambda`.
    pub fn authorizer_value(&self, format: PayloadFormat, latency_ms: u64) -> Value {
        let (context, principal_id) = match self {
            Output::Simple { context, .. } => (context, None),
            Output::Policy {
                context,
                principal_id,
                ..
            } => (context, Some(principal_id)),
        };
        if format != PayloadFormat::Rest {
            return serde_json::json!({
                "lambda": context.clone().map_or(Value::Null, Value::Object),
            });
        }
        let mut value: Map<String, Value> = context
            .iter()
            .flatten()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), Value::String(text))
            })
            .collect();
        value.insert(
            "principalId".to_owned(),
            principal_id.cloned().unwrap_or(Value::Null),
        );
        value.insert("integrationLatency".to_owned(), Value::from(latency_ms));
        Value::Object(value)
    }
}

/// One policy statement: `Effect`, and `Resource` if its `Action` covers `execute-api:Invoke`.
fn statement(value: &Value) -> Result<Statement, OutputError> {
    let allow = match value.get("Effect").and_then(Value::as_str) {
        Some(e) if e.eq_ignore_ascii_case("allow") => true,
        Some(e) if e.eq_ignore_ascii_case("deny") => false,
        _ => return Err(OutputError::BadEffect),
    };
    let invokes = strings(value.get("Action")).iter().any(|a| {
        ["execute-api:invoke", "execute-api:*", "*"]
            .iter()
            .any(|ok| a.eq_ignore_ascii_case(ok))
    });
    let resources = if invokes {
        strings(value.get("Resource"))
    } else {
        Vec::new()
    };
    Ok(Statement { allow, resources })
}

/// A string or a list of strings (an IAM policy's `Action`, a JWT's `aud`), as a list.
pub(super) fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether `text` matches the IAM resource `pattern`: `*` any run of characters (`/` included),
/// `?` any one character.
pub(super) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // Greedy matching with backtracking to the last `*`.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}
