//! The deployed functions: what the management API keeps about each (its `$LATEST` and
//! published versions), where their code lives, and how a request's function is found.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::code::{self, CodeError};
use super::model::{
    EnvironmentOut, EphemeralStorage, FunctionConfiguration, LoggingConfig, TracingConfig,
};
use super::validate::RUNTIMES;
use super::{conflict, service_error};
use crate::code_storage::{CodeDir, DeployLimits, Usage};
use crate::config::{FunctionConfig, LogLevel};
use crate::front::{AppState, AwsError};
use crate::pool::Function;
use crate::sync::lock;
use crate::{ACCOUNT_ID, VERSION_LATEST};

/// What the management API knows about deployed functions, and where their code lives.
#[derive(Debug)]
pub(crate) struct Store {
    /// Unpacked code: `<dir>/<function>/<revision>/` and the zip beside it.
    dir: PathBuf,
    limits: DeployLimits,
    /// The bytes of all code on disk (each revision's [`CodeDir`] gives its own back).
    usage: Arc<Usage>,
    pub(super) deployed: Mutex<HashMap<String, Deployed>>,
    /// Serialises the operations that change functions.
    pub(super) writes: tokio::sync::Mutex<()>,
    /// Resource-policy statements added with AddPermission, by function (recorded and shown; the
    /// emulator authorises every caller).
    pub(super) policies: Mutex<HashMap<String, Vec<serde_json::Value>>>,
    /// `CodeSha256` of the project's executables, by path, size and modification time.
    hashes: Mutex<HashMap<PathBuf, (u64, SystemTime, String)>>,
}

/// A function created through the API.
#[derive(Debug, Clone)]
pub(super) struct Deployed {
    pub(super) latest: Revision,
    pub(super) versions: BTreeMap<u64, Revision>,
    /// Version numbers are never reused, even after a version is deleted.
    pub(super) next_version: u64,
    /// A new `$LATEST` is starting.
    pub(super) updating: bool,
}

/// One state of a function: how it runs and what the API reports about it.
#[derive(Debug, Clone)]
pub(super) struct Revision {
    pub(super) config: FunctionConfig,
    pub(super) runtime: String,
    pub(super) role: String,
    pub(super) description: String,
    pub(super) architectures: Vec<String>,
    pub(super) code_sha256: String,
    pub(super) code_size: u64,
    pub(super) last_modified: String,
    pub(super) revision_id: String,
}

impl Revision {
    /// Runs the code [`store_code`] stored: its `bootstrap`, in its directory.
    pub(super) fn set_code(&mut self, (code, sha256, size): (Arc<CodeDir>, String, u64)) {
        self.config.executable = code.path().join("bootstrap");
        self.config.working_dir = Some(code.path().to_owned());
        self.config.code = Some(code);
        self.code_sha256 = sha256;
        self.code_size = size;
    }

    /// The unpacked code (`None` for the project's functions).
    pub(super) fn code_dir(&self) -> Option<&Path> {
        self.config.code.as_deref().map(CodeDir::path)
    }

    pub(super) fn arn(&self) -> String {
        let arn = self.config.arn();
        if self.config.version == VERSION_LATEST {
            arn
        } else {
            format!("{arn}:{}", self.config.version)
        }
    }

    pub(super) fn configuration(&self, updating: bool) -> FunctionConfiguration {
        let config = &self.config;
        FunctionConfiguration {
            function_name: config.name.clone(),
            function_arn: self.arn(),
            runtime: self.runtime.clone(),
            role: self.role.clone(),
            handler: config.handler().to_owned(),
            code_size: self.code_size,
            description: self.description.clone(),
            timeout: config.timeout.as_secs(),
            memory_size: config.memory_mb,
            last_modified: self.last_modified.clone(),
            code_sha256: self.code_sha256.clone(),
            version: config.version.clone(),
            environment: (!config.env.is_empty()).then(|| EnvironmentOut {
                variables: config.env.clone(),
            }),
            tracing_config: TracingConfig {
                mode: "PassThrough",
            },
            revision_id: self.revision_id.clone(),
            state: "Active",
            last_update_status: if updating { "InProgress" } else { "Successful" },
            package_type: "Zip",
            architectures: self.architectures.clone(),
            ephemeral_storage: EphemeralStorage { size: 512 },
            logging_config: LoggingConfig {
                log_format: config.logging.format.as_str(),
                application_log_level: config
                    .logging
                    .effective_application_level()
                    .map(LogLevel::as_str),
                system_log_level: config
                    .logging
                    .effective_system_level()
                    .map(LogLevel::as_str),
                log_group: config.log_group(),
            },
            dead_letter_config: config.dead_letter_target.clone().map(|arn| {
                super::model::DeadLetterConfig {
                    target_arn: Some(arn),
                }
            }),
        }
    }

    /// Whether publishing `self` after `published` would change nothing.
    pub(super) fn same_as(&self, published: &Revision) -> bool {
        // The same code may sit in another directory: compare it by hash.
        let mut config = published.config.clone();
        config.version.clone_from(&self.config.version);
        config.executable.clone_from(&self.config.executable);
        config.working_dir.clone_from(&self.config.working_dir);
        config.code.clone_from(&self.config.code);
        config == self.config
            && self.code_sha256 == published.code_sha256
            && self.role == published.role
            && self.runtime == published.runtime
    }
}

impl Store {
    /// A store keeping code under `dir` (default: a directory of its own in the system's temp
    /// dir), within `limits`.
    pub(crate) fn new(dir: Option<PathBuf>, limits: DeployLimits) -> Self {
        // Code left by emulators killed before they could clean up. Once per process is enough:
        // a process that is gone stays gone.
        static SWEPT: std::sync::Once = std::sync::Once::new();
        SWEPT.call_once(|| crate::state_dir::sweep_temp(&std::env::temp_dir()));
        Store {
            // One per emulator: several may run in one process (tests), each clearing its own.
            dir: dir.unwrap_or_else(crate::state_dir::new_temp),
            limits,
            usage: Arc::default(),
            deployed: Mutex::default(),
            policies: Mutex::default(),
            writes: tokio::sync::Mutex::default(),
            hashes: Mutex::default(),
        }
    }

    /// The bytes of deployed code on disk now.
    pub(super) fn code_bytes(&self) -> u64 {
        self.usage.used()
    }

    /// The caps on deployed functions and code.
    pub(super) fn limits(&self) -> DeployLimits {
        self.limits
    }

    /// Removes all deployed code (when the emulator stops).
    pub(crate) fn clear(&self) {
        lock(&self.deployed).clear();
        lock(&self.policies).clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    pub(super) fn deployed(&self, name: &str) -> Option<Deployed> {
        lock(&self.deployed).get(name).cloned()
    }

    pub(super) fn function_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A project function's `$LATEST` as the API shows it.
    fn project_revision(&self, config: &FunctionConfig) -> Revision {
        let metadata = std::fs::metadata(&config.executable).ok();
        let size = metadata.as_ref().map_or(0, std::fs::Metadata::len);
        let modified = metadata
            .as_ref()
            .and_then(|m| m.modified().ok())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let sha = self.executable_sha256(&config.executable, size, modified);
        let digest = BASE64.decode(&sha).unwrap_or_default();
        let revision_id = digest
            .get(..16)
            .and_then(|bytes| uuid::Uuid::from_slice(bytes).ok())
            .unwrap_or_default();
        Revision {
            config: config.clone(),
            runtime: RUNTIMES[0].to_owned(),
            role: format!("arn:aws:iam::{ACCOUNT_ID}:role/lambkin"),
            description: "Built from source and served by lambkin".to_owned(),
            architectures: vec![
                crate::config::host_architecture()
                    .unwrap_or("x86_64")
                    .to_owned(),
            ],
            code_sha256: sha,
            code_size: size,
            last_modified: crate::clock::last_modified(modified),
            revision_id: revision_id.to_string(),
        }
    }

    fn executable_sha256(&self, path: &Path, size: u64, modified: SystemTime) -> String {
        if let Some((s, m, sha)) = lock(&self.hashes).get(path) {
            if *s == size && *m == modified {
                return sha.clone();
            }
        }
        let sha = code::sha256_file(path).unwrap_or_default();
        lock(&self.hashes).insert(path.to_owned(), (size, modified, sha.clone()));
        sha
    }
}

/// The function a request names, deployed or the project's.
pub(super) enum Found {
    Deployed(Deployed),
    Project(Revision),
}

pub(super) async fn find(state: &AppState, name: &str) -> Result<Found, AwsError> {
    if let Some(deployed) = state.manage().deployed(name) {
        return Ok(Found::Deployed(deployed));
    }
    let config = match state.function(name).as_deref() {
        Some(function @ Function::Pool(_)) => function.config(),
        _ => return Err(AwsError::function_not_found(state.region(), name, None)),
    };
    // Hashing a project's executable (once per build) reads it whole: off the async workers.
    let state = state.clone();
    tokio::task::spawn_blocking(move || Found::Project(state.manage().project_revision(&config)))
        .await
        .map_err(|error| service_error(error.to_string()))
}

/// The deployed function `name`; the project's functions change only with their source.
pub(super) async fn find_deployed(state: &AppState, name: &str) -> Result<Deployed, AwsError> {
    match find(state, name).await? {
        Found::Deployed(deployed) => Ok(deployed),
        Found::Project(revision) => Err(conflict(format!(
            "Function {} is built from source by this emulator; edit its code or configuration instead, or deploy under another name.",
            revision.arn()
        ))),
    }
}

/// The ARN of a function that exists (deployed or the project's), for answers about it.
pub(super) async fn existing_arn(state: &AppState, name: &str) -> Result<String, AwsError> {
    match find(state, name).await? {
        Found::Deployed(deployed) => Ok(deployed.latest.arn()),
        Found::Project(revision) => Ok(revision.arn()),
    }
}

/// Unpacks `zip` into a new revision directory of `name` and keeps the zip beside it, within
/// the room the code storage has left (as the zip declares it, and as it inflates). Callers hold
/// the store's write lock, so the room cannot shrink meanwhile. A refused zip leaves nothing
/// behind.
pub(super) async fn store_code(
    state: &AppState,
    name: &str,
    zip: Vec<u8>,
) -> Result<(Arc<CodeDir>, String, u64), AwsError> {
    let store = state.manage();
    let revision = uuid::Uuid::new_v4().to_string();
    let mut code = CodeDir::new(store.function_dir(name).join(revision), store.usage.clone());
    let max = store.limits().max_code_bytes;
    let usage = store.usage.clone();
    // Dropped on any error, `code` removes what was written.
    let stored = tokio::task::spawn_blocking(move || {
        let size = zip.len() as u64;
        let room = usage.room(max).saturating_sub(size);
        let unpacked = code::unpack(&zip, code.path(), room)?;
        std::fs::write(code.zip(), &zip)?;
        if !code.charge(unpacked + size, max) {
            return Err(CodeError::StorageExceeded);
        }
        Ok((Arc::new(code), code::sha256(&zip), size))
    })
    .await;
    match stored {
        Ok(Ok(stored)) => Ok(stored),
        Ok(Err(CodeError::ZipTooLarge)) => Err(AwsError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
            CodeError::ZipTooLarge.to_string(),
        )),
        // As AWS answers a deployment over the account's code storage quota (CreateFunction,
        // UpdateFunctionCode: https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html#API_CreateFunction_Errors).
        Ok(Err(CodeError::StorageExceeded)) => Err(AwsError::new(
            StatusCode::BAD_REQUEST,
            "CodeStorageExceededException",
            format!(
                "Code storage limit exceeded: this emulator keeps at most {max} bytes of deployed code (unpacked, and the zips), {} of them in use, and this code does not fit. Delete functions, or raise the limit (lambkin watch --max-code-size).",
                store.usage.used()
            ),
        )),
        Ok(Err(CodeError::Io(error))) => {
            Err(service_error(format!("Could not store the code: {error}")))
        }
        Ok(Err(refused)) => Err(AwsError::invalid_parameter(refused.to_string())),
        Err(_) => Err(service_error("Could not unpack the code".to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configurations_show_the_handler_and_the_logging_config() {
        let store = Store::new(None, DeployLimits::default());
        let mut config = FunctionConfig::new("py", "/nonexistent/bootstrap");
        let shown =
            serde_json::to_value(store.project_revision(&config).configuration(false)).unwrap();
        assert_eq!(shown["Handler"], "bootstrap");
        assert_eq!(
            shown["LoggingConfig"],
            serde_json::json!({"LogFormat": "Text", "LogGroup": "/aws/lambda/py"}),
            "levels only with JSON"
        );

        config.handler = Some("app.handler".into());
        config.logging.format = crate::config::LogFormat::Json;
        config.logging.system_level = Some(LogLevel::Warn);
        config.logging.log_group = Some("/custom".into());
        let shown =
            serde_json::to_value(store.project_revision(&config).configuration(false)).unwrap();
        assert_eq!(shown["Handler"], "app.handler");
        assert_eq!(
            shown["LoggingConfig"],
            serde_json::json!({
                "LogFormat": "JSON",
                "ApplicationLogLevel": "INFO",
                "SystemLogLevel": "WARN",
                "LogGroup": "/custom",
            })
        );
    }
}
