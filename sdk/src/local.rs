//! Local mode: a function binary started outside Lambda (plain `cargo run`) serves itself.
//! The emulator library binds the Invoke API front and a Runtime API listener in this very
//! process, and the same `lambda_runtime` loop that runs in AWS polls it.

use std::net::{Ipv4Addr, SocketAddr};

use lambkin_emulator::{FunctionConfig, local::InProcess};

/// Port of the front unless `PORT` or `LAMBKIN_PORT` says otherwise.
const DEFAULT_PORT: u16 = 9000;

/// Binds the in-process emulator and points the Lambda environment at it. Must run before
/// any other thread exists (it sets environment variables).
pub(crate) fn start(function: &str) -> Result<InProcess, String> {
    let port = match std::env::var("PORT").or_else(|_| std::env::var("LAMBKIN_PORT")) {
        Ok(port) => port
            .parse::<u16>()
            .map_err(|_| format!("PORT must be a port number, got {port:?}"))?,
        Err(_) => DEFAULT_PORT,
    };
    let exe = std::env::current_exe().map_err(|e| format!("cannot locate this binary: {e}"))?;
    let config = FunctionConfig::new(function, exe);
    let front = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let server = InProcess::bind(config, front).map_err(|e| {
        format!("cannot serve `{function}` locally on {front}: {e} (set PORT to use another port)")
    })?;
    // Host names the front answers besides loopback ones, as `lambkin watch` takes them.
    for name in std::env::var("LAMBKIN_ALLOW_HOSTS")
        .unwrap_or_default()
        .split(',')
    {
        if !name.trim().is_empty() {
            server
                .allow_host(name)
                .map_err(|e| format!("LAMBKIN_ALLOW_HOSTS: {e}"))?;
        }
    }
    // The environment an instance gets under `lambkin watch`, from the same place. What the
    // user set already stays, except the Runtime API, which is ours.
    for (name, value) in server.lambda_env() {
        if name == "AWS_LAMBDA_RUNTIME_API" || std::env::var_os(&name).is_none() {
            // SAFETY: called from `main` before the tokio runtime or any other thread exists,
            // so nothing can read the environment concurrently.
            unsafe { std::env::set_var(name, value) };
        }
    }
    let url = format!(
        "http://{}/2015-03-31/functions/{function}/invocations",
        server.front()
    );
    eprintln!("lambkin: serving `{function}` locally (no AWS_LAMBDA_RUNTIME_API set)");
    eprintln!("  invoke: curl -d '{{}}' {url}");
    Ok(server)
}
