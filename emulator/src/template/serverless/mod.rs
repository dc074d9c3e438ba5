//! Serverless Framework files (`serverless.yml`).
//!
//! Read: `provider.runtime`, `provider.timeout`, `provider.memorySize`, `provider.environment`,
//! `provider.logs.lambda`, `provider.httpApi.payload`, `provider.httpApi.cors`,
//! `provider.apiGateway.binaryMediaTypes` and `provider.stage` (see `stage.rs`) as defaults; per function `handler`, `runtime`, `timeout`, `memorySize`,
//! `reservedConcurrency`, `environment` (merged over the provider's), `logs` (`logFormat`,
//! `applicationLogLevel`, `systemLogLevel`, `logGroup`, merged field by field over
//! `provider.logs.lambda`), `url`, `maximumRetryAttempts`, `maximumEventAge`, `destinations`
//! (`onSuccess`, `onFailure`: a function of the file or an ARN) and `onError` (the dead-letter
//! target), and `events` of kind `http` (REST API, payload 1.0) and
//! `httpApi` (HTTP API, payload 2.0 unless the provider says `1.0`: the 1.0 event with HTTP API
//! answers), in their object form (`path`, `method`) or short form (`GET /users/{id}`, and `'*'`
//! for the HTTP API's `$default`; an `http` event's `cors`, see `cors.rs`; authorizers, see
//! `auth.rs`). `http` paths are normalised as the framework does (a leading `/`
//! added, empty segments dropped). `websocket` events make the service's WebSocket
//! API (`websocket.rs`). `stepFunctions.stateMachines` (the `serverless-step-functions` plugin's
//! format) are read by `state_machine.rs`. The framework's own defaults apply when nothing is set: 6 s and
//! 1024 MB. Other event kinds are ignored with a note; `${…}` variables are not evaluated and are
//! an error where the emulator needs the value.
//!
//! # Where a function's code is
//!
//! `handler` is resolved against the directory of the `serverless.yml`, first match wins:
//!
//! 1. a directory path (`handler: ../hello` or `handler: functions/hello`): the Rust package in it
//!    (its only binary) or its executable `bootstrap`;
//! 2. `<dir>.<bin>` (`handler: services/api.users`): binary `<bin>` of the Rust package in
//!    `<dir>` (the `sls-rust` plugin's convention);
//! 3. `<package>` or `<package>.<bin>` (`handler: my-api.users`): a package of the Cargo
//!    workspace whose root `Cargo.toml` is next to the `serverless.yml` (the `serverless-rust`
//!    plugin's convention);
//! 4. otherwise, an executable `bootstrap` next to the `serverless.yml`: the framework packages
//!    the service directory as every function's code, so `handler: app.handler` with
//!    `runtime: provided.al2023` runs that `bootstrap`, which gets the handler as `_HANDLER`.
//!
//! The handler string itself is the instances' `_HANDLER`, as the framework deploys it. A function
//! of a managed runtime (`runtime: nodejs20.x`, …) is not served, with a note; with no `runtime`
//! anywhere the function is taken as `provided.al2023`.

use std::path::Path;
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

use std::time::Duration;

use serde_yaml::{Mapping, Value};

use super::yaml::{Source, YPath, describe, key_text};
use super::{
    Code, ConfigError, ErrorKind, Format, FunctionSpec, LoggingFields, Problem, Project,
    bootstrap_code, cargo, check_env_name, check_function_name, check_log_format, check_log_group,
    check_log_level, check_memory, check_timeout, duplicate_route, media_type, resolve_code,
};
use crate::apigw::PayloadFormat;

/// The Serverless Framework's default timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(6);
/// The Serverless Framework's default memory size, in MB.
const DEFAULT_MEMORY_MB: u32 = 1024;

/// Reads a Serverless Framework file. `file` is where `text` came from: it names the file in
/// errors, and handlers are resolved against its directory (see the module docs).
///
/// ```
/// # use std::path::Path;
/// # use lambkin_emulator::template::{parse_serverless, ErrorKind};
/// let err = parse_serverless("service: demo\n", Path::new("serverless.yml")).unwrap_err();
/// assert_eq!(err.kind, ErrorKind::Invalid);
/// ```
pub fn parse_serverless(text: &str, file: &Path) -> Result<Project, ConfigError> {
    let src = Source { file, text };
    let root = src.parse("a Serverless Framework file")?;
    let base = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => Path::new(".").to_path_buf(),
    };
    let reader = Reader {
        src,
        base: &base,
        root: &root,
    };
    let root_path = YPath::root();

    let empty = Mapping::new();
    let provider_path = root_path.key("provider");
    let provider = reader.mapping(root.get("provider"), &provider_path, "provider")?;
    let provider = provider.unwrap_or(&empty);
    let defaults = reader.defaults(provider, &provider_path)?;

    let functions_path = root_path.key("functions");
    let Some(functions) = reader.mapping(root.get("functions"), &functions_path, "functions")?
    else {
        return Err(src.invalid(
            &root_path,
            "the file has no `functions` section",
            "declare functions under functions:, each with a handler:",
        ));
    };
    let mut specs: Vec<FunctionSpec> = Vec::new();
    let mut notes = Vec::new();
    // Functions left out for their managed runtime.
    let mut managed = 0;
    for (key, function) in functions {
        let name = key_text(key).unwrap_or_default();
        let path = functions_path.key(&name);
        check_function_name(&name).map_err(|p| src.error(&path, p))?;
        let spec = reader.function(
            &name,
            function,
            &path,
            (provider, &provider_path),
            &defaults,
            &mut notes,
        )?;
        let Some(spec) = spec else {
            managed += 1;
            continue;
        };
        for (i, route) in spec.routes.iter().enumerate() {
            if let Some(first) = duplicate_route(&specs, route) {
                return Err(src.invalid(
                    &path.key("events").index(i),
                    format!(
                        "function `{name}`: route `{}` is already routed to function `{first}`",
                        route.key()
                    ),
                    "each method and path can go to one function only",
                ));
            }
        }
        specs.push(spec);
    }
    let service = root.get("service").and_then(key_text).unwrap_or_default();
    let served: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    let websocket = reader.websocket_api(
        &service,
        (provider, &provider_path),
        (functions, &functions_path),
        &served,
    )?;
    let state_machines = reader.state_machines(&served, &mut notes)?;
    let mut project = project(&src, &functions_path, specs, notes, managed)?;
    project.websockets = websocket.into_iter().collect();
    project.state_machines = state_machines;
    Ok(project)
}

/// The project of the file's `functions`, or the error for a file that serves none (`managed`:
/// how many were left out for their managed runtime).
fn project(
    src: &Source<'_>,
    functions_path: &YPath,
    specs: Vec<FunctionSpec>,
    notes: Vec<String>,
    managed: usize,
) -> Result<Project, ConfigError> {
    if specs.is_empty() && managed > 0 {
        return Err(ConfigError::new(
            src.file,
            ErrorKind::Unsupported,
            format!(
                "no function of the file can be served: {}",
                notes.join("; ")
            ),
        ));
    }
    if specs.is_empty() {
        return Err(src.invalid(
            functions_path,
            "the file declares no functions",
            "declare functions under functions:, each with a handler:",
        ));
    }
    Ok(Project {
        source: src.file.to_path_buf(),
        format: Format::Serverless,
        functions: specs,
        notes,
        websockets: Vec::new(),
        state_machines: Vec::new(),
    })
}

/// Provider-level settings applied to every function.
struct Defaults {
    timeout: Option<Duration>,
    memory_mb: Option<u32>,
    http_api_payload: PayloadFormat,
    runtime: Option<String>,
    /// `provider.logs.lambda`, and where it is.
    logging: (LoggingFields, YPath),
    /// `provider.apiGateway.binaryMediaTypes`, the REST API's.
    binary_media_types: Vec<String>,
    /// `provider.httpApi.cors`, the HTTP API's.
    http_api_cors: Option<crate::apigw::Cors>,
    /// `provider.stage`, the REST API's stage.
    stage: crate::apigw::Stage,
}

/// The file being read.
struct Reader<'a> {
    src: Source<'a>,
    base: &'a Path,
    /// The whole file (authorizers refer to `functions`, `provider.httpApi.authorizers` and
    /// `custom.lambkin`).
    root: &'a Mapping,
}

impl Reader<'_> {
    /// The provider-level settings every function starts from; refuses a provider other than
    /// AWS.
    fn defaults(&self, provider: &Mapping, provider_path: &YPath) -> Result<Defaults, ConfigError> {
        if let Some(v) = provider.get("name") {
            let p = provider_path.key("name");
            if let Some(name) = self.text(v, &p, "provider.name")? {
                if name != "aws" {
                    return Err(self.src.error(
                        &p,
                        Problem {
                            kind: ErrorKind::Unsupported,
                            message: format!("provider `{name}` is not AWS"),
                            hint: Some(
                                "lambkin emulates AWS Lambda: use provider.name: aws".into(),
                            ),
                        },
                    ));
                }
            }
        }
        Ok(Defaults {
            timeout: self.timeout(
                provider.get("timeout"),
                &provider_path.key("timeout"),
                "provider",
            )?,
            memory_mb: self.memory(
                provider.get("memorySize"),
                &provider_path.key("memorySize"),
                "provider",
            )?,
            http_api_payload: self.http_api_payload(provider, provider_path)?,
            runtime: match provider.get("runtime") {
                Some(v) => self.text(v, &provider_path.key("runtime"), "provider.runtime")?,
                None => None,
            },
            logging: self.provider_logging(provider, provider_path)?,
            binary_media_types: self.binary_media_types(provider, provider_path)?,
            http_api_cors: self.http_api_cors(provider, provider_path)?,
            stage: self.stage(provider, provider_path)?,
        })
    }

    /// A mapping-valued field; `None` when absent or null.
    fn mapping<'m>(
        &self,
        value: Option<&'m Value>,
        path: &YPath,
        what: &str,
    ) -> Result<Option<&'m Mapping>, ConfigError> {
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Mapping(m)) => Ok(Some(m)),
            Some(other) => Err(self.src.invalid(
                path,
                format!("{what} is {}, not a mapping", describe(other)),
                format!("{what}: takes indented `key: value` entries"),
            )),
        }
    }

    /// A scalar as text; `None` when null. `${…}` variables are an error.
    fn text(&self, value: &Value, path: &YPath, what: &str) -> Result<Option<String>, ConfigError> {
        let text = match value {
            Value::Null => return Ok(None),
            other => key_text(other),
        };
        let Some(text) = text else {
            return Err(self.src.invalid(
                path,
                format!("{what} is {}, not a plain value", describe(value)),
                "write a plain value",
            ));
        };
        if text.contains("${") {
            return Err(self.src.error(
                path,
                Problem {
                    kind: ErrorKind::Unresolved,
                    message: format!("{what}: the variable in `{text}` cannot be resolved locally"),
                    hint: Some(
                        "lambkin does not evaluate Serverless Framework variables; write the \
                         value in place (environment variables can also come from --env-file)"
                            .into(),
                    ),
                },
            ));
        }
        Ok(Some(text))
    }

    /// A whole number (numeric strings accepted).
    fn integer(&self, value: &Value, path: &YPath, what: &str) -> Result<Option<i64>, ConfigError> {
        if let Value::Number(n) = value {
            if let Some(i) = n.as_i64() {
                return Ok(Some(i));
            }
        }
        let Some(text) = self.text(value, path, what)? else {
            return Ok(None);
        };
        text.trim().parse::<i64>().map(Some).map_err(|_| {
            self.src.invalid(
                path,
                format!("{what} is {}, not a whole number", describe(value)),
                "write a whole number",
            )
        })
    }

    fn check<T>(&self, path: &YPath, what: &str, r: Result<T, Problem>) -> Result<T, ConfigError> {
        r.map_err(|p| {
            self.src.error(
                path,
                Problem {
                    message: format!("{what}: {}", p.message),
                    ..p
                },
            )
        })
    }

    fn timeout(
        &self,
        v: Option<&Value>,
        path: &YPath,
        owner: &str,
    ) -> Result<Option<Duration>, ConfigError> {
        self.limited(v, path, &format!("{owner}: timeout"), check_timeout)
    }

    fn memory(
        &self,
        v: Option<&Value>,
        path: &YPath,
        owner: &str,
    ) -> Result<Option<u32>, ConfigError> {
        self.limited(v, path, &format!("{owner}: memorySize"), check_memory)
    }

    /// A non-empty text field `key` of an event mapping, and where it is.
    fn required_text(
        &self,
        m: &Mapping,
        path: &YPath,
        key: &str,
        what: &str,
        hint: &str,
    ) -> Result<(String, YPath), ConfigError> {
        let p = path.key(key);
        let Some(v) = m.get(key) else {
            return Err(self.src.invalid(path, format!("{what} has no {key}"), hint));
        };
        match self.text(v, &p, &format!("{what}: {key}"))? {
            Some(t) => Ok((t, p)),
            None => Err(self
                .src
                .invalid(&p, format!("{what}: {key} is empty"), hint)),
        }
    }

    /// An optional whole number, checked against a Lambda limit.
    fn limited<T>(
        &self,
        v: Option<&Value>,
        path: &YPath,
        what: &str,
        check: impl FnOnce(i64) -> Result<T, Problem>,
    ) -> Result<Option<T>, ConfigError> {
        let Some(v) = v else { return Ok(None) };
        match self.integer(v, path, what)? {
            None => Ok(None),
            Some(n) => self.check(path, what, check(n)).map(Some),
        }
    }

    /// `provider.httpApi.payload`: `'2.0'` (the default) or `'1.0'`.
    fn http_api_payload(
        &self,
        provider: &Mapping,
        provider_path: &YPath,
    ) -> Result<PayloadFormat, ConfigError> {
        let http_api_path = provider_path.key("httpApi");
        let Some(http_api) =
            self.mapping(provider.get("httpApi"), &http_api_path, "provider.httpApi")?
        else {
            return Ok(PayloadFormat::Http);
        };
        let Some(value) = http_api.get("payload") else {
            return Ok(PayloadFormat::Http);
        };
        let path = http_api_path.key("payload");
        let version = match value {
            // `payload: 1.0` unquoted is a YAML number.
            Value::Number(n) => n.as_f64().map(|f| format!("{f:.1}")),
            other => self.text(other, &path, "provider.httpApi.payload")?,
        };
        match version.as_deref().map(PayloadFormat::from_http_api_version) {
            None => Ok(PayloadFormat::Http),
            Some(Some(p)) => Ok(p),
            Some(None) => Err(self.src.invalid(
                &path,
                format!(
                    "provider.httpApi.payload {} is neither '1.0' nor '2.0'",
                    version.unwrap_or_default()
                ),
                "write payload: '2.0' (the default) or '1.0'",
            )),
        }
    }

    /// `provider.apiGateway.binaryMediaTypes`: the media types the REST API (`http` events)
    /// treats as binary.
    fn binary_media_types(
        &self,
        provider: &Mapping,
        provider_path: &YPath,
    ) -> Result<Vec<String>, ConfigError> {
        let api_path = provider_path.key("apiGateway");
        let Some(api) =
            self.mapping(provider.get("apiGateway"), &api_path, "provider.apiGateway")?
        else {
            return Ok(Vec::new());
        };
        let path = api_path.key("binaryMediaTypes");
        let what = "provider.apiGateway.binaryMediaTypes";
        let items = match api.get("binaryMediaTypes") {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Sequence(items)) => items,
            Some(other) => {
                return Err(self.src.invalid(
                    &path,
                    format!("{what} is {}, not a list", describe(other)),
                    "write binaryMediaTypes: as a list, e.g. ['image/png', '*/*']",
                ));
            }
        };
        let mut types = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if let Some(t) = self.text(item, &path.index(i), what)? {
                types.push(media_type(&t));
            }
        }
        Ok(types)
    }

    /// Merges an `environment:` mapping into `spec.env`.
    fn environment(
        &self,
        value: Option<&Value>,
        path: &YPath,
        owner: &str,
        spec: &mut FunctionSpec,
    ) -> Result<(), ConfigError> {
        let what = format!("{owner}: environment");
        let Some(env) = self.mapping(value, path, &what)? else {
            return Ok(());
        };
        for (key, value) in env {
            let name = key_text(key).unwrap_or_default();
            let var_path = path.key(&name);
            self.check(&var_path, &what, check_env_name(&name))?;
            let var_what = format!("{owner}: environment variable `{name}`");
            match self.text(value, &var_path, &var_what)? {
                Some(text) => {
                    spec.env.insert(name, text);
                }
                None => {
                    return Err(self.src.invalid(
                        &var_path,
                        format!("{var_what} has no value"),
                        "give it a value (use '' for an empty string)",
                    ));
                }
            }
        }
        Ok(())
    }

    /// `provider.logs.lambda` (and where it is, for errors about the combination).
    fn provider_logging(
        &self,
        provider: &Mapping,
        provider_path: &YPath,
    ) -> Result<(LoggingFields, YPath), ConfigError> {
        let logs_path = provider_path.key("logs");
        let lambda_path = logs_path.key("lambda");
        let logs = self.mapping(provider.get("logs"), &logs_path, "provider.logs")?;
        let fields = match logs.and_then(|l| l.get("lambda")) {
            Some(lambda) => self.logging_fields(lambda, &lambda_path, "provider.logs.lambda")?,
            None => LoggingFields::default(),
        };
        Ok((fields, lambda_path))
    }

    /// The fields of a `logs.lambda` (provider) or `logs` (function) mapping, each checked.
    fn logging_fields(
        &self,
        value: &Value,
        path: &YPath,
        what: &str,
    ) -> Result<LoggingFields, ConfigError> {
        let mut fields = LoggingFields::default();
        let Some(logs) = self.mapping(Some(value), path, what)? else {
            return Ok(fields);
        };
        for (key, value) in logs {
            let name = key_text(key).unwrap_or_default();
            let p = path.key(&name);
            let field = format!("{what}.{name}");
            let Some(text) = self.text(value, &p, &field)? else {
                continue;
            };
            match name.as_str() {
                "logFormat" => {
                    fields.format = Some(self.check(&p, &field, check_log_format(&text))?);
                }
                "applicationLogLevel" => {
                    fields.application_level =
                        Some(self.check(&p, &field, check_log_level(&text, false))?);
                }
                "systemLogLevel" => {
                    fields.system_level =
                        Some(self.check(&p, &field, check_log_level(&text, true))?);
                }
                "logGroup" => {
                    fields.log_group = Some(self.check(&p, &field, check_log_group(&text))?);
                }
                _ => {
                    return Err(self.src.invalid(
                        &p,
                        format!("{what}: unknown key `{name}`"),
                        "the keys are logFormat, applicationLogLevel, systemLogLevel and \
                         logGroup",
                    ));
                }
            }
        }
        Ok(fields)
    }
}

/// Finds a function's code from its `handler` (see the module docs for the conventions).
fn resolve_handler(base: &Path, handler: &str) -> Result<Code, Problem> {
    let direct = base.join(handler);
    if direct.is_dir() {
        return resolve_code(&direct, None, None);
    }
    let split = handler.rsplit_once('.').filter(|(prefix, bin)| {
        !prefix.is_empty() && !bin.is_empty() && !bin.contains(['/', '\\'])
    });
    if let Some((prefix, bin)) = split {
        let dir = base.join(prefix);
        if dir.is_dir() {
            return resolve_code(&dir, Some(bin), None);
        }
    }
    let (package, bin) = match split {
        Some((p, b)) if !p.contains(['/', '\\']) => (p, Some(b)),
        _ => (handler, None),
    };
    if !package.contains(['/', '\\']) {
        if let Some(dir) = cargo::workspace_package(base, package)? {
            return resolve_code(&dir, bin, None);
        }
    }
    // The service directory is the code, its `bootstrap` the executable.
    if let Some(code) = bootstrap_code(base)? {
        return Ok(code);
    }
    Err(Problem::code(
        "names no directory, `<dir>.<bin>`, nor package of the Cargo workspace next to \
         serverless.yml",
        "set handler: to the function's package directory relative to serverless.yml (e.g. \
         `handler: ../hello`), `<dir>.<bin>` for one binary of a package, or a workspace \
         package name; or put an executable `bootstrap` next to serverless.yml",
    ))
}

#[cfg(test)]
mod tests;
