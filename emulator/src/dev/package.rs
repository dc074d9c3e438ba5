//! `lambkin build`'s artifacts: a `bootstrap` the `provided.al2023` runtime can run, and its
//! deterministic `bootstrap.zip`.

use std::{
    fmt,
    io::Write,
    path::{Path, PathBuf},
};

use object::{
    Endianness,
    read::elf::{FileHeader, SectionTable},
};

/// The glibc of Amazon Linux 2023, which `provided.al2023` runs on.
pub const AL2023_GLIBC: GlibcVersion = GlibcVersion {
    major: 2,
    minor: 34,
};

/// A glibc symbol version, `GLIBC_<major>.<minor>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GlibcVersion {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
}

impl fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Why a binary cannot be packaged.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// Reading the binary or writing the zip failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The binary is not a 64-bit ELF file.
    #[error("{path} is not a Linux ELF executable: {reason}")]
    NotElf {
        /// The file.
        path: PathBuf,
        /// What the ELF reader said.
        reason: String,
    },
    /// The binary needs a newer glibc than the runtime has.
    #[error(
        "{path} needs glibc {needed}, but provided.al2023 has glibc {AL2023_GLIBC}: build on an \
         older distribution, or target musl (`rustup target add x86_64-unknown-linux-musl`)"
    )]
    GlibcTooNew {
        /// The file.
        path: PathBuf,
        /// The newest glibc symbol version it requires.
        needed: GlibcVersion,
    },
    /// The toolchain cannot build for the wanted architecture yet.
    #[error("cannot build for {triple} on this machine: run `{commands}` first")]
    CrossToolchain {
        /// The target triple.
        triple: &'static str,
        /// The commands that install what is missing.
        commands: String,
    },
    /// Writing the zip failed.
    #[error("cannot write {path}: {source}")]
    Zip {
        /// The zip file.
        path: PathBuf,
        /// What failed.
        source: zip::result::ZipError,
    },
}

/// The instruction set a function is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Arch {
    /// `x86_64` (Lambda's default architecture).
    #[default]
    X86_64,
    /// `arm64` (Graviton).
    Arm64,
}

impl Arch {
    /// The Rust target triple for `provided.al2023` on this architecture.
    pub fn triple(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-gnu",
            Arch::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }

    /// The GNU linker that cross-links for this architecture.
    fn cross_linker(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-linux-gnu-gcc",
            Arch::Arm64 => "aarch64-linux-gnu-gcc",
        }
    }

    /// The Debian package of [`Arch::cross_linker`].
    fn linker_package(self) -> &'static str {
        match self {
            Arch::X86_64 => "gcc-x86-64-linux-gnu",
            Arch::Arm64 => "gcc-aarch64-linux-gnu",
        }
    }

    /// The architecture this program was built for.
    pub fn host() -> Option<Arch> {
        match crate::config::host_architecture() {
            Some("x86_64") => Some(Arch::X86_64),
            Some("arm64") => Some(Arch::Arm64),
            _ => None,
        }
    }
}

/// What the toolchain on this machine offers for cross builds.
#[derive(Debug, Clone, Default)]
pub struct Toolchain {
    /// `rustup target list --installed`, one triple a line (empty without rustup).
    pub installed_targets: String,
    /// Whether the cross linker for the wanted architecture is on `PATH`.
    pub cross_linker: bool,
}

/// The cargo profile of `lambkin build --release` (and `lambkin deploy`). Not `lambda`: cargo
/// writes a profile's output to `target/<profile>/`, and `target/lambda/<function>/` is where the
/// packaged functions go (cargo-lambda's layout), so a `lambda` profile's binary
/// `target/lambda/<function>` would clash with the directory of the same name.
pub const LAMBDA_PROFILE: &str = "lambda-release";

/// The settings of [`LAMBDA_PROFILE`] unless the workspace defines it: release, smaller and
/// faster to start (thin LTO, one codegen unit, no symbols). Panics still unwind, so a panicking
/// handler answers with an error and the instance survives.
const LAMBDA_PROFILE_SETTINGS: [(&str, &str); 4] = [
    ("inherits", "\"release\""),
    ("lto", "\"thin\""),
    ("codegen-units", "1"),
    ("strip", "\"symbols\""),
];

/// The `cargo build` arguments of a Lambda build: the profile and, when cross-compiling, the
/// target and its linker. Fails with the exact commands to run when a cross build cannot work.
pub fn cargo_args(
    release: bool,
    arch: Arch,
    workspace_manifest: &str,
    toolchain: &Toolchain,
) -> Result<Vec<String>, PackageError> {
    let mut args = Vec::new();
    if release {
        args.extend(["--profile".to_owned(), LAMBDA_PROFILE.to_owned()]);
        if !defines_lambda_profile(workspace_manifest) {
            for (key, value) in LAMBDA_PROFILE_SETTINGS {
                let setting = format!("profile.{LAMBDA_PROFILE}.{key}={value}");
                args.extend(["--config".to_owned(), setting]);
            }
        }
    }
    if Arch::host() != Some(arch) {
        let triple = arch.triple();
        let mut missing = Vec::new();
        if !toolchain
            .installed_targets
            .lines()
            .any(|t| t.trim() == triple)
        {
            missing.push(format!("rustup target add {triple}"));
        }
        if !toolchain.cross_linker {
            missing.push(format!("apt-get install {}", arch.linker_package()));
        }
        if !missing.is_empty() {
            return Err(PackageError::CrossToolchain {
                triple,
                commands: missing.join(" && "),
            });
        }
        let linker_key = format!("target.{triple}.linker=\"{}\"", arch.cross_linker());
        args.extend([
            "--target".to_owned(),
            triple.to_owned(),
            "--config".to_owned(),
            linker_key,
        ]);
    }
    Ok(args)
}

/// Whether the manifest has a `[profile.lambda-release]` table of its own.
fn defines_lambda_profile(manifest: &str) -> bool {
    let table = format!("[profile.{LAMBDA_PROFILE}]");
    let subtable = format!("[profile.{LAMBDA_PROFILE}.");
    manifest.lines().any(|line| {
        let line = line.split('#').next().unwrap_or_default().trim();
        line == table || line.starts_with(&subtable)
    })
}

/// The cross linker of `arch`, if it is on `PATH`.
pub fn has_cross_linker(arch: Arch) -> bool {
    let linker = arch.cross_linker();
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(linker).is_file()))
}

/// One function ready for Lambda.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The function (binary) name.
    pub function: String,
    /// `target/lambda/<function>/bootstrap`.
    pub bootstrap: PathBuf,
    /// `target/lambda/<function>/bootstrap.zip`.
    pub zip: PathBuf,
}

/// Builds `functions` for Lambda in one cargo build and packages each into
/// `<target_dir>/lambda/<function>/{bootstrap,bootstrap.zip}`.
pub async fn build_for_lambda(
    cargo: &std::ffi::OsString,
    target_dir: &Path,
    cargo_args: &[String],
    functions: &[&super::cargo::Discovered],
) -> Result<Vec<Artifact>, LambdaBuildError> {
    let executables = super::cargo::build(cargo, functions, cargo_args).await?;
    let mut artifacts = Vec::new();
    for function in functions {
        let executable = executables
            .get(&function.bin)
            .ok_or_else(|| super::cargo::BuildError::Missing(function.bin.clone()))?;
        let dir = target_dir.join("lambda").join(&function.bin);
        let io = |source| PackageError::Io {
            path: dir.clone(),
            source,
        };
        // Earlier lambkins built with a `lambda` profile, whose binary sits exactly here.
        if dir.is_file() {
            std::fs::remove_file(&dir).map_err(io)?;
        }
        std::fs::create_dir_all(&dir).map_err(io)?;
        let bootstrap = dir.join("bootstrap");
        std::fs::copy(executable, &bootstrap).map_err(io)?;
        let zip = dir.join("bootstrap.zip");
        package(&bootstrap, &zip)?;
        artifacts.push(Artifact {
            function: function.bin.clone(),
            bootstrap,
            zip,
        });
    }
    Ok(artifacts)
}

/// Why `lambkin build` failed.
#[derive(Debug, thiserror::Error)]
pub enum LambdaBuildError {
    /// cargo failed.
    #[error(transparent)]
    Build(#[from] super::cargo::BuildError),
    /// Packaging failed.
    #[error(transparent)]
    Package(#[from] PackageError),
}

/// The newest `GLIBC_x.y` symbol version a 64-bit ELF binary requires (`None` for a static or
/// non-glibc binary).
pub fn required_glibc(binary: &Path, data: &[u8]) -> Result<Option<GlibcVersion>, PackageError> {
    let not_elf = |e: object::read::Error| PackageError::NotElf {
        path: binary.to_path_buf(),
        reason: e.to_string(),
    };
    let header = object::elf::FileHeader64::<Endianness>::parse(data).map_err(not_elf)?;
    let endian = header.endian().map_err(not_elf)?;
    let sections: SectionTable<'_, _, &[u8]> = header.sections(endian, data).map_err(not_elf)?;
    let Some((mut needs, link)) = sections.gnu_verneed(endian, data).map_err(not_elf)? else {
        return Ok(None);
    };
    let strings = sections.strings(endian, data, link).map_err(not_elf)?;
    let mut newest = None;
    while let Some((_, mut versions)) = needs.next().map_err(not_elf)? {
        while let Some(version) = versions.next().map_err(not_elf)? {
            let name = version.name(endian, strings).map_err(not_elf)?;
            if let Some(parsed) = parse_glibc(name) {
                newest = newest.max(Some(parsed));
            }
        }
    }
    Ok(newest)
}

fn parse_glibc(name: &[u8]) -> Option<GlibcVersion> {
    let version = std::str::from_utf8(name.strip_prefix(b"GLIBC_")?).ok()?;
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    Some(GlibcVersion { major, minor })
}

/// Checks that `binary` runs on `provided.al2023`, then writes `zip_path` holding it as the
/// single entry `bootstrap`, mode 0755, with fixed timestamps: the same binary always gives a
/// byte-identical zip.
pub fn package(binary: &Path, zip_path: &Path) -> Result<(), PackageError> {
    let data = std::fs::read(binary).map_err(|source| PackageError::Io {
        path: binary.to_path_buf(),
        source,
    })?;
    if let Some(needed) = required_glibc(binary, &data)? {
        if needed > AL2023_GLIBC {
            return Err(PackageError::GlibcTooNew {
                path: binary.to_path_buf(),
                needed,
            });
        }
    }
    let zip_error = |source| PackageError::Zip {
        path: zip_path.to_path_buf(),
        source,
    };
    let io_error = |source| PackageError::Io {
        path: zip_path.to_path_buf(),
        source,
    };
    // Written beside the target, then renamed: a reader never sees half a zip.
    let partial = zip_path.with_extension("zip.partial");
    let file = std::fs::File::create(&partial).map_err(io_error)?;
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755)
        .last_modified_time(zip::DateTime::default());
    zip.start_file("bootstrap", options).map_err(zip_error)?;
    zip.write_all(&data).map_err(io_error)?;
    zip.finish().map_err(zip_error)?;
    std::fs::rename(&partial, zip_path).map_err(io_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_versions_parse_and_order() {
        assert_eq!(
            parse_glibc(b"GLIBC_2.34"),
            Some(GlibcVersion {
                major: 2,
                minor: 34
            })
        );
        assert_eq!(
            parse_glibc(b"GLIBC_2"),
            Some(GlibcVersion { major: 2, minor: 0 })
        );
        assert_eq!(parse_glibc(b"GLIBC_PRIVATE"), None);
        assert_eq!(parse_glibc(b"GCC_3.0"), None);
        assert!(
            GlibcVersion {
                major: 2,
                minor: 39
            } > AL2023_GLIBC
        );
        assert!(
            GlibcVersion {
                major: 2,
                minor: 17
            } < AL2023_GLIBC
        );
    }

    #[test]
    fn reads_the_glibc_this_test_binary_needs() {
        let exe = std::env::current_exe().unwrap();
        let data = std::fs::read(&exe).unwrap();
        let needed = required_glibc(&exe, &data)
            .unwrap()
            .expect("a glibc-linked test binary");
        assert_eq!(needed.major, 2);
    }

    #[test]
    fn release_builds_use_the_lambda_release_profile_unless_the_user_has_one() {
        let host = Arch::host().unwrap();
        let args = cargo_args(true, host, "[workspace]\n", &Toolchain::default()).unwrap();
        assert_eq!(&args[..2], ["--profile", "lambda-release"]);
        assert!(
            args.contains(&"profile.lambda-release.lto=\"thin\"".to_owned()),
            "{args:?}"
        );
        let own = "[profile.lambda-release] # mine\ninherits = \"release\"\n";
        assert_eq!(
            cargo_args(true, host, own, &Toolchain::default()).unwrap(),
            ["--profile", "lambda-release"]
        );
        // An older `[profile.lambda]` is not this profile: ours is still configured.
        let old = "[profile.lambda]\ninherits = \"release\"\n";
        assert!(
            cargo_args(true, host, old, &Toolchain::default())
                .unwrap()
                .len()
                > 2
        );
        assert!(
            cargo_args(false, host, "", &Toolchain::default())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn cross_builds_name_what_to_install() {
        let other = if Arch::host() == Some(Arch::Arm64) {
            Arch::X86_64
        } else {
            Arch::Arm64
        };
        let err = cargo_args(false, other, "", &Toolchain::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("rustup target add {}", other.triple())),
            "{err}"
        );
        assert!(err.contains("apt-get install gcc-"), "{err}");
        let ready = Toolchain {
            installed_targets: format!("{}\n", other.triple()),
            cross_linker: true,
        };
        let args = cargo_args(false, other, "", &ready).unwrap();
        assert_eq!(&args[..2], ["--target", other.triple()]);
        assert!(args[3].ends_with("-linux-gnu-gcc\""), "{args:?}");
    }

    #[test]
    fn garbage_is_not_elf() {
        let err = required_glibc(Path::new("x"), b"#!/bin/sh\necho hi\n").unwrap_err();
        assert!(matches!(err, PackageError::NotElf { .. }), "{err}");
        assert!(required_glibc(Path::new("x"), &[]).is_err());
    }
}
