//! From a project's configuration to what `lambkin watch` serves: each function's
//! [`FunctionConfig`] and routes, the API Gateway over them, and the loop that re-reads the
//! configuration when one of its files changes and applies it to the running emulator.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use super::cargo::{Discovered, Workspace};
use super::hot_reload;
use crate::apigw::{EventOptions, PayloadFormat, Route, RouteTable};
use crate::config::FunctionSettings;
use crate::front::gateway::Gateway;
use crate::template::{self, Code, FunctionSpec};
use crate::{Emulator, FunctionConfig};

/// A function to serve and where its code comes from.
#[derive(Debug, Clone)]
pub struct Planned {
    /// What the emulator runs (the executable of a Rust function is set once it is built).
    pub config: FunctionConfig,
    /// Serve a function URL (its own listener) too.
    pub function_url: bool,
    /// The function URL's CORS.
    pub url_cors: Option<crate::apigw::Cors>,
    /// The workspace binary it is built from; `None` for a `bootstrap` served as it is.
    pub rust: Option<Discovered>,
    /// The routes the configuration declares for it (the defaults are added by [`gateway`]).
    pub routes: Vec<Route>,
    /// The schedules that invoke it.
    #[cfg(feature = "schedules")]
    pub schedules: Vec<crate::sources::schedule::Schedule>,
    /// The SQS event source mappings that invoke it.
    pub sqs: Vec<crate::sources::sqs::SqsSource>,
}

/// Where the configuration comes from: re-read whole when one of its files changes.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The directory `lambkin` runs in, where a template is looked for.
    pub here: PathBuf,
    /// The SAM template or serverless.yml named on the command line.
    pub template: Option<PathBuf>,
    /// The env file named on the command line.
    pub env_file: Option<PathBuf>,
}

impl Settings {
    /// The functions to serve, with the env file's variables under each function's own, and the
    /// SAM/Serverless file they came from, if any.
    ///
    /// These are the functions of a SAM/Serverless configuration if there is one, else every
    /// function of the workspace with its `[package.metadata.lambkin]` settings.
    pub fn plan(&self, workspace: &Workspace) -> anyhow::Result<(Vec<Planned>, Option<PathBuf>)> {
        let env = match &self.env_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                parse_env_file(&text).with_context(|| format!("in {}", path.display()))?
            }
            None => BTreeMap::new(),
        };
        let (specs, source) = specs(&self.here, self.template.as_deref(), workspace)?;
        let mut planned = specs
            .into_iter()
            .map(|spec| planned(spec, workspace))
            .collect::<anyhow::Result<Vec<_>>>()?;
        for function in &mut planned {
            let mut merged = env.clone();
            merged.extend(std::mem::take(&mut function.config.env));
            function.config.env = merged;
        }
        Ok((planned, source))
    }

    /// The WebSocket APIs the SAM/Serverless configuration declares (none without one). They
    /// are read once, at start: a change to them takes a restart.
    pub fn websockets(&self) -> anyhow::Result<Vec<crate::websocket::WebSocketApi>> {
        let project = template::load(&self.here, self.template.as_deref())?;
        Ok(project.map(|p| p.websockets).unwrap_or_default())
    }

    /// The Step Functions state machines the SAM template declares (none without one), read
    /// once, at start, like the WebSocket APIs.
    pub fn state_machines(&self) -> anyhow::Result<Vec<crate::state_machine::StateMachineConfig>> {
        let project = template::load(&self.here, self.template.as_deref())?;
        Ok(project.map(|p| p.state_machines).unwrap_or_default())
    }

    /// The files whose changes reload the configuration.
    pub fn files(&self, config_file: Option<PathBuf>, workspace: &Workspace) -> Vec<PathBuf> {
        let manifests = workspace
            .functions
            .iter()
            .map(|f| f.package_dir.join("Cargo.toml"));
        let mut files: Vec<PathBuf> = config_file
            .into_iter()
            .chain(self.env_file.iter().filter_map(|f| f.canonicalize().ok()))
            .chain(manifests)
            .collect();
        files.sort();
        files.dedup();
        files
    }
}

/// The functions a SAM/Serverless configuration declares (and the file it is), else those of
/// the workspace's `[package.metadata.lambkin]`.
fn specs(
    here: &Path,
    template: Option<&Path>,
    workspace: &Workspace,
) -> anyhow::Result<(Vec<FunctionSpec>, Option<PathBuf>)> {
    if let Some(project) = template::load(here, template)? {
        tracing::info!(file = %project.source.display(), "configuration");
        for note in &project.notes {
            tracing::info!("{note}");
        }
        return Ok((project.functions, Some(project.source)));
    }
    let served: Vec<&Discovered> = workspace
        .functions
        .iter()
        .filter(|f| !f.opted_out)
        .collect();
    let mut manifests: Vec<&Path> = served.iter().map(|f| f.package_dir.as_path()).collect();
    manifests.dedup();
    let mut specs = Vec::new();
    for dir in manifests {
        let found = template::package_functions(&dir.join("Cargo.toml"))?;
        specs.extend(
            found
                .into_iter()
                .filter(|spec| served.iter().any(|f| f.bin == spec.name)),
        );
    }
    Ok((specs, None))
}

/// One function of the configuration, its code found in `workspace`.
fn planned(spec: FunctionSpec, workspace: &Workspace) -> anyhow::Result<Planned> {
    // Destructured whole: a field added to `FunctionSpec` must be placed here.
    let FunctionSpec {
        name,
        code,
        handler,
        logging,
        timeout,
        memory_mb,
        reserved_concurrency,
        max_concurrency,
        env,
        routes,
        function_url,
        url_invoke_mode,
        url_cors,
        #[cfg(feature = "schedules")]
        schedules,
        sqs,
        event_invoke_config,
        dead_letter_target,
    } = spec;
    let (executable, working_dir, rust) = match code {
        Code::RustPackage { package_dir, bin } => {
            let found = workspace.functions.iter().find(|f| {
                f.package_dir.canonicalize().ok().as_deref() == Some(package_dir.as_path())
                    && bin.as_ref().is_none_or(|b| b == &f.bin)
            });
            let Some(found) = found else {
                bail!(
                    "function `{name}`: {} is not a function package of the workspace at {} (add it to [workspace] members)",
                    package_dir.display(),
                    workspace.root.display()
                );
            };
            (
                PathBuf::new(),
                found.package_dir.clone(),
                Some(found.clone()),
            )
        }
        Code::Bootstrap { dir } => (dir.join("bootstrap"), dir, None),
    };
    let routes = routes
        .iter()
        .map(|route| {
            let key = route.key();
            route
                .route(&name)
                .with_context(|| format!("function `{name}`: route `{key}`"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let settings = FunctionSettings {
        handler,
        timeout,
        memory_mb,
        reserved_concurrency,
        max_concurrency,
        env,
        logging,
        url_invoke_mode,
        event_invoke_config,
        dead_letter_target,
    };
    Ok(Planned {
        config: FunctionConfig::from_settings(name, executable, Some(working_dir), settings),
        function_url,
        url_cors,
        rust,
        routes,
        #[cfg(feature = "schedules")]
        schedules,
        sqs,
    })
}

/// The API Gateway of `planned`: their routes, and the default ones of the functions that
/// declare none (see [`RouteTable::with_defaults`]; `/{function}/…` beside declared routes).
pub fn gateway(planned: &[Planned]) -> anyhow::Result<Gateway> {
    let routes: Vec<Route> = planned
        .iter()
        .flat_map(|p| p.routes.iter().cloned())
        .collect();
    let names: Vec<(String, PayloadFormat)> = planned
        .iter()
        .map(|p| (p.config.name.clone(), PayloadFormat::Http))
        .collect();
    let table = RouteTable::with_defaults(routes, &names)?;
    Ok(Gateway::new(table, EventOptions::default()))
}

/// Watches the configuration's `files` and returns the loop that re-reads it whenever one of
/// them changes and applies it: routes, and each function's timeout, memory, environment,
/// handler, logging and reserved concurrency. An invalid edit keeps the last good
/// configuration; adding or removing functions needs a restart. `served` are the project's
/// functions (the management API may add others while serving).
pub fn reconfigure_on_change(
    emulator: Emulator,
    settings: Settings,
    workspace: Workspace,
    served: Vec<String>,
    files: &[PathBuf],
) -> Result<impl std::future::Future<Output = ()> + use<>, hot_reload::WatchError> {
    let (watcher, mut changes) = hot_reload::watch_files(files)?;
    Ok(async move {
        // The watcher stops when dropped: it lives as long as this loop.
        let _watcher = watcher;
        while let Some(batch) = hot_reload::next_batch(&mut changes, hot_reload::QUIET).await {
            let files: Vec<String> = batch.iter().map(|f| f.display().to_string()).collect();
            tracing::info!(?files, "configuration changed");
            let applied = match settings.plan(&workspace) {
                Ok((planned, _)) => apply(&emulator, &served, planned).await,
                Err(error) => Err(error),
            };
            match applied {
                Ok(()) => tracing::info!("configuration reloaded"),
                Err(error) => {
                    tracing::error!(
                        "configuration not reloaded, the last good one stays: {error:#}"
                    )
                }
            }
        }
    })
}

/// Applies a reloaded configuration to the project's functions (`served`; functions deployed
/// through the management API are not the configuration's).
async fn apply(
    emulator: &Emulator,
    served: &[String],
    planned: Vec<Planned>,
) -> anyhow::Result<()> {
    let mut now = served.to_vec();
    let mut wanted: Vec<String> = planned.iter().map(|p| p.config.name.clone()).collect();
    now.sort();
    wanted.sort();
    if now != wanted {
        bail!(
            "the functions changed ({now:?} → {wanted:?}): restart lambkin to add or remove functions"
        );
    }
    // The routes first: one that takes a state machine's is refused before anything changes.
    emulator.replace_gateway(gateway(&planned)?)?;
    for function in planned {
        let name = &function.config.name;
        let Some(current) = emulator.function_config(name) else {
            continue;
        };
        let changed = current.timeout != function.config.timeout
            || current.memory_mb != function.config.memory_mb
            || current.max_concurrency != function.config.max_concurrency
            || current.env != function.config.env
            || current.handler != function.config.handler
            || current.logging != function.config.logging;
        // Like redeploying a template to AWS, the template's setting replaces one made since
        // through PutFunctionConcurrency or DeleteFunctionConcurrency, if they differ.
        if current.reserved_concurrency != function.config.reserved_concurrency {
            let reserved = function.config.reserved_concurrency;
            emulator.set_reserved_concurrency(name, reserved);
            tracing::info!(function = %name, ?reserved, "reserved concurrency changed");
        }
        if changed {
            let mut config = function.config;
            config.executable = current.executable;
            emulator.replace_function(config).await?;
        }
    }
    Ok(())
}

/// Where `Event` invocations wait, so they survive a restart: `<target dir>/lambkin/events` in
/// a Cargo project (not `target/lambkin/<pid>`, which goes when the emulator stops), else
/// `.lambkin/events` in the directory served.
pub fn event_dir(workspace: &Workspace) -> PathBuf {
    if workspace.root.join("Cargo.toml").is_file() {
        workspace.target_dir.join("lambkin").join("events")
    } else {
        workspace.root.join(".lambkin").join("events")
    }
}

/// `KEY=VALUE` lines; `export ` prefixes, blank lines and `#` comments allowed; values may be
/// quoted.
fn parse_env_file(text: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut env = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            bail!("line {}: expected KEY=VALUE", number + 1);
        };
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            bail!("line {}: invalid variable name `{key}`", number + 1);
        }
        let value = value.trim();
        let unquoted = ['"', '\'']
            .iter()
            .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
            .unwrap_or(value);
        env.insert(key.to_owned(), unquoted.to_owned());
    }
    Ok(env)
}

#[cfg(test)]
mod tests;
