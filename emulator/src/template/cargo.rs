//! `[package.metadata.lambkin]` in a package's `Cargo.toml`, and the package facts the other
//! formats need (name, binaries, workspace members).
//!
//! ```toml
//! [package.metadata.lambkin]          # every binary of the package
//! timeout = 10                        # seconds, 1 to 900
//! memory = 256                        # MB, 128 to 10240
//! payload = "2.0"                     # "2.0" (HTTP API, the default), "1.0" (REST API), "alb"
//! env = { LOG_LEVEL = "debug" }
//! log_format = "JSON"                 # LoggingConfig.LogFormat: "Text" (default) or "JSON"
//! log_level = "DEBUG"                 # its ApplicationLogLevel (JSON only): TRACE … FATAL
//! routes = ["GET /users/{id}"]        # only when the package has a single binary
//!
//! [package.metadata.lambkin.functions.admin]   # one binary; overrides the package's settings
//! routes = ["ANY /admin/{proxy+}", "$default"]
//! reserved_concurrency = 2
//! function_url = true
//! serve = false                       # do not serve this binary
//! ```
//!
//! Unknown keys are errors (a misspelt key would otherwise be silently ignored).

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{
    Code, ConfigError, ErrorKind, FunctionSpec, LoggingFields, Problem, check_concurrency,
    check_env_name, check_function_name, check_log_format, check_log_level, check_memory,
    check_timeout, parse_route_key,
};
use crate::apigw::PayloadFormat;
use crate::config::{LogFormat, LogLevel};

/// A package's name and binary targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PackageInfo {
    pub(crate) name: String,
    pub(crate) bins: Vec<String>,
}

/// The keys `[package.metadata.lambkin]` and its `functions.<bin>` tables accept.
const KEYS: [&str; 10] = [
    "routes",
    "payload",
    "timeout",
    "memory",
    "env",
    "serve",
    "function_url",
    "reserved_concurrency",
    "log_format",
    "log_level",
];

/// The name and binaries of the package whose manifest is `text` (in `dir`, for target
/// auto-discovery); `Ok(None)` for a virtual (workspace-only) manifest.
pub(crate) fn package_info(text: &str, dir: &Path) -> Result<Option<PackageInfo>, Problem> {
    let table = DeTable::parse(text).map_err(|e| {
        Problem::code(
            format!("not valid TOML: {}", e.message()),
            "fix the manifest (cargo would reject it too)",
        )
    })?;
    package_info_of(table.get_ref(), dir)
}

fn package_info_of(table: &DeTable<'_>, dir: &Path) -> Result<Option<PackageInfo>, Problem> {
    let Some(package) = table.get("package").map(|p| p.get_ref()) else {
        return Ok(None);
    };
    let name = package
        .as_table()
        .and_then(|p| p.get("name"))
        .and_then(|n| n.get_ref().as_str())
        .ok_or_else(|| {
            Problem::code(
                "the manifest's [package] has no name",
                "fix the manifest (cargo would reject it too)",
            )
        })?
        .to_owned();
    let autobins = package
        .as_table()
        .and_then(|p| p.get("autobins"))
        .and_then(|v| v.get_ref().as_bool())
        .unwrap_or(true);

    let mut bins: Vec<String> = Vec::new();
    let mut main_claimed = false;
    if let Some(DeValue::Array(targets)) = table.get("bin").map(|b| b.get_ref()) {
        for target in targets.iter() {
            let Some(target) = target.get_ref().as_table() else {
                continue;
            };
            let path = target.get("path").and_then(|p| p.get_ref().as_str());
            if path.is_some_and(|p| p.trim_start_matches("./") == "src/main.rs") {
                main_claimed = true;
            }
            let name = target
                .get("name")
                .and_then(|n| n.get_ref().as_str())
                .map(str::to_owned);
            if let Some(name) = name.filter(|n| !bins.contains(n)) {
                bins.push(name);
            }
        }
    }
    if autobins {
        if !main_claimed && dir.join("src/main.rs").is_file() && !bins.contains(&name) {
            bins.push(name.clone());
        }
        let mut found: Vec<String> = Vec::new();
        if let Ok(entries) = std::fs::read_dir(dir.join("src/bin")) {
            for entry in entries.flatten() {
                let path = entry.path();
                let stem = if path.is_file() && path.extension().is_some_and(|e| e == "rs") {
                    path.file_stem().and_then(|s| s.to_str()).map(str::to_owned)
                } else if path.join("main.rs").is_file() {
                    path.file_name().and_then(|s| s.to_str()).map(str::to_owned)
                } else {
                    None
                };
                if let Some(stem) = stem.filter(|s| !bins.contains(s)) {
                    found.push(stem);
                }
            }
        }
        found.sort();
        found.dedup();
        bins.extend(found);
    }
    Ok(Some(PackageInfo { name, bins }))
}

/// The directory of the package named `name` in the Cargo workspace whose root manifest is in
/// `root` (members listed exactly or with a trailing `/*`), if there is one.
pub(crate) fn workspace_package(root: &Path, name: &str) -> Result<Option<PathBuf>, Problem> {
    let manifest = root.join("Cargo.toml");
    let Ok(text) = std::fs::read_to_string(&manifest) else {
        return Ok(None);
    };
    let table = DeTable::parse(&text).map_err(|e| {
        Problem::code(
            format!("{}: not valid TOML: {}", manifest.display(), e.message()),
            "fix the manifest (cargo would reject it too)",
        )
    })?;
    let table = table.get_ref();
    if let Ok(Some(info)) = package_info_of(table, root) {
        if info.name == name {
            return Ok(Some(root.to_path_buf()));
        }
    }
    let members = table
        .get("workspace")
        .and_then(|w| w.get_ref().as_table())
        .and_then(|w| w.get("members"))
        .and_then(|m| m.get_ref().as_array());
    let Some(members) = members else {
        return Ok(None);
    };
    let mut dirs: Vec<PathBuf> = Vec::new();
    for member in members.iter() {
        let Some(member) = member.get_ref().as_str() else {
            continue;
        };
        if let Some(parent) = member.strip_suffix("/*") {
            if let Ok(entries) = std::fs::read_dir(root.join(parent)) {
                let mut found: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
                found.sort();
                dirs.extend(found);
            }
        } else if !member.contains(['*', '?', '[']) {
            dirs.push(root.join(member));
        }
    }
    for dir in dirs {
        let Ok(text) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        if let Ok(Some(info)) = package_info(&text, &dir) {
            if info.name == name {
                return Ok(Some(dir));
            }
        }
    }
    Ok(None)
}

/// Reads the package's `Cargo.toml` at `manifest` and returns its functions: see
/// [`parse_package_metadata`].
pub fn package_functions(manifest: &Path) -> Result<Vec<FunctionSpec>, ConfigError> {
    let text = super::read_text(manifest)?;
    parse_package_metadata(&text, manifest)
}

/// Reads `[package.metadata.lambkin]` from a manifest's text (`manifest` is its path: it names
/// the file in errors, and its directory is the package directory).
///
/// Returns one [`FunctionSpec`] per binary target of the package, in target order, with the
/// package-level settings under each binary's own `functions.<bin>` table; binaries with
/// `serve = false` are left out. A package without `[package.metadata.lambkin]` yields all of its
/// binaries with nothing set; a virtual manifest yields none. Routes get the payload format set
/// next to them (`payload`, default `"2.0"`).
pub fn parse_package_metadata(
    text: &str,
    manifest: &Path,
) -> Result<Vec<FunctionSpec>, ConfigError> {
    let doc = Doc {
        file: manifest,
        text,
    };
    let table = DeTable::parse(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        doc.error(
            span,
            None,
            Problem {
                kind: ErrorKind::Syntax,
                message: format!("not valid TOML: {}", e.message().trim_end()),
                hint: Some("fix the TOML syntax (cargo would reject it too)".into()),
            },
        )
    })?;
    let dir = match manifest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let info = package_info_of(table.get_ref(), &dir).map_err(|p| doc.error(0..0, None, p))?;
    let Some(info) = info else {
        return Ok(Vec::new());
    };

    let lambkin = table
        .get_ref()
        .get("package")
        .and_then(|p| p.get_ref().as_table())
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get_ref().as_table())
        .and_then(|m| m.get("lambkin"));
    let base_field = "package.metadata.lambkin";
    let (package_settings, per_bin) = match lambkin {
        None => (Settings::default(), BTreeMap::new()),
        Some(value) => {
            let Some(t) = value.get_ref().as_table() else {
                return Err(doc.invalid(
                    value.span(),
                    base_field,
                    format!(
                        "[{base_field}] is a {}, not a table",
                        value.get_ref().type_str()
                    ),
                    "write it as a [package.metadata.lambkin] table",
                ));
            };
            let settings = doc.settings(t, base_field, true)?;
            let mut per_bin = BTreeMap::new();
            if let Some(functions) = t.get("functions") {
                let field = format!("{base_field}.functions");
                let Some(functions) = functions.get_ref().as_table() else {
                    return Err(doc.invalid(
                        functions.span(),
                        &field,
                        "`functions` is not a table",
                        "write [package.metadata.lambkin.functions.<bin>] tables",
                    ));
                };
                for (bin, value) in functions.iter() {
                    let bin_name = bin.get_ref().to_string();
                    let bin_field = format!("{field}.{bin_name}");
                    if !info.bins.contains(&bin_name) {
                        return Err(doc.error(
                            bin.span(),
                            Some(&bin_field),
                            Problem::invalid(
                                format!(
                                    "package `{}` has no binary `{bin_name}` (it has: {})",
                                    info.name,
                                    info.bins.join(", ")
                                ),
                                "name one of the package's binary targets",
                            ),
                        ));
                    }
                    let Some(t) = value.get_ref().as_table() else {
                        return Err(doc.invalid(
                            value.span(),
                            &bin_field,
                            format!("`{bin_name}` is not a table"),
                            "write a [package.metadata.lambkin.functions.<bin>] table",
                        ));
                    };
                    per_bin.insert(bin_name, doc.settings(t, &bin_field, false)?);
                }
            }
            (settings, per_bin)
        }
    };
    if let Some((_, span)) = package_settings.routes.first() {
        if info.bins.len() > 1 {
            return Err(doc.invalid(
                span.clone(),
                &format!("{base_field}.routes"),
                format!(
                    "package `{}` has several binaries ({}); package-wide routes would go to all",
                    info.name,
                    info.bins.join(", ")
                ),
                "move the routes to [package.metadata.lambkin.functions.<bin>]",
            ));
        }
    }

    let mut functions = Vec::new();
    for bin in &info.bins {
        let own = per_bin.get(bin).cloned().unwrap_or_default();
        let settings = package_settings.clone().overlay(own);
        if settings.serve == Some(false) {
            continue;
        }
        check_function_name(bin).map_err(|p| doc.error(0..0, None, p))?;
        let mut spec = FunctionSpec::new(
            bin.clone(),
            Code::RustPackage {
                package_dir: dir.clone(),
                bin: Some(bin.clone()),
            },
        );
        spec.timeout = settings.timeout;
        spec.memory_mb = settings.memory_mb;
        spec.reserved_concurrency = settings.reserved_concurrency;
        spec.env = settings.env;
        spec.function_url = settings.function_url.unwrap_or(false);
        let logging = LoggingFields {
            format: settings.log_format.as_ref().map(|(f, _)| *f),
            application_level: settings.log_level.as_ref().map(|(l, _)| *l),
            ..LoggingFields::default()
        };
        let level_at = settings.log_level.map(|(_, span)| span).unwrap_or(0..0);
        spec.logging = doc.check(
            level_at,
            &format!("{base_field}.log_level"),
            logging.finish(),
        )?;
        let payload = settings.payload.unwrap_or(PayloadFormat::Http);
        for (key, span) in &settings.routes {
            let route = parse_route_key(key, payload)
                .map_err(|p| doc.error(span.clone(), Some(&format!("{base_field}.routes")), p))?;
            if spec.routes.iter().any(|r| r.key() == route.key()) {
                return Err(doc.invalid(
                    span.clone(),
                    &format!("{base_field}.routes"),
                    format!("binary `{bin}`: route `{}` is listed twice", route.key()),
                    "remove one of the two",
                ));
            }
            spec.routes.push(route);
        }
        functions.push(spec);
    }
    Ok(functions)
}

/// Settings from one table; `None` / empty where the table does not say.
#[derive(Debug, Clone, Default)]
struct Settings {
    routes: Vec<(String, Range<usize>)>,
    routes_set: bool,
    payload: Option<PayloadFormat>,
    timeout: Option<Duration>,
    memory_mb: Option<u32>,
    reserved_concurrency: Option<usize>,
    env: BTreeMap<String, String>,
    serve: Option<bool>,
    function_url: Option<bool>,
    log_format: Option<(LogFormat, Range<usize>)>,
    /// The application log level, and where it is written.
    log_level: Option<(LogLevel, Range<usize>)>,
}

impl Settings {
    /// These settings with `own`'s on top (routes replace, env variables merge).
    fn overlay(mut self, own: Settings) -> Settings {
        if own.routes_set {
            self.routes = own.routes;
            self.routes_set = true;
        }
        self.payload = own.payload.or(self.payload);
        self.timeout = own.timeout.or(self.timeout);
        self.memory_mb = own.memory_mb.or(self.memory_mb);
        self.reserved_concurrency = own.reserved_concurrency.or(self.reserved_concurrency);
        self.env.extend(own.env);
        self.serve = own.serve.or(self.serve);
        self.function_url = own.function_url.or(self.function_url);
        self.log_format = own.log_format.or(self.log_format);
        self.log_level = own.log_level.or(self.log_level);
        self
    }
}

/// The manifest being read.
struct Doc<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Doc<'_> {
    /// An error at the byte span `span` of the manifest.
    fn error(&self, span: Range<usize>, field: Option<&str>, problem: Problem) -> ConfigError {
        let (line, column) = if span.start == 0 && span.end == 0 {
            (None, None)
        } else {
            let (l, c) = line_column(self.text, span.start);
            (Some(super::position(l)), Some(super::position(c)))
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

    fn invalid(
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
    fn check<T>(
        &self,
        span: Range<usize>,
        field: &str,
        r: Result<T, Problem>,
    ) -> Result<T, ConfigError> {
        r.map_err(|p| self.error(span, Some(field), p))
    }

    /// Reads one settings table (`functions` allowed only at the package level).
    fn settings(
        &self,
        table: &DeTable<'_>,
        field: &str,
        package_level: bool,
    ) -> Result<Settings, ConfigError> {
        let mut s = Settings::default();
        for (key, value) in table.iter() {
            let name = key.get_ref().as_ref();
            let f = format!("{field}.{name}");
            match name {
                "functions" if package_level => {}
                "routes" => {
                    let Some(routes) = value.get_ref().as_array() else {
                        return Err(self.invalid(
                            value.span(),
                            &f,
                            "`routes` is not a list",
                            "write routes = [\"GET /users/{id}\", \"ANY /files/{proxy+}\"]",
                        ));
                    };
                    s.routes_set = true;
                    for route in routes.iter() {
                        let Some(text) = route.get_ref().as_str() else {
                            return Err(self.invalid(
                                route.span(),
                                &f,
                                format!(
                                    "a route is a string, not a {}",
                                    route.get_ref().type_str()
                                ),
                                "write routes = [\"GET /users/{id}\"]",
                            ));
                        };
                        s.routes.push((text.to_owned(), route.span()));
                    }
                }
                "payload" => {
                    let version = match value.get_ref() {
                        DeValue::String(v) => Some(v.to_string()),
                        DeValue::Float(v) => Some(v.as_str().to_owned()),
                        _ => None,
                    };
                    let payload = match version.as_deref() {
                        Some("alb") => Some(PayloadFormat::Alb),
                        other => other.and_then(PayloadFormat::from_version),
                    };
                    match payload {
                        Some(p) => s.payload = Some(p),
                        None => {
                            return Err(self.invalid(
                                value.span(),
                                &f,
                                "`payload` is neither \"2.0\", \"1.0\" nor \"alb\"",
                                "write payload = \"2.0\" (HTTP API, the default), \"1.0\" (REST API) or \"alb\" (a load balancer's target)",
                            ));
                        }
                    }
                }
                "timeout" => {
                    let n = self.integer(value, &f)?;
                    s.timeout = Some(self.check(value.span(), &f, check_timeout(n))?);
                }
                "memory" => {
                    let n = self.integer(value, &f)?;
                    s.memory_mb = Some(self.check(value.span(), &f, check_memory(n))?);
                }
                "reserved_concurrency" => {
                    let n = self.integer(value, &f)?;
                    s.reserved_concurrency =
                        Some(self.check(value.span(), &f, check_concurrency(n))?);
                }
                "serve" | "function_url" => {
                    let Some(b) = value.get_ref().as_bool() else {
                        return Err(self.invalid(
                            value.span(),
                            &f,
                            format!(
                                "`{name}` is a {}, not true or false",
                                value.get_ref().type_str()
                            ),
                            format!("write {name} = true or {name} = false"),
                        ));
                    };
                    if name == "serve" {
                        s.serve = Some(b);
                    } else {
                        s.function_url = Some(b);
                    }
                }
                "log_format" | "log_level" => {
                    let Some(text) = value.get_ref().as_str() else {
                        return Err(self.invalid(
                            value.span(),
                            &f,
                            format!("`{name}` is a {}, not a string", value.get_ref().type_str()),
                            "write log_format = \"JSON\" or log_level = \"DEBUG\"",
                        ));
                    };
                    if name == "log_format" {
                        let format = self.check(value.span(), &f, check_log_format(text))?;
                        s.log_format = Some((format, value.span()));
                    } else {
                        let level = self.check(value.span(), &f, check_log_level(text, false))?;
                        s.log_level = Some((level, value.span()));
                    }
                }
                "env" => {
                    let Some(env) = value.get_ref().as_table() else {
                        return Err(self.invalid(
                            value.span(),
                            &f,
                            "`env` is not a table",
                            "write env = { NAME = \"value\" }",
                        ));
                    };
                    for (var, v) in env.iter() {
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
                        s.env.insert(var_name, text);
                    }
                }
                other => {
                    return Err(self.error(
                        key.span(),
                        Some(&f),
                        Problem::invalid(
                            format!("unknown key `{other}` in [{field}]"),
                            format!(
                                "the keys are {}{}",
                                KEYS.join(", "),
                                if package_level { " and functions" } else { "" }
                            ),
                        ),
                    ));
                }
            }
        }
        Ok(s)
    }
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit_once('\n')
        .map_or(before, |(_, last)| last)
        .chars()
        .count()
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests;
