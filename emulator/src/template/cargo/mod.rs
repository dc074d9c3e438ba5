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
//! max_concurrency = 4                 # invocations per instance, 1 (default) to 1600
//! function_url = true                # or "RESPONSE_STREAM": a URL that streams (InvokeMode)
//! serve = false                       # do not serve this binary
//! ```
//!
//! Unknown keys are errors (a misspelt key would otherwise be silently ignored).

mod settings;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{
    Code, ConfigError, ErrorKind, FunctionSpec, LoggingFields, Problem, check_function_name,
    parse_route_key,
};
use crate::apigw::PayloadFormat;
use settings::{Doc, Settings};

/// A package's name and binary targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PackageInfo {
    pub(crate) name: String,
    pub(crate) bins: Vec<String>,
}

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
    let (package_settings, per_bin) = doc.lambkin_tables(table.get_ref(), &info)?;
    let mut functions = Vec::new();
    for bin in &info.bins {
        let own = per_bin.get(bin).cloned().unwrap_or_default();
        let settings = package_settings.clone().overlay(own);
        if settings.serve == Some(false) {
            continue;
        }
        functions.push(doc.function(bin, settings, &dir)?);
    }
    Ok(functions)
}

/// Where `[package.metadata.lambkin]` is, for errors.
const BASE_FIELD: &str = "package.metadata.lambkin";

impl Doc<'_> {
    /// The package's settings and each binary's own (`functions.<bin>`); package-wide routes
    /// only for a package with a single binary.
    fn lambkin_tables(
        &self,
        manifest: &DeTable<'_>,
        info: &PackageInfo,
    ) -> Result<(Settings, BTreeMap<String, Settings>), ConfigError> {
        let lambkin = manifest
            .get("package")
            .and_then(|p| p.get_ref().as_table())
            .and_then(|p| p.get("metadata"))
            .and_then(|m| m.get_ref().as_table())
            .and_then(|m| m.get("lambkin"));
        let Some(value) = lambkin else {
            return Ok((Settings::default(), BTreeMap::new()));
        };
        let Some(t) = value.get_ref().as_table() else {
            return Err(self.invalid(
                value.span(),
                BASE_FIELD,
                format!(
                    "[{BASE_FIELD}] is a {}, not a table",
                    value.get_ref().type_str()
                ),
                "write it as a [package.metadata.lambkin] table",
            ));
        };
        let settings = self.settings(t, BASE_FIELD, true)?;
        let per_bin = match t.get("functions") {
            Some(functions) => self.per_bin(functions, info)?,
            None => BTreeMap::new(),
        };
        if let Some((_, span)) = settings.routes.first()
            && info.bins.len() > 1
        {
            return Err(self.invalid(
                span.clone(),
                &format!("{BASE_FIELD}.routes"),
                format!(
                    "package `{}` has several binaries ({}); package-wide routes would go to all",
                    info.name,
                    info.bins.join(", ")
                ),
                "move the routes to [package.metadata.lambkin.functions.<bin>]",
            ));
        }
        Ok((settings, per_bin))
    }

    /// The `functions.<bin>` tables, each naming one of the package's binaries.
    fn per_bin(
        &self,
        functions: &Spanned<DeValue<'_>>,
        info: &PackageInfo,
    ) -> Result<BTreeMap<String, Settings>, ConfigError> {
        let field = format!("{BASE_FIELD}.functions");
        let Some(functions) = functions.get_ref().as_table() else {
            return Err(self.invalid(
                functions.span(),
                &field,
                "`functions` is not a table",
                "write [package.metadata.lambkin.functions.<bin>] tables",
            ));
        };
        let mut per_bin = BTreeMap::new();
        for (bin, value) in functions.iter() {
            let bin_name = bin.get_ref().to_string();
            let bin_field = format!("{field}.{bin_name}");
            if !info.bins.contains(&bin_name) {
                return Err(self.error(
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
                return Err(self.invalid(
                    value.span(),
                    &bin_field,
                    format!("`{bin_name}` is not a table"),
                    "write a [package.metadata.lambkin.functions.<bin>] table",
                ));
            };
            per_bin.insert(bin_name, self.settings(t, &bin_field, false)?);
        }
        Ok(per_bin)
    }

    /// The function of binary `bin` of the package in `dir`, with its `settings`.
    fn function(
        &self,
        bin: &str,
        settings: Settings,
        dir: &Path,
    ) -> Result<FunctionSpec, ConfigError> {
        check_function_name(bin).map_err(|p| self.error(0..0, None, p))?;
        let mut spec = FunctionSpec::new(
            bin,
            Code::RustPackage {
                package_dir: dir.to_path_buf(),
                bin: Some(bin.to_owned()),
            },
        );
        spec.timeout = settings.timeout;
        spec.memory_mb = settings.memory_mb;
        spec.reserved_concurrency = settings.reserved_concurrency;
        spec.max_concurrency = settings.max_concurrency;
        spec.env = settings.env;
        spec.function_url = settings.function_url.unwrap_or(false);
        spec.url_invoke_mode = settings.url_invoke_mode.unwrap_or_default();
        let logging = LoggingFields {
            format: settings.log_format.as_ref().map(|(f, _)| *f),
            application_level: settings.log_level.as_ref().map(|(l, _)| *l),
            ..LoggingFields::default()
        };
        let level_at = settings.log_level.map(|(_, span)| span).unwrap_or(0..0);
        spec.logging = self.check(
            level_at,
            &format!("{BASE_FIELD}.log_level"),
            logging.finish(),
        )?;
        let payload = settings.payload.unwrap_or(PayloadFormat::Http);
        let field = format!("{BASE_FIELD}.routes");
        for (key, span) in &settings.routes {
            let route = parse_route_key(key, payload)
                .map_err(|p| self.error(span.clone(), Some(&field), p))?;
            if spec.routes.iter().any(|r| r.key() == route.key()) {
                return Err(self.invalid(
                    span.clone(),
                    &field,
                    format!("binary `{bin}`: route `{}` is listed twice", route.key()),
                    "remove one of the two",
                ));
            }
            spec.routes.push(route);
        }
        Ok(spec)
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
