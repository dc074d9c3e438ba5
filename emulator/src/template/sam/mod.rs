//! AWS SAM templates (`template.yaml`).
//!
//! Read: `AWS::Serverless::Function` resources (`CodeUri`, `Handler`, `Runtime`, `Timeout`,
//! `MemorySize`, `Environment.Variables`, `ReservedConcurrentExecutions`, `LoggingConfig`,
//! `EventInvokeConfig` and `DeadLetterQueue` (`DeadLetterConfig` for CloudFormation; a
//! destination written `!GetAtt Resource.Arn` or `!Ref Resource` gets that resource's ARN, a
//! function's being the function served here), `FunctionUrlConfig`, `Events` of type `Api` and `HttpApi` (`Path`, `Method`,
//! `TimeoutInMillis`, `HttpApi`'s `PayloadFormatVersion`; an `Api` event's REST API's
//! `BinaryMediaTypes`, from `Globals.Api` and the `AWS::Serverless::Api` its `RestApiId` names),
//! `Metadata.BuildProperties.Binary`; the CORS of their API, see `cors.rs`; its stage and stage
//! variables, see `stage.rs`; their authorizers, see `auth.rs`), with `Globals.Function` merged
//! under each (the function's
//! own value wins; environment variables and `LoggingConfig` fields are merged one by one). Plain
//! `AWS::Lambda::Function` resources whose `Code` is a local path are read too (no events, no
//! globals, as CloudFormation does). WebSocket APIs (`AWS::ApiGatewayV2::*` resources) are read
//! by `websocket.rs`, `AWS::Serverless::StateMachine`s by `state_machine.rs`. Other resource types and event types are ignored with a note.
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

mod auth;
mod cors;
mod events;
mod function;
#[cfg(feature = "schedules")]
mod schedule;
mod sqs;
mod stage;
mod state_machine;
mod websocket;

use std::path::Path;

use serde_yaml::{Mapping, Value};

use super::yaml::{Source, YPath, describe, key_text};
use super::{ConfigError, ErrorKind, Format, FunctionSpec, Problem, Project, duplicate_route};

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
    let (globals, api_globals, http_api_globals) =
        match optional_mapping(&src, &root, &root_path, "Globals")? {
            Some(g) => (
                optional_mapping(&src, g, &root_path.key("Globals"), "Function")?,
                optional_mapping(&src, g, &root_path.key("Globals"), "Api")?,
                optional_mapping(&src, g, &root_path.key("Globals"), "HttpApi")?,
            ),
            None => (None, None, None),
        };

    let sam = Sam {
        src,
        metadata: optional_mapping(&src, &root, &root_path, "Metadata")?,
        parameters,
        resources,
        globals,
        api_globals,
        http_api_globals,
        base: &base,
    };
    let resources_path = root_path.key("Resources");
    let mut functions: Vec<FunctionSpec> = Vec::new();
    let mut notes = Vec::new();
    let mut state_machines = Vec::new();
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
        let (resource, kind) = resource_type(&src, &id, resource, &path)?;
        let function = match kind {
            "AWS::Serverless::Function" => sam.function(&id, resource, &path, false, &mut notes)?,
            "AWS::Lambda::Function" => sam.function(&id, resource, &path, true, &mut notes)?,
            // Read with the functions they invoke, below.
            other if other.starts_with("AWS::ApiGatewayV2::") => continue,
            "AWS::Serverless::StateMachine" => {
                state_machines.push(sam.state_machine(&id, resource, &path, &mut notes)?);
                continue;
            }
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
    let websockets = sam.websocket_apis(&functions, &mut notes)?;
    let mut project = project(&src, &resources_path, functions, notes, managed)?;
    project.websockets = websockets;
    project.state_machines = state_machines;
    Ok(project)
}

/// A resource as a mapping, and its `Type`.
fn resource_type<'r>(
    src: &Source<'_>,
    id: &str,
    resource: &'r Value,
    path: &YPath,
) -> Result<(&'r Mapping, &'r str), ConfigError> {
    let Value::Mapping(resource) = resource else {
        return Err(src.invalid(
            path,
            format!("resource `{id}` is {}, not a mapping", describe(resource)),
            "a resource is a mapping with Type: and Properties:",
        ));
    };
    match resource.get("Type") {
        Some(Value::String(t)) => Ok((resource, t.as_str())),
        Some(other) => Err(src.invalid(
            &path.key("Type"),
            format!("resource `{id}`: Type is {}", describe(other)),
            "Type is a resource type name such as AWS::Serverless::Function",
        )),
        None => Err(src.invalid(
            path,
            format!("resource `{id}` has no Type"),
            "add Type: AWS::Serverless::Function (or the resource's type)",
        )),
    }
}

/// The project of the template's `functions`, or the error for a template that serves none
/// (`managed`: how many were left out for their managed runtime).
fn project(
    src: &Source<'_>,
    resources_path: &YPath,
    functions: Vec<FunctionSpec>,
    notes: Vec<String>,
    managed: usize,
) -> Result<Project, ConfigError> {
    if functions.is_empty() && managed > 0 {
        return Err(ConfigError::new(
            src.file,
            ErrorKind::Unsupported,
            format!(
                "no function of the template can be served: {}",
                notes.join("; ")
            ),
        ));
    }
    if functions.is_empty() {
        return Err(src.invalid(
            resources_path,
            "the template declares no AWS::Serverless::Function",
            "add a function resource with Type: AWS::Serverless::Function and a CodeUri",
        ));
    }
    Ok(Project {
        source: src.file.to_path_buf(),
        format: Format::Sam,
        functions,
        notes,
        websockets: Vec::new(),
        state_machines: Vec::new(),
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
    /// The template's top-level `Metadata` (Lambkin's own settings live under `Lambkin`).
    metadata: Option<&'a Mapping>,
    parameters: Option<&'a Mapping>,
    resources: &'a Mapping,
    globals: Option<&'a Mapping>,
    /// `Globals.Api`: settings of the implicit REST API and every `AWS::Serverless::Api`.
    api_globals: Option<&'a Mapping>,
    /// `Globals.HttpApi`: settings of the implicit HTTP API and every `AWS::Serverless::HttpApi`.
    http_api_globals: Option<&'a Mapping>,
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
        self.resolve_ref(name, path, what)
    }

    /// The value of `!Ref name`: a pseudo parameter's or a parameter's `Default`.
    fn resolve_ref(
        &self,
        name: &str,
        path: &YPath,
        what: &str,
    ) -> Result<Option<Value>, ConfigError> {
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
        if let Some(parameter) = self.parameters.and_then(|p| p.get(name)) {
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
        if self.resources.contains_key(name) {
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

    /// The string property `key` of `props` (at `props_path`) with where it is; `None` when
    /// absent. `what` names the owner in errors.
    fn string_property(
        &self,
        props: &Mapping,
        props_path: &YPath,
        what: &str,
        key: &str,
    ) -> Result<Option<(String, YPath)>, ConfigError> {
        let path = props_path.key(key);
        match props.get(key) {
            None => Ok(None),
            Some(v) => Ok(self
                .string(v, &path, &format!("{what}: {key}"))?
                .map(|s| (s, path))),
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
}

#[cfg(test)]
mod tests;
