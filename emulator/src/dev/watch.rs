//! The rebuild loop of `lambkin watch`: on a settled source change, rebuild the functions it
//! affects in one cargo build and swap the new versions in under live traffic.

use std::{
    collections::{BTreeMap, BTreeSet},
    ffi::OsString,
    path::{Path, PathBuf},
};

use super::cargo::{BuildError, Discovered, build, freeze};
use super::hot_reload::{self, PathFilter, Watched};
use crate::{Emulator, FunctionConfig, front::status::BuildState};

/// What the reload loop needs to rebuild and swap one function.
#[derive(Debug, Clone)]
pub struct Reloadable {
    /// Where it comes from.
    pub discovered: Discovered,
    /// Its current configuration (the executable is replaced on each successful build).
    pub config: FunctionConfig,
}

/// Starts watching every function's sources and path dependencies, and returns the reload loop:
/// on a settled change it rebuilds the affected functions (one cargo build at a time, with
/// `cargo_args`, the profile of the first build) and swaps the new versions in; a failed build
/// keeps the previous version serving. The watch is in place when this returns, so no edit made
/// after it is missed.
pub fn rebuild_on_change(
    emulator: Emulator,
    cargo: OsString,
    cargo_args: Vec<String>,
    target_dir: PathBuf,
    functions: Vec<Reloadable>,
) -> Result<impl std::future::Future<Output = ()>, hot_reload::WatchError> {
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
    let roots: BTreeSet<PathBuf> = watched
        .iter()
        .flat_map(|w| w.roots.iter().cloned())
        .collect();
    let roots: Vec<PathBuf> = roots.into_iter().collect();
    let (watcher, mut changes) = hot_reload::watch(&roots, PathFilter::new(&roots, &target_dir))?;
    let functions: BTreeMap<String, Reloadable> = functions
        .into_iter()
        .map(|f| (f.config.name.clone(), f))
        .collect();
    Ok(async move {
        // The watcher stops when dropped: it lives as long as the loop.
        let _watcher = watcher;
        let mut version = 0;
        while let Some(batch) = hot_reload::next_batch(&mut changes, hot_reload::QUIET).await {
            let affected = hot_reload::affected(&batch, &watched);
            if affected.is_empty() {
                continue;
            }
            let names: Vec<&str> = affected.iter().map(String::as_str).collect();
            tracing::info!(functions = ?names, "sources changed: rebuilding");
            emulator.set_build_state(BuildState::Building);
            let targets: Vec<&Discovered> = affected
                .iter()
                .filter_map(|name| functions.get(name))
                .map(|f| &f.discovered)
                .collect();
            match build(&cargo, &targets, &cargo_args).await {
                Ok(executables) => {
                    version += 1;
                    for name in &affected {
                        let Some(function) = functions.get(name) else {
                            continue;
                        };
                        let Some(exe) = executables.get(&function.discovered.bin) else {
                            continue;
                        };
                        match swap_in(&emulator, function, exe, &target_dir, version).await {
                            Ok(()) => tracing::info!(function = %name, version, "reloaded"),
                            Err(error) => {
                                tracing::error!(function = %name, %error, "could not swap in the new build")
                            }
                        }
                    }
                    emulator.set_build_state(BuildState::Ready);
                }
                Err(error) => {
                    tracing::error!(%error, "build failed; the previous version keeps serving");
                    let diagnostics = match error {
                        BuildError::Failed { diagnostics, .. } => diagnostics,
                        error => error.to_string(),
                    };
                    emulator.set_build_state(BuildState::Failed {
                        functions: affected.into_iter().collect(),
                        diagnostics,
                    });
                }
            }
        }
    })
}

/// Freezes `exe` as `version` of `function` and serves it with the settings in force (a
/// configuration reload may have changed them since the loop started).
async fn swap_in(
    emulator: &Emulator,
    function: &Reloadable,
    exe: &Path,
    target_dir: &Path,
    version: u64,
) -> Result<(), String> {
    let name = &function.config.name;
    let frozen = freeze(exe, target_dir, name, version).map_err(|e| e.to_string())?;
    let mut config = emulator
        .function_config(name)
        .unwrap_or_else(|| function.config.clone());
    config.executable = frozen;
    emulator
        .replace_function(config)
        .await
        .map_err(|e| e.to_string())
}
