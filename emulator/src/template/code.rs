//! Code directories: a function's code is a Rust package (one of its binaries) or a directory
//! holding an executable `bootstrap`.

use std::path::Path;

use super::error::Problem;
use super::{Code, cargo};

/// Resolves a function's code directory: a Rust package (a `Cargo.toml` with a `[package]`) or a
/// directory holding an executable `bootstrap`.
///
/// `bin` names the binary to use (it must exist); otherwise `handler`, when it names one of the
/// package's binaries, picks it; otherwise the package must have exactly one binary.
pub(crate) fn resolve_code(
    path: &Path,
    bin: Option<&str>,
    handler: Option<&str>,
) -> Result<Code, Problem> {
    // CodeUri may name the Cargo.toml itself.
    let dir = if path.file_name().is_some_and(|n| n == "Cargo.toml") && path.is_file() {
        path.parent().unwrap_or(path)
    } else {
        path
    };
    // Canonical, so `a/../b` and `b` are the same package, as `cargo metadata` names it.
    let Some(dir) = dir.canonicalize().ok().filter(|d| d.is_dir()) else {
        return Err(Problem::code(
            format!("code directory `{}` does not exist", dir.display()),
            "point it at a Rust package (a directory with Cargo.toml) or a directory holding an \
             executable `bootstrap`, relative to the configuration file",
        ));
    };
    let dir = dir.as_path();
    let manifest = dir.join("Cargo.toml");
    if manifest.is_file() {
        let text = std::fs::read_to_string(&manifest).map_err(|e| {
            Problem::code(
                format!("cannot read `{}`: {e}", manifest.display()),
                "check the file's permissions",
            )
        })?;
        let package = cargo::package_info(&text, dir).map_err(|p| Problem {
            message: format!("{}: {}", manifest.display(), p.message),
            ..p
        })?;
        let Some(package) = package else {
            return Err(Problem::code(
                format!(
                    "`{}` is a workspace manifest, not a package",
                    manifest.display()
                ),
                "point the code directory at the function's own package directory",
            ));
        };
        let chosen = choose_bin(&package, bin, handler)?;
        return Ok(Code::RustPackage {
            package_dir: dir.to_path_buf(),
            bin: Some(chosen),
        });
    }
    if let Some(code) = bootstrap_code(dir)? {
        return Ok(code);
    }
    Err(Problem::code(
        format!(
            "code directory `{}` holds neither a Cargo.toml nor an executable `bootstrap`",
            dir.display()
        ),
        "lambkin runs Rust packages and provided.al2023-style `bootstrap` executables; point \
         the code directory at one of them",
    ))
}

/// The `bootstrap` executable in `dir` as a function's code; `None` when there is none, an error
/// when it is not executable.
pub(crate) fn bootstrap_code(dir: &Path) -> Result<Option<Code>, Problem> {
    let bootstrap = dir.join("bootstrap");
    if !bootstrap.is_file() {
        return Ok(None);
    }
    if !is_executable(&bootstrap) {
        return Err(Problem::code(
            format!("`{}` is not executable", bootstrap.display()),
            format!("run `chmod +x {}`", bootstrap.display()),
        ));
    }
    // Canonical, as resolve_code makes every code directory.
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    Ok(Some(Code::Bootstrap { dir }))
}

/// Picks the binary of `package` a function runs.
fn choose_bin(
    package: &cargo::PackageInfo,
    bin: Option<&str>,
    handler: Option<&str>,
) -> Result<String, Problem> {
    let list = || package.bins.join(", ");
    if let Some(bin) = bin {
        if package.bins.iter().any(|b| b == bin) {
            return Ok(bin.to_owned());
        }
        return Err(Problem::code(
            format!(
                "package `{}` has no binary `{bin}` (it has: {})",
                package.name,
                list()
            ),
            "name one of the package's [[bin]] targets",
        ));
    }
    if let Some(b) = handler.and_then(|h| package.bins.iter().find(|b| *b == h)) {
        return Ok(b.clone());
    }
    match package.bins.as_slice() {
        [only] => Ok(only.clone()),
        [] => Err(Problem::code(
            format!("package `{}` has no binary target", package.name),
            "a function package needs src/main.rs or a [[bin]] target",
        )),
        _ => Err(Problem::code(
            format!(
                "package `{}` has several binaries ({}) and nothing says which one to run",
                package.name,
                list()
            ),
            "set the handler to the binary's name (SAM: `Handler`, or `Metadata.BuildProperties.Binary`)",
        )),
    }
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}
