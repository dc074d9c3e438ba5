//! A function project in a temp dir under `lambkin watch`: what the hot-reload tests and the
//! reload benchmark edit and measure.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    sync::OnceLock,
    time::Duration,
};

use tokio::{
    process::{Child, Command},
    sync::mpsc,
    time::timeout,
};

/// This repository's root.
pub fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is in the repository")
}

/// The cargo target dir this test or bench binary was built in (the ancestor holding cargo's
/// `CACHEDIR.TAG`): projects built there reuse the SDK's artifacts.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the current executable");
    exe.ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
        .expect("the executable is inside a cargo target dir")
}

/// The debug `lambkin` binary (every command: `deploy` included), built once per test
/// process. Cargo does not hold its lock while tests run, so this works from inside
/// `cargo test`.
///
/// The path is a hard link of the build's `target/debug/lambkin`, made at once: cargo
/// replaces that file whenever another build (the README's `cargo run`, without `deploy`, or
/// another checkout's tests sharing the target dir) makes the binary anew, which would change
/// what a test runs under its feet.
pub fn lambkin_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| kept(&build_lambkin())).clone()
}

/// Builds `lambkin` and returns the path cargo reports.
fn build_lambkin() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = crate::developer_command(cargo)
        .args([
            "build",
            "-p",
            "lambkin-emulator",
            "--bin",
            "lambkin",
            "--features",
            "deploy",
            "--message-format=json",
        ])
        .current_dir(repository())
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo build");
    assert!(output.status.success(), "building lambkin failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "lambkin")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported the lambkin executable")
}

/// `built` hard-linked as `lambkin-tests/<pid>/lambkin` beside it (still named `lambkin`, which
/// its usage lines print): this process's own, which no other test run sharing the target dir
/// replaces. The links of test processes that have exited are removed (each holds a whole
/// binary on disk).
fn kept(built: &Path) -> PathBuf {
    let links = built.with_file_name("lambkin-tests");
    for entry in std::fs::read_dir(&links).into_iter().flatten().flatten() {
        let pid = entry.file_name();
        if !Path::new("/proc").join(&pid).exists() {
            let path = entry.path();
            let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
        }
    }
    let dir = links.join(std::process::id().to_string());
    let link = dir.join("lambkin");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::hard_link(built, &link))
        .unwrap_or_else(|e| panic!("linking {} as {}: {e}", built.display(), link.display()));
    link
}

/// The first build of the project compiles the SDK: allow for a slow machine.
pub const FIRST_BUILD: Duration = Duration::from_secs(600);
/// The first optimised build (release, LTO) of a project and its dependencies: allow for a slow
/// machine.
pub const RELEASE_BUILD: Duration = Duration::from_secs(1800);
/// An incremental rebuild of one small function.
pub const REBUILD: Duration = Duration::from_secs(180);

/// A one-function cargo project in a temp dir, depending on this repository's SDK.
#[derive(Debug)]
pub struct Project {
    dir: PathBuf,
    name: String,
}

impl Project {
    /// A fresh project (package and function) called `name`, whose handler answers version 1.
    /// Projects that may build at the same time need different names: they share a target dir.
    pub fn new(name: &str) -> Project {
        let repo = repository();
        let dir = std::env::temp_dir().join(format!("lambkin-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).expect("test project");
        // The repository's lock file: the same dependency versions, so builds share artifacts.
        std::fs::copy(repo.join("Cargo.lock"), dir.join("Cargo.lock")).expect("test project");
        let project = Project {
            dir,
            name: name.to_owned(),
        };
        project.manifest("");
        project.answer("1");
        project
    }

    /// Writes the project's Cargo.toml, with `extra` (e.g. a `[package.metadata.lambkin]`
    /// table) at its end.
    pub fn manifest(&self, extra: &str) {
        self.manifest_with("", extra);
    }

    /// [`Project::manifest`], with `lambkin` (keys of its dependency table, such as
    /// `default-features = false`) added to the SDK's dependency.
    pub fn manifest_with(&self, lambkin: &str, extra: &str) {
        let sdk = repository().join("sdk");
        let name = &self.name;
        // TOML's inline tables take no trailing comma.
        let lambkin = if lambkin.is_empty() {
            String::new()
        } else {
            format!(", {lambkin}")
        };
        let text = format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\nlambkin = {{ path = {sdk:?}{lambkin} }}\nserde_json = \"1\"\n\n[workspace]\n\n{extra}"
        );
        write_atomically(&self.dir.join("Cargo.toml"), &text);
    }

    /// The project's package name, which is also its function's.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The project's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Makes the handler answer `{"version": <expr>}`.
    pub fn answer(&self, expr: &str) {
        let source = format!(
            "#[lambkin::handler]\nasync fn handler(_event: serde_json::Value) -> Result<serde_json::Value, lambkin::Error> {{\n    Ok(serde_json::json!({{ \"version\": {expr} }}))\n}}\n"
        );
        write_atomically(&self.dir.join("src/main.rs"), &source);
    }
}

/// Writes then renames, as editors do, so no build ever reads a half-written file.
fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp-write");
    std::fs::write(&tmp, text).expect("test project");
    std::fs::rename(tmp, path).expect("test project");
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `lambkin watch` running on a project.
#[derive(Debug)]
pub struct Watching {
    child: Child,
    /// The front's address.
    pub addr: SocketAddr,
    output: mpsc::UnboundedReceiver<String>,
}

impl Watching {
    /// Starts `lambkin` (the binary at `lambkin`) on `project`, sharing `target_dir`, and waits
    /// (bounded) until it serves.
    pub async fn start(lambkin: &Path, project: &Project, target_dir: &Path) -> Watching {
        Watching::start_in(lambkin, &project.dir, &[], target_dir).await
    }

    /// Starts `lambkin watch --port 0 <args>` in `dir`, sharing `target_dir`, and waits
    /// (bounded by [`FIRST_BUILD`]) until it serves.
    pub async fn start_in(
        lambkin: &Path,
        dir: &Path,
        args: &[&str],
        target_dir: &Path,
    ) -> Watching {
        Watching::start_within(lambkin, dir, args, target_dir, FIRST_BUILD).await
    }

    /// [`Watching::start_in`], waiting up to `limit` (e.g. [`RELEASE_BUILD`]).
    pub async fn start_within(
        lambkin: &Path,
        dir: &Path,
        args: &[&str],
        target_dir: &Path,
        limit: Duration,
    ) -> Watching {
        let mut child = Command::from(crate::developer_command(lambkin))
            .args(["watch", "--port", "0"])
            .args(args)
            .current_dir(dir)
            .env("CARGO_TARGET_DIR", target_dir)
            .env_remove("LAMBKIN_PORT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("test project");
        let output = crate::merge_output(&mut child);
        let mut watching = Watching {
            child,
            addr: "127.0.0.1:0".parse().expect("test project"),
            output,
        };
        let line = watching.wait_for(limit, |l| l.contains("serving")).await;
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("test project");
        watching.addr = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("test project");
        watching
    }

    /// The `lambkin` process id.
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or_default()
    }

    /// Waits (bounded by `limit`) for an output line matching `predicate`.
    pub async fn wait_for(&mut self, limit: Duration, predicate: impl Fn(&str) -> bool) -> String {
        timeout(limit, async {
            loop {
                let line = self.output.recv().await.expect("lambkin exited");
                if predicate(&line) {
                    return line;
                }
            }
        })
        .await
        .expect("timed out waiting for lambkin's output")
    }
}

/// Invokes the project's function (the only one: API Gateway's `$default` route sends every path
/// to it); `Ok(version)` or the failure.
pub async fn version(addr: SocketAddr) -> Result<u64, String> {
    let answer = crate::try_post(addr, "/", &[], "{}".to_owned()).await?;
    if answer.status != 200 {
        return Err(format!("{} {}", answer.status, answer.body));
    }
    answer.body["version"]
        .as_u64()
        .ok_or_else(|| answer.body.to_string())
}

/// Polls until the function answers `wanted`, failing on any failed request.
pub async fn until_version(addr: SocketAddr, wanted: u64) {
    timeout(REBUILD, async {
        loop {
            match version(addr).await {
                Ok(v) if v == wanted => return,
                Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(e) => panic!("a request failed during the reload: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("version {wanted} never arrived"));
}
