//! Running a route's authorizer before its function, as API Gateway does: a Lambda authorizer
//! is a function of the project, invoked through its pool like any other; its answers are
//! cached by identity for the authorizer's TTL (a cached answer does not invoke it again, and a
//! cached policy is evaluated again for each request's ARN); a JWT authorizer checks the token
//! with its issuer's keys ([`super::jwks`]). The pure steps are `apigw::auth`'s.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;

use super::jwks::KeyStore;
use crate::apigw::auth::{
    self, AuthorizerKind, JwtAuthorizer, LambdaAuthorizer, LambdaPayload, RouteAuth, jwt,
    lambda::{Decision, Output},
};
use crate::apigw::{API_ID, EventOptions, MappedEvent, PayloadFormat, RouteMatch};
use crate::instance::{Invocation, Outcome, Trigger};
use crate::pool::Function;
use crate::sync::lock;

/// The most cached answers kept: past it, expired ones are dropped, then all.
const MAX_CACHED: usize = 10_000;

/// A cached answer's key: the authorizer's name and the request's identity values.
type CacheKey = (String, Vec<String>);

/// The authorizers' state of one gateway: cached Lambda answers and JWKS documents.
#[derive(Debug, Default)]
pub(crate) struct AuthState {
    /// Answers by authorizer name and identity values, with when they expire.
    cache: Mutex<HashMap<CacheKey, (Instant, Output)>>,
    /// `TOKEN` validation expressions, compiled.
    patterns: Mutex<HashMap<String, Option<regex_lite::Regex>>>,
    keys: KeyStore,
}

/// What the gateway needs of a request to authorize it.
pub(super) struct Request<'a> {
    /// The request, its body read.
    pub(super) http: &'a http::Request<Bytes>,
    /// The client's address.
    pub(super) peer: std::net::SocketAddr,
    /// The route it matched.
    pub(super) matched: &'a RouteMatch,
    /// The API's settings.
    pub(super) options: &'a EventOptions,
    /// The integration event built for it.
    pub(super) mapped: &'a MappedEvent,
}

impl AuthState {
    /// Runs `auth` for `request`: the value of the integration event's
    /// `requestContext.authorizer`, or API Gateway's answer refusing the request.
    pub(super) async fn authorize(
        &self,
        auth: &RouteAuth,
        request: &Request<'_>,
        lookup: &impl Fn(&str) -> Option<Arc<Function>>,
    ) -> Result<Value, http::Response<Bytes>> {
        match &auth.authorizer.kind {
            AuthorizerKind::Lambda(lambda) => {
                self.lambda(&auth.authorizer.name, lambda, request, lookup)
                    .await
            }
            AuthorizerKind::Jwt(jwt) => self.jwt(jwt, &auth.scopes, request).await,
        }
    }

    /// A JWT authorizer's decision.
    async fn jwt(
        &self,
        authorizer: &JwtAuthorizer,
        scopes: &[String],
        request: &Request<'_>,
    ) -> Result<Value, http::Response<Bytes>> {
        let format = request.matched.route.format();
        let Some(token) = auth::identity(
            std::slice::from_ref(&authorizer.identity),
            &request.mapped.event,
        )
        .and_then(|values| values.into_iter().next()) else {
            return Err(auth::unauthorized(format));
        };
        let keys = self.keys.keys(authorizer).await.map_err(|error| {
            tracing::error!(issuer = authorizer.issuer, %error, "no keys for a JWT authorizer");
            auth::authorizer_failure(format)
        })?;
        match jwt::verify(&token, authorizer, scopes, &keys) {
            Ok(verified) => Ok(verified.authorizer_value(format)),
            Err(error) => {
                tracing::info!(%error, "a JWT authorizer refused the request");
                Err(auth::jwt_refused(format, &error, scopes))
            }
        }
    }

    /// A Lambda authorizer's decision, from the cache or from invoking it.
    async fn lambda(
        &self,
        name: &str,
        authorizer: &LambdaAuthorizer,
        request: &Request<'_>,
        lookup: &impl Fn(&str) -> Option<Arc<Function>>,
    ) -> Result<Value, http::Response<Bytes>> {
        let format = request.matched.route.format();
        let Some(identity) = auth::identity(&authorizer.identity, &request.mapped.event) else {
            return Err(auth::unauthorized(format));
        };
        if let (Some(pattern), Some(token)) = (&authorizer.validation, identity.first())
            && !self.validates(pattern, token)
        {
            return Err(auth::unauthorized(format));
        }
        let arn = request_arn(request);
        let key = (!authorizer.ttl.is_zero() && !identity.is_empty())
            .then(|| (name.to_owned(), identity.clone()));
        let started = Instant::now();
        let cached = key.as_ref().and_then(|k| {
            let cache = lock(&self.cache);
            cache
                .get(k)
                .filter(|(expires, _)| *expires > started)
                .map(|(_, output)| output.clone())
        });
        let output = match cached {
            Some(output) => output,
            None => {
                let output = invoke(authorizer, request, &identity, &arn, lookup, format).await?;
                if let Some(key) = key {
                    self.remember(key, authorizer.ttl, output.clone());
                }
                output
            }
        };
        let latency = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match output.decide(&arn) {
            Decision::Allow => Ok(output.authorizer_value(format, latency)),
            Decision::ExplicitDeny => Err(auth::forbidden(format, true)),
            Decision::ImplicitDeny => Err(auth::forbidden(format, false)),
        }
    }

    /// Whether `token` matches a `TOKEN` authorizer's whole validation expression `pattern`
    /// (compiled once; the configuration readers refuse patterns that do not compile).
    fn validates(&self, pattern: &str, token: &str) -> bool {
        let mut patterns = lock(&self.patterns);
        let compiled = patterns
            .entry(pattern.to_owned())
            .or_insert_with(|| regex_lite::Regex::new(&format!("^(?:{pattern})$")).ok());
        compiled.as_ref().is_none_or(|re| re.is_match(token))
    }

    /// Caches `output` under `key` for `ttl`.
    fn remember(&self, key: CacheKey, ttl: Duration, output: Output) {
        let now = Instant::now();
        let mut cache = lock(&self.cache);
        if cache.len() >= MAX_CACHED {
            cache.retain(|_, (expires, _)| *expires > now);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(key, (now + ttl, output));
    }
}

/// The request's `methodArn` (REST, HTTP 1.0) or `routeArn` (HTTP 2.0): of the route's stage,
/// with the path as the API sees it (without the stage prefix it may have come with).
fn request_arn(request: &Request<'_>) -> String {
    let matched = request.matched;
    let path = matched
        .unstaged_path
        .as_deref()
        .unwrap_or_else(|| request.http.uri().path());
    auth::lambda::request_arn(
        &request.options.region,
        API_ID,
        &matched.route.stage().name,
        request.http.method().as_str(),
        path,
    )
}

/// Invokes `authorizer`'s function and reads its answer; a failure is API Gateway's 500, an
/// `Unauthorized` error its 401.
async fn invoke(
    authorizer: &LambdaAuthorizer,
    request: &Request<'_>,
    identity: &[String],
    arn: &str,
    lookup: &impl Fn(&str) -> Option<Arc<Function>>,
    format: PayloadFormat,
) -> Result<Output, http::Response<Bytes>> {
    let failure = || auth::authorizer_failure(format);
    let Some(function) = lookup(&authorizer.function) else {
        tracing::error!(
            function = authorizer.function,
            "an authorizer names an unknown function"
        );
        return Err(failure());
    };
    let event_format = match authorizer.payload {
        LambdaPayload::Token | LambdaPayload::Request => PayloadFormat::Rest,
        LambdaPayload::HttpV1 => PayloadFormat::HttpV1,
        LambdaPayload::HttpV2 => PayloadFormat::Http,
    };
    let mut base = if event_format == format {
        request.mapped.event.clone()
    } else {
        crate::apigw::to_event_as(
            request.http,
            request.peer,
            request.matched,
            request.options,
            event_format,
        )
        .map_err(|_| failure())?
        .event
    };
    // One request, one request id, whatever the authorizer's format.
    if let Some(ctx) = base
        .get_mut("requestContext")
        .and_then(Value::as_object_mut)
    {
        ctx.insert(
            "requestId".to_owned(),
            Value::from(request.mapped.request_id.as_str()),
        );
    }
    let event = auth::lambda::event(authorizer, base, identity, arn);
    let invocation = Invocation {
        request_id: uuid::Uuid::new_v4().to_string(),
        payload: Bytes::from(event.to_string()),
        trace_id: request.mapped.trace_id.clone(),
        client_context: None,
        cognito_identity: None,
        stream: None,
        trigger: Trigger::Authorizer,
    };
    let result = function
        .invoke(invocation, false)
        .await
        .map_err(|refused| {
            tracing::warn!(
                function = authorizer.function,
                ?refused,
                "the authorizer was not invoked"
            );
            failure()
        })?;
    match result.outcome {
        Outcome::Success(body) => Output::parse(authorizer, &body).map_err(|error| {
            tracing::warn!(function = authorizer.function, %error, "unusable authorizer answer");
            failure()
        }),
        Outcome::Unhandled(error) => {
            let error: Value = serde_json::from_slice(&error).unwrap_or_default();
            if error["errorMessage"] == "Unauthorized" {
                return Err(auth::unauthorized(format));
            }
            tracing::warn!(
                function = authorizer.function,
                %error,
                "the authorizer failed"
            );
            Err(failure())
        }
    }
}
