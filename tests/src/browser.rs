//! The browser the browser tests drive: Debian's `chromium` (and `chromium-driver` for the
//! WebDriver tests). Without them a test is skipped with a note, unless `CI` or
//! `LAMBKIN_REQUIRE_CHROMIUM` is set.

use std::path::PathBuf;
use std::process::Stdio;

/// The first of `candidates` that runs with `--version`.
async fn installed(candidates: &[&str]) -> Option<PathBuf> {
    for candidate in candidates {
        let ran = tokio::process::Command::new(candidate)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
        if ran.is_ok_and(|status| status.success()) {
            return Some(PathBuf::from(candidate));
        }
    }
    None
}

/// `None` (the test is skipped) when `what` is missing, unless a browser is required.
fn missing(what: &str, package: &str) -> Option<PathBuf> {
    let required = ["CI", "LAMBKIN_REQUIRE_CHROMIUM"]
        .iter()
        .any(|name| std::env::var_os(name).is_some());
    assert!(
        !required,
        "{what} is required (apt-get install -y --no-install-recommends {package})"
    );
    eprintln!(
        "\n*** SKIPPED: the browser test needs {what} (apt-get install -y --no-install-recommends {package}) ***\n"
    );
    None
}

/// The Chromium binary, if installed.
pub async fn chromium() -> Option<PathBuf> {
    match installed(&["/usr/bin/chromium", "chromium", "chromium-browser"]).await {
        Some(path) => Some(path),
        None => missing("chromium", "chromium"),
    }
}

/// Chromium's WebDriver server, if installed.
pub async fn chromedriver() -> Option<PathBuf> {
    match installed(&["/usr/bin/chromedriver", "chromedriver"]).await {
        Some(path) => Some(path),
        None => missing("chromedriver", "chromium-driver"),
    }
}
