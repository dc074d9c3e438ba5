//! CORS in a Serverless Framework file
//! (<https://www.serverless.com/framework/docs/providers/aws/events/apigateway#enabling-cors>,
//! <https://www.serverless.com/framework/docs/providers/aws/events/http-api#cors-setup>):
//!
//! - an `http` event's `cors`: `true` (any origin, the framework's default headers, `OPTIONS` and
//!   the event's method) or a mapping of `origin`/`origins`, `headers`, `methods`, `maxAge`,
//!   `allowCredentials` (and `cacheControl`, not emulated). The framework adds an `OPTIONS` mock
//!   method to the path: a REST API's preflight, answered by the gateway.
//! - `provider.httpApi.cors`: `true` (any origin, the default headers, every method) or a mapping
//!   of `allowedOrigins`, `allowedHeaders`, `allowedMethods`, `allowCredentials`,
//!   `exposedResponseHeaders`, `maxAge`: the HTTP API's `CorsConfiguration`.

use serde_yaml::{Mapping, Value};

use super::super::ConfigError;
use super::super::yaml::{YPath, describe, key_text};
use super::Reader;
use crate::apigw::Cors;

/// The headers the framework allows for `cors: true`.
const DEFAULT_HEADERS: [&str; 7] = [
    "Content-Type",
    "X-Amz-Date",
    "Authorization",
    "X-Api-Key",
    "X-Amz-Security-Token",
    "X-Amz-User-Agent",
    "X-Amzn-Trace-Id",
];

/// The fields of an `http` event's `cors` and of `provider.httpApi.cors`.
const HTTP_EVENT_KEYS: [&str; 7] = [
    "origin",
    "origins",
    "headers",
    "methods",
    "maxAge",
    "allowCredentials",
    "cacheControl",
];
const HTTP_API_KEYS: [&str; 6] = [
    "allowedOrigins",
    "allowedHeaders",
    "allowedMethods",
    "allowCredentials",
    "exposedResponseHeaders",
    "maxAge",
];

impl Reader<'_> {
    /// An `http` event's `cors` (in its mapping `event`, described as `what`), for a route of
    /// `method` (`None`: `ANY`).
    pub(super) fn http_event_cors(
        &self,
        event: &Mapping,
        path: &YPath,
        what: &str,
        method: Option<&str>,
    ) -> Result<Option<Cors>, ConfigError> {
        let Some(value) = event.get("cors") else {
            return Ok(None);
        };
        let methods = || match method {
            Some(m) => vec!["OPTIONS".to_owned(), m.to_owned()],
            None => Vec::new(),
        };
        self.cors(
            value,
            &path.key("cors"),
            &format!("{what}: cors"),
            false,
            methods,
        )
    }

    /// `provider.httpApi.cors`.
    pub(super) fn http_api_cors(
        &self,
        provider: &Mapping,
        provider_path: &YPath,
    ) -> Result<Option<Cors>, ConfigError> {
        let http_api_path = provider_path.key("httpApi");
        let Some(value) = self
            .mapping(provider.get("httpApi"), &http_api_path, "provider.httpApi")?
            .and_then(|h| h.get("cors"))
        else {
            return Ok(None);
        };
        let all = || vec!["*".to_owned()];
        self.cors(
            value,
            &http_api_path.key("cors"),
            "provider.httpApi.cors",
            true,
            all,
        )
    }

    /// `true`, `false` or a mapping of the fields of an HTTP API (`http_api`) or an `http` event;
    /// `default_methods` are those of `true` and of a mapping without methods.
    fn cors(
        &self,
        value: &Value,
        path: &YPath,
        what: &str,
        http_api: bool,
        default_methods: impl Fn() -> Vec<String>,
    ) -> Result<Option<Cors>, ConfigError> {
        let keys: &[&str] = if http_api {
            &HTTP_API_KEYS
        } else {
            &HTTP_EVENT_KEYS
        };
        let hint = format!("cors is true, or a mapping of {}", keys.join(", "));
        let default_headers = || DEFAULT_HEADERS.iter().map(|h| (*h).to_owned()).collect();
        let map = match value {
            Value::Null | Value::Bool(false) => return Ok(None),
            Value::Bool(true) => {
                return Ok(Some(Cors {
                    allow_origins: vec!["*".to_owned()],
                    allow_headers: default_headers(),
                    allow_methods: default_methods(),
                    ..Cors::default()
                }));
            }
            Value::Mapping(map) => map,
            other => {
                return Err(self
                    .src
                    .invalid(path, format!("{what} is {}", describe(other)), hint));
            }
        };
        let mut cors = Cors {
            allow_origins: vec!["*".to_owned()],
            allow_headers: default_headers(),
            allow_methods: default_methods(),
            ..Cors::default()
        };
        for (k, v) in map {
            let name = key_text(k).unwrap_or_default();
            let p = path.key(&name);
            let field = format!("{what}.{name}");
            match name.as_str() {
                "allowCredentials" => {
                    let Value::Bool(b) = v else {
                        return Err(self.src.invalid(
                            &p,
                            format!("{field} is {}, not true or false", describe(v)),
                            "write true or false",
                        ));
                    };
                    cors.allow_credentials = *b;
                }
                "maxAge" => {
                    let age = self.integer(v, &p, &field)?.unwrap_or_default();
                    cors.max_age = Some(u32::try_from(age).map_err(|_| {
                        self.src
                            .invalid(&p, format!("{field} is negative"), "write seconds")
                    })?);
                }
                // Cache-Control on the preflight's answer: not emulated.
                "cacheControl" if !http_api => {}
                _ if keys.contains(&name.as_str()) => {
                    let list = self.strings(v, &p, &field)?;
                    match name.as_str() {
                        "origin" | "origins" | "allowedOrigins" => cors.allow_origins = list,
                        "headers" | "allowedHeaders" => cors.allow_headers = list,
                        "methods" | "allowedMethods" => cors.allow_methods = list,
                        _ => cors.expose_headers = list,
                    }
                }
                _ => {
                    return Err(self.src.invalid(
                        &p,
                        format!("{what}: unknown field `{name}`"),
                        hint,
                    ));
                }
            }
        }
        Ok(Some(cors))
    }

    /// A list of strings; one string is a list of one (`origin: '*'`).
    fn strings(&self, value: &Value, path: &YPath, what: &str) -> Result<Vec<String>, ConfigError> {
        match value {
            Value::Sequence(items) => {
                let mut list = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    list.extend(self.text(item, &path.index(i), what)?);
                }
                Ok(list)
            }
            Value::Mapping(_) | Value::Tagged(_) => Err(self.src.invalid(
                path,
                format!("{what} is {}, not a list", describe(value)),
                "write a list such as ['https://app.example']",
            )),
            other => Ok(self.text(other, path, what)?.into_iter().collect()),
        }
    }
}
