//! The Cargo side of `lambkin watch` and `lambkin build`: the workspace's function binaries
//! (`cargo metadata`), building them, and freezing each built version.

use std::{
    collections::BTreeMap,
    ffi::{OsStr, OsString},
    path::{Path, PathBuf},
    process::Stdio,
};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::Command,
};

/// A command running `cargo` without the variables cargo sets for a program it runs.
///
/// `cargo run` gives `lambkin` its package's `CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR`, … (and
/// `cargo test` gives them to a test). Build scripts such as ring's declare some of them with
/// `rerun-if-env-changed`, so a build under them reruns ring's and rebuilds everything above
/// it, and the developer's next plain `cargo build` rebuilds it all back: under `cargo run`,
/// every first build of the functions cost about a minute twice.
pub fn command(cargo: impl AsRef<OsStr>) -> std::process::Command {
    let mut command = std::process::Command::new(cargo);
    for (name, _) in std::env::vars_os() {
        if set_by_cargo_for_a_program(&name) {
            command.env_remove(name);
        }
    }
    command
}

/// Whether cargo sets the variable `name` for a program it runs (`cargo run`, `cargo test`):
/// the package's description, not a setting of the developer's. `CARGO` itself stays: it is
/// the cargo to use.
fn set_by_cargo_for_a_program(name: &OsStr) -> bool {
    const PREFIXES: [&str; 7] = [
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_BIN_",
        "CARGO_CRATE_",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
    ];
    name.to_str()
        .is_some_and(|name| name == "OUT_DIR" || PREFIXES.iter().any(|p| name.starts_with(p)))
}

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
    /// Marked `[package.metadata.lambkin] serve = false` (and not named with `-p`): not served
    /// unless a SAM or Serverless configuration names it.
    pub opted_out: bool,
}

/// The Cargo workspace around the current directory and its function binaries.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The workspace root.
    pub root: PathBuf,
    /// Cargo's target directory.
    pub target_dir: PathBuf,
    /// Every function binary of the selected members.
    pub functions: Vec<Discovered>,
    /// Host names to answer besides loopback ones: `[workspace.metadata.lambkin] allow-hosts`.
    pub allow_hosts: Vec<String>,
}

/// Why the workspace could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// `cargo metadata` could not run or failed.
    #[error("`cargo metadata` failed: {0}")]
    Metadata(String),
    /// A package asked for with `-p` has no function binaries.
    #[error("package `{0}` is not a workspace member with function binaries")]
    NoSuchPackage(String),
}

/// Reads the workspace with `cargo metadata --no-deps`: every binary of a member package (of
/// `packages`, if any) that depends on `lambkin` or `lambda_runtime` is a function, named after
/// the binary. Path dependencies are recorded: their changes rebuild the function.
pub fn discover(
    cargo: &OsString,
    dir: &Path,
    packages: &[String],
) -> Result<Workspace, DiscoverError> {
    // No Cargo project here (e.g. a SAM project whose functions are `bootstrap` executables in
    // any language): no Rust functions, and nothing to build.
    if !dir.ancestors().any(|d| d.join("Cargo.toml").is_file()) {
        if let Some(wanted) = packages.first() {
            return Err(DiscoverError::NoSuchPackage(wanted.clone()));
        }
        return Ok(Workspace {
            root: dir.to_path_buf(),
            target_dir: dir.join("target"),
            functions: Vec::new(),
            allow_hosts: Vec::new(),
        });
    }
    let output = command(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(dir)
        .output()
        .map_err(|e| DiscoverError::Metadata(e.to_string()))?;
    if !output.status.success() {
        return Err(DiscoverError::Metadata(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| DiscoverError::Metadata(e.to_string()))?;
    functions_of(&metadata, packages)
}

/// [`discover`] on `cargo metadata`'s JSON.
pub fn functions_of(
    metadata: &serde_json::Value,
    packages: &[String],
) -> Result<Workspace, DiscoverError> {
    let text = |key: &str| metadata[key].as_str().map(PathBuf::from);
    let target_dir = text("target_directory")
        .ok_or_else(|| DiscoverError::Metadata("no target_directory".into()))?;
    let root = text("workspace_root").unwrap_or_default();
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .map(|m| m.iter().filter_map(|id| id.as_str()).collect())
        .unwrap_or_default();
    let mut functions = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let name = package["name"].as_str().unwrap_or_default();
        let is_member = package["id"]
            .as_str()
            .is_some_and(|id| members.contains(&id));
        if !is_member || (!packages.is_empty() && !packages.iter().any(|p| p == name)) {
            continue;
        }
        // Benchmark drivers and test fixtures opt out; naming the package opts back in.
        let opted_out = package["metadata"]["lambkin"]["serve"] == false && packages.is_empty();
        let dependencies = package["dependencies"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        // Normal dependencies only: a package may use lambda_runtime in its tests alone.
        let is_function = dependencies.iter().any(|d| {
            d["kind"].is_null() && matches!(d["name"].as_str(), Some("lambkin" | "lambda_runtime"))
        });
        if !is_function {
            continue;
        }
        let package_dir = package["manifest_path"]
            .as_str()
            .and_then(|p| Path::new(p).parent())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let path_deps = path_dependencies(metadata, dependencies);
        for target in package["targets"].as_array().into_iter().flatten() {
            let is_bin = target["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"));
            if let (true, Some(bin)) = (is_bin, target["name"].as_str()) {
                functions.push(Discovered {
                    package: name.to_owned(),
                    bin: bin.to_owned(),
                    package_dir: package_dir.clone(),
                    path_deps: path_deps.clone(),
                    opted_out,
                });
            }
        }
    }
    for wanted in packages {
        if !functions.iter().any(|f| &f.package == wanted) {
            return Err(DiscoverError::NoSuchPackage(wanted.clone()));
        }
    }
    let allow_hosts = match &metadata["metadata"]["lambkin"]["allow-hosts"] {
        serde_json::Value::Null => Vec::new(),
        serde_json::Value::Array(names) if names.iter().all(serde_json::Value::is_string) => names
            .iter()
            .filter_map(|name| name.as_str().map(str::to_owned))
            .collect(),
        _ => {
            return Err(DiscoverError::Metadata(
                "[workspace.metadata.lambkin] allow-hosts must be a list of host names".into(),
            ));
        }
    };
    Ok(Workspace {
        root,
        target_dir,
        functions,
        allow_hosts,
    })
}

/// The directories of `dependencies` given by path, and of their own path dependencies when
/// they are workspace members (`cargo metadata --no-deps` describes only members): a function
/// is rebuilt when any of them changes.
fn path_dependencies(
    metadata: &serde_json::Value,
    dependencies: &[serde_json::Value],
) -> Vec<PathBuf> {
    let packages = metadata["packages"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut found: Vec<PathBuf> = Vec::new();
    let mut pending: Vec<&serde_json::Value> = dependencies.iter().collect();
    while let Some(dependency) = pending.pop() {
        let Some(dir) = dependency["path"].as_str().map(PathBuf::from) else {
            continue;
        };
        if found.contains(&dir) {
            continue;
        }
        let manifest = dir.join("Cargo.toml");
        if let Some(member) = packages
            .iter()
            .find(|p| p["manifest_path"].as_str().map(Path::new) == Some(manifest.as_path()))
        {
            pending.extend(member["dependencies"].as_array().into_iter().flatten());
        }
        found.push(dir);
    }
    found.sort();
    found
}

/// The most bytes of compiler errors a failed build keeps (for the dashboard).
pub const DIAGNOSTICS_BYTES: usize = 64 << 10;

/// Why a build produced no binaries.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// cargo could not be started.
    #[error("cannot run `cargo build`: {0}")]
    Spawn(#[from] std::io::Error),
    /// cargo ran and failed; its diagnostics were shown as it printed them.
    #[error("`cargo build` failed ({status})")]
    Failed {
        /// How cargo exited.
        status: std::process::ExitStatus,
        /// The compiler's errors, as rendered (without colours; at most [`DIAGNOSTICS_BYTES`]).
        diagnostics: String,
    },
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
    let mut command = Command::from(self::command(cargo));
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
    let mut diagnostics = String::new();
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
                        if message["message"]["level"] == "error" {
                            keep_diagnostic(&mut diagnostics, rendered);
                        }
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
        return Err(BuildError::Failed {
            status,
            diagnostics,
        });
    }
    for function in functions {
        if !executables.contains_key(&function.bin) {
            return Err(BuildError::Missing(function.bin.clone()));
        }
    }
    Ok(executables)
}

/// Adds `rendered` (a diagnostic with ANSI colours) to `kept`, without its colours, as long
/// as `kept` stays within [`DIAGNOSTICS_BYTES`].
fn keep_diagnostic(kept: &mut String, rendered: &str) {
    let mut plain = String::with_capacity(rendered.len());
    let mut chars = rendered.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // A CSI sequence: `ESC [`, parameters, then one final byte in `@`..=`~`.
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            plain.push(c);
        }
    }
    if kept.len() + plain.len() <= DIAGNOSTICS_BYTES {
        kept.push_str(&plain);
    }
}

/// Freezes a built executable as version `version` of `function` (a hard link, or a copy where
/// linking is impossible), so a later build never changes a binary that instances run from.
/// Each emulator process keeps its versions apart (`target/lambkin/<pid>/…`): two `lambkin
/// watch` sharing a target dir never touch each other's binaries.
pub fn freeze(
    executable: &Path,
    target_dir: &Path,
    function: &str,
    version: u64,
) -> std::io::Result<PathBuf> {
    let dir = versions_dir(target_dir).join(function);
    crate::state_dir::create(&dir)?;
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

/// Removes the frozen versions (and deployed code) of emulators that are no longer running
/// (killed before they could clean up), so they do not pile up in the target dir. Those of
/// running emulators are never touched.
pub fn remove_stale_versions(target_dir: &Path) {
    crate::state_dir::sweep_pids(&target_dir.join("lambkin"));
}

/// Where this process freezes its versions: `<target>/lambkin/<pid>`, private to the user
/// (mode 0700) once created.
pub fn versions_dir(target_dir: &Path) -> PathBuf {
    crate::state_dir::of_this_process(&target_dir.join("lambkin"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_runs_without_what_cargo_set_for_us() {
        // `cargo test` sets CARGO_PKG_NAME and CARGO_MANIFEST_DIR for this test, as `cargo run`
        // does for `lambkin`.
        assert!(std::env::var_os("CARGO_PKG_NAME").is_some());
        let command = command("cargo");
        let removed: Vec<_> = command
            .get_envs()
            .filter(|(_, value)| value.is_none())
            .map(|(name, _)| name.to_string_lossy().into_owned())
            .collect();
        for name in ["CARGO_PKG_NAME", "CARGO_MANIFEST_DIR"] {
            assert!(removed.iter().any(|r| r == name), "{name} in {removed:?}");
        }
        assert!(
            !removed
                .iter()
                .any(|r| r == "CARGO" || r == "CARGO_TARGET_DIR"),
            "the developer's cargo settings stay: {removed:?}"
        );
    }

    #[test]
    fn diagnostics_lose_their_colours_and_stay_bounded() {
        let mut kept = String::new();
        keep_diagnostic(
            &mut kept,
            "\u{1b}[0m\u{1b}[1m\u{1b}[38;5;9merror[E0308]\u{1b}[0m: mismatched\n",
        );
        assert_eq!(kept, "error[E0308]: mismatched\n");
        keep_diagnostic(&mut kept, &"x".repeat(DIAGNOSTICS_BYTES));
        assert_eq!(kept, "error[E0308]: mismatched\n");
    }

    #[test]
    fn stale_versions_of_dead_emulators_are_removed() {
        use std::os::unix::fs::PermissionsExt;
        let target =
            std::env::temp_dir().join(format!("lambkin-stale-{}", uuid::Uuid::new_v4().simple()));
        let dead = target.join("lambkin").join(i32::MAX.to_string());
        std::fs::create_dir_all(&dead).unwrap();
        let frozen = freeze(Path::new("/bin/true"), &target, "f", 1).unwrap();
        remove_stale_versions(&target);
        assert!(!dead.exists());
        assert!(frozen.exists(), "this emulator is alive");
        let mode = |dir: &Path| std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&versions_dir(&target)), 0o700);
        assert_eq!(mode(&versions_dir(&target).join("f")), 0o700);
        std::fs::remove_dir_all(&target).unwrap();
    }

    #[test]
    fn discovers_function_binaries_and_their_path_dependencies() {
        let metadata = serde_json::json!({
            "target_directory": "/w/target",
            "workspace_root": "/w",
            "workspace_members": ["fn", "sdk", "lib", "bench"],
            "packages": [
                {
                    "id": "fn", "name": "greeter", "manifest_path": "/w/greeter/Cargo.toml",
                    "dependencies": [
                        {"name": "lambkin", "kind": null, "path": "/w/sdk"},
                        {"name": "shared", "kind": null, "path": "/w/shared"},
                        {"name": "serde", "kind": null}
                    ],
                    "targets": [{"name": "greet", "kind": ["bin"]}, {"name": "greeter", "kind": ["lib"]}]
                },
                {
                    "id": "sdk", "name": "lambkin", "manifest_path": "/w/sdk/Cargo.toml",
                    "dependencies": [{"name": "lambkin-macros", "kind": null, "path": "/w/macros"}],
                    "targets": [{"name": "lambkin", "kind": ["lib"]}]
                },
                {
                    "id": "lib", "name": "shared", "manifest_path": "/w/shared/Cargo.toml",
                    "dependencies": [{"name": "lambda_runtime", "kind": "dev"}],
                    "targets": [{"name": "tool", "kind": ["bin"]}]
                },
                {
                    "id": "bench", "name": "bench", "manifest_path": "/w/bench/Cargo.toml",
                    "metadata": {"lambkin": {"serve": false}},
                    "dependencies": [{"name": "lambkin", "kind": null}],
                    "targets": [{"name": "b", "kind": ["bin"]}]
                }
            ]
        });
        let workspace = functions_of(&metadata, &[]).unwrap();
        assert_eq!(workspace.target_dir, PathBuf::from("/w/target"));
        let greet = Discovered {
            package: "greeter".into(),
            bin: "greet".into(),
            package_dir: "/w/greeter".into(),
            // The SDK's own path dependency counts too: it is a member.
            path_deps: vec!["/w/macros".into(), "/w/sdk".into(), "/w/shared".into()],
            opted_out: false,
        };
        let bench = Discovered {
            package: "bench".into(),
            bin: "b".into(),
            package_dir: "/w/bench".into(),
            path_deps: vec![],
            opted_out: true,
        };
        assert_eq!(workspace.functions, [greet, bench]);
        // Named, a package is served whatever its metadata says; an unknown one is an error.
        let named = functions_of(&metadata, &["bench".into()])
            .unwrap()
            .functions;
        assert!(named.len() == 1 && !named[0].opted_out);
        assert!(matches!(
            functions_of(&metadata, &["nope".into()]),
            Err(DiscoverError::NoSuchPackage(_))
        ));
    }

    #[test]
    fn reads_allowed_hosts_from_workspace_metadata() {
        let mut metadata = serde_json::json!({
            "target_directory": "/w/target",
            "workspace_root": "/w",
            "workspace_members": [],
            "packages": [],
            "metadata": {"lambkin": {"allow-hosts": ["dev.test", "*.apps.test"]}},
        });
        let workspace = functions_of(&metadata, &[]).unwrap();
        assert_eq!(workspace.allow_hosts, ["dev.test", "*.apps.test"]);
        metadata["metadata"]["lambkin"]["allow-hosts"] = serde_json::json!("dev.test");
        assert!(matches!(
            functions_of(&metadata, &[]),
            Err(DiscoverError::Metadata(_))
        ));
    }
}
