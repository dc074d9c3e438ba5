//! One function resource of a SAM template, read as a sequence of steps: its runtime, its code,
//! its limits, its environment and logging, its function URL and its events.

use serde_yaml::{Mapping, Value};

use super::super::yaml::{YPath, describe, key_text};
use super::super::{
    Code, ConfigError, ErrorKind, FunctionSpec, LoggingFields, Problem, check_concurrency,
    check_env_name, check_event_age, check_function_name, check_log_format, check_log_group,
    check_log_level, check_max_concurrency, check_memory, check_retry_attempts, check_timeout,
    is_os_only_runtime, managed_runtime_note, resolve_code,
};
use super::{Sam, optional_mapping};
use crate::apigw::Cors;
use crate::config::{EventInvokeConfig, InvokeMode, LoggingConfig};

/// The function resource being read, and where it is in the template.
struct Resource<'r, 'a> {
    sam: &'r Sam<'a>,
    id: &'r str,
    resource: &'r Mapping,
    path: &'r YPath,
    props: &'r Mapping,
    props_path: YPath,
    /// A plain `AWS::Lambda::Function`: `Code`, no globals, no events.
    cfn: bool,
}

impl<'a> Sam<'a> {
    /// Reads one function resource (`cfn`: a plain `AWS::Lambda::Function`); `None`, with a
    /// note, for a function of a managed runtime.
    pub(super) fn function(
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
        let props = optional_mapping(&self.src, resource, path, "Properties")?.unwrap_or(&empty);
        let f = Resource {
            sam: self,
            id,
            resource,
            path,
            props,
            props_path: path.key("Properties"),
            cfn,
        };
        if let Some(runtime) = f.managed_runtime()? {
            notes.push(managed_runtime_note(id, &runtime));
            return Ok(None);
        }
        f.refuse_unsupported_code()?;
        let (code, handler) = f.code()?;
        let mut spec = FunctionSpec::new(id, code);
        spec.handler = handler;
        spec.logging = self.logging(id, props, &f.props_path, !cfn)?;
        f.limits(&mut spec)?;
        f.asynchronous(&mut spec)?;
        f.environment(&mut spec)?;
        if !cfn {
            if let Some((mode, cors)) = f.function_url()? {
                spec.function_url = true;
                spec.url_invoke_mode = mode;
                spec.url_cors = cors;
            }
            f.events(&mut spec, notes)?;
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
}

/// The logical id a `!GetAtt Id.Arn`, `Fn::GetAtt: [Id, Arn]` or `!Ref Id` names.
pub(super) fn referenced_resource(value: &Value) -> Option<&str> {
    let (function, argument) = match value {
        Value::Tagged(tagged) => (tagged.tag.to_string(), &tagged.value),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, v) = m.iter().next()?;
            (k.as_str()?.to_owned(), v)
        }
        _ => return None,
    };
    match (function.trim_start_matches('!'), argument) {
        ("Ref", Value::String(id)) => Some(id),
        ("GetAtt" | "Fn::GetAtt", Value::String(text)) => text.strip_suffix(".Arn"),
        ("GetAtt" | "Fn::GetAtt", Value::Sequence(items)) => match items.as_slice() {
            [Value::String(id), Value::String(attribute)] if attribute == "Arn" => Some(id),
            _ => None,
        },
        _ => None,
    }
}

/// The ARN the resource `name` of `service` has in the emulator's region and account.
fn resource_arn(service: &str, name: &str) -> String {
    let (region, account) = ("us-east-1", crate::ACCOUNT_ID);
    match service {
        "lambda" => format!("arn:aws:lambda:{region}:{account}:function:{name}"),
        "s3" => format!("arn:aws:s3:::{name}"),
        "events" => format!("arn:aws:events:{region}:{account}:event-bus/{name}"),
        _ => format!("arn:aws:{service}:{region}:{account}:{name}"),
    }
}

/// The hint for code the emulator cannot run.
const LOCAL_CODE_HINT: &str = "point CodeUri at the function's Rust package or at a directory \
                               with an executable bootstrap";

impl Resource<'_, '_> {
    /// A property, from the function's Properties or else (not for `cfn`) Globals.Function.
    fn get(&self, key: &str) -> Option<(&Value, YPath)> {
        self.sam
            .property(self.props, &self.props_path, key, !self.cfn)
    }

    /// `function `{id}`: {field}`, the start of every message about this function.
    fn what(&self, field: &str) -> String {
        format!("function `{}`: {field}", self.id)
    }

    /// A string property; `None` when absent.
    fn text(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.get(key) {
            Some((v, p)) => self.sam.string(v, &p, &self.what(key)),
            None => Ok(None),
        }
    }

    /// An [`ErrorKind::Unsupported`] error at `path`.
    fn unsupported(&self, path: &YPath, message: String, hint: &str) -> ConfigError {
        self.sam.src.error(
            path,
            Problem {
                kind: ErrorKind::Unsupported,
                message,
                hint: Some(hint.to_owned()),
            },
        )
    }

    /// The function's `Runtime` when it is a managed one (the function is then not served).
    fn managed_runtime(&self) -> Result<Option<String>, ConfigError> {
        Ok(self.text("Runtime")?.filter(|r| !is_os_only_runtime(r)))
    }

    /// Refuses container images and inline code.
    fn refuse_unsupported_code(&self) -> Result<(), ConfigError> {
        if let Some((v, p)) = self.get("PackageType")
            && self
                .sam
                .string(v, &p, &self.what("PackageType"))?
                .as_deref()
                == Some("Image")
        {
            return Err(self.unsupported(
                &p,
                self.what("container image functions (PackageType: Image) are not emulated"),
                LOCAL_CODE_HINT,
            ));
        }
        for key in ["InlineCode", "ImageUri"] {
            if let Some((_, p)) = self.get(key) {
                return Err(self.unsupported(
                    &p,
                    self.what(&format!("{key} is not emulated")),
                    LOCAL_CODE_HINT,
                ));
            }
        }
        Ok(())
    }

    /// The local directory `CodeUri` (`Code` for `cfn`) names, and where it is written.
    fn code_uri(&self) -> Result<(String, YPath), ConfigError> {
        let code_key = if self.cfn { "Code" } else { "CodeUri" };
        let Some((code_value, code_path)) = self.get(code_key) else {
            let globals = if self.cfn {
                ""
            } else {
                ", here or in Globals.Function"
            };
            return Err(self.sam.src.invalid(
                &self.props_path,
                self.what(&format!("no {code_key}")),
                format!(
                    "set {code_key} to the function's package directory (relative to the \
                     template){globals}"
                ),
            ));
        };
        let hint = "point it at the function's package directory, relative to the template";
        match self
            .sam
            .resolve(code_value, &code_path, &self.what(code_key))?
        {
            Some(Value::String(s)) if !s.starts_with("s3://") => Ok((s, code_path)),
            Some(other) => Err(self.unsupported(
                &code_path,
                self.what(&format!(
                    "{code_key} is {}; only a local directory can be run",
                    describe(&other)
                )),
                hint,
            )),
            None => Err(self.sam.src.invalid(
                &code_path,
                self.what(&format!("{code_key} is empty")),
                hint,
            )),
        }
    }

    /// The function's code (its code directory, with the binary `Metadata.BuildProperties.Binary`
    /// or the `Handler` picks) and its `Handler`.
    fn code(&self) -> Result<(Code, Option<String>), ConfigError> {
        let (code_uri, code_path) = self.code_uri()?;
        let handler = self.text("Handler")?;
        let binary_path = self
            .path
            .key("Metadata")
            .key("BuildProperties")
            .key("Binary");
        let binary = match self
            .resource
            .get("Metadata")
            .and_then(|m| m.get("BuildProperties"))
            .and_then(|b| b.get("Binary"))
        {
            Some(v) => {
                let what = self.what("Metadata.BuildProperties.Binary");
                self.sam.string(v, &binary_path, &what)?
            }
            None => None,
        };
        let code_key = if self.cfn { "Code" } else { "CodeUri" };
        let code_dir = self.sam.base.join(&code_uri);
        let code = resolve_code(&code_dir, binary.as_deref(), handler.as_deref()).map_err(|p| {
            let problem = Problem {
                message: self.what(&format!("{code_key} `{code_uri}`: {}", p.message)),
                ..p
            };
            let at = if binary.is_some() {
                &binary_path
            } else {
                &code_path
            };
            self.sam.src.error(at, problem)
        })?;
        Ok((code, handler))
    }

    /// A whole-number property checked by `check`; `None` when absent.
    fn limit<T>(
        &self,
        key: &str,
        check: impl Fn(i64) -> Result<T, Problem>,
    ) -> Result<Option<T>, ConfigError> {
        let Some((v, p)) = self.get(key) else {
            return Ok(None);
        };
        let Some(n) = self.sam.integer(v, &p, &self.what(key))? else {
            return Ok(None);
        };
        check(n)
            .map(Some)
            .map_err(|e| self.sam.at(&p, self.id, key, e))
    }

    /// `Timeout`, `MemorySize`, `ReservedConcurrentExecutions` and the capacity provider's
    /// `PerExecutionEnvironmentMaxConcurrency`.
    fn limits(&self, spec: &mut FunctionSpec) -> Result<(), ConfigError> {
        if let Some(timeout) = self.limit("Timeout", check_timeout)? {
            spec.timeout = Some(timeout);
        }
        if let Some(memory) = self.limit("MemorySize", check_memory)? {
            spec.memory_mb = Some(memory);
        }
        if let Some(n) = self.limit("ReservedConcurrentExecutions", check_concurrency)? {
            spec.reserved_concurrency = Some(n);
        }
        spec.max_concurrency = self.max_concurrency()?;
        Ok(())
    }

    /// `PerExecutionEnvironmentMaxConcurrency`, where each format writes it: SAM's
    /// `CapacityProviderConfig` holds it
    /// (<https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-capacityproviderconfig.html>),
    /// CloudFormation's one level down, in `LambdaManagedInstancesCapacityProviderConfig`
    /// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-function-lambdamanagedinstancescapacityproviderconfig.html>).
    /// The capacity provider itself (`Arn`) means nothing locally and is not read.
    fn max_concurrency(&self) -> Result<Option<u32>, ConfigError> {
        const KEY: &str = "PerExecutionEnvironmentMaxConcurrency";
        let Some((v, p)) = self.get("CapacityProviderConfig") else {
            return Ok(None);
        };
        let mut field = "CapacityProviderConfig".to_owned();
        let hint = "a mapping, e.g. `PerExecutionEnvironmentMaxConcurrency: 4`";
        let Some(mut config) = self.mapping(v, &p, &field, hint)? else {
            return Ok(None);
        };
        let mut path = p;
        if self.cfn {
            const NESTED: &str = "LambdaManagedInstancesCapacityProviderConfig";
            let Some(nested) = config.get(NESTED) else {
                return Ok(None);
            };
            field = format!("{field}.{NESTED}");
            path = path.key(NESTED);
            let Some(nested) = self.mapping(nested, &path, &field, hint)? else {
                return Ok(None);
            };
            config = nested;
        }
        let Some(value) = config.get(KEY) else {
            return Ok(None);
        };
        let field = format!("{field}.{KEY}");
        let path = path.key(KEY);
        let Some(n) = self.sam.integer(value, &path, &self.what(&field))? else {
            return Ok(None);
        };
        check_max_concurrency(n)
            .map(Some)
            .map_err(|e| self.sam.at(&path, self.id, &field, e))
    }

    /// `value` (at `path`, property `field`) resolved to a mapping; `None` when null, an error
    /// with `hint` when something else.
    fn mapping(
        &self,
        value: &Value,
        path: &YPath,
        field: &str,
        hint: &str,
    ) -> Result<Option<Mapping>, ConfigError> {
        match self.sam.resolve(value, path, &self.what(field))? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Mapping(mapping)) => Ok(Some(mapping)),
            Some(other) => Err(self.sam.src.invalid(
                path,
                self.what(&format!("{field} is {}", describe(&other))),
                hint,
            )),
        }
    }

    /// Asynchronous invocation: SAM's `EventInvokeConfig` and `DeadLetterQueue`
    /// (<https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-eventinvokeconfiguration.html>),
    /// CloudFormation's `DeadLetterConfig`.
    fn asynchronous(&self, spec: &mut FunctionSpec) -> Result<(), ConfigError> {
        let dlq = if self.cfn {
            "DeadLetterConfig"
        } else {
            "DeadLetterQueue"
        };
        if let Some((v, p)) = self.get(dlq) {
            let hint = "a mapping with TargetArn: the ARN of an SQS queue or SNS topic";
            if let Some(target) = self.mapping(v, &p, dlq, hint)?
                && let Some(arn) = target.get("TargetArn")
            {
                let field = format!("{dlq}.TargetArn");
                spec.dead_letter_target = self.arn(arn, &p.key("TargetArn"), &field)?;
            }
        }
        if self.cfn {
            return Ok(());
        }
        const FIELD: &str = "EventInvokeConfig";
        let Some((v, p)) = self.get(FIELD) else {
            return Ok(());
        };
        let hint = "EventInvokeConfig takes MaximumRetryAttempts (0-2), MaximumEventAgeInSeconds \
                    (60-21600) and DestinationConfig (OnSuccess, OnFailure)";
        let Some(config) = self.mapping(v, &p, FIELD, hint)? else {
            return Ok(());
        };
        let mut settings = EventInvokeConfig::default();
        for (key, value) in &config {
            let name = key_text(key).unwrap_or_default();
            let at = p.key(&name);
            let field = format!("{FIELD}.{name}");
            let number = |check: &dyn Fn(i64) -> Result<_, Problem>| -> Result<_, ConfigError> {
                let n = self.sam.integer(value, &at, &self.what(&field))?;
                n.map(|n| check(n).map_err(|e| self.sam.at(&at, self.id, &field, e)))
                    .transpose()
            };
            match name.as_str() {
                "MaximumRetryAttempts" => {
                    if let Some(n) = number(&|n| check_retry_attempts(n).map(u64::from))? {
                        settings.maximum_retry_attempts = u32::try_from(n).unwrap_or(2);
                    }
                }
                "MaximumEventAgeInSeconds" => {
                    if let Some(age) = number(&|n| check_event_age(n).map(|d| d.as_secs()))? {
                        settings.maximum_event_age = std::time::Duration::from_secs(age);
                    }
                }
                "DestinationConfig" => {
                    let hint = "DestinationConfig takes OnSuccess and OnFailure, each with Type \
                                and Destination";
                    let Some(destinations) = self.mapping(value, &at, &field, hint)? else {
                        continue;
                    };
                    for (key, value) in &destinations {
                        let which = key_text(key).unwrap_or_default();
                        let at = at.key(&which);
                        let field = format!("{field}.{which}");
                        let slot = match which.as_str() {
                            "OnSuccess" => &mut settings.on_success,
                            "OnFailure" => &mut settings.on_failure,
                            _ => {
                                return Err(self.sam.src.invalid(
                                    &at,
                                    self.what(&format!("{field}: unknown field")),
                                    hint,
                                ));
                            }
                        };
                        *slot = self.destination(value, &at, &field)?;
                    }
                }
                _ => {
                    return Err(self.sam.src.invalid(
                        &at,
                        self.what(&format!("{field}: unknown field")),
                        hint,
                    ));
                }
            }
        }
        spec.event_invoke_config = Some(settings);
        Ok(())
    }

    /// One destination of `DestinationConfig` (`Type` and `Destination`): its ARN. SAM creates
    /// the queue or topic of an `SQS` or `SNS` destination that names none; it is named after
    /// the function here.
    fn destination(
        &self,
        value: &Value,
        path: &YPath,
        field: &str,
    ) -> Result<Option<String>, ConfigError> {
        let hint = "a destination is Type (SQS, SNS, S3, Lambda or EventBridge) and Destination \
                    (an ARN, or !GetAtt Resource.Arn)";
        let Some(destination) = self.mapping(value, path, field, hint)? else {
            return Ok(None);
        };
        let kind = match destination.get("Type") {
            Some(v) => {
                self.sam
                    .string(v, &path.key("Type"), &self.what(&format!("{field}.Type")))?
            }
            None => None,
        };
        let kind = match kind.as_deref() {
            Some(kind @ ("SQS" | "SNS" | "S3" | "Lambda" | "EventBridge")) => kind.to_owned(),
            Some(other) => {
                return Err(self.sam.src.invalid(
                    &path.key("Type"),
                    self.what(&format!("{field}.Type `{other}` is not a destination type")),
                    hint,
                ));
            }
            None => {
                return Err(self.sam.src.invalid(
                    path,
                    self.what(&format!("{field} has no Type")),
                    hint,
                ));
            }
        };
        if let Some(arn) = destination.get("Destination") {
            let field = format!("{field}.Destination");
            return self.arn(arn, &path.key("Destination"), &field);
        }
        let service = match kind.as_str() {
            "SQS" => "sqs",
            "SNS" => "sns",
            _ => {
                return Err(self.sam.src.invalid(
                    path,
                    self.what(&format!(
                        "{field}: a {kind} destination needs a Destination"
                    )),
                    hint,
                ));
            }
        };
        let which = field.rsplit('.').next().unwrap_or_default();
        let name = format!("{}EventInvokeConfig{which}{kind}", self.id);
        Ok(Some(resource_arn(service, &name)))
    }

    /// An ARN property: written out, a parameter's value, or `!GetAtt Resource.Arn` / `!Ref
    /// Resource` naming a resource of the template (the ARN it would have: a function's is that
    /// of the function served here).
    fn arn(&self, value: &Value, path: &YPath, field: &str) -> Result<Option<String>, ConfigError> {
        if let Some(id) = referenced_resource(value)
            && let Some(resource) = self.sam.resources.get(id)
        {
            let kind = resource
                .get("Type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let service = match kind {
                "AWS::Serverless::Function" | "AWS::Lambda::Function" => "lambda",
                "AWS::Serverless::StateMachine" => "states",
                other => other.split("::").nth(1).unwrap_or("unknown"),
            }
            .to_ascii_lowercase();
            return Ok(Some(resource_arn(&service, id)));
        }
        self.sam.string(value, path, &self.what(field))
    }

    /// `Environment`: Globals first, the function's own variables over them.
    fn environment(&self, spec: &mut FunctionSpec) -> Result<(), ConfigError> {
        let global_env = if self.cfn {
            None
        } else {
            self.sam
                .globals
                .and_then(|g| g.get("Environment"))
                .map(|v| {
                    let at = YPath::root().key("Globals").key("Function");
                    (v, at.key("Environment"))
                })
        };
        let own_env = self
            .props
            .get("Environment")
            .map(|v| (v, self.props_path.key("Environment")));
        for (value, path) in global_env.into_iter().chain(own_env) {
            self.sam.environment(self.id, value, &path, spec)?;
        }
        Ok(())
    }

    /// The invoke mode and CORS of the URL `FunctionUrlConfig` gives the function, if it gives
    /// one.
    fn function_url(&self) -> Result<Option<(InvokeMode, Option<Cors>)>, ConfigError> {
        let Some((v, p)) = self.get("FunctionUrlConfig") else {
            return Ok(None);
        };
        let hint = "FunctionUrlConfig is a mapping, e.g. `AuthType: NONE`";
        let Some(url) = self.mapping(v, &p, "FunctionUrlConfig", hint)? else {
            return Ok(None);
        };
        let cors = match url.get("Cors") {
            Some(cors) => {
                let what = self.what("FunctionUrlConfig.Cors");
                self.sam.url_cors(cors, &p.key("Cors"), &what)?
            }
            None => None,
        };
        Ok(Some((self.invoke_mode(&url, &p)?, cors)))
    }

    /// `FunctionUrlConfig.InvokeMode` of `url` (at `path`): `BUFFERED` unless set.
    fn invoke_mode(&self, url: &Mapping, path: &YPath) -> Result<InvokeMode, ConfigError> {
        let Some(mode) = url.get("InvokeMode") else {
            return Ok(InvokeMode::Buffered);
        };
        let p = path.key("InvokeMode");
        let what = self.what("FunctionUrlConfig.InvokeMode");
        match self.sam.resolve(mode, &p, &what)? {
            None | Some(Value::Null) => Ok(InvokeMode::Buffered),
            Some(Value::String(mode)) if let Some(mode) = InvokeMode::parse(&mode) => Ok(mode),
            Some(other) => Err(self.sam.src.invalid(
                &p,
                format!("{what} is {}", describe(&other)),
                "InvokeMode is BUFFERED or RESPONSE_STREAM",
            )),
        }
    }

    /// The routes of `Events`, each once.
    fn events(&self, spec: &mut FunctionSpec, notes: &mut Vec<String>) -> Result<(), ConfigError> {
        let Some(events) = optional_mapping(&self.sam.src, self.props, &self.props_path, "Events")?
        else {
            return Ok(());
        };
        let events_path = self.props_path.key("Events");
        for (key, event) in events {
            let name = key_text(key).unwrap_or_default();
            let event_path = events_path.key(&name);
            #[cfg(feature = "schedules")]
            if let Value::Mapping(m) = event
                && let Some(kind @ ("Schedule" | "ScheduleV2")) =
                    m.get("Type").and_then(Value::as_str)
            {
                let schedule = self
                    .sam
                    .schedule_event(self.id, &name, kind, m, &event_path)?;
                spec.schedules.push(schedule);
                continue;
            }
            if let Value::Mapping(m) = event
                && m.get("Type").and_then(Value::as_str) == Some("SQS")
            {
                let source = self.sam.sqs_event(self.id, &name, m, &event_path)?;
                spec.sqs.push(source);
                continue;
            }
            let Some(route) = self.sam.event(self.id, &name, event, &event_path, notes)? else {
                continue;
            };
            if spec.routes.iter().any(|r| r.key() == route.key()) {
                return Err(self.sam.src.invalid(
                    &event_path,
                    self.what(&format!("event `{name}` repeats route `{}`", route.key())),
                    "remove one of the two events",
                ));
            }
            spec.routes.push(route);
        }
        Ok(())
    }
}
