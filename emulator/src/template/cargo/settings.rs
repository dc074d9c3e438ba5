//! The settings tables of `[package.metadata.lambkin]` (the package's and each
//! `functions.<bin>`'s), read key by key with the byte span of each value for errors.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::super::{
    ConfigError, Problem, check_concurrency, check_env_name, check_log_format, check_log_level,
    check_max_concurrency, check_memory, check_timeout, position,
};
use super::line_column;
use crate::apigw::PayloadFormat;
use crate::config::{InvokeMode, LogFormat, LogLevel};

/// The keys `[package.metadata.lambkin]` and its `functions.<bin>` tables accept.
const KEYS: [&str; 11] = [
    "routes",
    "payload",
    "timeout",
    "memory",
    "env",
    "serve",
    "function_url",
    "reserved_concurrency",
    "max_concurrency",
    "log_format",
    "log_level",
];

/// Settings from one table; `None` / empty where the table does not say.
#[derive(Debug, Clone, Default)]
pub(super) struct Settings {
    pub(super) routes: Vec<(String, Range<usize>)>,
    pub(super) routes_set: bool,
    pub(super) payload: Option<PayloadFormat>,
    pub(super) timeout: Option<Duration>,
    pub(super) memory_mb: Option<u32>,
    pub(super) reserved_concurrency: Option<usize>,
    pub(super) max_concurrency: Option<u32>,
    pub(super) env: BTreeMap<String, String>,
    pub(super) serve: Option<bool>,
    pub(super) function_url: Option<bool>,
    /// The URL's `InvokeMode`, when `function_url` names one instead of `true`.
    pub(super) url_invoke_mode: Option<InvokeMode>,
    pub(super) log_format: Option<(LogFormat, Range<usize>)>,
    /// The application log level, and where it is written.
    pub(super) log_level: Option<(LogLevel, Range<usize>)>,
}

impl Settings {
    /// These settings with `own`'s on top (routes replace, env variables merge).
    pub(super) fn overlay(mut self, own: Settings) -> Settings {
        if own.routes_set {
            self.routes = own.routes;
            self.routes_set = true;
        }
        self.payload = own.payload.or(self.payload);
        self.timeout = own.timeout.or(self.timeout);
        self.memory_mb = own.memory_mb.or(self.memory_mb);
        self.reserved_concurrency = own.reserved_concurrency.or(self.reserved_concurrency);
        self.max_concurrency = own.max_concurrency.or(self.max_concurrency);
        self.env.extend(own.env);
        self.serve = own.serve.or(self.serve);
        if own.function_url.is_some() {
            self.function_url = own.function_url;
            self.url_invoke_mode = own.url_invoke_mode;
        }
        self.log_format = own.log_format.or(self.log_format);
        self.log_level = own.log_level.or(self.log_level);
        self
    }
}

/// The manifest being read.
pub(super) struct Doc<'a> {
    pub(super) file: &'a Path,
    pub(super) text: &'a str,
}

impl Doc<'_> {
    /// An error at the byte span `span` of the manifest.
    pub(super) fn error(
        &self,
        span: Range<usize>,
        field: Option<&str>,
        problem: Problem,
    ) -> ConfigError {
        let (line, column) = if span.start == 0 && span.end == 0 {
            (None, None)
        } else {
            let (l, c) = line_column(self.text, span.start);
            (Some(position(l)), Some(position(c)))
        };
        ConfigError {
            file: self.file.to_path_buf(),
            line,
            column,
            field: field.map(str::to_owned),
            kind: problem.kind,
            message: problem.message,
            hint: problem.hint,
        }
    }

    pub(super) fn invalid(
        &self,
        span: Range<usize>,
        field: &str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> ConfigError {
        self.error(span, Some(field), Problem::invalid(message, hint))
    }

    /// A whole number at `value`.
    fn integer(&self, value: &Spanned<DeValue<'_>>, field: &str) -> Result<i64, ConfigError> {
        match value.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).map_err(|_| {
                self.invalid(
                    value.span(),
                    field,
                    "number out of range",
                    "write a smaller number",
                )
            }),
            other => Err(self.invalid(
                value.span(),
                field,
                format!("`{field}` is a {}, not a whole number", other.type_str()),
                "write a whole number, without quotes",
            )),
        }
    }

    /// Attaches a span and field to a validation problem.
    pub(super) fn check<T>(
        &self,
        span: Range<usize>,
        field: &str,
        r: Result<T, Problem>,
    ) -> Result<T, ConfigError> {
        r.map_err(|p| self.error(span, Some(field), p))
    }

    /// Reads one settings table (`functions` allowed only at the package level).
    pub(super) fn settings(
        &self,
        table: &DeTable<'_>,
        field: &str,
        package_level: bool,
    ) -> Result<Settings, ConfigError> {
        let mut s = Settings::default();
        for (key, value) in table.iter() {
            let name = key.get_ref().as_ref();
            let f = format!("{field}.{name}");
            let span = value.span();
            match name {
                "functions" if package_level => {}
                "routes" => {
                    s.routes = self.routes(value, &f)?;
                    s.routes_set = true;
                }
                "payload" => s.payload = Some(self.payload(value, &f)?),
                "timeout" => {
                    let n = self.integer(value, &f)?;
                    s.timeout = Some(self.check(span, &f, check_timeout(n))?);
                }
                "memory" => {
                    let n = self.integer(value, &f)?;
                    s.memory_mb = Some(self.check(span, &f, check_memory(n))?);
                }
                "reserved_concurrency" => {
                    let n = self.integer(value, &f)?;
                    s.reserved_concurrency = Some(self.check(span, &f, check_concurrency(n))?);
                }
                "max_concurrency" => {
                    let n = self.integer(value, &f)?;
                    s.max_concurrency = Some(self.check(span, &f, check_max_concurrency(n))?);
                }
                "serve" => s.serve = Some(self.boolean(value, &f, name)?),
                "function_url" => {
                    let (url, mode) = self.function_url(value, &f)?;
                    s.function_url = Some(url);
                    s.url_invoke_mode = mode;
                }
                "log_format" => {
                    let text = self.log_text(value, &f, name)?;
                    let format = self.check(span.clone(), &f, check_log_format(text))?;
                    s.log_format = Some((format, span));
                }
                "log_level" => {
                    let text = self.log_text(value, &f, name)?;
                    let level = self.check(span.clone(), &f, check_log_level(text, false))?;
                    s.log_level = Some((level, span));
                }
                "env" => self.env(value, &f, &mut s.env)?,
                other => {
                    let functions = if package_level { " and functions" } else { "" };
                    return Err(self.error(
                        key.span(),
                        Some(&f),
                        Problem::invalid(
                            format!("unknown key `{other}` in [{field}]"),
                            format!("the keys are {}{functions}", KEYS.join(", ")),
                        ),
                    ));
                }
            }
        }
        Ok(s)
    }

    /// `routes`: a list of route keys, each with where it is written.
    fn routes(
        &self,
        value: &Spanned<DeValue<'_>>,
        f: &str,
    ) -> Result<Vec<(String, Range<usize>)>, ConfigError> {
        let Some(routes) = value.get_ref().as_array() else {
            return Err(self.invalid(
                value.span(),
                f,
                "`routes` is not a list",
                "write routes = [\"GET /users/{id}\", \"ANY /files/{proxy+}\"]",
            ));
        };
        let mut out = Vec::new();
        for route in routes.iter() {
            let Some(text) = route.get_ref().as_str() else {
                return Err(self.invalid(
                    route.span(),
                    f,
                    format!("a route is a string, not a {}", route.get_ref().type_str()),
                    "write routes = [\"GET /users/{id}\"]",
                ));
            };
            out.push((text.to_owned(), route.span()));
        }
        Ok(out)
    }

    /// `payload`: `"2.0"`, `"1.0"` or `"alb"`.
    fn payload(&self, value: &Spanned<DeValue<'_>>, f: &str) -> Result<PayloadFormat, ConfigError> {
        let version = match value.get_ref() {
            DeValue::String(v) => Some(v.to_string()),
            DeValue::Float(v) => Some(v.as_str().to_owned()),
            _ => None,
        };
        let payload = match version.as_deref() {
            Some("alb") => Some(PayloadFormat::Alb),
            other => other.and_then(PayloadFormat::from_version),
        };
        payload.ok_or_else(|| {
            self.invalid(
                value.span(),
                f,
                "`payload` is neither \"2.0\", \"1.0\" nor \"alb\"",
                "write payload = \"2.0\" (HTTP API, the default), \"1.0\" (REST API) or \"alb\" (a load balancer's target)",
            )
        })
    }

    /// A `true` / `false` setting `name`.
    fn boolean(
        &self,
        value: &Spanned<DeValue<'_>>,
        f: &str,
        name: &str,
    ) -> Result<bool, ConfigError> {
        value.get_ref().as_bool().ok_or_else(|| {
            self.invalid(
                value.span(),
                f,
                format!(
                    "`{name}` is a {}, not true or false",
                    value.get_ref().type_str()
                ),
                format!("write {name} = true or {name} = false"),
            )
        })
    }

    /// `function_url = true | false | "BUFFERED" | "RESPONSE_STREAM"` (the `InvokeMode` of a
    /// function URL, `true` being `BUFFERED`).
    fn function_url(
        &self,
        value: &Spanned<DeValue<'_>>,
        f: &str,
    ) -> Result<(bool, Option<InvokeMode>), ConfigError> {
        let hint = "write function_url = true, or function_url = \"RESPONSE_STREAM\" for a URL that streams";
        if let Some(mode) = value.get_ref().as_str() {
            let mode = InvokeMode::parse(mode).ok_or_else(|| {
                self.invalid(
                    value.span(),
                    f,
                    format!("`function_url` is {mode:?}, not an InvokeMode (BUFFERED or RESPONSE_STREAM)"),
                    hint,
                )
            })?;
            return Ok((true, Some(mode)));
        }
        let url = value.get_ref().as_bool().ok_or_else(|| {
            self.invalid(
                value.span(),
                f,
                format!(
                    "`function_url` is a {}, not true, false or an InvokeMode",
                    value.get_ref().type_str()
                ),
                hint,
            )
        })?;
        Ok((url, None))
    }

    /// The text of `log_format` or `log_level`.
    fn log_text<'v>(
        &self,
        value: &'v Spanned<DeValue<'_>>,
        f: &str,
        name: &str,
    ) -> Result<&'v str, ConfigError> {
        value.get_ref().as_str().ok_or_else(|| {
            self.invalid(
                value.span(),
                f,
                format!("`{name}` is a {}, not a string", value.get_ref().type_str()),
                "write log_format = \"JSON\" or log_level = \"DEBUG\"",
            )
        })
    }

    /// `env`: a table of variables, merged into `env`.
    fn env(
        &self,
        value: &Spanned<DeValue<'_>>,
        f: &str,
        env: &mut BTreeMap<String, String>,
    ) -> Result<(), ConfigError> {
        let Some(table) = value.get_ref().as_table() else {
            return Err(self.invalid(
                value.span(),
                f,
                "`env` is not a table",
                "write env = { NAME = \"value\" }",
            ));
        };
        for (var, v) in table.iter() {
            let var_name = var.get_ref().to_string();
            let vf = format!("{f}.{var_name}");
            self.check(var.span(), &vf, check_env_name(&var_name))?;
            let text = match v.get_ref() {
                DeValue::String(t) => t.to_string(),
                DeValue::Integer(i) => i.to_string(),
                DeValue::Float(x) => x.as_str().to_owned(),
                DeValue::Boolean(b) => b.to_string(),
                other => {
                    return Err(self.invalid(
                        v.span(),
                        &vf,
                        format!("`{var_name}` is a {}, not a string", other.type_str()),
                        "environment variable values are strings",
                    ));
                }
            };
            env.insert(var_name, text);
        }
        Ok(())
    }
}
