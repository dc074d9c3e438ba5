//! Serverless Framework files (`serverless.yml`).
//!
//! Read: `provider.runtime`, `provider.timeout`, `provider.memorySize`, `provider.environment`,
//! `provider.logs.lambda`, `provider.httpApi.payload` and `provider.apiGateway.binaryMediaTypes`
//! as defaults; per function `handler`, `runtime`, `timeout`, `memorySize`,
//! `reservedConcurrency`, `environment` (merged over the provider's), `logs` (`logFormat`,
//! `applicationLogLevel`, `systemLogLevel`, `logGroup`, merged field by field over
//! `provider.logs.lambda`), `url`, and `events` of kind `http` (REST API, payload 1.0) and
//! `httpApi` (HTTP API, payload 2.0 unless the provider says `1.0`: the 1.0 event with HTTP API
//! answers), in their object form (`path`, `method`) or short form (`GET /users/{id}`, and `'*'`
//! for the HTTP API's `$default`). `http` paths are normalised as the framework does (a leading `/`
//! added, empty segments dropped). The framework's own defaults apply when nothing is set: 6 s and
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
use std::time::Duration;

use serde_yaml::{Mapping, Value};

use super::yaml::{Source, YPath, describe, key_text};
use super::{
    Code, ConfigError, ErrorKind, Format, FunctionSpec, LoggingFields, Problem, Project, RouteSpec,
    bootstrap_code, cargo, check_concurrency, check_env_name, check_function_name,
    check_log_format, check_log_group, check_log_level, check_memory, check_timeout,
    duplicate_route, is_os_only_runtime, managed_runtime_note, media_type, parse_method,
    resolve_code, validate_path,
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
    let reader = Reader { src, base: &base };
    let root_path = YPath::root();

    let empty = Mapping::new();
    let provider_path = root_path.key("provider");
    let provider = reader.mapping(root.get("provider"), &provider_path, "provider")?;
    let provider = provider.unwrap_or(&empty);
    if let Some(v) = provider.get("name") {
        let p = provider_path.key("name");
        if let Some(name) = reader.text(v, &p, "provider.name")? {
            if name != "aws" {
                return Err(src.error(
                    &p,
                    Problem {
                        kind: ErrorKind::Unsupported,
                        message: format!("provider `{name}` is not AWS"),
                        hint: Some("lambkin emulates AWS Lambda: use provider.name: aws".into()),
                    },
                ));
            }
        }
    }
    let defaults = Defaults {
        timeout: reader.timeout(
            provider.get("timeout"),
            &provider_path.key("timeout"),
            "provider",
        )?,
        memory_mb: reader.memory(
            provider.get("memorySize"),
            &provider_path.key("memorySize"),
            "provider",
        )?,
        http_api_payload: reader.http_api_payload(provider, &provider_path)?,
        runtime: match provider.get("runtime") {
            Some(v) => reader.text(v, &provider_path.key("runtime"), "provider.runtime")?,
            None => None,
        },
        logging: reader.provider_logging(provider, &provider_path)?,
        binary_media_types: reader.binary_media_types(provider, &provider_path)?,
    };

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
            provider,
            &provider_path,
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
    if specs.is_empty() && managed > 0 {
        return Err(ConfigError::new(
            file,
            ErrorKind::Unsupported,
            format!(
                "no function of the file can be served: {}",
                notes.join("; ")
            ),
        ));
    }
    if specs.is_empty() {
        return Err(src.invalid(
            &functions_path,
            "the file declares no functions",
            "declare functions under functions:, each with a handler:",
        ));
    }
    Ok(Project {
        source: file.to_path_buf(),
        format: Format::Serverless,
        functions: specs,
        notes,
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
}

/// The file being read.
struct Reader<'a> {
    src: Source<'a>,
    base: &'a Path,
}

impl Reader<'_> {
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

    /// Reads one function; `None`, with a note, for a function of a managed runtime.
    #[allow(clippy::too_many_arguments)]
    fn function(
        &self,
        name: &str,
        function: &Value,
        path: &YPath,
        provider: &Mapping,
        provider_path: &YPath,
        defaults: &Defaults,
        notes: &mut Vec<String>,
    ) -> Result<Option<FunctionSpec>, ConfigError> {
        let owner = format!("function `{name}`");
        let Some(function) = self.mapping(Some(function), path, &owner)? else {
            return Err(self.src.invalid(
                path,
                format!("{owner} has no settings"),
                "give the function a handler:",
            ));
        };
        if function.contains_key("image") {
            return Err(self.src.error(
                &path.key("image"),
                Problem {
                    kind: ErrorKind::Unsupported,
                    message: format!("{owner}: container image functions are not emulated"),
                    hint: Some("use handler: with the function's package directory instead".into()),
                },
            ));
        }
        let runtime = match function.get("runtime") {
            Some(v) => self.text(v, &path.key("runtime"), &format!("{owner}: runtime"))?,
            None => None,
        };
        if let Some(runtime) = runtime
            .or_else(|| defaults.runtime.clone())
            .filter(|r| !is_os_only_runtime(r))
        {
            notes.push(managed_runtime_note(name, &runtime));
            return Ok(None);
        }
        let handler_path = path.key("handler");
        let handler = match function.get("handler") {
            Some(v) => self.text(v, &handler_path, &format!("{owner}: handler"))?,
            None => None,
        };
        let Some(handler) = handler else {
            return Err(self.src.invalid(
                path,
                format!("{owner} has no handler"),
                "set handler: to the function's package directory (relative to serverless.yml), \
                 `<dir>.<bin>`, or a workspace package name",
            ));
        };
        let code = resolve_handler(self.base, &handler).map_err(|p| {
            self.src.error(
                &handler_path,
                Problem {
                    message: format!("{owner}: handler `{handler}`: {}", p.message),
                    ..p
                },
            )
        })?;
        let mut spec = FunctionSpec::new(name, code);
        spec.handler = Some(handler);
        let (provider_logs, mut logs_at) = defaults.logging.clone();
        let mut logging = provider_logs;
        if let Some(v) = function.get("logs") {
            logs_at = path.key("logs");
            let own = self.logging_fields(v, &logs_at, &format!("{owner}: logs"))?;
            logging = logging.overlay(own);
        }
        spec.logging = self.check(&logs_at, &format!("{owner}: logs"), logging.finish())?;
        spec.timeout = self
            .timeout(function.get("timeout"), &path.key("timeout"), &owner)?
            .or(defaults.timeout)
            .or(Some(DEFAULT_TIMEOUT));
        spec.memory_mb = self
            .memory(function.get("memorySize"), &path.key("memorySize"), &owner)?
            .or(defaults.memory_mb)
            .or(Some(DEFAULT_MEMORY_MB));
        if let Some(v) = function.get("reservedConcurrency") {
            let p = path.key("reservedConcurrency");
            let what = format!("{owner}: reservedConcurrency");
            if let Some(n) = self.integer(v, &p, &what)? {
                spec.reserved_concurrency = Some(self.check(&p, &what, check_concurrency(n))?);
            }
        }
        self.environment(
            provider.get("environment"),
            &provider_path.key("environment"),
            "provider",
            &mut spec,
        )?;
        self.environment(
            function.get("environment"),
            &path.key("environment"),
            &owner,
            &mut spec,
        )?;
        spec.function_url = match function.get("url") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => false,
            Some(Value::Bool(true)) | Some(Value::Mapping(_)) => true,
            Some(other) => {
                return Err(self.src.invalid(
                    &path.key("url"),
                    format!("{owner}: url is {}", describe(other)),
                    "write url: true (or a mapping of URL settings)",
                ));
            }
        };

        let events_path = path.key("events");
        let events = match function.get("events") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Sequence(s)) => s.as_slice(),
            Some(other) => {
                return Err(self.src.invalid(
                    &events_path,
                    format!("{owner}: events is {}, not a list", describe(other)),
                    "write events: as a list of `- http: …` / `- httpApi: …` entries",
                ));
            }
        };
        for (i, event) in events.iter().enumerate() {
            let event_path = events_path.index(i);
            let entry = match event {
                Value::Mapping(m) if m.len() == 1 => m.iter().next(),
                _ => None,
            };
            let Some((kind, body)) = entry else {
                return Err(self.src.invalid(
                    &event_path,
                    format!(
                        "{owner}: event {i} is {}, not a single `kind: settings` entry",
                        describe(event)
                    ),
                    "write each event as `- http: GET /path` or `- httpApi: …`",
                ));
            };
            let kind = key_text(kind).unwrap_or_default();
            let body_path = event_path.key(&kind);
            let route = match kind.as_str() {
                "http" => {
                    let mut route = self.http_event(&owner, body, &body_path, notes)?;
                    route.binary_media_types = defaults.binary_media_types.clone();
                    route
                }
                "httpApi" => {
                    self.http_api_event(&owner, body, &body_path, defaults.http_api_payload)?
                }
                other => {
                    notes.push(format!(
                        "{owner}: `{other}` events are not emulated (only http and httpApi are); \
                         invoke the function directly instead"
                    ));
                    continue;
                }
            };
            if spec.routes.iter().any(|r| r.key() == route.key()) {
                return Err(self.src.invalid(
                    &event_path,
                    format!("{owner}: event {i} repeats route `{}`", route.key()),
                    "remove one of the two events",
                ));
            }
            spec.routes.push(route);
        }
        Ok(Some(spec))
    }

    /// `- http: GET users/{id}` or `- http: {path, method}` (REST API).
    fn http_event(
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
        Ok(RouteSpec::new(
            method_value,
            normalised,
            PayloadFormat::Rest,
        ))
    }

    /// `- httpApi: '*'`, `- httpApi: 'GET /users/{id}'` or `- httpApi: {method, path}`.
    fn http_api_event(
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
