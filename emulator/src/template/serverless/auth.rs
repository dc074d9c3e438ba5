//! Authorizers in a Serverless Framework file
//! (<https://www.serverless.com/framework/docs/providers/aws/events/apigateway#http-endpoints-with-custom-authorizers>,
//! <https://www.serverless.com/framework/docs/providers/aws/events/http-api#jwt-authorizers>):
//!
//! - an `http` event's `authorizer`: a function name of the file (or an ARN ending in one), or a
//!   mapping of `name` (or `arn`), `type` (`token`, the default, or `request`),
//!   `identitySource` (default `method.request.header.Authorization`; a comma-separated list for
//!   `request`), `identityValidationExpression` and `resultTtlInSeconds` (default 300);
//! - an `httpApi` event's `authorizer`: `name` (or the name alone) of one of
//!   `provider.httpApi.authorizers`, and `scopes`; those are `type: jwt` (`identitySource`,
//!   `issuerUrl`, `audience`) or `type: request` (`functionName`, `identitySource`,
//!   `payloadVersion` `'2.0'` by default, `enableSimpleResponses`, `resultTtlInSeconds`).
//!
//! `aws_iam` and Cognito authorizers are not verified locally (a note says so). A JWT issuer's
//! keys can be given for offline work as `custom: {lambkin: {jwks: {<issuer>: <file or URL>}}}`.

use std::sync::Arc;
use std::time::Duration;

use serde_yaml::{Mapping, Value};

use super::super::ConfigError;
use super::super::yaml::{YPath, describe, key_text};
use super::Reader;
use crate::apigw::auth::{
    Authorizer, AuthorizerKind, DEFAULT_TTL, IdentitySource, JwksSource, JwtAuthorizer,
    LambdaAuthorizer, LambdaPayload, MAX_TTL, RouteAuth,
};

impl Reader<'_> {
    /// The `authorizer` of an `http` event (`event`, its body).
    pub(super) fn http_event_auth(
        &self,
        event: &Value,
        path: &YPath,
        what: &str,
        notes: &mut Vec<String>,
    ) -> Result<Option<RouteAuth>, ConfigError> {
        let Some(value) = event.as_mapping().and_then(|m| m.get("authorizer")) else {
            return Ok(None);
        };
        let path = path.key("authorizer");
        let what = format!("{what}: authorizer");
        let empty = Mapping::new();
        let (reference, settings) = match value {
            Value::Mapping(m) => {
                let name = match m.get("name").or_else(|| m.get("arn")) {
                    Some(v) => self.text(v, &path, &what)?,
                    None => None,
                };
                (name, m)
            }
            other => (self.text(other, &path, &what)?, &empty),
        };
        let kind = match settings.get("type") {
            Some(v) => self.text(v, &path.key("type"), &what)?,
            None => None,
        }
        .unwrap_or_else(|| "token".to_owned())
        .to_ascii_lowercase();
        if kind == "aws_iam" || reference.as_deref() == Some("aws_iam") {
            notes.push(format!(
                "{what}: aws_iam is not verified locally; the route is open"
            ));
            return Ok(None);
        }
        if kind == "cognito_user_pools"
            || reference
                .as_deref()
                .is_some_and(|r| r.contains(":cognito-idp:"))
        {
            notes.push(format!(
                "{what}: Cognito user pool authorizers are not verified locally; the route is open"
            ));
            return Ok(None);
        }
        let payload = match kind.as_str() {
            "token" => LambdaPayload::Token,
            "request" => LambdaPayload::Request,
            other => {
                return Err(self.src.invalid(
                    &path.key("type"),
                    format!("{what}: type {other:?} is not token, request, aws_iam or cognito_user_pools"),
                    "write type: token (the default) or request",
                ));
            }
        };
        let function = self.authorizer_function(reference, &path, &what)?;
        let default_source = "method.request.header.Authorization".to_owned();
        let sources = match settings.get("identitySource") {
            Some(v) => self.text(v, &path.key("identitySource"), &what)?,
            None => None,
        }
        .unwrap_or(default_source);
        let identity = self.identity_sources(
            sources.split(',').map(str::to_owned).collect(),
            &path.key("identitySource"),
            &what,
        )?;
        if payload == LambdaPayload::Token && identity.len() != 1 {
            return Err(self.src.invalid(
                &path.key("identitySource"),
                format!("{what}: a token authorizer reads one header"),
                "write identitySource: method.request.header.<Name>",
            ));
        }
        let validation = match settings.get("identityValidationExpression") {
            Some(v) => {
                let p = path.key("identityValidationExpression");
                let pattern = self.text(v, &p, &what)?;
                if let Some(Err(e)) = pattern.as_deref().map(regex_lite::Regex::new) {
                    return Err(self.src.invalid(
                        &p,
                        format!(
                            "{what}: identityValidationExpression is not a regular expression: {e}"
                        ),
                        "write a regular expression the token must match",
                    ));
                }
                pattern
            }
            None => None,
        };
        let ttl = self.result_ttl(settings, &path, &what)?;
        let name = format!("http.{function}");
        Ok(Some(RouteAuth {
            authorizer: Arc::new(Authorizer {
                name,
                kind: AuthorizerKind::Lambda(LambdaAuthorizer {
                    function,
                    payload,
                    identity,
                    ttl,
                    validation,
                    simple_responses: false,
                }),
            }),
            scopes: Vec::new(),
        }))
    }

    /// The `authorizer` of an `httpApi` event (`event`, its body).
    pub(super) fn http_api_event_auth(
        &self,
        event: &Value,
        path: &YPath,
        what: &str,
        notes: &mut Vec<String>,
    ) -> Result<Option<RouteAuth>, ConfigError> {
        let Some(value) = event.as_mapping().and_then(|m| m.get("authorizer")) else {
            return Ok(None);
        };
        let path = path.key("authorizer");
        let what = format!("{what}: authorizer");
        let (name, scopes, kind) = match value {
            Value::Mapping(m) => {
                let text = |key: &str| match m.get(key) {
                    Some(v) => self.text(v, &path.key(key), &what),
                    None => Ok(None),
                };
                let scopes = match m.get("scopes") {
                    Some(v) => self.texts(v, &path.key("scopes"), &what)?,
                    None => Vec::new(),
                };
                (text("name")?, scopes, text("type")?)
            }
            other => (self.text(other, &path, &what)?, Vec::new(), None),
        };
        if kind.as_deref() == Some("aws_iam") {
            notes.push(format!(
                "{what}: aws_iam is not verified locally; the route is open"
            ));
            return Ok(None);
        }
        let Some(name) = name else {
            return Err(self.src.invalid(
                &path,
                format!("{what} names no authorizer"),
                "write authorizer: {name: <one of provider.httpApi.authorizers>}",
            ));
        };
        let defs_path = YPath::root()
            .key("provider")
            .key("httpApi")
            .key("authorizers");
        let def = self
            .root
            .get("provider")
            .and_then(|p| p.get("httpApi"))
            .and_then(|h| h.get("authorizers"))
            .and_then(|a| a.get(name.as_str()));
        let Some(Value::Mapping(def)) = def else {
            return Err(self.src.invalid(
                &path,
                format!("{what}: `{name}` is not one of provider.httpApi.authorizers"),
                "declare it under provider: httpApi: authorizers:",
            ));
        };
        let def_path = defs_path.key(&name);
        let def_what = format!("provider.httpApi.authorizers.{name}");
        let text = |key: &str| match def.get(key) {
            Some(v) => self.text(v, &def_path.key(key), &def_what),
            None => Ok(None),
        };
        let kind = match text("type")? {
            Some(t) => t.to_ascii_lowercase(),
            None if def.contains_key("functionName") || def.contains_key("functionArn") => {
                "request".to_owned()
            }
            None => "jwt".to_owned(),
        };
        let kind = match kind.as_str() {
            "jwt" => {
                let issuer = text("issuerUrl")?
                    .filter(|i| !i.is_empty())
                    .ok_or_else(|| {
                        self.src.invalid(
                            &def_path,
                            format!("{def_what} has no issuerUrl"),
                            "a JWT authorizer needs issuerUrl: and audience:",
                        )
                    })?;
                let audience = match def.get("audience") {
                    Some(v) => self.texts(v, &def_path.key("audience"), &def_what)?,
                    None => Vec::new(),
                };
                if audience.is_empty() {
                    return Err(self.src.invalid(
                        &def_path,
                        format!("{def_what} has no audience"),
                        "write audience: [<the tokens' aud or client_id>]",
                    ));
                }
                let source = text("identitySource")?
                    .unwrap_or_else(|| "$request.header.Authorization".to_owned());
                let mut identity = self.identity_sources(
                    vec![source],
                    &def_path.key("identitySource"),
                    &def_what,
                )?;
                let jwks = self.jwks_override(&issuer)?;
                AuthorizerKind::Jwt(JwtAuthorizer {
                    issuer,
                    audience,
                    identity: identity.remove(0),
                    jwks,
                })
            }
            "request" => {
                let reference = text("functionName")?.or(text("functionArn")?);
                let function = self.authorizer_function(reference, &def_path, &def_what)?;
                let payload = match text("payloadVersion")?.as_deref() {
                    None | Some("2.0") | Some("2") => LambdaPayload::HttpV2,
                    Some("1.0") | Some("1") => LambdaPayload::HttpV1,
                    Some(other) => {
                        return Err(self.src.invalid(
                            &def_path.key("payloadVersion"),
                            format!(
                                "{def_what}: payloadVersion {other:?} is neither '1.0' nor '2.0'"
                            ),
                            "write payloadVersion: '2.0' (the default) or '1.0'",
                        ));
                    }
                };
                let simple_responses = match def.get("enableSimpleResponses") {
                    None | Some(Value::Null) => false,
                    Some(Value::Bool(b)) => *b,
                    Some(other) => {
                        return Err(self.src.invalid(
                            &def_path.key("enableSimpleResponses"),
                            format!("{def_what}: enableSimpleResponses is {}", describe(other)),
                            "write enableSimpleResponses: true or false",
                        ));
                    }
                };
                let sources = match def.get("identitySource") {
                    Some(v) => self.texts(v, &def_path.key("identitySource"), &def_what)?,
                    None => Vec::new(),
                };
                let identity =
                    self.identity_sources(sources, &def_path.key("identitySource"), &def_what)?;
                let ttl = if identity.is_empty() {
                    Duration::ZERO
                } else {
                    self.result_ttl(def, &def_path, &def_what)?
                };
                AuthorizerKind::Lambda(LambdaAuthorizer {
                    function,
                    payload,
                    identity,
                    ttl,
                    validation: None,
                    simple_responses,
                })
            }
            other => {
                return Err(self.src.invalid(
                    &def_path.key("type"),
                    format!("{def_what}: type {other:?} is neither jwt nor request"),
                    "write type: jwt or type: request",
                ));
            }
        };
        Ok(Some(RouteAuth {
            authorizer: Arc::new(Authorizer {
                name: format!("httpApi.{name}"),
                kind,
            }),
            scopes,
        }))
    }

    /// The function of the file an authorizer names (by name, or by an ARN ending in it).
    fn authorizer_function(
        &self,
        reference: Option<String>,
        path: &YPath,
        what: &str,
    ) -> Result<String, ConfigError> {
        let Some(reference) = reference else {
            return Err(self.src.invalid(
                path,
                format!("{what} names no function"),
                "write the name of the authorizer function of this file",
            ));
        };
        let name = reference
            .rsplit_once(":function:")
            .map_or(reference.as_str(), |(_, n)| {
                n.split(':').next().unwrap_or(n)
            });
        let declared = self
            .root
            .get("functions")
            .and_then(Value::as_mapping)
            .is_some_and(|f| f.contains_key(name));
        if !declared {
            return Err(self.src.invalid(
                path,
                format!("{what}: `{reference}` is not a function of this file"),
                "the authorizer runs locally: name a function declared under functions:",
            ));
        }
        Ok(name.to_owned())
    }

    /// Identity sources as written (`method.request.header.X`, `$request.header.X`, …).
    fn identity_sources(
        &self,
        texts: Vec<String>,
        path: &YPath,
        what: &str,
    ) -> Result<Vec<IdentitySource>, ConfigError> {
        texts
            .iter()
            .map(|text| {
                IdentitySource::parse(text).ok_or_else(|| {
                    self.src.invalid(
                        path,
                        format!("{what}: {text:?} is not an identity source"),
                        "write method.request.header.<Name> (REST) or $request.header.<Name> (HTTP API)",
                    )
                })
            })
            .collect()
    }

    /// `resultTtlInSeconds` of `settings`: 300 by default, 0 to 3600.
    fn result_ttl(
        &self,
        settings: &Mapping,
        path: &YPath,
        what: &str,
    ) -> Result<Duration, ConfigError> {
        let Some(v) = settings.get("resultTtlInSeconds") else {
            return Ok(DEFAULT_TTL);
        };
        let p = path.key("resultTtlInSeconds");
        match self.integer(v, &p, what)?.map(u64::try_from) {
            None => Ok(DEFAULT_TTL),
            Some(Ok(s)) if Duration::from_secs(s) <= MAX_TTL => Ok(Duration::from_secs(s)),
            Some(_) => Err(self.src.invalid(
                &p,
                format!("{what}: resultTtlInSeconds must be 0 to 3600"),
                "write a number of seconds from 0 (no caching) to 3600",
            )),
        }
    }

    /// A list of texts (or one text).
    fn texts(&self, value: &Value, path: &YPath, what: &str) -> Result<Vec<String>, ConfigError> {
        match value {
            Value::Sequence(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| self.text(item, &path.index(i), what).transpose())
                .collect(),
            other => Ok(self.text(other, path, what)?.into_iter().collect()),
        }
    }

    /// The keys of `issuer` given in `custom.lambkin.jwks`, if any.
    fn jwks_override(&self, issuer: &str) -> Result<Option<JwksSource>, ConfigError> {
        let Some(jwks) = self
            .root
            .get("custom")
            .and_then(|c| c.get("lambkin"))
            .and_then(|l| l.get("jwks"))
        else {
            return Ok(None);
        };
        let path = YPath::root().key("custom").key("lambkin").key("jwks");
        let Value::Mapping(jwks) = jwks else {
            return Err(self.src.invalid(
                &path,
                format!("custom.lambkin.jwks is {}, not a mapping", describe(jwks)),
                "map each issuer to its JWKS file or URL: jwks: {https://issuer.example: ./jwks.json}",
            ));
        };
        match jwks.get(issuer).map(|v| (v, key_text(v))) {
            None => Ok(None),
            Some((_, Some(text))) if !text.is_empty() => {
                Ok(Some(JwksSource::parse(&text, self.base)))
            }
            Some((value, _)) => Err(self.src.invalid(
                &path.key(issuer),
                format!("the JWKS of {issuer} is {}", describe(value)),
                "write a file path (relative to serverless.yml) or a URL",
            )),
        }
    }
}

#[cfg(test)]
mod tests;
