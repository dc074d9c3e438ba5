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
    let server = InProcess::bind(config.clone(), front).map_err(|e| {
        format!("cannot serve `{function}` locally on {front}: {e} (set PORT to use another port)")
    })?;
    let memory = config.memory_mb.to_string();
    let log_group = format!("/aws/lambda/{function}");
    let vars = [
        ("AWS_LAMBDA_RUNTIME_API", server.runtime_api().to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", function.to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory),
        ("AWS_LAMBDA_LOG_GROUP_NAME", log_group),
    ];
    for (name, value) in vars {
        // SAFETY: called from `main` before the tokio runtime or any other thread exists, so
        // nothing can read the environment concurrently.
        unsafe { std::env::set_var(name, value) };
    }
    let url = format!(
        "http://{}/2015-03-31/functions/{function}/invocations",
        server.front()
    );
    eprintln!("lambkin: serving `{function}` locally (no AWS_LAMBDA_RUNTIME_API set)");
    eprintln!("  invoke: curl -d '{{}}' {url}");
    Ok(server)
}
