//! API Gateway authorizers: what a route's authorizer is, and the pure steps of running it.
//!
//! A route may carry a [`RouteAuth`]: its API's [`Authorizer`] and the route's authorization
//! scopes. Before the function is invoked, the gateway (`front/authorize.rs`, which does the I/O:
//! invoking the authorizer function, caching, fetching JWKS) uses this module to:
//!
//! 1. read the identity sources from the event ([`identity`]): any missing or empty one is a
//!    401 without invoking anything;
//! 2. for a Lambda authorizer, build its event ([`lambda::event`]) and read its answer
//!    ([`lambda::Output`]), an IAM policy evaluated against the request's ARN or a simple
//!    response;
//! 3. for a JWT authorizer, check the token ([`jwt::verify`]);
//! 4. put what the authorizer returned into the event's `requestContext.authorizer`
//!    ([`set_authorizer`]) as AWS nests it for the API type, or answer as API Gateway does
//!    ([`unauthorized`], [`forbidden`], [`authorizer_failure`]).
//!
//! References: <https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html>
//! (REST), <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html>
//! and <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html>
//! (HTTP APIs). `AWS_IAM` authorization is not emulated: the template readers say so at load.

pub mod jwt;
pub mod lambda;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use serde_json::Value;

use super::response::{message, raw_message};
use super::route::PayloadFormat;

/// The cache TTL of a Lambda authorizer whose configuration sets none: 300 s.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

/// The longest cache TTL API Gateway accepts: one hour.
pub const MAX_TTL: Duration = Duration::from_secs(3600);

/// One identity source: where a request's credential is read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IdentitySource {
    /// A request header (case-insensitive).
    Header(String),
    /// A query string parameter.
    Query(String),
    /// A stage variable.
    StageVariable(String),
    /// A `$context` variable (`identity.sourceIp`, …), read from the event's `requestContext`.
    Context(String),
}

impl IdentitySource {
    /// Parses an identity source as REST APIs (`method.request.header.Authorization`) or HTTP
    /// APIs (`$request.header.Authorization`) write it; also `$request.querystring.x`,
    /// `$stageVariables.x` / `stageVariables.x` and `$context.x` / `context.x`.
    pub fn parse(text: &str) -> Option<IdentitySource> {
        let text = text.trim();
        let rest = text
            .strip_prefix("method.request.")
            .or_else(|| text.strip_prefix("$request."));
        let source = if let Some(rest) = rest {
            if let Some(name) = rest.strip_prefix("header.") {
                IdentitySource::Header(name.to_owned())
            } else if let Some(name) = rest.strip_prefix("querystring.") {
                IdentitySource::Query(name.to_owned())
            } else {
                return None;
            }
        } else if let Some(name) = text
            .strip_prefix("$stageVariables.")
            .or_else(|| text.strip_prefix("stageVariables."))
        {
            IdentitySource::StageVariable(name.to_owned())
        } else if let Some(name) = text
            .strip_prefix("$context.")
            .or_else(|| text.strip_prefix("context."))
        {
            IdentitySource::Context(name.to_owned())
        } else {
            return None;
        };
        let name = match &source {
            IdentitySource::Header(n)
            | IdentitySource::Query(n)
            | IdentitySource::StageVariable(n)
            | IdentitySource::Context(n) => n,
        };
        (!name.is_empty()).then_some(source)
    }

    /// This source's value in `event` (an integration event of any payload format); `None`
    /// when absent or empty.
    fn value(&self, event: &Value) -> Option<String> {
        let found = match self {
            IdentitySource::Header(name) => event
                .get("headers")
                .and_then(Value::as_object)
                .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                .map(|(_, v)| v),
            IdentitySource::Query(name) => event.get("queryStringParameters")?.get(name),
            IdentitySource::StageVariable(name) => event.get("stageVariables")?.get(name),
            IdentitySource::Context(path) => path
                .split('.')
                .try_fold(event.get("requestContext")?, |v, key| v.get(key)),
        }?;
        let text = match found {
            Value::String(s) => s.clone(),
            Value::Null => return None,
            other => other.to_string(),
        };
        (!text.is_empty()).then_some(text)
    }
}

/// The values of `sources` in `event`, in order; `None` when any is missing or empty (API
/// Gateway then answers 401 without invoking the authorizer).
pub fn identity(sources: &[IdentitySource], event: &Value) -> Option<Vec<String>> {
    sources.iter().map(|s| s.value(event)).collect()
}

/// An authorizer of an API, by the name its configuration gives it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Authorizer {
    /// The authorizer's name (`MyLambdaAuth`): the cache is per authorizer.
    pub name: String,
    /// What it runs.
    pub kind: AuthorizerKind,
}

/// The kinds of authorizer the emulator runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AuthorizerKind {
    /// A Lambda function of the project decides.
    Lambda(LambdaAuthorizer),
    /// A JSON Web Token is checked against its issuer's keys (HTTP APIs).
    Jwt(JwtAuthorizer),
}

/// The event a Lambda authorizer receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LambdaPayload {
    /// REST API `TOKEN`: `{type, authorizationToken, methodArn}`.
    Token,
    /// REST API `REQUEST`: the request's parameters, `methodArn`.
    Request,
    /// HTTP API, `AuthorizerPayloadFormatVersion` 1.0: the REST shape, IAM policy answers.
    HttpV1,
    /// HTTP API, 2.0: the 2.0 shape, `routeArn`; simple answers if enabled.
    HttpV2,
}

/// A Lambda authorizer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LambdaAuthorizer {
    /// The function of the project that decides.
    pub function: String,
    /// The event it receives.
    pub payload: LambdaPayload,
    /// Where the credential is read; a `TOKEN` authorizer has exactly one header.
    pub identity: Vec<IdentitySource>,
    /// How long a decision is cached, by identity; zero: not cached.
    pub ttl: Duration,
    /// `TOKEN` only: a regular expression the token must match, else 401 without invoking.
    pub validation: Option<String>,
    /// HTTP API 2.0 only: the function answers `{isAuthorized, context}`.
    pub simple_responses: bool,
}

/// A JWT authorizer of an HTTP API.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JwtAuthorizer {
    /// The `iss` the token must carry; also where its keys are found
    /// (`{issuer}/.well-known/openid-configuration` → `jwks_uri`).
    pub issuer: String,
    /// The `aud` (or `client_id`) values accepted: one must match.
    pub audience: Vec<String>,
    /// Where the token is read (`$request.header.Authorization`).
    pub identity: IdentitySource,
    /// The issuer's keys from Lambkin's configuration instead of the issuer, for offline work.
    pub jwks: Option<JwksSource>,
}

/// Where the keys of a JWT issuer come from, when not from the issuer itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum JwksSource {
    /// A JWKS document on disk.
    File(PathBuf),
    /// A JWKS document at a URL (`http://` only in the default build).
    Url(String),
}

impl JwksSource {
    /// A source as configuration writes it: an `http://` or `https://` URL, else a path,
    /// relative to `base` (the configuration file's directory).
    pub fn parse(text: &str, base: &std::path::Path) -> JwksSource {
        if text.starts_with("http://") || text.starts_with("https://") {
            JwksSource::Url(text.to_owned())
        } else {
            JwksSource::File(base.join(text))
        }
    }
}

/// The authorization of one route: its API's authorizer and the route's scopes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteAuth {
    /// The authorizer.
    pub authorizer: Arc<Authorizer>,
    /// JWT authorizers: the token must carry one of these scopes (none: no check).
    pub scopes: Vec<String>,
}

/// Sets `requestContext.authorizer` of the integration `event` to `authorizer`.
pub fn set_authorizer(event: &mut Value, authorizer: Value) {
    if let Some(ctx) = event
        .get_mut("requestContext")
        .and_then(Value::as_object_mut)
    {
        ctx.insert("authorizer".to_owned(), authorizer);
    }
}

/// The `x-amzn-ErrorType` header REST APIs add to their own answers.
fn error_type(
    mut response: Response<Bytes>,
    format: PayloadFormat,
    kind: &'static str,
) -> Response<Bytes> {
    if format == PayloadFormat::Rest {
        response.headers_mut().insert(
            HeaderName::from_static("x-amzn-errortype"),
            HeaderValue::from_static(kind),
        );
    }
    response
}

/// A missing or empty identity source, a token failing the validation expression, or an
/// authorizer answering `Unauthorized`: 401 `{"message":"Unauthorized"}` (REST APIs' gateway
/// response `UNAUTHORIZED`, HTTP APIs alike).
pub fn unauthorized(format: PayloadFormat) -> Response<Bytes> {
    error_type(
        message(StatusCode::UNAUTHORIZED, "Unauthorized"),
        format,
        "UnauthorizedException",
    )
}

/// A policy that denies the request (`explicit`: a `Deny` statement matched; else no `Allow`
/// did), or a simple response `isAuthorized: false`: 403.
///
/// REST APIs answer with their `ACCESS_DENIED` gateway response, whose default template is
/// `{"Message":"$context.error.messageString"}`
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html>,
/// the messages of <https://repost.aws/knowledge-center/api-gateway-403-error-lambda-authorizer>);
/// HTTP APIs with `{"message":"Forbidden"}`.
pub fn forbidden(format: PayloadFormat, explicit: bool) -> Response<Bytes> {
    if format != PayloadFormat::Rest {
        return message(StatusCode::FORBIDDEN, "Forbidden");
    }
    let text = if explicit {
        "User is not authorized to access this resource with an explicit deny"
    } else {
        "User is not authorized to access this resource"
    };
    let body = serde_json::json!({ "Message": text }).to_string();
    error_type(
        raw_message(StatusCode::FORBIDDEN, Bytes::from(body)),
        format,
        "AccessDeniedException",
    )
}

/// A JWT refused: 401 `{"message":"Unauthorized"}` for an invalid token, 403
/// `{"message":"Forbidden"}` for missing scopes, each with a `www-authenticate` header saying
/// why (RFC 6750 §3).
pub fn jwt_refused(
    format: PayloadFormat,
    error: &jwt::JwtError,
    scopes: &[String],
) -> Response<Bytes> {
    let (mut response, challenge) = match error {
        jwt::JwtError::Invalid(why) => (
            unauthorized(format),
            format!(r#"Bearer scope="" error="invalid_token" error_description="{why}""#),
        ),
        jwt::JwtError::InsufficientScope => (
            forbidden(format, false),
            format!(
                r#"Bearer scope="{0}" error="insufficient_scope" error_description="expected scopes: [{0}]""#,
                scopes.join(" ")
            ),
        ),
    };
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(http::header::WWW_AUTHENTICATE, value);
    }
    response
}

/// An authorizer that failed, timed out or answered something API Gateway cannot read: 500.
/// REST APIs send `{"message": null}` with `AuthorizerConfigurationException`
/// (`AUTHORIZER_CONFIGURATION_ERROR`), HTTP APIs `{"message":"Internal Server Error"}`.
pub fn authorizer_failure(format: PayloadFormat) -> Response<Bytes> {
    if format != PayloadFormat::Rest {
        return message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    }
    let body = Bytes::from_static(br#"{"message":null}"#);
    error_type(
        raw_message(StatusCode::INTERNAL_SERVER_ERROR, body),
        format,
        "AuthorizerConfigurationException",
    )
}

#[cfg(test)]
mod tests;
