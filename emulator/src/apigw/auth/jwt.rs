//! JWT authorizers of HTTP APIs: the token's checks, as
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html>
//! lists them: a `kid` naming a key of the issuer's JWKS, an RSA algorithm (`RS256`, `RS384`,
//! `RS512`), a valid signature, `exp` (required) not passed, `nbf` and `iat` (if present) not
//! in the future, `iss` equal to the authorizer's issuer, `aud` or `client_id` one of its
//! audiences, and, when the route sets authorization scopes, a `scope` (or `scp`) claim with one
//! of them. The token may come with a `Bearer ` prefix.
//!
//! The function then finds the claims and scopes in `requestContext.authorizer.jwt` (payload
//! 2.0) or `requestContext.authorizer` (1.0), claims' values written as strings.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde_json::{Map, Value};

use super::JwtAuthorizer;
use super::lambda::strings;
use crate::apigw::route::PayloadFormat;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// The token is not acceptable (401, `invalid_token`); the text says why.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The token carries none of the route's scopes (403, `insufficient_scope`).
    #[error("the token has none of the route's scopes")]
    InsufficientScope,
}

/// A token that passed: its claims and scopes.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// Every claim of the token.
    pub claims: Map<String, Value>,
    /// Its `scope` (space-separated) or `scp` claim, as a list.
    pub scopes: Vec<String>,
}

/// Checks `token` (as read from the identity source) for `authorizer` and a route requiring one
/// of `route_scopes`, with the issuer's `keys`.
pub fn verify(
    token: &str,
    authorizer: &JwtAuthorizer,
    route_scopes: &[String],
    keys: &JwkSet,
) -> Result<Verified, JwtError> {
    let invalid = |text: &str| JwtError::Invalid(text.to_owned());
    let token = token
        .strip_prefix("Bearer ")
        .or_else(|| token.strip_prefix("bearer "))
        .unwrap_or(token)
        .trim();
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("not a JWT"))?;
    if !matches!(
        header.alg,
        Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512
    ) {
        return Err(invalid(
            "the signing algorithm is not RS256, RS384 or RS512",
        ));
    }
    let kid = header.kid.ok_or_else(|| invalid("the token has no kid"))?;
    let jwk = keys
        .find(&kid)
        .ok_or_else(|| invalid("no key of the issuer has the token's kid"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| invalid("the issuer's key is unusable"))?;
    let mut validation = Validation::new(header.alg);
    validation.leeway = 0;
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.set_issuer(&[authorizer.issuer.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss"]);
    let data =
        jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation).map_err(|e| {
            invalid(match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired",
                ErrorKind::ImmatureSignature => "the token is not valid yet",
                ErrorKind::InvalidIssuer => "the token's issuer is not the authorizer's",
                ErrorKind::InvalidSignature => "the signature does not verify",
                ErrorKind::MissingRequiredClaim(_) => "the token lacks exp or iss",
                _ => "the token cannot be decoded",
            })
        })?;
    let claims = data.claims;
    if claims
        .get("iat")
        .and_then(Value::as_f64)
        .is_some_and(|iat| iat > now_secs())
    {
        return Err(invalid("the token was issued in the future"));
    }
    let audiences = ["aud", "client_id"]
        .iter()
        .flat_map(|k| strings(claims.get(*k)))
        .collect::<Vec<_>>();
    if !audiences.iter().any(|a| authorizer.audience.contains(a)) {
        return Err(invalid(
            "the token's audience is not one of the authorizer's",
        ));
    }
    let scopes = match claims.get("scope") {
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        _ => strings(claims.get("scp")),
    };
    if !route_scopes.is_empty() && !scopes.iter().any(|s| route_scopes.contains(s)) {
        return Err(JwtError::InsufficientScope);
    }
    Ok(Verified { claims, scopes })
}

impl Verified {
    /// The integration event's `requestContext.authorizer` for a route of `format`:
    /// `{jwt: {claims, scopes}}` in payload 2.0, `{claims, scopes}` in 1.0.
    pub fn authorizer_value(&self, format: PayloadFormat) -> Value {
        let claims: Map<String, Value> = self
            .claims
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(claim_text(v))))
            .collect();
        let scopes = if self.scopes.is_empty() {
            Value::Null
        } else {
            Value::from(self.scopes.clone())
        };
        let jwt = serde_json::json!({ "claims": claims, "scopes": scopes });
        if format == PayloadFormat::Http {
            serde_json::json!({ "jwt": jwt })
        } else {
            jwt
        }
    }
}

/// A claim as API Gateway passes it on: strings as they are, lists as `[a b]`, anything else
/// as its JSON text.
fn claim_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(claim_text).collect::<Vec<_>>().join(" ")
        ),
        other => other.to_string(),
    }
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
