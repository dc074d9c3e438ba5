//! The authorizer of an `Api` or `HttpApi` event: the event's `Auth.Authorizer` (`NONE`: none),
//! else its API's `Auth.DefaultAuthorizer`, looked up in the API's `Auth.Authorizers` (the
//! `AWS::Serverless::Api`/`HttpApi` its `RestApiId`/`ApiId` names, else `Globals.Api`/`HttpApi`,
//! the resource's own `Auth` replacing the global one whole).
//!
//! - `Api` (<https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-api-lambdatokenauthorizer.html>,
//!   `…-lambdarequestauthorizer.html`): `FunctionArn`, `FunctionPayloadType` (`TOKEN`, the
//!   default, or `REQUEST`), `Identity`: `Header` (default `Authorization`) and
//!   `ValidationExpression` for `TOKEN`; `Headers`, `QueryStrings`, `StageVariables`, `Context`
//!   for `REQUEST`; `ReauthorizeEvery` (seconds, default 300, 0 to 3600).
//! - `HttpApi` (`sam-property-httpapi-lambdaauthorizer.html`, `…-oauth2authorizer.html`): a
//!   Lambda authorizer (`FunctionArn`, `AuthorizerPayloadFormatVersion` 1.0 or 2.0,
//!   `EnableSimpleResponses`, `Identity.Headers`/`QueryStrings`/`StageVariables`/`Context`/
//!   `ReauthorizeEvery`) or a JWT one (`JwtConfiguration.issuer`/`audience`, `IdentitySource`);
//!   an event's `Auth.AuthorizationScopes`, else the JWT authorizer's `AuthorizationScopes`.
//!
//! `FunctionArn` is `!GetAtt Fn.Arn` (or `Fn::GetAtt`, `!Sub ${Fn.Arn}`, or an ARN ending in a
//! function name) naming a function of the template. `AWS_IAM` and Cognito authorizers are not
//! verified locally: a note says so and the route is open. A JWT issuer's keys can be given for
//! offline work as the template's `Metadata: {Lambkin: {Jwks: {<issuer>: <file or URL>}}}`.

use std::sync::Arc;
use std::time::Duration;

use serde_yaml::{Mapping, Value};

use super::super::ConfigError;
use super::super::yaml::{YPath, describe, key_text};
use super::Sam;
use super::events::ref_name;
use crate::apigw::auth::{
    Authorizer, AuthorizerKind, DEFAULT_TTL, IdentitySource, JwksSource, JwtAuthorizer,
    LambdaAuthorizer, LambdaPayload, MAX_TTL, RouteAuth,
};

/// The identity source of a name under an `Identity` key (`Headers`, `QueryStrings`, …).
type IdentityOf = fn(String) -> IdentitySource;

/// An API's `Auth` mapping, where it is written, and the API's name in authorizer names.
struct ApiAuth<'m> {
    auth: &'m Mapping,
    path: YPath,
    api: String,
}

impl Sam<'_> {
    /// The authorizer an event of `kind` (`Api` or `HttpApi`) with `props` requires.
    pub(super) fn event_auth(
        &self,
        what: &str,
        kind: &str,
        props: &Mapping,
        props_path: &YPath,
        notes: &mut Vec<String>,
    ) -> Result<Option<RouteAuth>, ConfigError> {
        let rest = kind == "Api";
        let api = self.api_auth(rest, props)?;
        let event_auth = match props.get("Auth") {
            None | Some(Value::Null) => None,
            Some(Value::Mapping(m)) => Some(m),
            Some(other) => {
                return Err(self.src.invalid(
                    &props_path.key("Auth"),
                    format!("{what}: Auth is {}, not a mapping", describe(other)),
                    "Auth takes Authorizer: <name of one of the API's Auth.Authorizers> (or NONE)",
                ));
            }
        };
        let auth_path = props_path.key("Auth");
        let own = match event_auth.and_then(|a| a.get("Authorizer")) {
            Some(v) => self
                .string(
                    v,
                    &auth_path.key("Authorizer"),
                    &format!("{what}: Auth.Authorizer"),
                )?
                .map(|name| (name, auth_path.key("Authorizer"))),
            None => None,
        };
        let chosen = match (own, &api) {
            (Some(own), _) => Some(own),
            (None, Some(api)) => match api.auth.get("DefaultAuthorizer") {
                Some(v) => {
                    let p = api.path.key("DefaultAuthorizer");
                    self.string(v, &p, &format!("{}: DefaultAuthorizer", api.api))?
                        .map(|name| (name, p))
                }
                None => None,
            },
            (None, None) => None,
        };
        let Some((name, name_path)) = chosen else {
            return Ok(None);
        };
        match name.as_str() {
            "NONE" => return Ok(None),
            "AWS_IAM" => {
                notes.push(format!(
                    "{what}: AWS_IAM authorization is not verified locally; the route is open"
                ));
                return Ok(None);
            }
            _ => {}
        }
        let defined = api.as_ref().and_then(|api| {
            let authorizers = api.auth.get("Authorizers")?.as_mapping()?;
            let def = authorizers.get(name.as_str())?;
            Some((def, api.path.key("Authorizers").key(&name), &api.api))
        });
        let Some((def, def_path, api_name)) = defined else {
            return Err(self.src.invalid(
                &name_path,
                format!("{what}: authorizer `{name}` is not one of its API's Auth.Authorizers"),
                "name an authorizer declared under the API's Auth: Authorizers:, or NONE",
            ));
        };
        let Value::Mapping(def) = def else {
            return Err(self.src.invalid(
                &def_path,
                format!("authorizer `{name}` is {}, not a mapping", describe(def)),
                "an authorizer is a mapping with FunctionArn (or JwtConfiguration)",
            ));
        };
        let full_name = format!("{api_name}.{name}");
        let kind = if def.contains_key("UserPoolArn") {
            notes.push(format!(
                "authorizer `{full_name}` (Cognito user pool) is not verified locally; its \
                 routes are open"
            ));
            return Ok(None);
        } else if !rest && def.contains_key("JwtConfiguration") {
            AuthorizerKind::Jwt(self.jwt_authorizer(def, &def_path, &full_name)?)
        } else {
            AuthorizerKind::Lambda(self.lambda_authorizer(def, &def_path, &full_name, rest)?)
        };
        // The event's scopes, else the JWT authorizer's own (`OAuth2Authorizer.AuthorizationScopes`).
        let scopes = match event_auth.and_then(|a| a.get("AuthorizationScopes")) {
            Some(v) => self.strings(v, &auth_path.key("AuthorizationScopes"), what)?,
            None => match def.get("AuthorizationScopes") {
                Some(v) if !rest => {
                    self.strings(v, &def_path.key("AuthorizationScopes"), &full_name)?
                }
                _ => Vec::new(),
            },
        };
        Ok(Some(RouteAuth {
            authorizer: Arc::new(Authorizer {
                name: full_name,
                kind,
            }),
            scopes,
        }))
    }

    /// The `Auth` of the API an event belongs to, if it has one.
    fn api_auth(&self, rest: bool, props: &Mapping) -> Result<Option<ApiAuth<'_>>, ConfigError> {
        let (id_key, api_type, globals, globals_name) = if rest {
            ("RestApiId", "AWS::Serverless::Api", self.api_globals, "Api")
        } else {
            (
                "ApiId",
                "AWS::Serverless::HttpApi",
                self.http_api_globals,
                "HttpApi",
            )
        };
        let mut api = format!("(implicit {globals_name})");
        if let Some(id) = props.get(id_key) {
            let Some((name, resource)) = ref_name(id).and_then(|name| {
                let resource = self.resources.get(name)?.as_mapping()?;
                (resource.get("Type")?.as_str()? == api_type).then_some((name, resource))
            }) else {
                // A plain CloudFormation API: its authorizers are resources of their own, unread.
                return Ok(None);
            };
            api = name.to_owned();
            if let Some(auth) = resource.get("Properties").and_then(|p| p.get("Auth")) {
                let path = YPath::root()
                    .key("Resources")
                    .key(name)
                    .key("Properties")
                    .key("Auth");
                return self.auth_mapping(auth, path, api).map(Some);
            }
        }
        match globals.and_then(|g| g.get("Auth")) {
            Some(auth) => {
                let path = YPath::root().key("Globals").key(globals_name).key("Auth");
                self.auth_mapping(auth, path, api).map(Some)
            }
            None => Ok(None),
        }
    }

    /// An `Auth` value, which must be a mapping.
    fn auth_mapping<'m>(
        &self,
        value: &'m Value,
        path: YPath,
        api: String,
    ) -> Result<ApiAuth<'m>, ConfigError> {
        match value {
            Value::Mapping(auth) => Ok(ApiAuth { auth, path, api }),
            other => Err(self.src.invalid(
                &path,
                format!("{api}: Auth is {}, not a mapping", describe(other)),
                "Auth takes Authorizers: and DefaultAuthorizer:",
            )),
        }
    }

    /// A Lambda authorizer's definition.
    fn lambda_authorizer(
        &self,
        def: &Mapping,
        path: &YPath,
        name: &str,
        rest: bool,
    ) -> Result<LambdaAuthorizer, ConfigError> {
        let what = format!("authorizer `{name}`");
        let function = self.function_arn(def, path, &what)?;
        let field = |key: &str| -> Result<Option<String>, ConfigError> {
            match def.get(key) {
                Some(v) => self.string(v, &path.key(key), &format!("{what}: {key}")),
                None => Ok(None),
            }
        };
        let payload = if rest {
            match field("FunctionPayloadType")?.as_deref() {
                None | Some("TOKEN") => LambdaPayload::Token,
                Some("REQUEST") => LambdaPayload::Request,
                Some(other) => {
                    return Err(self.src.invalid(
                        &path.key("FunctionPayloadType"),
                        format!(
                            "{what}: FunctionPayloadType {other:?} is neither TOKEN nor REQUEST"
                        ),
                        "write FunctionPayloadType: TOKEN (the default) or REQUEST",
                    ));
                }
            }
        } else {
            let version = match def.get("AuthorizerPayloadFormatVersion") {
                // `2.0` unquoted is a YAML number.
                Some(Value::Number(n)) => n.as_f64().map(|f| format!("{f:.1}")),
                Some(_) => field("AuthorizerPayloadFormatVersion")?,
                None => None,
            };
            match version.as_deref() {
                Some("1.0") => LambdaPayload::HttpV1,
                Some("2.0") => LambdaPayload::HttpV2,
                other => {
                    return Err(self.src.invalid(
                        &path.key("AuthorizerPayloadFormatVersion"),
                        format!(
                            "{what}: AuthorizerPayloadFormatVersion is {}",
                            other.map_or("missing".to_owned(), |v| format!("{v:?}"))
                        ),
                        "an HttpApi Lambda authorizer needs AuthorizerPayloadFormatVersion: \"2.0\" or \"1.0\"",
                    ));
                }
            }
        };
        let simple_responses = match def.get("EnableSimpleResponses") {
            None => false,
            Some(v) => match self.resolve(v, &path.key("EnableSimpleResponses"), &what)? {
                Some(Value::Bool(b)) => b,
                None | Some(Value::Null) => false,
                Some(other) => {
                    return Err(self.src.invalid(
                        &path.key("EnableSimpleResponses"),
                        format!("{what}: EnableSimpleResponses is {}", describe(&other)),
                        "write EnableSimpleResponses: true or false",
                    ));
                }
            },
        };
        if simple_responses && payload != LambdaPayload::HttpV2 {
            return Err(self.src.invalid(
                &path.key("EnableSimpleResponses"),
                format!("{what}: simple responses need AuthorizerPayloadFormatVersion 2.0"),
                "set AuthorizerPayloadFormatVersion: \"2.0\" or remove EnableSimpleResponses",
            ));
        }
        let identity_path = path.key("Identity");
        let identity_map = match def.get("Identity") {
            None | Some(Value::Null) => None,
            Some(Value::Mapping(m)) => Some(m),
            Some(other) => {
                return Err(self.src.invalid(
                    &identity_path,
                    format!("{what}: Identity is {}, not a mapping", describe(other)),
                    "Identity takes Header (TOKEN) or Headers, QueryStrings, … and ReauthorizeEvery",
                ));
            }
        };
        let empty = Mapping::new();
        let identity_map = identity_map.unwrap_or(&empty);
        let mut identity = Vec::new();
        let mut validation = None;
        if payload == LambdaPayload::Token {
            let header = match identity_map.get("Header") {
                Some(v) => self.string(v, &identity_path.key("Header"), &what)?,
                None => None,
            };
            identity.push(IdentitySource::Header(
                header.unwrap_or_else(|| "Authorization".to_owned()),
            ));
            if let Some(v) = identity_map.get("ValidationExpression") {
                let p = identity_path.key("ValidationExpression");
                if let Some(pattern) = self.string(v, &p, &what)? {
                    if let Err(e) = regex_lite::Regex::new(&pattern) {
                        return Err(self.src.invalid(
                            &p,
                            format!("{what}: ValidationExpression is not a regular expression: {e}"),
                            "write a regular expression the token must match, such as ^Bearer [-0-9a-zA-Z._]*$",
                        ));
                    }
                    validation = Some(pattern);
                }
            }
        } else {
            let sources: [(&str, IdentityOf); 4] = [
                ("Headers", IdentitySource::Header),
                ("QueryStrings", IdentitySource::Query),
                ("StageVariables", IdentitySource::StageVariable),
                ("Context", IdentitySource::Context),
            ];
            for (key, make) in sources {
                if let Some(v) = identity_map.get(key) {
                    let names = self.strings(v, &identity_path.key(key), &what)?;
                    identity.extend(names.into_iter().map(make));
                }
            }
        }
        let ttl = match identity_map.get("ReauthorizeEvery") {
            None => DEFAULT_TTL,
            Some(v) => {
                let p = identity_path.key("ReauthorizeEvery");
                let secs = self.integer(v, &p, &format!("{what}: ReauthorizeEvery"))?;
                match secs.map(u64::try_from) {
                    None => DEFAULT_TTL,
                    Some(Ok(s)) if Duration::from_secs(s) <= MAX_TTL => Duration::from_secs(s),
                    Some(_) => {
                        return Err(self.src.invalid(
                            &p,
                            format!("{what}: ReauthorizeEvery must be 0 to 3600 seconds"),
                            "write a number of seconds from 0 (no caching) to 3600",
                        ));
                    }
                }
            }
        };
        Ok(LambdaAuthorizer {
            function,
            payload,
            identity,
            ttl,
            validation,
            simple_responses,
        })
    }

    /// A JWT authorizer's definition.
    fn jwt_authorizer(
        &self,
        def: &Mapping,
        path: &YPath,
        name: &str,
    ) -> Result<JwtAuthorizer, ConfigError> {
        let what = format!("authorizer `{name}`");
        let config_path = path.key("JwtConfiguration");
        let Some(Value::Mapping(config)) = def.get("JwtConfiguration") else {
            return Err(self.src.invalid(
                &config_path,
                format!("{what}: JwtConfiguration is not a mapping"),
                "JwtConfiguration takes issuer: and audience:",
            ));
        };
        let issuer = match config.get("issuer") {
            Some(v) => self.string(v, &config_path.key("issuer"), &what)?,
            None => None,
        };
        let Some(issuer) = issuer.filter(|i| !i.is_empty()) else {
            return Err(self.src.invalid(
                &config_path,
                format!("{what}: JwtConfiguration has no issuer"),
                "write issuer: https://… (the tokens' iss)",
            ));
        };
        let audience = match config.get("audience") {
            Some(v) => self.strings(v, &config_path.key("audience"), &what)?,
            None => Vec::new(),
        };
        if audience.is_empty() {
            return Err(self.src.invalid(
                &config_path,
                format!("{what}: JwtConfiguration has no audience"),
                "write audience: [<the tokens' aud or client_id>]",
            ));
        }
        let source_path = path.key("IdentitySource");
        let source = match def.get("IdentitySource") {
            Some(v) => self.string(v, &source_path, &what)?,
            None => None,
        }
        .unwrap_or_else(|| "$request.header.Authorization".to_owned());
        let Some(identity) = IdentitySource::parse(&source) else {
            return Err(self.src.invalid(
                &source_path,
                format!("{what}: IdentitySource {source:?} is not an identity source"),
                "write IdentitySource: $request.header.Authorization (or another header)",
            ));
        };
        let jwks = self.jwks_override(&issuer)?;
        Ok(JwtAuthorizer {
            issuer,
            audience,
            identity,
            jwks,
        })
    }

    /// The keys of `issuer` given in `Metadata.Lambkin.Jwks`, if any.
    fn jwks_override(&self, issuer: &str) -> Result<Option<JwksSource>, ConfigError> {
        let Some(jwks) = self
            .metadata
            .and_then(|m| m.get("Lambkin"))
            .and_then(|l| l.get("Jwks"))
        else {
            return Ok(None);
        };
        let path = YPath::root().key("Metadata").key("Lambkin").key("Jwks");
        let Value::Mapping(jwks) = jwks else {
            return Err(self.src.invalid(
                &path,
                format!("Metadata.Lambkin.Jwks is {}, not a mapping", describe(jwks)),
                "map each issuer to its JWKS file or URL: Jwks: {https://issuer.example: ./jwks.json}",
            ));
        };
        let Some(value) = jwks.get(issuer) else {
            return Ok(None);
        };
        match key_text(value) {
            Some(text) if !text.is_empty() => Ok(Some(JwksSource::parse(&text, self.base))),
            _ => Err(self.src.invalid(
                &path.key(issuer),
                format!("the JWKS of {issuer} is {}", describe(value)),
                "write a file path (relative to the template) or a URL",
            )),
        }
    }

    /// The function a `FunctionArn` names; it must be a function of the template.
    fn function_arn(&self, def: &Mapping, path: &YPath, what: &str) -> Result<String, ConfigError> {
        let p = path.key("FunctionArn");
        let hint = "write FunctionArn: !GetAtt <function's logical id>.Arn";
        let Some(value) = def.get("FunctionArn") else {
            return Err(self
                .src
                .invalid(path, format!("{what} has no FunctionArn"), hint));
        };
        let name = function_of_arn(value);
        let Some(name) = name else {
            return Err(self.src.invalid(
                &p,
                format!("{what}: FunctionArn {} names no function", describe(value)),
                hint,
            ));
        };
        let is_function = self
            .resources
            .get(name.as_str())
            .and_then(|r| r.get("Type"))
            .and_then(Value::as_str)
            .is_some_and(|t| t == "AWS::Serverless::Function" || t == "AWS::Lambda::Function");
        if !is_function {
            return Err(self.src.invalid(
                &p,
                format!(
                    "{what}: FunctionArn names `{name}`, which is not a function of the template"
                ),
                "the authorizer runs locally: name a function declared in this template",
            ));
        }
        Ok(name)
    }

    /// A list of strings (or one string).
    fn strings(&self, value: &Value, path: &YPath, what: &str) -> Result<Vec<String>, ConfigError> {
        match self.resolve(value, path, what)? {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Sequence(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| self.string(item, &path.index(i), what).transpose())
                .collect(),
            Some(Value::String(s)) => Ok(vec![s]),
            Some(other) => Err(self.src.invalid(
                path,
                format!("{what}: {path} is {}, not a list", describe(&other)),
                "write a list of names",
            )),
        }
    }
}

/// The logical id a `FunctionArn` names: `!GetAtt Fn.Arn`, `{"Fn::GetAtt": [Fn, Arn]}`,
/// `!Sub ${Fn.Arn}`, or an ARN `…:function:Fn`.
pub(super) fn function_of_arn(value: &Value) -> Option<String> {
    let (tag, argument) = match value {
        Value::Tagged(tagged) => (tagged.tag.to_string(), &tagged.value),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, v) = m.iter().next()?;
            (k.as_str()?.to_owned(), v)
        }
        Value::String(arn) => {
            let (_, name) = arn.rsplit_once(":function:")?;
            return Some(name.split(':').next()?.to_owned());
        }
        _ => return None,
    };
    let of_attribute = |text: &str| text.strip_suffix(".Arn").map(str::to_owned);
    match (
        tag.trim_start_matches('!').trim_start_matches("Fn::"),
        argument,
    ) {
        ("GetAtt", Value::String(text)) => of_attribute(text),
        ("GetAtt", Value::Sequence(items)) if items.len() == 2 => {
            (items[1].as_str()? == "Arn").then(|| items[0].as_str().map(str::to_owned))?
        }
        ("Sub", Value::String(text)) => of_attribute(text.strip_prefix("${")?.strip_suffix('}')?),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
