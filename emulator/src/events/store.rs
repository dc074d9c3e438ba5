//! The event directory: each accepted event a file, written before the 202 and removed once the
//! event is done, read back when the emulator serves again from the same directory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::Event;
use crate::instance::{Invocation, Trigger};
use crate::registry::FunctionKey;

/// Event files end with this; a write in progress ends with [`TMP`].
const EVENT: &str = "event";
const TMP: &str = "tmp";
/// The subdirectory of records not delivered locally.
const RECORDS: &str = "records";
/// Most files `records/` holds; past it a record is only logged (the disk stays bounded).
const MAX_RECORDS: usize = 10_000;

/// An event file's first line; the payload follows it.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    function: String,
    request_id: String,
    /// Milliseconds since the Unix epoch.
    enqueued_ms: u64,
    failures: u32,
    trace_id: String,
    client_context: Option<String>,
    cognito_identity: Option<String>,
    /// The last failed attempt's error, for the failure record of an event resumed later.
    #[serde(default)]
    last_error: Option<String>,
}

/// The event directory: one file per event, `<request id>.event`, and an exclusive lock on the
/// directory itself, held while the emulator runs (released by the kernel when it exits).
#[derive(Debug)]
pub(super) struct Store {
    dir: PathBuf,
    _lock: File,
}

impl Store {
    /// Opens (creating it 0700 if missing) and locks `dir`; fails when another emulator has it.
    pub(super) fn open(dir: PathBuf) -> io::Result<Store> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        let lock = File::open(&dir)?;
        // SAFETY: flock(2) on a descriptor owned by `lock`, which outlives the call.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::WouldBlock {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!("{} is used by another emulator", dir.display()),
                ));
            }
            return Err(error);
        }
        Ok(Store { dir, _lock: lock })
    }

    /// The directory.
    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, request_id: &str, extension: &str) -> PathBuf {
        self.dir.join(format!("{request_id}.{extension}"))
    }

    /// Writes (or rewrites) `event`'s file atomically.
    pub(super) async fn write(self: &Arc<Self>, event: &Event) -> io::Result<()> {
        let enqueued_ms = event
            .enqueued
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let invocation = &event.invocation;
        let record = Record {
            function: event.key.to_string(),
            request_id: invocation.request_id.clone(),
            enqueued_ms,
            failures: event.failures,
            trace_id: invocation.trace_id.clone(),
            client_context: invocation.client_context.clone(),
            cognito_identity: invocation.cognito_identity.clone(),
            last_error: (event.last_error.as_ref())
                .map(|error| String::from_utf8_lossy(error).into_owned()),
        };
        let payload = invocation.payload.clone();
        let store = self.clone();
        let written = tokio::task::spawn_blocking(move || {
            let mut header = serde_json::to_vec(&record)?;
            header.push(b'\n');
            write_atomically(
                &store.path(&record.request_id, TMP),
                &store.path(&record.request_id, EVENT),
                &[&header, &payload],
            )
        });
        written.await.map_err(io::Error::other)?
    }

    /// Writes `body` to `records/<name>` (created 0700 if missing), atomically; returns the
    /// file's path. Refused (`StorageFull`) when the directory holds [`MAX_RECORDS`] files.
    pub(super) async fn write_record(
        self: &Arc<Self>,
        name: String,
        body: Bytes,
    ) -> io::Result<PathBuf> {
        let dir = self.dir.join(RECORDS);
        let written = tokio::task::spawn_blocking(move || {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)?;
            if fs::read_dir(&dir)?.count() >= MAX_RECORDS {
                return Err(io::Error::new(
                    io::ErrorKind::StorageFull,
                    format!("{} holds {MAX_RECORDS} records", dir.display()),
                ));
            }
            let path = dir.join(&name);
            write_atomically(&dir.join(format!("{name}.{TMP}")), &path, &[&body])?;
            Ok(path)
        });
        written.await.map_err(io::Error::other)?
    }

    /// Removes the files of these events.
    pub(super) async fn remove(self: &Arc<Self>, request_ids: &[String]) {
        if request_ids.is_empty() {
            return;
        }
        let store = self.clone();
        let ids = request_ids.to_vec();
        let removed = tokio::task::spawn_blocking(move || {
            for id in ids {
                match fs::remove_file(store.path(&id, EVENT)) {
                    Err(error) if error.kind() != io::ErrorKind::NotFound => {
                        tracing::warn!(request_id = %id, %error, "cannot remove an event file");
                    }
                    _ => {}
                }
            }
        });
        if let Err(error) = removed.await {
            tracing::warn!(%error, "removing event files failed");
        }
    }

    /// The events in the directory, oldest first, and how many files could not be read.
    /// Leftover temporary files (events whose 202 was never sent) are removed.
    pub(super) fn load(&self) -> io::Result<(Vec<Event>, usize)> {
        let mut events = Vec::new();
        let mut unreadable = 0;
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            match path.extension().and_then(|e| e.to_str()) {
                Some(EVENT) => match read_event(&path) {
                    Some(event) => events.push(event),
                    None => unreadable += 1,
                },
                Some(TMP) => {
                    let _ = fs::remove_file(&path);
                }
                _ => {}
            }
        }
        events.sort_by_key(|event| event.enqueued);
        Ok((events, unreadable))
    }
}

/// One event file, `None` if it is not one this emulator wrote.
fn read_event(path: &Path) -> Option<Event> {
    let bytes = fs::read(path).ok()?;
    let split = bytes.iter().position(|&b| b == b'\n')?;
    let record: Record = serde_json::from_slice(&bytes[..split]).ok()?;
    // The request id names the file, so it must be one the emulator could have made.
    let stem = path.file_stem().and_then(|s| s.to_str());
    let plain = record
        .request_id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !plain || stem != Some(record.request_id.as_str()) {
        return None;
    }
    let payload = Bytes::copy_from_slice(&bytes[split + 1..]);
    Some(Event {
        key: FunctionKey::parse(&record.function),
        invocation: Invocation {
            request_id: record.request_id,
            payload,
            trace_id: record.trace_id,
            client_context: record.client_context,
            cognito_identity: record.cognito_identity,
            stream: None,
            trigger: Trigger::Invoke { asynchronous: true },
        },
        enqueued: UNIX_EPOCH + Duration::from_millis(record.enqueued_ms),
        failures: record.failures,
        refusals: 0,
        last_error: record.last_error.map(Bytes::from),
    })
}

/// Writes `parts` to `tmp` (readable by the user only) and renames it to `path`: a reader
/// sees the whole file or none.
fn write_atomically(tmp: &Path, path: &Path, parts: &[&[u8]]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(tmp)?;
    for part in parts {
        file.write_all(part)?;
    }
    drop(file);
    fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("lambkin-events-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn event(request_id: &str, payload: &[u8]) -> Event {
        Event {
            key: FunctionKey::new("hello", Some("3")),
            invocation: Invocation {
                request_id: request_id.to_owned(),
                payload: Bytes::copy_from_slice(payload),
                trace_id: "Root=1-00000000-000000000000000000000000".to_owned(),
                client_context: Some(r#"{"custom":{"a":"b"}}"#.to_owned()),
                cognito_identity: None,
                stream: None,
                trigger: Trigger::Invoke { asynchronous: true },
            },
            enqueued: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            failures: 1,
            refusals: 4,
            last_error: Some(Bytes::from_static(br#"{"errorType":"E"}"#)),
        }
    }

    #[tokio::test]
    async fn events_round_trip_through_their_files() {
        let dir = temp_dir("round-trip");
        let store = Arc::new(Store::open(dir.clone()).unwrap());
        let mode = fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        // A payload with a newline: only the first line is the record.
        let payload = b"{\"a\":\n\"\xc3\xa9\"}";
        store.write(&event("b-2", payload)).await.unwrap();
        store.write(&event("a-1", b"{}")).await.unwrap();
        // A write that never finished, a stranger's file, and a file whose record does not match
        // its name.
        fs::write(dir.join("c-3.tmp"), b"half").unwrap();
        fs::write(dir.join("notes.txt"), b"mine").unwrap();
        fs::copy(dir.join("a-1.event"), dir.join("other.event")).unwrap();

        let (events, unreadable) = store.load().unwrap();
        assert_eq!(unreadable, 1);
        assert!(!dir.join("c-3.tmp").exists());
        assert!(dir.join("notes.txt").exists());
        let ids: Vec<&str> = events
            .iter()
            .map(|e| e.invocation.request_id.as_str())
            .collect();
        assert_eq!(ids.len(), 2);
        let loaded = events
            .iter()
            .find(|e| e.invocation.request_id == "b-2")
            .unwrap();
        let original = event("b-2", payload);
        assert_eq!(loaded.key, original.key);
        assert_eq!(loaded.invocation.payload, original.invocation.payload);
        assert_eq!(loaded.invocation.trace_id, original.invocation.trace_id);
        assert_eq!(
            loaded.invocation.client_context,
            original.invocation.client_context
        );
        assert_eq!(loaded.enqueued, original.enqueued);
        assert_eq!((loaded.failures, loaded.refusals), (1, 0));
        assert_eq!(loaded.last_error, original.last_error);

        store.remove(&["a-1".to_owned(), "b-2".to_owned()]).await;
        assert_eq!(store.load().unwrap().0.len(), 0);
        drop(store);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn one_emulator_per_event_directory() {
        let dir = temp_dir("lock");
        let first = Store::open(dir.clone()).unwrap();
        let error = Store::open(dir.clone()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
        assert!(error.to_string().contains("another emulator"), "{error}");
        drop(first);
        assert!(
            Store::open(dir.clone()).is_ok(),
            "the lock goes with its holder"
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
