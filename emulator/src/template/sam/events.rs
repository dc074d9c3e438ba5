//! The `Events` of a SAM function: `Api` (REST API) and `HttpApi` events become routes, with
//! their payload format, integration timeout, REST API `BinaryMediaTypes`, CORS and authorizer.

use serde_yaml::{Mapping, Value};

use super::super::yaml::{YPath, describe, key_text};
use super::super::{
    ConfigError, Problem, RouteSpec, check_integration_timeout, media_type, parse_method,
    validate_path,
};
use super::{Sam, optional_mapping};
use crate::apigw::PayloadFormat;

/// A text field's value and where it is written.
type Located = (String, YPath);

impl<'a> Sam<'a> {
    /// One entry of a function's `Events`: its route, or `None` (with a note) for non-HTTP
    /// event types.
    pub(super) fn event(
        &self,
        id: &str,
        name: &str,
        event: &Value,
        path: &YPath,
        notes: &mut Vec<String>,
    ) -> Result<Option<RouteSpec>, ConfigError> {
        self.route_event(&format!("function `{id}`"), name, event, path, notes)
    }

    /// One `Events` entry of `owner` (`function `F``, `state machine `M``): its route, or
    /// `None` (with a note) for non-HTTP event types.
    pub(super) fn route_event(
        &self,
        owner: &str,
        name: &str,
        event: &Value,
        path: &YPath,
        notes: &mut Vec<String>,
    ) -> Result<Option<RouteSpec>, ConfigError> {
        let what = format!("{owner}: event `{name}`");
        let Value::Mapping(event) = event else {
            return Err(self.src.invalid(
                path,
                format!("{what} is {}, not a mapping", describe(event)),
                "an event is a mapping with Type: and Properties:",
            ));
        };
        let kind = self.event_type(event, path, &what)?;
        let payload = match kind {
            "Api" => PayloadFormat::Rest,
            "HttpApi" => PayloadFormat::Http,
            other => {
                notes.push(format!(
                    "{what} of type {other} is not emulated (only Api, HttpApi, Schedule, \
                     ScheduleV2 and SQS events are); invoke the function directly instead"
                ));
                return Ok(None);
            }
        };
        let props_path = path.key("Properties");
        let empty = Mapping::new();
        let props = optional_mapping(&self.src, event, path, "Properties")?.unwrap_or(&empty);
        let field = |key: &str| self.string_property(props, &props_path, &what, key);
        let fields = (field("Path")?, field("Method")?);
        let payload = if payload == PayloadFormat::Http {
            self.http_api_payload(props, &props_path, &what)?
        } else {
            PayloadFormat::Rest
        };
        let mut route = self.event_route(&what, kind, fields, &props_path, payload)?;
        if let Some(v) = props.get("TimeoutInMillis") {
            let p = props_path.key("TimeoutInMillis");
            if let Some(ms) = self.integer(v, &p, &format!("{what}: TimeoutInMillis"))? {
                let timeout = check_integration_timeout(ms, payload)
                    .map_err(|e| self.placed(&p, &what, e))?;
                route.integration_timeout = Some(timeout);
            }
        }
        if kind == "Api" {
            route.binary_media_types = self.binary_media_types(props)?;
        }
        route.cors = self.event_cors(kind, props)?;
        route.stage = self.event_stage(kind, props)?;
        route.auth = self.event_auth(&what, kind, props, &props_path, notes)?;
        Ok(Some(route))
    }

    /// An event's `Type`.
    fn event_type<'e>(
        &self,
        event: &'e Mapping,
        path: &YPath,
        what: &str,
    ) -> Result<&'e str, ConfigError> {
        match event.get("Type") {
            Some(Value::String(t)) => Ok(t.as_str()),
            Some(other) => Err(self.src.invalid(
                &path.key("Type"),
                format!("{what}: Type is {}", describe(other)),
                "Type is an event source type such as Api or HttpApi",
            )),
            None => Err(self.src.invalid(
                path,
                format!("{what} has no Type"),
                "add Type: Api (REST API) or Type: HttpApi (HTTP API)",
            )),
        }
    }

    /// An `HttpApi` event's payload format, from its `PayloadFormatVersion` (default 2.0).
    fn http_api_payload(
        &self,
        props: &Mapping,
        props_path: &YPath,
        what: &str,
    ) -> Result<PayloadFormat, ConfigError> {
        let Some(v) = props.get("PayloadFormatVersion") else {
            return Ok(PayloadFormat::Http);
        };
        let p = props_path.key("PayloadFormatVersion");
        let version = match self.resolve(v, &p, what)? {
            // `PayloadFormatVersion: 1.0` unquoted is a YAML number.
            Some(Value::Number(n)) => n.as_f64().map(|f| format!("{f:.1}")),
            Some(other) => key_text(&other),
            None => Some("2.0".to_owned()),
        };
        match version
            .as_deref()
            .and_then(PayloadFormat::from_http_api_version)
        {
            Some(payload) => Ok(payload),
            None => Err(self.src.invalid(
                &p,
                format!(
                    "{what}: PayloadFormatVersion {} is neither \"1.0\" nor \"2.0\"",
                    version.unwrap_or_default()
                ),
                "write PayloadFormatVersion: \"2.0\" (the default) or \"1.0\"",
            )),
        }
    }

    /// The route of an event's `Path` and `Method`, read with their positions (neither: an
    /// `HttpApi`'s `$default`).
    fn event_route(
        &self,
        what: &str,
        kind: &str,
        (path_field, method_field): (Option<Located>, Option<Located>),
        props_path: &YPath,
        payload: PayloadFormat,
    ) -> Result<RouteSpec, ConfigError> {
        match (path_field, method_field) {
            (None, None) if kind == "HttpApi" => Ok(RouteSpec::default_route(payload)),
            (Some(route_path), Some(method)) => {
                let method =
                    parse_method(&method.0).map_err(|e| self.placed(&method.1, what, e))?;
                validate_path(&route_path.0).map_err(|e| self.placed(&route_path.1, what, e))?;
                Ok(RouteSpec::new(method, route_path.0, payload))
            }
            (p, _) => {
                let missing = if p.is_none() { "Path" } else { "Method" };
                let hint = if kind == "HttpApi" {
                    "give both Path and Method, or neither for the $default route"
                } else {
                    "an Api event needs both Path and Method"
                };
                Err(self
                    .src
                    .invalid(props_path, format!("{what} has no {missing}"), hint))
            }
        }
    }

    /// `problem` of `what`, at `path`.
    fn placed(&self, path: &YPath, what: &str, problem: Problem) -> ConfigError {
        let message = format!("{what}: {}", problem.message);
        self.src.error(path, Problem { message, ..problem })
    }

    /// The `BinaryMediaTypes` of the REST API an `Api` event belongs to: `Globals.Api`'s, then
    /// those of the `AWS::Serverless::Api` its `RestApiId` names (SAM appends a resource's list
    /// to the global one); a plain `AWS::ApiGateway::RestApi` has only its own.
    fn binary_media_types(&self, props: &Mapping) -> Result<Vec<String>, ConfigError> {
        let api = props.get("RestApiId").and_then(ref_name).and_then(|name| {
            let resource = self.resources.get(name)?.as_mapping()?;
            let kind = resource.get("Type")?.as_str()?;
            matches!(kind, "AWS::Serverless::Api" | "AWS::ApiGateway::RestApi")
                .then(|| (name, resource, kind == "AWS::Serverless::Api"))
        });
        let mut types = Vec::new();
        let globals = match api {
            Some((_, _, serverless)) => serverless,
            // No RestApiId: the implicit API, which takes Globals.Api as well.
            None => !props.contains_key("RestApiId"),
        };
        if globals && let Some(v) = self.api_globals.and_then(|g| g.get("BinaryMediaTypes")) {
            let p = YPath::root()
                .key("Globals")
                .key("Api")
                .key("BinaryMediaTypes");
            types.extend(self.media_types(v, &p, "Globals.Api.BinaryMediaTypes")?);
        }
        if let Some((name, resource, _)) = api
            && let Some(v) = resource
                .get("Properties")
                .and_then(|p| p.get("BinaryMediaTypes"))
        {
            let p = YPath::root()
                .key("Resources")
                .key(name)
                .key("Properties")
                .key("BinaryMediaTypes");
            types.extend(self.media_types(v, &p, &format!("API `{name}`: BinaryMediaTypes"))?);
        }
        Ok(types)
    }

    /// A list of media types: a sequence of strings, or one comma-separated string (a `!Ref` to
    /// a `CommaDelimitedList` parameter).
    fn media_types(
        &self,
        value: &Value,
        path: &YPath,
        what: &str,
    ) -> Result<Vec<String>, ConfigError> {
        let hint = "BinaryMediaTypes is a list of media types such as image/png or */*";
        let items = match self.resolve(value, path, what)? {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Sequence(items)) => items,
            Some(Value::String(list)) => {
                return Ok(list
                    .split(',')
                    .filter(|t| !t.trim().is_empty())
                    .map(media_type)
                    .collect());
            }
            Some(other) => {
                return Err(self.src.invalid(
                    path,
                    format!("{what} is {}", describe(&other)),
                    hint,
                ));
            }
        };
        let mut types = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let p = path.index(i);
            match self.string(item, &p, what)? {
                Some(t) if !t.trim().is_empty() => types.push(media_type(&t)),
                Some(_) | None => {}
            }
        }
        Ok(types)
    }
}

/// The resource a `!Ref Name` / `{"Ref": Name}` (or a plain name) refers to.
pub(super) fn ref_name(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str(),
        Value::Mapping(m) if m.len() == 1 => m.get("Ref").and_then(Value::as_str),
        Value::String(name) => Some(name),
        _ => None,
    }
}
