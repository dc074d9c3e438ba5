//! Scratch directories with function packages for the tests.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("lambkin-template-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `contents` at `rel`, creating directories; returns the full path.
    pub(crate) fn write(&self, rel: &str, contents: &str) -> PathBuf {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// A Rust package at `rel` named `name`: `src/main.rs`, plus `src/bin/<b>.rs` per extra bin.
    pub(crate) fn package(&self, rel: &str, name: &str, extra_bins: &[&str]) -> PathBuf {
        self.write(
            &format!("{rel}/Cargo.toml"),
            &format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n"),
        );
        self.write(&format!("{rel}/src/main.rs"), "fn main() {}\n");
        for bin in extra_bins {
            self.write(&format!("{rel}/src/bin/{bin}.rs"), "fn main() {}\n");
        }
        self.0.join(rel)
    }

    /// A directory at `rel` holding a `bootstrap` script, executable or not.
    pub(crate) fn bootstrap(&self, rel: &str, executable: bool) -> PathBuf {
        let path = self.write(&format!("{rel}/bootstrap"), "#!/bin/sh\nexit 0\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = if executable { 0o755 } else { 0o644 };
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        #[cfg(not(unix))]
        let _ = executable;
        self.0.join(rel)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
