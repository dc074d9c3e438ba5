//! Code storage: how many functions and how many bytes of code the management API keeps, and
//! the code of each revision on disk, removed once nothing runs it any more.
//!
//! A revision's code is a [`CodeDir`]: its unpacked directory and the zip beside it, counted in
//! the emulator's [`Usage`]. The configurations that run it hold it (the store's revisions, the
//! pools serving them and every instance started from them), so it outlives a replaced
//! `$LATEST` exactly as long as an instance of the old code still runs, then leaves the disk and
//! the count together.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Caps on the code deployed through the management API (the project's own functions are not
/// counted).
///
/// AWS allows 75 GB of code storage per region and has no quota on the number of functions
/// (<https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>). The emulator
/// keeps code on the local disk, often a RAM-backed `/tmp`, so its defaults are a laptop's:
/// 2 GiB (eight functions at Lambda's 250 MB unzipped maximum, hundreds of typical Rust
/// functions of a few MB) and 100 functions, each of which may keep warm instances running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeployLimits {
    /// Most functions deployed at once (default 100). Published versions do not count.
    pub max_functions: usize,
    /// Most bytes of deployed code on disk at once, unpacked code and the zips kept for
    /// GetFunction together (default 2 GiB). Superseded code counts until its last instance
    /// stops.
    pub max_code_bytes: u64,
}

impl Default for DeployLimits {
    fn default() -> Self {
        DeployLimits {
            max_functions: 100,
            max_code_bytes: 2 << 30,
        }
    }
}

/// The bytes of deployed code on disk.
#[derive(Debug, Default)]
pub(crate) struct Usage(AtomicU64);

impl Usage {
    /// Bytes counted now.
    pub(crate) fn used(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Bytes that still fit under `max`.
    pub(crate) fn room(&self, max: u64) -> u64 {
        max.saturating_sub(self.used())
    }

    /// Counts `bytes` if they fit under `max`.
    fn charge(&self, bytes: u64, max: u64) -> bool {
        self.0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= max)
            })
            .is_ok()
    }

    fn release(&self, bytes: u64) {
        self.0.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// A revision's code on disk: the directory it is unpacked in and `<directory>.zip` beside it.
/// Dropping the last handle removes both (and the function's directory once it is empty) and
/// gives its bytes back; until it is [charged](CodeDir::charge) it counts nothing, so a refused
/// upload that drops it leaves nothing behind.
#[derive(Debug)]
pub(crate) struct CodeDir {
    path: PathBuf,
    bytes: u64,
    usage: Arc<Usage>,
}

impl CodeDir {
    /// The code to be written at `path` (nothing is written or counted yet).
    pub(crate) fn new(path: PathBuf, usage: Arc<Usage>) -> CodeDir {
        CodeDir {
            path,
            bytes: 0,
            usage,
        }
    }

    /// The unpacked code.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The zip it came from.
    pub(crate) fn zip(&self) -> PathBuf {
        self.path.with_extension("zip")
    }

    /// Counts the `bytes` written if they fit under `max`; `false` (nothing counted) if not.
    pub(crate) fn charge(&mut self, bytes: u64, max: u64) -> bool {
        let charged = self.usage.charge(bytes, max);
        if charged {
            self.bytes += bytes;
        }
        charged
    }
}

impl Drop for CodeDir {
    fn drop(&mut self) {
        let path = std::mem::take(&mut self.path);
        let (bytes, usage) = (self.bytes, self.usage.clone());
        let remove = move || {
            remove(&path);
            usage.release(bytes);
        };
        // Removing up to 250 MB of files is blocking work, and the last holder of counted code
        // may be an async task. Code never counted is a refused upload, dropped on the blocking
        // thread that wrote it, whose caller answers once it is gone.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) if bytes > 0 => drop(runtime.spawn_blocking(remove)),
            _ => remove(),
        }
    }
}

/// Removes the code at `path`, its zip, and the function's directory once it has no code left
/// (it was deleted).
fn remove(path: &Path) {
    let _ = fs::remove_file(path.with_extension("zip"));
    match fs::remove_dir_all(path) {
        Ok(()) => tracing::debug!(dir = %path.display(), "removed code no instance runs any more"),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            tracing::warn!(dir = %path.display(), %error, "could not remove superseded code")
        }
    }
    if let Some(function_dir) = path.parent() {
        let _ = fs::remove_dir(function_dir);
    }
}

/// The same code is the same directory.
impl PartialEq for CodeDir {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
    }
}

impl Eq for CodeDir {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_counted_until_its_last_holder_drops_it() {
        let usage = Arc::new(Usage::default());
        let function =
            std::env::temp_dir().join(format!("lambkin-storage-{}", uuid::Uuid::new_v4().simple()));
        let dir = function.join("rev");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("bootstrap"), b"12345").unwrap();
        fs::write(dir.with_extension("zip"), b"zip").unwrap();

        let mut code = CodeDir::new(dir.clone(), usage.clone());
        assert!(!code.charge(101, 100), "over the cap: nothing counted");
        assert_eq!(usage.used(), 0);
        assert!(code.charge(8, 100));
        assert_eq!((usage.used(), usage.room(100)), (8, 92));

        let code = Arc::new(code);
        let held_by_an_instance = code.clone();
        drop(code);
        assert!(dir.exists(), "an instance still runs it");
        assert_eq!(usage.used(), 8);
        drop(held_by_an_instance);
        assert!(!dir.exists() && !dir.with_extension("zip").exists());
        assert!(!function.exists(), "the empty function directory goes too");
        assert_eq!(usage.used(), 0);
    }

    #[test]
    fn an_uncharged_code_dir_cleans_up_a_refused_upload() {
        let usage = Arc::new(Usage::default());
        let function =
            std::env::temp_dir().join(format!("lambkin-storage-{}", uuid::Uuid::new_v4().simple()));
        let kept = function.join("kept");
        fs::create_dir_all(&kept).unwrap();
        let refused = CodeDir::new(function.join("refused"), usage.clone());
        fs::create_dir_all(refused.path()).unwrap();
        drop(refused);
        assert!(!function.join("refused").exists());
        assert!(kept.exists(), "the function's other code stays");
        assert_eq!(usage.used(), 0);
        fs::remove_dir_all(&function).unwrap();
    }
}
