//! One function of a Serverless Framework file, read as a sequence of steps: its runtime, its
//! code (from `handler`), logging, limits, environment, function URL and events.

use serde_yaml::{Mapping, Value};

use super::super::yaml::{YPath, describe, key_text};
use super::super::{
    Code, ConfigError, ErrorKind, FunctionSpec, Problem, check_concurrency, check_event_age,
    check_retry_attempts, is_os_only_runtime, managed_runtime_note,
};
use super::{DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, Defaults, Reader, resolve_handler};

/// The function being read: its settings, where they are, and how messages name it.
struct Entry<'f> {
    map: &'f Mapping,
    path: &'f YPath,
    /// `function `{name}``.
    owner: String,
}

impl Reader<'_> {
    /// Reads one function; `None`, with a note, for a function of a managed runtime.
    pub(super) fn function(
        &self,
        name: &str,
        function: &Value,
        path: &YPath,
        (provider, provider_path): (&Mapping, &YPath),
        defaults: &Defaults,
        notes: &mut Vec<String>,
    ) -> Result<Option<FunctionSpec>, ConfigError> {
        let owner = format!("function `{name}`");
        let Some(map) = self.mapping(Some(function), path, &owner)? else {
            return Err(self.src.invalid(
                path,
                format!("{owner} has no settings"),
                "give the function a handler:",
            ));
        };
        let f = Entry { map, path, owner };
        self.refuse_image(&f)?;
        if let Some(runtime) = self.managed_runtime(&f, defaults)? {
            notes.push(managed_runtime_note(name, &runtime));
            return Ok(None);
        }
        let (code, handler) = self.handler_code(&f)?;
        let mut spec = FunctionSpec::new(name, code);
        spec.handler = Some(handler);
        spec.logging = self.function_logging(&f, defaults)?;
        self.limits(&f, defaults, &mut spec)?;
        self.asynchronous(&f, &mut spec)?;
        let provider_env = provider_path.key("environment");
        self.environment(
            provider.get("environment"),
            &provider_env,
            "provider",
            &mut spec,
        )?;
        let own_env = path.key("environment");
        self.environment(map.get("environment"), &own_env, &f.owner, &mut spec)?;
        spec.function_url = self.function_url(&f)?;
        self.events(&f, defaults, &mut spec, notes)?;
        Ok(Some(spec))
    }

    /// Refuses container image functions.
    fn refuse_image(&self, f: &Entry<'_>) -> Result<(), ConfigError> {
        if !f.map.contains_key("image") {
            return Ok(());
        }
        Err(self.src.error(
            &f.path.key("image"),
            Problem {
                kind: ErrorKind::Unsupported,
                message: format!("{}: container image functions are not emulated", f.owner),
                hint: Some("use handler: with the function's package directory instead".into()),
            },
        ))
    }

    /// The function's (or the provider's) runtime when it is a managed one: not served.
    fn managed_runtime(
        &self,
        f: &Entry<'_>,
        defaults: &Defaults,
    ) -> Result<Option<String>, ConfigError> {
        let runtime = match f.map.get("runtime") {
            Some(v) => self.text(v, &f.path.key("runtime"), &format!("{}: runtime", f.owner))?,
            None => None,
        };
        Ok(runtime
            .or_else(|| defaults.runtime.clone())
            .filter(|r| !is_os_only_runtime(r)))
    }

    /// The function's `handler` and the code it names.
    fn handler_code(&self, f: &Entry<'_>) -> Result<(Code, String), ConfigError> {
        let owner = &f.owner;
        let handler_path = f.path.key("handler");
        let handler = match f.map.get("handler") {
            Some(v) => self.text(v, &handler_path, &format!("{owner}: handler"))?,
            None => None,
        };
        let Some(handler) = handler else {
            return Err(self.src.invalid(
                f.path,
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
        Ok((code, handler))
    }

    /// `logs`, over `provider.logs.lambda`.
    fn function_logging(
        &self,
        f: &Entry<'_>,
        defaults: &Defaults,
    ) -> Result<crate::config::LoggingConfig, ConfigError> {
        let what = format!("{}: logs", f.owner);
        let (mut logging, mut logs_at) = defaults.logging.clone();
        if let Some(v) = f.map.get("logs") {
            logs_at = f.path.key("logs");
            logging = logging.overlay(self.logging_fields(v, &logs_at, &what)?);
        }
        self.check(&logs_at, &what, logging.finish())
    }

    /// `timeout`, `memorySize` (the provider's, else the framework's defaults) and
    /// `reservedConcurrency`.
    fn limits(
        &self,
        f: &Entry<'_>,
        defaults: &Defaults,
        spec: &mut FunctionSpec,
    ) -> Result<(), ConfigError> {
        let (map, path, owner) = (f.map, f.path, &f.owner);
        spec.timeout = self
            .timeout(map.get("timeout"), &path.key("timeout"), owner)?
            .or(defaults.timeout)
            .or(Some(DEFAULT_TIMEOUT));
        spec.memory_mb = self
            .memory(map.get("memorySize"), &path.key("memorySize"), owner)?
            .or(defaults.memory_mb)
            .or(Some(DEFAULT_MEMORY_MB));
        if let Some(v) = map.get("reservedConcurrency") {
            let p = path.key("reservedConcurrency");
            let what = format!("{owner}: reservedConcurrency");
            if let Some(n) = self.integer(v, &p, &what)? {
                spec.reserved_concurrency = Some(self.check(&p, &what, check_concurrency(n))?);
            }
        }
        Ok(())
    }

    /// Asynchronous invocation: `maximumRetryAttempts`, `maximumEventAge`, `destinations`
    /// (`onSuccess`, `onFailure`: a function of this file by name, an ARN, or a mapping with
    /// `arn`) and `onError` (the dead-letter target's ARN)
    /// (<https://www.serverless.com/framework/docs/providers/aws/guide/functions#asynchronous-invocation>).
    fn asynchronous(&self, f: &Entry<'_>, spec: &mut FunctionSpec) -> Result<(), ConfigError> {
        let (map, path, owner) = (f.map, f.path, &f.owner);
        let mut settings = crate::config::EventInvokeConfig::default();
        let mut set = false;
        if let Some(v) = map.get("maximumRetryAttempts") {
            let p = path.key("maximumRetryAttempts");
            let what = format!("{owner}: maximumRetryAttempts");
            if let Some(n) = self.integer(v, &p, &what)? {
                settings.maximum_retry_attempts = self.check(&p, &what, check_retry_attempts(n))?;
                set = true;
            }
        }
        if let Some(v) = map.get("maximumEventAge") {
            let p = path.key("maximumEventAge");
            let what = format!("{owner}: maximumEventAge");
            if let Some(n) = self.integer(v, &p, &what)? {
                settings.maximum_event_age = self.check(&p, &what, check_event_age(n))?;
                set = true;
            }
        }
        let destinations_path = path.key("destinations");
        let what = format!("{owner}: destinations");
        if let Some(destinations) =
            self.mapping(map.get("destinations"), &destinations_path, &what)?
        {
            for (key, value) in destinations {
                let which = key_text(key).unwrap_or_default();
                let p = destinations_path.key(&which);
                let what = format!("{what}.{which}");
                let slot = match which.as_str() {
                    "onSuccess" => &mut settings.on_success,
                    "onFailure" => &mut settings.on_failure,
                    _ => {
                        return Err(self.src.invalid(
                            &p,
                            format!("{what}: unknown destination"),
                            "destinations takes onSuccess and onFailure",
                        ));
                    }
                };
                let target = match value {
                    Value::Mapping(m) => match m.get("arn") {
                        Some(arn) => self.text(arn, &p.key("arn"), &format!("{what}.arn"))?,
                        None => None,
                    },
                    other => self.text(other, &p, &what)?,
                };
                *slot = target.map(|target| {
                    if target.starts_with("arn:") {
                        target
                    } else {
                        // A function of this file, served under its name.
                        format!(
                            "arn:aws:lambda:us-east-1:{}:function:{target}",
                            crate::ACCOUNT_ID
                        )
                    }
                });
                set = true;
            }
        }
        if set {
            spec.event_invoke_config = Some(settings);
        }
        if let Some(v) = map.get("onError") {
            let what = format!("{owner}: onError");
            spec.dead_letter_target = self.text(v, &path.key("onError"), &what)?;
        }
        Ok(())
    }

    /// Whether `url` gives the function a function URL.
    fn function_url(&self, f: &Entry<'_>) -> Result<bool, ConfigError> {
        match f.map.get("url") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(false),
            Some(Value::Bool(true)) | Some(Value::Mapping(_)) => Ok(true),
            Some(other) => Err(self.src.invalid(
                &f.path.key("url"),
                format!("{}: url is {}", f.owner, describe(other)),
                "write url: true (or a mapping of URL settings)",
            )),
        }
    }

    /// The routes of `events` (`http` and `httpApi`), each once.
    fn events(
        &self,
        f: &Entry<'_>,
        defaults: &Defaults,
        spec: &mut FunctionSpec,
        notes: &mut Vec<String>,
    ) -> Result<(), ConfigError> {
        let owner = &f.owner;
        let events_path = f.path.key("events");
        let events = match f.map.get("events") {
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
            #[cfg(feature = "schedules")]
            if let Value::Mapping(m) = event
                && m.len() == 1
                && let Some(body) = m.get("schedule")
            {
                let body_path = event_path.key("schedule");
                let schedules = self.schedule_event(owner, &spec.name, i, body, &body_path)?;
                spec.schedules.extend(schedules);
                continue;
            }
            if let Value::Mapping(m) = event
                && m.len() == 1
                && let Some(body) = m.get("sqs")
            {
                let body_path = event_path.key("sqs");
                let source = self.sqs_event(owner, &spec.name, i, body, &body_path)?;
                spec.sqs.push(source);
                continue;
            }
            let Some(route) = self.event(owner, i, event, &event_path, defaults, notes)? else {
                continue;
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
        Ok(())
    }

    /// Event `i`: its route, or `None` (with a note) for an event kind that is not emulated.
    fn event(
        &self,
        owner: &str,
        i: usize,
        event: &Value,
        event_path: &YPath,
        defaults: &Defaults,
        notes: &mut Vec<String>,
    ) -> Result<Option<super::super::RouteSpec>, ConfigError> {
        let entry = match event {
            Value::Mapping(m) if m.len() == 1 => m.iter().next(),
            _ => None,
        };
        let Some((kind, body)) = entry else {
            return Err(self.src.invalid(
                event_path,
                format!(
                    "{owner}: event {i} is {}, not a single `kind: settings` entry",
                    describe(event)
                ),
                "write each event as `- http: GET /path` or `- httpApi: …`",
            ));
        };
        let kind = key_text(kind).unwrap_or_default();
        let body_path = event_path.key(&kind);
        match kind.as_str() {
            "http" => {
                let mut route = self.http_event(owner, body, &body_path, notes)?;
                route.binary_media_types = defaults.binary_media_types.clone();
                route.stage = defaults.stage.clone();
                route.auth = self.http_event_auth(body, &body_path, owner, notes)?;
                Ok(Some(route))
            }
            "httpApi" => {
                let mut route =
                    self.http_api_event(owner, body, &body_path, defaults.http_api_payload)?;
                route.cors = defaults.http_api_cors.clone();
                route.auth = self.http_api_event_auth(body, &body_path, owner, notes)?;
                Ok(Some(route))
            }
            // The service's WebSocket API, read whole by `websocket.rs`.
            "websocket" => Ok(None),
            other => {
                notes.push(format!(
                    "{owner}: `{other}` events are not emulated (only http, httpApi, schedule \
                     and sqs are); invoke the function directly instead"
                ));
                Ok(None)
            }
        }
    }
}
