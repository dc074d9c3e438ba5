//! The CORS configuration of the API an `Api` or `HttpApi` event belongs to.
//!
//! - `HttpApi` events: `CorsConfiguration` of the `AWS::Serverless::HttpApi` their `ApiId` names,
//!   else `Globals.HttpApi.CorsConfiguration` (the implicit API and every `AWS::Serverless::
//!   HttpApi` take it): a mapping of `AllowOrigins`, `AllowMethods`, `AllowHeaders`,
//!   `ExposeHeaders` (lists), `MaxAge` (seconds), `AllowCredentials`; a string is one allowed
//!   origin; `true` (SAM's schema takes a boolean) is read as allowing every origin, method and
//!   header
//!   (<https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-httpapi-httpapicorsconfiguration.html>).
//! - `Api` events: `Cors` of the `AWS::Serverless::Api` their `RestApiId` names, else
//!   `Globals.Api.Cors`: a mapping of `AllowOrigin` (required), `AllowMethods`, `AllowHeaders`,
//!   `MaxAge`, `AllowCredentials`, whose strings are header values written as API Gateway
//!   mapping expressions, in single quotes (`"'*'"`); a string alone is `AllowOrigin`
//!   (<https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-api-corsconfiguration.html>).
//!
//! - `FunctionUrlConfig.Cors`: the fields of `CorsConfiguration`, within the limits of Lambda's
//!   `Cors` type (<https://docs.aws.amazon.com/lambda/latest/api/API_Cors.html>).
//!
//! The resource's own setting replaces the global one whole.

use serde_yaml::{Mapping, Value};

use super::super::ConfigError;
use super::super::yaml::{YPath, describe, key_text};
use super::Sam;
use crate::apigw::Cors;

/// The keys of each API type's CORS mapping.
const HTTP_KEYS: [&str; 6] = [
    "AllowOrigins",
    "AllowMethods",
    "AllowHeaders",
    "ExposeHeaders",
    "MaxAge",
    "AllowCredentials",
];
const REST_KEYS: [&str; 5] = [
    "AllowOrigin",
    "AllowMethods",
    "AllowHeaders",
    "MaxAge",
    "AllowCredentials",
];

impl Sam<'_> {
    /// The CORS configuration of the API of an event of `kind` (`Api` or `HttpApi`) with
    /// `props`; `None` when its API has none.
    pub(super) fn event_cors(
        &self,
        kind: &str,
        props: &Mapping,
    ) -> Result<Option<Cors>, ConfigError> {
        let rest = kind == "Api";
        let (id_key, api_type, globals, key, globals_name) = if rest {
            (
                "RestApiId",
                "AWS::Serverless::Api",
                self.api_globals,
                "Cors",
                "Api",
            )
        } else {
            (
                "ApiId",
                "AWS::Serverless::HttpApi",
                self.http_api_globals,
                "CorsConfiguration",
                "HttpApi",
            )
        };
        let own = match props.get(id_key) {
            // The implicit API: only the globals.
            None => None,
            Some(id) => {
                let Some((name, resource)) = super::events::ref_name(id).and_then(|name| {
                    let resource = self.resources.get(name)?.as_mapping()?;
                    (resource.get("Type")?.as_str()? == api_type).then_some((name, resource))
                }) else {
                    // A plain CloudFormation API: its CORS lives in its OpenAPI body, unread.
                    return Ok(None);
                };
                resource
                    .get("Properties")
                    .and_then(|p| p.get(key))
                    .map(|v| {
                        let path = YPath::root()
                            .key("Resources")
                            .key(name)
                            .key("Properties")
                            .key(key);
                        (v, path, format!("API `{name}`: {key}"))
                    })
            }
        };
        let global = || {
            globals.and_then(|g| g.get(key)).map(|v| {
                (
                    v,
                    YPath::root().key("Globals").key(globals_name).key(key),
                    format!("Globals.{globals_name}.{key}"),
                )
            })
        };
        let Some((value, path, what)) = own.or_else(global) else {
            return Ok(None);
        };
        self.cors(value, &path, &what, rest)
    }

    /// A function URL's `FunctionUrlConfig.Cors`: the fields of an HTTP API's
    /// `CorsConfiguration`, held to the limits of Lambda's `Cors` type.
    pub(super) fn url_cors(
        &self,
        value: &Value,
        path: &YPath,
        what: &str,
    ) -> Result<Option<Cors>, ConfigError> {
        let cors = self.cors(value, path, what, false)?;
        if let Some(Err(error)) = cors.as_ref().map(Cors::check_url_limits) {
            return Err(self.src.invalid(
                &path.key(error.field),
                format!("{what}.{}: {} fails: {}", error.field, error.value, error.constraint),
                "see the limits of function URL CORS: https://docs.aws.amazon.com/lambda/latest/api/API_Cors.html",
            ));
        }
        Ok(cors)
    }

    /// One CORS setting: a mapping, a string (the allowed origin) or a boolean.
    fn cors(
        &self,
        value: &Value,
        path: &YPath,
        what: &str,
        rest: bool,
    ) -> Result<Option<Cors>, ConfigError> {
        let hint = if rest {
            "Cors is a quoted origin such as \"'*'\", or a mapping with AllowOrigin: \"'https://app.example'\" and optionally AllowMethods, AllowHeaders, MaxAge, AllowCredentials"
        } else {
            "CorsConfiguration is true, an origin, or a mapping with AllowOrigins, AllowMethods, AllowHeaders, ExposeHeaders (lists), MaxAge (seconds) and AllowCredentials"
        };
        let map = match self.resolve(value, path, what)? {
            None | Some(Value::Null) | Some(Value::Bool(false)) => return Ok(None),
            Some(Value::Bool(true)) if !rest => {
                let all = || vec!["*".to_owned()];
                return Ok(Some(Cors {
                    allow_origins: all(),
                    allow_methods: all(),
                    allow_headers: all(),
                    ..Cors::default()
                }));
            }
            Some(Value::String(origin)) => {
                let origin = if rest {
                    self.quoted(&origin, path, what)?
                } else {
                    origin
                };
                return Ok(Some(Cors {
                    allow_origins: vec![origin],
                    ..Cors::default()
                }));
            }
            Some(Value::Mapping(map)) => map,
            Some(other) => {
                return Err(self.src.invalid(
                    path,
                    format!("{what} is {}", describe(&other)),
                    hint,
                ));
            }
        };
        let keys: &[&str] = if rest { &REST_KEYS } else { &HTTP_KEYS };
        for k in map.keys() {
            let name = key_text(k).unwrap_or_default();
            if !keys.contains(&name.as_str()) {
                return Err(self.src.invalid(
                    &path.key(&name),
                    format!("{what}: unknown field `{name}`"),
                    format!("the fields are {}", keys.join(", ")),
                ));
            }
        }
        let mut cors = Cors::default();
        for (k, v) in &map {
            let name = key_text(k).unwrap_or_default();
            let p = path.key(&name);
            let field = format!("{what}.{name}");
            match name.as_str() {
                "AllowCredentials" => cors.allow_credentials = self.boolean(v, &p, &field)?,
                "MaxAge" => cors.max_age = Some(self.max_age(v, &p, &field, rest)?),
                _ => {
                    let list = if rest {
                        let text = self.string(v, &p, &field)?.unwrap_or_default();
                        let text = self.quoted(&text, &p, &field)?;
                        text.split(',').map(|s| s.trim().to_owned()).collect()
                    } else {
                        self.list(v, &p, &field)?
                    };
                    match name.as_str() {
                        "AllowOrigin" | "AllowOrigins" => cors.allow_origins = list,
                        "AllowMethods" => cors.allow_methods = list,
                        "AllowHeaders" => cors.allow_headers = list,
                        _ => cors.expose_headers = list,
                    }
                }
            }
        }
        if rest && cors.allow_origins.is_empty() {
            return Err(self
                .src
                .invalid(path, format!("{what} has no AllowOrigin"), hint));
        }
        Ok(Some(cors))
    }

    /// A REST API header value: a literal in single quotes (`'*'`), returned without them.
    fn quoted(&self, text: &str, path: &YPath, what: &str) -> Result<String, ConfigError> {
        match text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
            Some(inner) => Ok(inner.to_owned()),
            None => Err(self.src.invalid(
                path,
                format!("{what} `{text}` is not in single quotes"),
                format!(
                    "REST API CORS values are API Gateway mapping expressions: write \"'{text}'\""
                ),
            )),
        }
    }

    /// A boolean field (`AllowCredentials`, an SQS event's `Enabled`); `true`/`false` strings
    /// too.
    pub(super) fn boolean(
        &self,
        value: &Value,
        path: &YPath,
        what: &str,
    ) -> Result<bool, ConfigError> {
        match self.resolve(value, path, what)? {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(b),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
            Some(other) => Err(self.src.invalid(
                path,
                format!("{what} is {}, not true or false", describe(&other)),
                "write true or false",
            )),
        }
    }

    /// `MaxAge` in seconds (a REST API's may be quoted, `"'600'"`).
    fn max_age(
        &self,
        value: &Value,
        path: &YPath,
        what: &str,
        rest: bool,
    ) -> Result<u32, ConfigError> {
        let text = self.string(value, path, what)?.unwrap_or_default();
        let bare = if rest {
            text.strip_prefix('\'')
                .and_then(|t| t.strip_suffix('\''))
                .unwrap_or(&text)
        } else {
            &text
        };
        // HTTP APIs take 0 to 86400 seconds (CreateApi's Cors.MaxAge).
        match bare.trim().parse::<u32>() {
            Ok(age) if rest || age <= 86_400 => Ok(age),
            _ => Err(self.src.invalid(
                path,
                format!("{what} `{text}` is not a number of seconds from 0 to 86400"),
                "write MaxAge: 600",
            )),
        }
    }

    /// A list of strings (one string is a list of one).
    fn list(&self, value: &Value, path: &YPath, what: &str) -> Result<Vec<String>, ConfigError> {
        match self.resolve(value, path, what)? {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Sequence(items)) => {
                let mut list = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    list.extend(self.string(item, &path.index(i), what)?);
                }
                Ok(list)
            }
            Some(v @ Value::String(_)) => Ok(key_text(&v).into_iter().collect()),
            Some(other) => Err(self.src.invalid(
                path,
                format!("{what} is {}, not a list", describe(&other)),
                "write a list such as [\"https://app.example\"]",
            )),
        }
    }
}
