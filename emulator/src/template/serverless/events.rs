//! The HTTP events of a Serverless Framework function: `http` (REST API, payload 1.0) and
//! `httpApi` (HTTP API) entries in their short (`GET /path`) and long (`path:`, `method:`) forms.

use serde_yaml::Value;

use super::super::yaml::YPath;
use super::super::{ConfigError, RouteSpec, parse_method, validate_path};
use super::Reader;
use crate::apigw::PayloadFormat;

impl Reader<'_> {
    /// `- http: GET users/{id}` or `- http: {path, method, cors}` (REST API).
    pub(super) fn http_event(
        &self,
        owner: &str,
        body: &Value,
        path: &YPath,
        notes: &mut Vec<String>,
    ) -> Result<RouteSpec, ConfigError> {
        let what = format!("{owner}: http event");
        let hint = "write `- http: GET /users/{id}` or `- http:` with path: and method:";
        let (method, route_path, at) = match body {
            Value::Mapping(m) => {
                let field = |key| self.required_text(m, path, key, &what, hint);
                let (route_path, path_at) = field("path")?;
                let (method, method_at) = field("method")?;
                if let Some(Value::String(integration)) = m.get("integration") {
                    if !matches!(
                        integration.to_ascii_lowercase().as_str(),
                        "lambda-proxy" | "aws_proxy"
                    ) {
                        notes.push(format!(
                            "{owner}: http event with `integration: {integration}` is served as a \
                             Lambda proxy integration (payload 1.0)"
                        ));
                    }
                }
                ((method, method_at), route_path, path_at)
            }
            other => {
                let Some(short) = self.text(other, path, &what)? else {
                    return Err(self.src.invalid(path, format!("{what} is empty"), hint));
                };
                let mut parts = short.split_whitespace();
                let (Some(m), Some(p), None) = (parts.next(), parts.next(), parts.next()) else {
                    return Err(self.src.invalid(
                        path,
                        format!("{what} `{short}` is not `METHOD path`"),
                        hint,
                    ));
                };
                ((m.to_owned(), path.clone()), p.to_owned(), path.clone())
            }
        };
        let method_value = self.check(&method.1, &what, parse_method(&method.0))?;
        // The framework's normalisation: a leading `/`, no empty segments.
        let normalised = if route_path == "/" {
            "/".to_owned()
        } else {
            let joined: Vec<&str> = route_path.split('/').filter(|s| !s.is_empty()).collect();
            format!("/{}", joined.join("/"))
        };
        self.check(&at, &what, validate_path(&normalised))?;
        let cors = match body {
            Value::Mapping(m) => self.http_event_cors(m, path, &what, method_value.as_deref())?,
            _ => None,
        };
        let mut route = RouteSpec::new(method_value, normalised, PayloadFormat::Rest);
        route.cors = cors;
        Ok(route)
    }

    /// `- httpApi: '*'`, `- httpApi: 'GET /users/{id}'` or `- httpApi: {method, path}`.
    pub(super) fn http_api_event(
        &self,
        owner: &str,
        body: &Value,
        path: &YPath,
        payload: PayloadFormat,
    ) -> Result<RouteSpec, ConfigError> {
        let what = format!("{owner}: httpApi event");
        let hint = "write `- httpApi: 'GET /users/{id}'`, `- httpApi: '*'`, or `- httpApi:` with \
                    method: and path:";
        let (method, route_path, method_at, path_at) = match body {
            Value::Mapping(m) => {
                let field = |key| self.required_text(m, path, key, &what, hint);
                let (method, method_at) = field("method")?;
                let (route_path, path_at) = field("path")?;
                (method, route_path, method_at, path_at)
            }
            other => {
                let Some(short) = self.text(other, path, &what)? else {
                    return Err(self.src.invalid(path, format!("{what} is empty"), hint));
                };
                if short.trim() == "*" {
                    return Ok(RouteSpec::default_route(payload));
                }
                let mut parts = short.split_whitespace();
                let (Some(m), Some(p), None) = (parts.next(), parts.next(), parts.next()) else {
                    return Err(self.src.invalid(
                        path,
                        format!("{what} `{short}` is not `METHOD /path` nor `*`"),
                        hint,
                    ));
                };
                (m.to_owned(), p.to_owned(), path.clone(), path.clone())
            }
        };
        let method = if method.trim() == "*" {
            None
        } else {
            self.check(&method_at, &what, parse_method(&method))?
        };
        self.check(&path_at, &what, validate_path(&route_path))?;
        Ok(RouteSpec::new(method, route_path, payload))
    }
}
