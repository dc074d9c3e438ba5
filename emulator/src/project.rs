//! The Cargo side of `lambkin watch`: building function binaries, freezing each built version,
//! and the hot-reload loop that rebuilds on change and swaps versions under live traffic.

use std::{
    collections::BTreeMap,
    ffi::OsString,
    path::{Path, PathBuf},
    process::Stdio,
};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::Command,
};

#[cfg(feature = "reload")]
use crate::{
    Emulator, FunctionConfig,
    reload::{self, PathFilter, Watched},
};

/// A function binary of the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// Its package.
    pub package: String,
    /// The binary (and function) name.
    pub bin: String,
    /// The package's directory.
    pub package_dir: PathBuf,
    /// Directories of the package's path dependencies: their changes rebuild it too.
    pub path_deps: Vec<PathBuf>,
}

/// Where the functions' code stands, as the status page and headers report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildState {
    /// Serving the latest successful build.
    Ready,
    /// A rebuild is running; the previous version keeps serving.
    Building,
    /// The last rebuild failed; the previous version keeps serving.
    Failed {
        /// The functions whose build failed.
        functions: Vec<String>,
    },
}

impl BuildState {
    /// The short form used in the `x-lambkin-build` header.
    pub fn as_str(&self) -> &'static str {
        match self {
            BuildState::Ready => "ready",
            BuildState::Building => "building",
            BuildState::Failed { .. } => "failed",
        }
    }
}

/// Why a build produced no binaries.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// cargo could not be started.
    #[error("cannot run `cargo build`: {0}")]
    Spawn(#[from] std::io::Error),
    /// cargo ran and failed; its diagnostics were shown as it printed them.
    #[error("`cargo build` failed ({0}); the previous version keeps serving")]
    Failed(std::process::ExitStatus),
    /// cargo succeeded without producing a binary that was asked for.
    #[error("`cargo build` produced no executable for `{0}`")]
    Missing(String),
}

/// Builds the binaries of `functions` in one `cargo build` (so functions never contend for
/// cargo's lock) with `extra` arguments (profile, target, `--config`), showing cargo's progress
/// and coloured diagnostics as they come. Returns each binary's executable.
pub async fn build(
    cargo: &OsString,
    functions: &[&Discovered],
    extra: &[String],
) -> Result<BTreeMap<String, PathBuf>, BuildError> {
    let mut command = Command::new(cargo);
    command.args(["build", "--message-format=json-diagnostic-rendered-ansi"]);
    command.args(extra);
    for function in functions {
        command.args(["-p", &function.package, "--bin", &function.bin]);
    }
    // stdout carries the JSON messages; stderr (progress) goes straight to the user.
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    let mut executables = BTreeMap::new();
    if let Some(stdout) = child.stdout.take() {
        let mut lines = BufReader::new(stdout).lines();
        while let Some(line) = lines.next_line().await? {
            let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            match message["reason"].as_str() {
                Some("compiler-message") => {
                    if let Some(rendered) = message["message"]["rendered"].as_str() {
                        eprint!("{rendered}");
                    }
                }
                Some("compiler-artifact") => {
                    if let (Some(name), Some(exe)) = (
                        message["target"]["name"].as_str(),
                        message["executable"].as_str(),
                    ) {
                        executables.insert(name.to_owned(), PathBuf::from(exe));
                    }
                }
                _ => {}
            }
        }
    }
    let status = child.wait().await?;
    if !status.success() {
        return Err(BuildError::Failed(status));
    }
    for function in functions {
        if !executables.contains_key(&function.bin) {
            return Err(BuildError::Missing(function.bin.clone()));
        }
    }
    Ok(executables)
}

/// Freezes a built executable as version `version` of `function` (a hard link, or a copy where
/// linking is impossible), so a later build never changes a binary that instances run from.
pub fn freeze(
    executable: &Path,
    target_dir: &Path,
    function: &str,
    version: u64,
) -> std::io::Result<PathBuf> {
    let dir = target_dir.join("lambkin").join("versions").join(function);
    std::fs::create_dir_all(&dir)?;
    let frozen = dir.join(format!(
        "{version}-{}",
        executable
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("bootstrap")
    ));
    let _ = std::fs::remove_file(&frozen);
    if std::fs::hard_link(executable, &frozen).is_err() {
        std::fs::copy(executable, &frozen)?;
    }
    Ok(frozen)
}

/// What the reload loop needs to rebuild and swap one function.
#[cfg(feature = "reload")]
#[derive(Debug, Clone)]
pub struct Reloadable {
    /// Where it comes from.
    pub discovered: Discovered,
    /// Its current configuration (the executable is replaced on each successful build).
    pub config: FunctionConfig,
}

#[cfg(feature = "reload")]
/// Watches every function's sources and path dependencies; on a settled change, rebuilds the
/// affected functions (one cargo build at a time) and swaps the new versions in. A failed build
/// keeps the previous version serving. Runs until the watcher stops.
pub async fn hot_reload(
    emulator: Emulator,
    cargo: OsString,
    target_dir: PathBuf,
    functions: Vec<Reloadable>,
    state: tokio::sync::watch::Sender<BuildState>,
) -> Result<(), reload::WatchError> {
    let watched: Vec<Watched> = functions
        .iter()
        .map(|f| {
            let mut roots = vec![f.discovered.package_dir.clone()];
            roots.extend(f.discovered.path_deps.iter().cloned());
            Watched {
                function: f.config.name.clone(),
                roots,
            }
        })
        .collect();
    let roots: std::collections::BTreeSet<PathBuf> = watched
        .iter()
        .flat_map(|w| w.roots.iter().cloned())
        .collect();
    let roots: Vec<PathBuf> = roots.into_iter().collect();
    let (_watcher, mut changes) = reload::watch(&roots, PathFilter::new(&roots, &target_dir))?;
    let mut version = 0;
    let functions: BTreeMap<String, Reloadable> = functions
        .into_iter()
        .map(|f| (f.config.name.clone(), f))
        .collect();
    while let Some(batch) = reload::next_batch(&mut changes, reload::QUIET).await {
        let affected = reload::affected(&batch, &watched);
        if affected.is_empty() {
            continue;
        }
        let names: Vec<&str> = affected.iter().map(String::as_str).collect();
        tracing::info!(functions = ?names, "sources changed: rebuilding");
        state.send_replace(BuildState::Building);
        let targets: Vec<&Discovered> = affected
            .iter()
            .filter_map(|name| functions.get(name))
            .map(|f| &f.discovered)
            .collect();
        match build(&cargo, &targets, &[]).await {
            Ok(executables) => {
                version += 1;
                for name in &affected {
                    let Some(function) = functions.get(name) else {
                        continue;
                    };
                    let Some(exe) = executables.get(&function.discovered.bin) else {
                        continue;
                    };
                    let swapped = freeze(exe, &target_dir, name, version)
                        .map_err(|e| e.to_string())
                        .and_then(|frozen| {
                            let mut config = function.config.clone();
                            config.executable = frozen;
                            emulator.replace_function(config).map_err(|e| e.to_string())
                        });
                    match swapped {
                        Ok(()) => tracing::info!(function = %name, version, "reloaded"),
                        Err(error) => {
                            tracing::error!(function = %name, %error, "could not swap in the new build")
                        }
                    }
                }
                state.send_replace(BuildState::Ready);
            }
            Err(error) => {
                tracing::error!(%error, "build failed");
                state.send_replace(BuildState::Failed {
                    functions: affected.into_iter().collect(),
                });
            }
        }
    }
    Ok(())
}
