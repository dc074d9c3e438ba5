//! Function code as Lambda takes it: a zip, checked whole before anything is written, then
//! unpacked without ever leaving its directory.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

/// Largest request of CreateFunction and UpdateFunctionCode (base64 zip in JSON), as AWS.
pub(crate) const MAX_REQUEST_BYTES: usize = 70_167_211;
/// Largest zip uploaded directly (50 MB), as AWS.
pub(crate) const MAX_ZIP_BYTES: usize = 52_428_800;
/// Largest unpacked code (250 MB), as AWS.
pub(crate) const MAX_UNZIPPED_BYTES: u64 = 262_144_000;
/// Most entries in a zip: empty entries cost inodes, not bytes.
pub(crate) const MAX_ENTRIES: usize = 100_000;

/// Why a zip is refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CodeError {
    /// Not a zip, or a damaged one.
    #[error("Could not unzip uploaded file. Please check your file, then try to upload again.")]
    NotAZip,
    /// Over [`MAX_ZIP_BYTES`].
    #[error("Zipped file size must be smaller than {MAX_ZIP_BYTES} bytes")]
    ZipTooLarge,
    /// Over [`MAX_UNZIPPED_BYTES`] once unpacked (declared or actual).
    #[error("Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes")]
    UnzippedTooLarge,
    /// More than the emulator's code storage has room for (declared or actual).
    #[error("Code storage limit exceeded")]
    StorageExceeded,
    /// An entry that would land outside the function's directory, or a link.
    #[error("Could not unzip uploaded file: entry `{entry}` {why}")]
    Unsafe {
        /// The entry's name in the zip.
        entry: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// More than [`MAX_ENTRIES`] entries.
    #[error("Could not unzip uploaded file: more than {MAX_ENTRIES} entries")]
    TooManyEntries,
    /// An entry that cannot be created where it goes (e.g. `a` and then `a/b`).
    #[error("Could not unzip uploaded file: entry `{entry}`: {error}")]
    Entry {
        /// The entry's path in the zip.
        entry: String,
        /// Why it could not be created.
        error: io::Error,
    },
    /// Writing the code failed (the emulator's fault, not the caller's).
    #[error("could not store the function code: {0}")]
    Io(#[from] io::Error),
}

/// `CodeSha256` as Lambda reports it: the base64 SHA-256 of the zip.
pub(crate) fn sha256(bytes: &[u8]) -> String {
    BASE64.encode(Sha256::digest(bytes))
}

/// [`sha256`] of a file, read in chunks.
pub(crate) fn sha256_file(path: &Path) -> io::Result<String> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            return Ok(BASE64.encode(hasher.finalize()));
        }
        hasher.update(&buffer[..read]);
    }
}

/// The relative path an entry unpacks to, or why it may not be unpacked.
fn entry_path(name: &str, unix_mode: Option<u32>) -> Result<PathBuf, CodeError> {
    let refuse = |why| CodeError::Unsafe {
        entry: name.to_owned(),
        why,
    };
    if unix_mode.is_some_and(|mode| mode & 0o170_000 == 0o120_000) {
        return Err(refuse("is a symbolic link"));
    }
    if name.contains('\0') {
        return Err(refuse("has a NUL byte in its name"));
    }
    // Zips written on Windows may use `\`; treat it as a separator so `..\x` is caught too.
    let normalised = name.replace('\\', "/");
    let path = Path::new(&normalised);
    let mut relative = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => {
                if part
                    .to_str()
                    .is_some_and(|p| p.len() >= 2 && p.as_bytes()[1] == b':')
                {
                    return Err(refuse("is an absolute path"));
                }
                relative.push(part);
            }
            Component::CurDir => {}
            Component::ParentDir => return Err(refuse("escapes the function's directory")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(refuse("is an absolute path"));
            }
        }
    }
    Ok(relative)
}

/// Unpacks `zip` into `dir` (created with its parents, mode 0700; it must not exist yet) and
/// returns the bytes written. Every entry is checked before anything is written: names that
/// escape `dir` or are absolute, symbolic links, and sizes over Lambda's limit or over `room`
/// (the bytes the emulator's code storage has left) refuse the whole zip, as declared and again
/// as actually inflated (a header may lie), so nothing is ever written past them; a refused zip
/// leaves nothing behind. File modes are kept, as Lambda keeps them: a `bootstrap` zipped
/// without its executable bit does not run here either.
pub(crate) fn unpack(zip: &[u8], dir: &Path, room: u64) -> Result<u64, CodeError> {
    if zip.len() > MAX_ZIP_BYTES {
        return Err(CodeError::ZipTooLarge);
    }
    let mut archive = zip::ZipArchive::new(io::Cursor::new(zip)).map_err(|_| CodeError::NotAZip)?;
    if archive.len() > MAX_ENTRIES {
        return Err(CodeError::TooManyEntries);
    }
    let mut entries = Vec::with_capacity(archive.len());
    let mut declared = 0u64;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|_| CodeError::NotAZip)?;
        let path = entry_path(entry.name(), entry.unix_mode())?;
        declared = declared.saturating_add(entry.size());
        if declared > MAX_UNZIPPED_BYTES {
            return Err(CodeError::UnzippedTooLarge);
        }
        entries.push((path, entry.is_dir(), entry.unix_mode()));
    }
    if declared > room {
        return Err(CodeError::StorageExceeded);
    }
    if dir.exists() {
        return Err(io::Error::from(io::ErrorKind::AlreadyExists).into());
    }
    crate::state_dir::create(dir)?;
    extract(&mut archive, entries, dir, room).inspect_err(|_| {
        let _ = fs::remove_dir_all(dir);
    })
}

/// Writes the checked `entries` of `archive` under `dir`, at most `room` bytes; the bytes
/// written.
fn extract(
    archive: &mut zip::ZipArchive<io::Cursor<&[u8]>>,
    entries: Vec<(PathBuf, bool, Option<u32>)>,
    dir: &Path,
    room: u64,
) -> Result<u64, CodeError> {
    let mut written = 0u64;
    for (index, (path, is_dir, mode)) in entries.into_iter().enumerate() {
        let target = dir.join(&path);
        // Entries that clash (a file where a directory must go) are the zip's fault.
        let clash = |error| CodeError::Entry {
            entry: path.display().to_string(),
            error,
        };
        if is_dir || path.as_os_str().is_empty() {
            fs::create_dir_all(&target).map_err(clash)?;
            continue;
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(clash)?;
        }
        let mut entry = archive.by_index(index).map_err(|_| CodeError::NotAZip)?;
        let mut file = fs::File::create(&target).map_err(clash)?;
        let mut buffer = vec![0; 64 * 1024];
        loop {
            // A damaged entry (bad deflate data, wrong CRC) fails on read: the zip's fault.
            let read = entry.read(&mut buffer).map_err(|_| CodeError::NotAZip)?;
            if read == 0 {
                break;
            }
            // A header may lie about the size: never inflate past the limits.
            written += read as u64;
            if written > MAX_UNZIPPED_BYTES {
                return Err(CodeError::UnzippedTooLarge);
            }
            if written > room {
                return Err(CodeError::StorageExceeded);
            }
            file.write_all(&buffer[..read])?;
        }
        file.flush()?;
        set_mode(&target, mode)?;
    }
    Ok(written)
}

/// The entry's permission bits (owner-readable at least), or 0644 when the zip has none.
fn set_mode(path: &Path, mode: Option<u32>) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = mode.map_or(0o644, |mode| (mode & 0o777) | 0o400);
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::write::SimpleFileOptions;

    fn zip_of(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        for (name, mode, data) in entries {
            let options = SimpleFileOptions::default().unix_permissions(*mode);
            if mode & 0o170_000 == 0o120_000 {
                let target = std::str::from_utf8(data).unwrap();
                writer.add_symlink(*name, target, options).unwrap();
            } else {
                writer.start_file(*name, options).unwrap();
                writer.write_all(data).unwrap();
            }
        }
        writer.finish().unwrap().into_inner()
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "lambkin-code-{name}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn unpacks_with_modes() {
        use std::os::unix::fs::PermissionsExt;
        let zip = zip_of(&[
            ("bootstrap", 0o755, b"#!/bin/sh\n"),
            ("lib/data.txt", 0o644, b"data"),
        ]);
        let dir = temp_dir("ok");
        assert_eq!(unpack(&zip, &dir, u64::MAX).unwrap(), 10 + 4);
        let private = fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(private & 0o777, 0o700);
        let mode = fs::metadata(dir.join("bootstrap"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(fs::read(dir.join("lib/data.txt")).unwrap(), b"data");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_escapes_absolute_paths_and_links() {
        for (name, mode, why) in [
            ("../evil", 0o644, "escapes"),
            ("a/../../evil", 0o644, "escapes"),
            ("..\\evil", 0o644, "escapes"),
            ("/etc/evil", 0o644, "absolute"),
            ("C:/evil", 0o644, "absolute"),
            ("link", 0o120_777, "symbolic link"),
        ] {
            let zip = zip_of(&[("bootstrap", 0o755, b"ok"), (name, mode, b"x")]);
            let dir = temp_dir("bad");
            let error = unpack(&zip, &dir, u64::MAX).unwrap_err().to_string();
            assert!(error.contains(why), "{name}: {error}");
            assert!(!dir.exists(), "{name}: nothing may be written");
        }
    }

    #[test]
    fn clashing_entries_are_the_zips_fault() {
        let zip = zip_of(&[("a", 0o644, b"file"), ("a/b", 0o644, b"under a file")]);
        let dir = temp_dir("clash");
        let error = unpack(&zip, &dir, u64::MAX).unwrap_err();
        assert!(matches!(error, CodeError::Entry { .. }), "{error}");
        assert!(!dir.exists());
    }

    #[test]
    fn refuses_what_is_not_a_zip_or_too_big() {
        let dir = temp_dir("junk");
        assert!(matches!(
            unpack(b"not a zip", &dir, u64::MAX),
            Err(CodeError::NotAZip)
        ));
        let big = vec![0; MAX_ZIP_BYTES + 1];
        assert!(matches!(
            unpack(&big, &dir, u64::MAX),
            Err(CodeError::ZipTooLarge)
        ));
        assert!(!dir.exists());
    }

    /// A zip of one `bootstrap` of `mib` MiB of zeros (a few KB per MiB, deflated).
    fn zeros(mib: usize) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(1))
            .large_file(mib >= 4096);
        writer.start_file("bootstrap", options).unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..mib {
            writer.write_all(&chunk).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    /// `zip` (one entry, no zip64) with headers that declare `size` bytes unpacked.
    fn lying_about_size(mut zip: Vec<u8>, size: u32) -> Vec<u8> {
        // Local file header: uncompressed size at offset 22; central directory header: at 24.
        for (signature, offset) in [(b"PK\x03\x04", 22), (b"PK\x01\x02", 24)] {
            let at = zip.windows(4).position(|w| w == signature).unwrap() + offset;
            zip[at..at + 4].copy_from_slice(&size.to_le_bytes());
        }
        zip
    }

    #[test]
    fn stays_within_the_room_left() {
        let zip = zeros(2);
        let dir = temp_dir("room");
        // Declared over the room: refused before anything is written.
        assert!(matches!(
            unpack(&zip, &dir, (2 << 20) - 1),
            Err(CodeError::StorageExceeded)
        ));
        assert!(!dir.exists());
        // Declared within the room but inflating past it: stopped while unpacking.
        let liar = lying_about_size(zip.clone(), 1000);
        assert!(matches!(
            unpack(&liar, &dir, 1 << 20),
            Err(CodeError::StorageExceeded)
        ));
        assert!(!dir.exists(), "nothing may be left");
        assert_eq!(unpack(&zip, &dir, 2 << 20).unwrap(), 2 << 20);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_a_zip_bomb() {
        // 251 MiB of zeros deflates to a few hundred KB.
        let zip = zeros(251);
        assert!(zip.len() < MAX_ZIP_BYTES);
        let dir = temp_dir("bomb");
        assert!(matches!(
            unpack(&zip, &dir, u64::MAX),
            Err(CodeError::UnzippedTooLarge)
        ));
        assert!(!dir.exists());
    }

    #[test]
    fn hashes_like_lambda() {
        // echo -n hello | openssl dgst -sha256 -binary | base64
        assert_eq!(
            sha256(b"hello"),
            "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="
        );
    }
}
