//! AWS SAM templates (`template.yaml`).
//!
//! Read: `AWS::Serverless::Function` resources (`CodeUri`, `Handler`, `Runtime`, `Timeout`,
//! `MemorySize`, `Environment.Variables`, `ReservedConcurrentExecutions`, `LoggingConfig`,
//! `FunctionUrlConfig`, `Events` of type `Api` and `HttpApi` (`Path`, `Method`,
//! `TimeoutInMillis`, `HttpApi`'s `PayloadFormatVersion`; an `Api` event's REST API's
//! `BinaryMediaTypes`, from `Globals.Api` and the `AWS::Serverless::Api` its `RestApiId` names),
//! `Metadata.BuildProperties.Binary`), with `Globals.Function` merged under each (the function's
//! own value wins; environment variables and `LoggingConfig` fields are merged one by one). Plain
//! `AWS::Lambda::Function` resources whose `Code` is a local path are read too (no events, no
//! globals, as CloudFormation does). Other resource types and event types are ignored with a
//! note.
//!
//! `Handler` is kept as written: it is the instances' `_HANDLER` (a `bootstrap` script passes it
//! to its runtime interface client, e.g. `exec python3 -m awslambdaric "$_HANDLER"`) and, for a
//! Rust package with several binaries, may name the binary. Functions of a managed runtime
//! (`Runtime: python3.12`, …) are not served, with a note saying how to serve them through
//! `provided.al2023`; a template with no other function is an error.
//!
//! Intrinsic functions: `!Ref P` / `{"Ref": P}` to a parameter resolves to `Parameters.P.Default`;
//! `AWS::Region`, `AWS::AccountId`, `AWS::Partition` and `AWS::URLSuffix` resolve to the
//! emulator's values and `AWS::NoValue` removes the property. Everything else (`!Sub`,
//! `!GetAtt`, `Fn::…`, a `Ref` to a resource or to a parameter without a default) is an error
//! naming the field, since a silently dropped value would make the function behave differently.

use std::path::Path;

use serde_yaml::{Mapping, Value};

use super::yaml::{Source, YPath, describe, key_text};
use super::{
    ConfigError, ErrorKind, Format, FunctionSpec, LoggingFields, Problem, Project, RouteSpec,
    check_concurrency, check_env_name, check_function_name, check_integration_timeout,
    check_log_format, check_log_group, check_log_level, check_memory, check_timeout,
    duplicate_route, is_os_only_runtime, managed_runtime_note, media_type, parse_method,
    resolve_code, validate_path,
};
use crate::apigw::PayloadFormat;
use crate::config::LoggingConfig;

/// Reads an AWS SAM template. `file` is where `text` came from: it names the file in errors, and
/// `CodeUri`s are relative to its directory.
///
/// ```
/// # use std::path::Path;
/// # use lambkin_emulator::template::{parse_sam, ErrorKind};
/// let err = parse_sam("Resources: {}\n", Path::new("template.yaml")).unwrap_err();
/// assert_eq!(err.kind, ErrorKind::Invalid);
/// ```
pub fn parse_sam(text: &str, file: &Path) -> Result<Project, ConfigError> {
    let src = Source { file, text };
    let root = src.parse("an AWS SAM template")?;
    let root_path = YPath::root();
    let base = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => Path::new(".").to_path_buf(),
    };

    let parameters = optional_mapping(&src, &root, &root_path, "Parameters")?;
    let Some(resources) = optional_mapping(&src, &root, &root_path, "Resources")? else {
        return Err(src.invalid(
            &root_path,
            "the template has no `Resources` section",
            "a SAM template declares its functions under Resources: as AWS::Serverless::Function",
        ));
    };
    let (globals, api_globals) = match optional_mapping(&src, &root, &root_path, "Globals")? {
        Some(g) => (
            optional_mapping(&src, g, &root_path.key("Globals"), "Function")?,
            optional_mapping(&src, g, &root_path.key("Globals"), "Api")?,
        ),
        None => (None, None),
    };

    let sam = Sam {
        src,
        parameters,
        resources,
        globals,
        api_globals,
        base: &base,
    };
    let resources_path = root_path.key("Resources");
    let mut functions: Vec<FunctionSpec> = Vec::new();
    let mut notes = Vec::new();
    // Functions left out for their managed runtime.
    let mut managed = 0;
    for (key, resource) in resources {
        let Some(id) = key_text(key) else {
            return Err(src.invalid(
                &resources_path,
                format!("resource id {} is not a name", describe(key)),
                "resource ids are alphanumeric names",
            ));
        };
        let path = resources_path.key(&id);
        let Value::Mapping(resource) = resource else {
            return Err(src.invalid(
                &path,
                format!("resource `{id}` is {}, not a mapping", describe(resource)),
                "a resource is a mapping with Type: and Properties:",
            ));
        };
        let kind = match resource.get("Type") {
            Some(Value::String(t)) => t.as_str(),
            Some(other) => {
                return Err(src.invalid(
                    &path.key("Type"),
                    format!("resource `{id}`: Type is {}", describe(other)),
                    "Type is a resource type name such as AWS::Serverless::Function",
                ));
            }
            None => {
                return Err(src.invalid(
                    &path,
                    format!("resource `{id}` has no Type"),
                    "add Type: AWS::Serverless::Function (or the resource's type)",
                ));
            }
        };
        let function = match kind {
            "AWS::Serverless::Function" => sam.function(&id, resource, &path, false, &mut notes)?,
            "AWS::Lambda::Function" => sam.function(&id, resource, &path, true, &mut notes)?,
            other => {
                notes.push(format!(
                    "resource `{id}` ({other}) is not a function the emulator runs; ignored"
                ));
                continue;
            }
        };
        let Some(function) = function else {
            managed += 1;
            continue;
        };
        for route in &function.routes {
            if let Some(first) = duplicate_route(&functions, route) {
                return Err(src.invalid(
                    &path.key("Properties").key("Events"),
                    format!(
                        "function `{id}`: route `{}` is already routed to function `{first}`",
                        route.key()
                    ),
                    "each method and path can go to one function only",
                ));
            }
        }
        functions.push(function);
    }
    if functions.is_empty() && managed > 0 {
        return Err(ConfigError::new(
            file,
            ErrorKind::Unsupported,
            format!(
                "no function of the template can be served: {}",
                notes.join("; ")
            ),
        ));
    }
    if functions.is_empty() {
        return Err(src.invalid(
            &resources_path,
            "the template declares no AWS::Serverless::Function",
            "add a function resource with Type: AWS::Serverless::Function and a CodeUri",
        ));
    }
    Ok(Project {
        source: file.to_path_buf(),
        format: Format::Sam,
        functions,
        notes,
    })
}

/// `parent.key` as a mapping, if present; an error if it is something else.
fn optional_mapping<'m>(
    src: &Source<'_>,
    parent: &'m Mapping,
    parent_path: &YPath,
    key: &str,
) -> Result<Option<&'m Mapping>, ConfigError> {
    match parent.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Mapping(m)) => Ok(Some(m)),
        Some(other) => Err(src.invalid(
            &parent_path.key(key),
            format!("`{key}` is {}, not a mapping", describe(other)),
            format!("{key}: takes indented `name: value` entries"),
        )),
    }
}

/// The template being read.
struct Sam<'a> {
    src: Source<'a>,
    parameters: Option<&'a Mapping>,
    resources: &'a Mapping,
    globals: Option<&'a Mapping>,
    /// `Globals.Api`: settings of the implicit REST API and every `AWS::Serverless::Api`.
    api_globals: Option<&'a Mapping>,
    base: &'a Path,
}

/// Pseudo parameters with a local value (`None`: `AWS::NoValue`, the property is removed).
fn pseudo_parameter(name: &str) -> Option<Option<Value>> {
    let v = |s: &str| Some(Some(Value::String(s.to_owned())));
    match name {
        "AWS::Region" => v("us-east-1"),
        "AWS::AccountId" => v(crate::ACCOUNT_ID),
        "AWS::Partition" => v("aws"),
        "AWS::URLSuffix" => v("amazonaws.com"),
        "AWS::NoValue" => Some(None),
        _ => None,
    }
}

impl<'a> Sam<'a> {
    /// Evaluates the intrinsic functions the emulator can evaluate; `Ok(None)` for
    /// `AWS::NoValue` (the property is absent).
    fn resolve(
        &self,
        value: &Value,
        path: &YPath,
        what: &str,
    ) -> Result<Option<Value>, ConfigError> {
        let (function, argument) = match value {
            Value::Tagged(tagged) => (tagged.tag.to_string(), &tagged.value),
            Value::Mapping(m) if m.len() == 1 => match m.iter().next() {
                Some((Value::String(k), v)) if k == "Ref" || k.starts_with("Fn::") => {
                    (k.clone(), v)
                }
                _ => return Ok(Some(value.clone())),
            },
            _ => return Ok(Some(value.clone())),
        };
        if function != "!Ref" && function != "Ref" {
            let short = function
                .trim_start_matches('!')
                .trim_start_matches("Fn::")
                .to_owned();
            return Err(self.src.error(
                path,
                Problem {
                    kind: ErrorKind::Unresolved,
                    message: format!(
                        "{what}: the intrinsic function `{function}` cannot be evaluated locally"
                    ),
                    hint: Some(format!(
                        "write the value in place of the {short} (or use !Ref to a parameter \
                         with a Default); environment variables can also come from --env-file"
                    )),
                },
            ));
        }
        let Value::String(name) = argument else {
            return Err(self.src.invalid(
                path,
                format!("{what}: Ref takes a name, not {}", describe(argument)),
                "write `!Ref ParameterName`",
            ));
        };
        if let Some(v) = pseudo_parameter(name) {
            return Ok(v);
        }
        let unresolved = |message: String, hint: String| {
            self.src.error(
                path,
                Problem {
                    kind: ErrorKind::Unresolved,
                    message,
                    hint: Some(hint),
                },
            )
        };
        if let Some(parameter) = self.parameters.and_then(|p| p.get(name.as_str())) {
            return match parameter.as_mapping().and_then(|p| p.get("Default")) {
                Some(default @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => {
                    Ok(Some(default.clone()))
                }
                Some(Value::Sequence(items)) => Ok(Some(Value::String(
                    items
                        .iter()
                        .filter_map(key_text)
                        .collect::<Vec<_>>()
                        .join(","),
                ))),
                _ => Err(unresolved(
                    format!("{what}: parameter `{name}` has no Default to use locally"),
                    format!(
                        "give parameter `{name}` a Default in Parameters:, or write the value in \
                         place"
                    ),
                )),
            };
        }
        if self.resources.contains_key(name.as_str()) {
            return Err(unresolved(
                format!("{what}: `!Ref {name}` refers to a resource, which has no local value"),
                "write the value in place; environment variables can also come from --env-file"
                    .to_owned(),
            ));
        }
        Err(unresolved(
            format!("{what}: `!Ref {name}` names neither a parameter nor a resource"),
            format!("declare `{name}` under Parameters: with a Default, or fix the name"),
        ))
    }

    /// A property of a function, from its Properties or else from Globals.Function.
    fn property<'v>(
        &self,
        props: &'v Mapping,
        props_path: &YPath,
        key: &str,
        use_globals: bool,
    ) -> Option<(&'v Value, YPath)>
    where
        'a: 'v,
    {
        if let Some(v) = props.get(key) {
            return Some((v, props_path.key(key)));
        }
        if !use_globals {
            return None;
        }
        self.globals
            .and_then(|g| g.get(key))
            .map(|v| (v, YPath::root().key("Globals").key("Function").key(key)))
    }

    /// A string-valued field (numbers and booleans are taken as their text, as CloudFormation
    /// does); `None` when absent, null or `AWS::NoValue`.
    fn string(
        &self,
        value: &Value,
        path: &YPath,
        what: &str,
    ) -> Result<Option<String>, ConfigError> {
        match self.resolve(value, path, what)? {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match key_text(&v) {
                Some(s) => Ok(Some(s)),
                None => Err(self.src.invalid(
                    path,
                    format!("{what} is {}, not a string", describe(&v)),
                    "write a plain value",
                )),
            },
        }
    }

    /// A whole-number field (numeric strings accepted: parameter defaults often are strings).
    fn integer(&self, value: &Value, path: &YPath, what: &str) -> Result<Option<i64>, ConfigError> {
        let resolved = self.resolve(value, path, what)?;
        let number = match &resolved {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
            Some(_) => None,
        };
        match (number, resolved) {
            (Some(n), _) => Ok(Some(n)),
            (None, Some(v)) => Err(self.src.invalid(
                path,
                format!("{what} is {}, not a whole number", describe(&v)),
                "write a whole number",
            )),
            (None, None) => Ok(None),
        }
    }

    /// Reads one function resource (`cfn`: a plain `AWS::Lambda::Function`); `None`, with a
    /// note, for a function of a managed runtime.
    fn function(
        &self,
        id: &str,
        resource: &Mapping,
        path: &YPath,
        cfn: bool,
        notes: &mut Vec<String>,
    ) -> Result<Option<FunctionSpec>, ConfigError> {
        // The logical id becomes the function's name: in URLs, ARNs and log groups.
        check_function_name(id).map_err(|p| self.src.error(path, p))?;
        let empty = Mapping::new();
        let props_path = path.key("Properties");
        let props = optional_mapping(&self.src, resource, path, "Properties")?.unwrap_or(&empty);
        let globals = !cfn;
        let what = |field: &str| format!("function `{id}`: {field}");
        let get = |key: &str| self.property(props, &props_path, key, globals);
        let unsupported = |path: &YPath, message: String, hint: &str| {
            self.src.error(
                path,
                Problem {
                    kind: ErrorKind::Unsupported,
                    message,
                    hint: Some(hint.to_owned()),
                },
            )
        };

        let runtime = match get("Runtime") {
            Some((v, p)) => self.string(v, &p, &what("Runtime"))?,
            None => None,
        };
        if let Some(runtime) = runtime.filter(|r| !is_os_only_runtime(r)) {
            notes.push(managed_runtime_note(id, &runtime));
            return Ok(None);
        }

        if let Some((v, p)) = get("PackageType") {
            if self.string(v, &p, &what("PackageType"))?.as_deref() == Some("Image") {
                return Err(unsupported(
                    &p,
                    what("container image functions (PackageType: Image) are not emulated"),
                    "point CodeUri at the function's Rust package or at a directory with an \
                     executable bootstrap",
                ));
            }
        }
        for key in ["InlineCode", "ImageUri"] {
            if let Some((_, p)) = get(key) {
                return Err(unsupported(
                    &p,
                    what(&format!("{key} is not emulated")),
                    "point CodeUri at the function's Rust package or at a directory with an \
                     executable bootstrap",
                ));
            }
        }

        let code_key = if cfn { "Code" } else { "CodeUri" };
        let Some((code_value, code_path)) = get(code_key) else {
            return Err(self.src.invalid(
                &props_path,
                what(&format!("no {code_key}")),
                format!(
                    "set {code_key} to the function's package directory (relative to the \
                     template){}",
                    if cfn {
                        ""
                    } else {
                        ", here or in Globals.Function"
                    }
                ),
            ));
        };
        let code_uri = match self.resolve(code_value, &code_path, &what(code_key))? {
            Some(Value::String(s)) if !s.starts_with("s3://") => s,
            Some(other) => {
                return Err(unsupported(
                    &code_path,
                    what(&format!(
                        "{code_key} is {}; only a local directory can be run",
                        describe(&other)
                    )),
                    "point it at the function's package directory, relative to the template",
                ));
            }
            None => {
                return Err(self.src.invalid(
                    &code_path,
                    what(&format!("{code_key} is empty")),
                    "point it at the function's package directory, relative to the template",
                ));
            }
        };
        let handler = match get("Handler") {
            Some((v, p)) => self.string(v, &p, &what("Handler"))?,
            None => None,
        };
        let binary_path = path.key("Metadata").key("BuildProperties").key("Binary");
        let binary = match resource
            .get("Metadata")
            .and_then(|m| m.get("BuildProperties"))
            .and_then(|b| b.get("Binary"))
        {
            Some(v) => self.string(v, &binary_path, &what("Metadata.BuildProperties.Binary"))?,
            None => None,
        };
        let code_dir = self.base.join(&code_uri);
        let code = resolve_code(&code_dir, binary.as_deref(), handler.as_deref()).map_err(|p| {
            let problem = Problem {
                message: what(&format!("{code_key} `{code_uri}`: {}", p.message)),
                ..p
            };
            let at = if binary.is_some() {
                &binary_path
            } else {
                &code_path
            };
            self.src.error(at, problem)
        })?;

        let mut spec = FunctionSpec::new(id, code);
        spec.handler = handler;
        spec.logging = self.logging(id, props, &props_path, globals)?;
        if let Some((v, p)) = get("Timeout") {
            if let Some(n) = self.integer(v, &p, &what("Timeout"))? {
                spec.timeout = Some(check_timeout(n).map_err(|e| self.at(&p, id, "Timeout", e))?);
            }
        }
        if let Some((v, p)) = get("MemorySize") {
            if let Some(n) = self.integer(v, &p, &what("MemorySize"))? {
                spec.memory_mb =
                    Some(check_memory(n).map_err(|e| self.at(&p, id, "MemorySize", e))?);
            }
        }
        if let Some((v, p)) = get("ReservedConcurrentExecutions") {
            if let Some(n) = self.integer(v, &p, &what("ReservedConcurrentExecutions"))? {
                spec.reserved_concurrency = Some(
                    check_concurrency(n)
                        .map_err(|e| self.at(&p, id, "ReservedConcurrentExecutions", e))?,
                );
            }
        }

        // Environment: Globals first, the function's own variables over them.
        let env_path = props_path.key("Environment");
        let global_env = if globals {
            self.globals.and_then(|g| g.get("Environment")).map(|v| {
                (
                    v,
                    YPath::root()
                        .key("Globals")
                        .key("Function")
                        .key("Environment"),
                )
            })
        } else {
            None
        };
        let own_env = props.get("Environment").map(|v| (v, env_path));
        for (value, path) in global_env.into_iter().chain(own_env) {
            self.environment(id, value, &path, &mut spec)?;
        }

        if !cfn {
            if let Some((v, p)) = get("FunctionUrlConfig") {
                match self.resolve(v, &p, &what("FunctionUrlConfig"))? {
                    None | Some(Value::Null) => {}
                    Some(Value::Mapping(_)) => spec.function_url = true,
                    Some(other) => {
                        return Err(self.src.invalid(
                            &p,
                            what(&format!("FunctionUrlConfig is {}", describe(&other))),
                            "FunctionUrlConfig is a mapping, e.g. `AuthType: NONE`",
                        ));
                    }
                }
            }
            if let Some(events) = optional_mapping(&self.src, props, &props_path, "Events")? {
                let events_path = props_path.key("Events");
                for (key, event) in events {
                    let name = key_text(key).unwrap_or_default();
                    let event_path = events_path.key(&name);
                    if let Some(route) = self.event(id, &name, event, &event_path, notes)? {
                        if spec.routes.iter().any(|r| r.key() == route.key()) {
                            return Err(self.src.invalid(
                                &event_path,
                                what(&format!("event `{name}` repeats route `{}`", route.key())),
                                "remove one of the two events",
                            ));
                        }
                        spec.routes.push(route);
                    }
                }
            }
        }
        Ok(Some(spec))
    }

    /// `LoggingConfig`: Globals.Function's fields, then the function's own over them.
    fn logging(
        &self,
        id: &str,
        props: &Mapping,
        props_path: &YPath,
        use_globals: bool,
    ) -> Result<LoggingConfig, ConfigError> {
        let global = self
            .globals
            .filter(|_| use_globals)
            .and_then(|g| g.get("LoggingConfig"))
            .map(|v| {
                let at = YPath::root().key("Globals").key("Function");
                (v, at.key("LoggingConfig"))
            });
        let own = props
            .get("LoggingConfig")
            .map(|v| (v, props_path.key("LoggingConfig")));
        let mut fields = LoggingFields::default();
        let mut at = props_path.clone();
        for (value, path) in global.into_iter().chain(own) {
            fields = fields.overlay(self.logging_fields(id, value, &path)?);
            at = path;
        }
        fields
            .finish()
            .map_err(|p| self.at(&at, id, "LoggingConfig", p))
    }

    /// The fields of one `LoggingConfig` mapping, each checked.
    fn logging_fields(
        &self,
        id: &str,
        value: &Value,
        path: &YPath,
    ) -> Result<LoggingFields, ConfigError> {
        let what = format!("function `{id}`: LoggingConfig");
        let hint = "LoggingConfig takes LogFormat (JSON or Text), ApplicationLogLevel, \
                    SystemLogLevel and LogGroup";
        let config = match self.resolve(value, path, &what)? {
            None | Some(Value::Null) => return Ok(LoggingFields::default()),
            Some(Value::Mapping(m)) => m,
            Some(other) => {
                return Err(self.src.invalid(
                    path,
                    format!("{what} is {}, not a mapping", describe(&other)),
                    hint,
                ));
            }
        };
        let mut fields = LoggingFields::default();
        for (key, value) in &config {
            let name = key_text(key).unwrap_or_default();
            let p = path.key(&name);
            let field = format!("LoggingConfig.{name}");
            let Some(text) = self.string(value, &p, &format!("{what}.{name}"))? else {
                continue;
            };
            let at = |e: Problem| self.at(&p, id, &field, e);
            match name.as_str() {
                "LogFormat" => fields.format = Some(check_log_format(&text).map_err(at)?),
                "ApplicationLogLevel" => {
                    fields.application_level = Some(check_log_level(&text, false).map_err(at)?);
                }
                "SystemLogLevel" => {
                    fields.system_level = Some(check_log_level(&text, true).map_err(at)?);
                }
                "LogGroup" => fields.log_group = Some(check_log_group(&text).map_err(at)?),
                _ => {
                    return Err(self.src.invalid(
                        &p,
                        format!("{what}: unknown field `{name}`"),
                        hint,
                    ));
                }
            }
        }
        Ok(fields)
    }

    /// Attaches a field position and the function's name to a validation problem.
    fn at(&self, path: &YPath, id: &str, field: &str, problem: Problem) -> ConfigError {
        self.src.error(
            path,
            Problem {
                message: format!("function `{id}`: {field}: {}", problem.message),
                ..problem
            },
        )
    }

    /// Merges one `Environment:` block (`Variables:` inside) into `spec.env`.
    fn environment(
        &self,
        id: &str,
        value: &Value,
        path: &YPath,
        spec: &mut FunctionSpec,
    ) -> Result<(), ConfigError> {
        let what = format!("function `{id}`: Environment");
        let hint = "write Environment:, then Variables:, then `NAME: value` lines";
        let environment = match self.resolve(value, path, &what)? {
            None | Some(Value::Null) => return Ok(()),
            Some(Value::Mapping(m)) => m,
            Some(other) => {
                return Err(self.src.invalid(
                    path,
                    format!("{what} is {}", describe(&other)),
                    hint,
                ));
            }
        };
        let vars_path = path.key("Variables");
        let variables = match environment.get("Variables") {
            None => return Ok(()),
            Some(v) => match self.resolve(v, &vars_path, &what)? {
                None | Some(Value::Null) => return Ok(()),
                Some(Value::Mapping(m)) => m,
                Some(other) => {
                    return Err(self.src.invalid(
                        &vars_path,
                        format!("{what}.Variables is {}", describe(&other)),
                        hint,
                    ));
                }
            },
        };
        for (key, value) in &variables {
            let Some(name) = key_text(key) else {
                return Err(self.src.invalid(
                    &vars_path,
                    format!("{what}: variable name {} is not a name", describe(key)),
                    hint,
                ));
            };
            let var_path = vars_path.key(&name);
            check_env_name(&name).map_err(|e| self.at(&var_path, id, "Environment", e))?;
            let var_what = format!("function `{id}`: environment variable `{name}`");
            match self.resolve(value, &var_path, &var_what)? {
                None => {
                    spec.env.remove(&name);
                }
                Some(v) => match key_text(&v) {
                    Some(text) => {
                        spec.env.insert(name, text);
                    }
                    None => {
                        return Err(self.src.invalid(
                            &var_path,
                            format!("{var_what} is {}", describe(&v)),
                            "environment variable values are strings (quote them)",
                        ));
                    }
                },
            }
        }
        Ok(())
    }

    /// One entry of `Events`: its route, or `None` (with a note) for non-HTTP event types.
    fn event(
        &self,
        id: &str,
        name: &str,
        event: &Value,
        path: &YPath,
        notes: &mut Vec<String>,
    ) -> Result<Option<RouteSpec>, ConfigError> {
        let what = format!("function `{id}`: event `{name}`");
        let Value::Mapping(event) = event else {
            return Err(self.src.invalid(
                path,
                format!("{what} is {}, not a mapping", describe(event)),
                "an event is a mapping with Type: and Properties:",
            ));
        };
        let kind = match event.get("Type") {
            Some(Value::String(t)) => t.as_str(),
            Some(other) => {
                return Err(self.src.invalid(
                    &path.key("Type"),
                    format!("{what}: Type is {}", describe(other)),
                    "Type is an event source type such as Api or HttpApi",
                ));
            }
            None => {
                return Err(self.src.invalid(
                    path,
                    format!("{what} has no Type"),
                    "add Type: Api (REST API) or Type: HttpApi (HTTP API)",
                ));
            }
        };
        let payload = match kind {
            "Api" => PayloadFormat::Rest,
            "HttpApi" => PayloadFormat::Http,
            other => {
                notes.push(format!(
                    "function `{id}`: event `{name}` of type {other} is not emulated (only Api \
                     and HttpApi events are); invoke the function directly instead"
                ));
                return Ok(None);
            }
        };
        let props_path = path.key("Properties");
        let empty = Mapping::new();
        let props = optional_mapping(&self.src, event, path, "Properties")?.unwrap_or(&empty);
        let field = |key: &str| -> Result<Option<(String, YPath)>, ConfigError> {
            let p = props_path.key(key);
            match props.get(key) {
                None => Ok(None),
                Some(v) => Ok(self
                    .string(v, &p, &format!("{what}: {key}"))?
                    .map(|s| (s, p))),
            }
        };
        let path_field = field("Path")?;
        let method_field = field("Method")?;

        let payload = if payload == PayloadFormat::Http {
            match props.get("PayloadFormatVersion") {
                None => PayloadFormat::Http,
                Some(v) => {
                    let p = props_path.key("PayloadFormatVersion");
                    let version = match self.resolve(v, &p, &what)? {
                        // `PayloadFormatVersion: 1.0` unquoted is a YAML number.
                        Some(Value::Number(n)) => n.as_f64().map(|f| format!("{f:.1}")),
                        Some(other) => key_text(&other),
                        None => Some("2.0".to_owned()),
                    };
                    match version
                        .as_deref()
                        .and_then(PayloadFormat::from_http_api_version)
                    {
                        Some(payload) => payload,
                        None => {
                            return Err(self.src.invalid(
                                &p,
                                format!(
                                    "{what}: PayloadFormatVersion {} is neither \"1.0\" nor \"2.0\"",
                                    version.unwrap_or_default()
                                ),
                                "write PayloadFormatVersion: \"2.0\" (the default) or \"1.0\"",
                            ));
                        }
                    }
                }
            }
        } else {
            PayloadFormat::Rest
        };

        let mut route = match (path_field, method_field) {
            (None, None) if kind == "HttpApi" => RouteSpec::default_route(payload),
            (Some(route_path), Some(method)) => {
                let method =
                    parse_method(&method.0).map_err(|e| self.at(&method.1, id, name, e))?;
                validate_path(&route_path.0).map_err(|e| self.at(&route_path.1, id, name, e))?;
                RouteSpec::new(method, route_path.0, payload)
            }
            (p, _) => {
                let missing = if p.is_none() { "Path" } else { "Method" };
                let hint = if kind == "HttpApi" {
                    "give both Path and Method, or neither for the $default route"
                } else {
                    "an Api event needs both Path and Method"
                };
                return Err(self.src.invalid(
                    &props_path,
                    format!("{what} has no {missing}"),
                    hint,
                ));
            }
        };
        if let Some(v) = props.get("TimeoutInMillis") {
            let p = props_path.key("TimeoutInMillis");
            if let Some(ms) = self.integer(v, &p, &format!("{what}: TimeoutInMillis"))? {
                let timeout = check_integration_timeout(ms, payload)
                    .map_err(|e| self.at(&p, id, &format!("event `{name}`"), e))?;
                route.integration_timeout = Some(timeout);
            }
        }
        if kind == "Api" {
            route.binary_media_types = self.binary_media_types(props)?;
        }
        Ok(Some(route))
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
fn ref_name(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str(),
        Value::Mapping(m) if m.len() == 1 => m.get("Ref").and_then(Value::as_str),
        Value::String(name) => Some(name),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
