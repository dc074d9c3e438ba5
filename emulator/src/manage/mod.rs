//! Lambda's management API, the subset that deploys and inspects functions: CreateFunction
//! (`ZipFile` code), GetFunction, GetFunctionConfiguration, UpdateFunctionCode,
//! UpdateFunctionConfiguration, PublishVersion, ListVersionsByFunction, ListFunctions,
//! DeleteFunction and Get/Put/DeleteFunctionConcurrency, with AWS's paths, shapes, status codes
//! and errors, so `lambkin deploy --endpoint-url` and `aws lambda … --endpoint-url` work against
//! the emulator.
//!
//! A deployed zip is checked and unpacked under the emulator's state directory (see
//! [`code::unpack`]) and its `bootstrap` runs like any other function's executable. Updates are
//! asynchronous as on AWS: the answer says `LastUpdateStatus: InProgress` while a warm instance of
//! the new code starts, then `Successful`; a second update meanwhile is a
//! `ResourceConflictException`. The project's own functions (built from source, hot-reloaded) are
//! listed and described too, but only their source changes them (their reserved concurrency, a
//! runtime setting on AWS too, is the exception).

mod code;
mod concurrency;
mod model;
mod storage;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::de::DeserializeOwned;

use crate::body::{BodyError, read_limited};
use crate::config::{FunctionConfig, LogLevel};
use crate::front::{AppState, AwsError};
use crate::pool::Function;
use crate::registry::{FunctionKey, split_name};
use crate::{ACCOUNT_ID, VERSION_LATEST};
use code::CodeError;
use model::{
    CodeLocation, EnvironmentIn, EnvironmentOut, EphemeralStorage, FunctionConfiguration,
    GetFunction, ListQuery, LoggingConfig, QualifierQuery, TracingConfig,
};
pub(crate) use storage::CodeDir;
pub use storage::DeployLimits;
use storage::Usage;

/// The runtimes whose code is an executable `bootstrap`, the only kind the emulator runs.
const RUNTIMES: [&str; 3] = ["provided.al2023", "provided.al2", "provided"];

/// Variables Lambda sets itself; a function may not configure them.
const RESERVED_ENV: [&str; 18] = [
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_REGION",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "LAMBDA_RUNTIME_DIR",
    "LAMBDA_TASK_ROOT",
];

/// The management routes, merged into the front.
pub(crate) fn routes() -> Router<AppState> {
    const FUNCTIONS: &str = "/2015-03-31/functions";
    Router::new()
        .route(FUNCTIONS, get(list_functions).post(create_function))
        .route(&format!("{FUNCTIONS}/"), get(list_functions))
        .route(
            &format!("{FUNCTIONS}/{{name}}"),
            get(get_function).delete(delete_function),
        )
        .route(
            &format!("{FUNCTIONS}/{{name}}/configuration"),
            get(get_configuration).put(update_configuration),
        )
        .route(
            &format!("{FUNCTIONS}/{{name}}/code"),
            axum::routing::put(update_code),
        )
        .route(
            &format!("{FUNCTIONS}/{{name}}/versions"),
            get(list_versions).post(publish_version),
        )
        .route(
            &format!("{FUNCTIONS}/{{name}}/policy"),
            get(get_policy).post(add_permission),
        )
        .route(
            "/2021-10-31/functions/{name}/url",
            get(get_url_config)
                .post(create_url_config)
                .delete(delete_url_config),
        )
        .merge(concurrency::routes())
        .route("/_lambkin/code/{name}/{revision}", get(download_code))
}

/// What the management API knows about deployed functions, and where their code lives.
#[derive(Debug)]
pub(crate) struct Store {
    /// Unpacked code: `<dir>/<function>/<revision>/` and the zip beside it.
    dir: Mutex<PathBuf>,
    limits: Mutex<DeployLimits>,
    /// The bytes of all code on disk (each revision's [`CodeDir`] gives its own back).
    usage: Arc<Usage>,
    deployed: Mutex<HashMap<String, Deployed>>,
    /// Serialises the operations that change functions.
    writes: tokio::sync::Mutex<()>,
    /// Resource-policy statements added with AddPermission, by function (recorded and shown; the
    /// emulator authorises every caller).
    policies: Mutex<HashMap<String, Vec<serde_json::Value>>>,
    /// `CodeSha256` of the project's executables, by path, size and modification time.
    hashes: Mutex<HashMap<PathBuf, (u64, SystemTime, String)>>,
}

/// A function created through the API.
#[derive(Debug, Clone)]
struct Deployed {
    latest: Revision,
    versions: BTreeMap<u64, Revision>,
    /// Version numbers are never reused, even after a version is deleted.
    next_version: u64,
    /// A new `$LATEST` is starting.
    updating: bool,
}

/// One state of a function: how it runs and what the API reports about it.
#[derive(Debug, Clone)]
struct Revision {
    config: FunctionConfig,
    runtime: String,
    role: String,
    description: String,
    architectures: Vec<String>,
    code_sha256: String,
    code_size: u64,
    last_modified: String,
    revision_id: String,
}

impl Revision {
    /// The unpacked code (`None` for the project's functions).
    fn code_dir(&self) -> Option<&Path> {
        self.config.code.as_deref().map(CodeDir::path)
    }

    fn arn(&self) -> String {
        let arn = self.config.arn();
        if self.config.version == VERSION_LATEST {
            arn
        } else {
            format!("{arn}:{}", self.config.version)
        }
    }

    fn configuration(&self, updating: bool) -> FunctionConfiguration {
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
        }
    }

    /// Whether publishing `self` after `published` would change nothing.
    fn same_as(&self, published: &Revision) -> bool {
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

impl Default for Store {
    fn default() -> Self {
        // Code left by emulators killed before they could clean up. Once per process is enough:
        // a process that is gone stays gone.
        static SWEPT: std::sync::Once = std::sync::Once::new();
        SWEPT.call_once(|| crate::state_dir::sweep_temp(&std::env::temp_dir()));
        Store {
            // One per emulator: several may run in one process (tests), each clearing its own.
            dir: Mutex::new(crate::state_dir::new_temp()),
            limits: Mutex::default(),
            usage: Arc::default(),
            deployed: Mutex::default(),
            policies: Mutex::default(),
            writes: tokio::sync::Mutex::default(),
            hashes: Mutex::default(),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Store {
    /// Keeps deployed code under `dir` from now on.
    pub(crate) fn set_dir(&self, dir: PathBuf) {
        *lock(&self.dir) = dir;
    }

    /// Caps the functions and code deployed from now on.
    pub(crate) fn set_limits(&self, limits: DeployLimits) {
        *lock(&self.limits) = limits;
    }

    fn limits(&self) -> DeployLimits {
        *lock(&self.limits)
    }

    /// Removes all deployed code (when the emulator stops).
    pub(crate) fn clear(&self) {
        lock(&self.deployed).clear();
        lock(&self.policies).clear();
        let _ = std::fs::remove_dir_all(&*lock(&self.dir));
    }

    fn deployed(&self, name: &str) -> Option<Deployed> {
        lock(&self.deployed).get(name).cloned()
    }

    fn function_dir(&self, name: &str) -> PathBuf {
        lock(&self.dir).join(name)
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
            architectures: vec![host_architecture().to_owned()],
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

/// Lambda's name for the architecture the emulator runs on.
fn host_architecture() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "x86_64"
    }
}

/// The function a request names, deployed or the project's.
enum Found {
    Deployed(Deployed),
    Project(Revision),
}

async fn find(state: &AppState, name: &str) -> Result<Found, AwsError> {
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
async fn find_deployed(state: &AppState, name: &str) -> Result<Deployed, AwsError> {
    match find(state, name).await? {
        Found::Deployed(deployed) => Ok(deployed),
        Found::Project(revision) => Err(conflict(format!(
            "Function {} is built from source by this emulator; edit its code or configuration instead, or deploy under another name.",
            revision.arn()
        ))),
    }
}

fn conflict(message: String) -> AwsError {
    AwsError::new(StatusCode::CONFLICT, "ResourceConflictException", message)
}

/// AWS has no quota on the number of functions, so no error of its own for this cap. Of
/// CreateFunction's errors, `ResourceConflictException` (409) fits best: the request conflicts
/// with the functions already there and succeeds once one is deleted, and SDKs do not retry it
/// (they would retry a `ServiceException` or `TooManyRequestsException` that cannot succeed).
fn too_many_functions(max: usize) -> AwsError {
    conflict(format!(
        "This emulator serves at most {max} deployed functions. Delete one, or raise the limit (lambkin watch --max-functions)."
    ))
}

fn validation(message: String) -> AwsError {
    AwsError::new(StatusCode::BAD_REQUEST, "ValidationException", message)
}

fn service_error(message: String) -> AwsError {
    AwsError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "ServiceException",
        message,
    )
}

fn update_in_progress(deployed: &Deployed) -> Result<(), AwsError> {
    if deployed.updating {
        return Err(conflict(format!(
            "The operation cannot be performed at this time. An update is in progress for resource: {}",
            deployed.latest.arn()
        )));
    }
    Ok(())
}

fn check_revision(deployed: &Deployed, revision_id: Option<&str>) -> Result<(), AwsError> {
    match revision_id {
        Some(id) if id != deployed.latest.revision_id => Err(AwsError::new(
            StatusCode::PRECONDITION_FAILED,
            "PreconditionFailedException",
            "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id".to_owned(),
        )),
        _ => Ok(()),
    }
}

/// Reads and parses a JSON body of at most `limit` bytes.
async fn json_body<T: DeserializeOwned + Default>(
    body: Body,
    limit: usize,
    operation: &str,
) -> Result<T, AwsError> {
    let bytes = match read_limited(body, limit).await {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge) => return Err(AwsError::too_large(limit, operation)),
        Err(BodyError::TimedOut) => return Err(AwsError::request_timeout()),
        Err(BodyError::Failed) => {
            return Err(AwsError::invalid_request_content(
                "Could not read the request body".to_owned(),
            ));
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&bytes).map_err(|error| {
        AwsError::invalid_request_content(format!(
            "Could not parse request body into json: {error}"
        ))
    })
}

/// The bare name of a path's function name (which may be an ARN), and its qualifier from the
/// name or the `Qualifier` query parameter.
fn named(
    name: Result<UrlPath<String>, PathRejection>,
    query: Option<&QualifierQuery>,
) -> Result<(String, Option<String>), AwsError> {
    let UrlPath(name) = name.map_err(|e| AwsError::invalid_parameter(e.body_text()))?;
    let (bare, qualifier) = split_name(&name);
    check_name(bare)?;
    let qualifier = qualifier
        .map(str::to_owned)
        .or_else(|| query.and_then(|q| q.qualifier.clone()));
    Ok((bare.to_owned(), qualifier))
}

/// The project configuration's checks, answered as the API's `ValidationException`.
fn checked<T>(checked: Result<T, crate::template::Problem>) -> Result<T, AwsError> {
    checked.map_err(|problem| {
        let hint = problem.hint.map(|h| format!(" ({h})")).unwrap_or_default();
        validation(format!(
            "1 validation error detected: {}{hint}",
            problem.message
        ))
    })
}

/// The name of an operation on the function itself: a qualifier (`hello:1`) is refused rather
/// than ignored, so a version is never changed by mistake.
fn unqualified_name(name: Result<UrlPath<String>, PathRejection>) -> Result<String, AwsError> {
    match named(name, None)? {
        (name, None) => Ok(name),
        (name, Some(qualifier)) => Err(qualified_refused(&format!("{name}:{qualifier}"))),
    }
}

fn qualified_refused(name: &str) -> AwsError {
    AwsError::invalid_parameter(format!(
        "This operation takes an unqualified function name, not `{name}`."
    ))
}

fn check_name(name: &str) -> Result<(), AwsError> {
    checked(crate::template::check_function_name(name))
}

fn query<T: Default>(query: Result<Query<T>, QueryRejection>) -> Result<T, AwsError> {
    query
        .map(|Query(q)| q)
        .map_err(|e| AwsError::invalid_parameter(e.body_text()))
}

fn check_role(role: &str) -> Result<(), AwsError> {
    // arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+
    let valid = role.strip_prefix("arn:").and_then(|rest| {
        let (partition, rest) = rest.split_once(":iam::")?;
        let (account, path) = rest.split_once(":role")?;
        let path = path.strip_prefix('/').unwrap_or(path);
        let partition_ok = partition.is_empty()
            || (partition.starts_with("aws")
                && partition
                    .bytes()
                    .all(|b| b.is_ascii_alphabetic() || b == b'-'));
        let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
        let path_ok = !path.is_empty()
            && path
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@-_/".contains(&b));
        Some(partition_ok && account_ok && path_ok)
    });
    if valid == Some(true) {
        Ok(())
    } else {
        Err(validation(format!(
            "1 validation error detected: Value '{role}' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{{12}}:role/?[a-zA-Z_0-9+=,.@\\-_/]+"
        )))
    }
}

fn check_runtime(runtime: &str) -> Result<(), AwsError> {
    if RUNTIMES.contains(&runtime) {
        Ok(())
    } else {
        Err(AwsError::invalid_parameter(format!(
            "The runtime parameter of {runtime} is not supported by lambkin, which runs OS-only runtimes ({}): the zip's `bootstrap` executable is the function.",
            RUNTIMES.join(", ")
        )))
    }
}

fn timeout(seconds: i64) -> Result<Duration, AwsError> {
    checked(crate::template::check_timeout(seconds))
}

fn memory(mb: i64) -> Result<u32, AwsError> {
    checked(crate::template::check_memory(mb))
}

fn environment(env: EnvironmentIn) -> Result<BTreeMap<String, String>, AwsError> {
    let variables = env.variables.unwrap_or_default();
    let reserved: Vec<&str> = variables
        .keys()
        .filter(|k| RESERVED_ENV.contains(&k.as_str()))
        .map(String::as_str)
        .collect();
    if !reserved.is_empty() {
        return Err(AwsError::invalid_parameter(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {}",
            reserved.join(", ")
        )));
    }
    for name in variables.keys() {
        checked(crate::template::check_env_name(name))?;
    }
    Ok(variables)
}

fn architectures(given: Option<Vec<String>>) -> Result<Vec<String>, AwsError> {
    match given.as_deref() {
        None | Some([]) => Ok(vec!["x86_64".to_owned()]),
        Some([one]) if one == "x86_64" || one == "arm64" => Ok(vec![one.clone()]),
        Some(_) => Err(validation(format!(
            "1 validation error detected: Value '{}' at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1, Member must satisfy enum value set: [x86_64, arm64]",
            given.unwrap_or_default().join(", ")
        ))),
    }
}

/// The zip of a request: `ZipFile` only (the emulator has no S3 or image registry).
fn zip_file(
    zip_file: Option<String>,
    s3_bucket: Option<&String>,
    image_uri: Option<&String>,
) -> Result<Vec<u8>, AwsError> {
    if s3_bucket.is_some() || image_uri.is_some() {
        return Err(AwsError::invalid_parameter(
            "lambkin takes function code as ZipFile only (not from S3 or a container image)."
                .to_owned(),
        ));
    }
    let encoded = zip_file.ok_or_else(|| {
        AwsError::invalid_parameter("Please provide a source for function code.".to_owned())
    })?;
    BASE64
        .decode(encoded.as_bytes())
        .map_err(|_| AwsError::invalid_parameter("ZipFile is not valid base64.".to_owned()))
}

/// Unpacks `zip` into a new revision directory of `name` and keeps the zip beside it, within
/// the room the code storage has left (as the zip declares it, and as it inflates). Callers hold
/// the store's write lock, so the room cannot shrink meanwhile. A refused zip leaves nothing
/// behind.
async fn store_code(
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

fn now() -> String {
    crate::clock::last_modified(SystemTime::now())
}

fn json(status: StatusCode, body: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(error) => service_error(error.to_string()).into_response(),
    }
}

async fn create_function(State(state): State<AppState>, body: Body) -> Result<Response, AwsError> {
    let request: model::CreateFunction =
        json_body(body, code::MAX_REQUEST_BYTES, "CreateFunction").await?;
    let name = request.function_name.unwrap_or_default();
    let name = match split_name(&name) {
        (bare, None) => bare.to_owned(),
        (_, Some(_)) => return Err(qualified_refused(&name)),
    };
    check_name(&name)?;
    let role = request.role.ok_or_else(|| {
        validation("1 validation error detected: Value null at 'role' failed to satisfy constraint: Member must not be null".to_owned())
    })?;
    check_role(&role)?;
    if request.package_type.as_deref().is_some_and(|t| t != "Zip") {
        return Err(AwsError::invalid_parameter(
            "lambkin deploys Zip packages only.".to_owned(),
        ));
    }
    let runtime = request.runtime.ok_or_else(|| {
        AwsError::invalid_parameter("Runtime and Handler are mandatory parameters for functions created with deployment packages.".to_owned())
    })?;
    check_runtime(&runtime)?;
    let timeout = request.timeout.map(timeout).transpose()?;
    let memory = request.memory_size.map(memory).transpose()?;
    let env = request.environment.map(environment).transpose()?;
    let architectures = architectures(request.architectures)?;
    let code = request.code.unwrap_or_default();
    let zip = zip_file(
        code.zip_file,
        code.s3_bucket.as_ref(),
        code.image_uri.as_ref(),
    )?;

    let _writing = state.manage().writes.lock().await;
    if state.manage().deployed(&name).is_some() || state.function(&name).is_some() {
        return Err(conflict(format!("Function already exist: {name}")));
    }
    let max_functions = state.manage().limits().max_functions;
    if lock(&state.manage().deployed).len() >= max_functions {
        return Err(too_many_functions(max_functions));
    }
    let (code, code_sha256, code_size) = store_code(&state, &name, zip).await?;
    let mut config = FunctionConfig::new(&name, code.path().join("bootstrap"));
    config.working_dir = Some(code.path().to_owned());
    config.code = Some(code);
    config.region = state.region().to_owned();
    config.handler = request.handler;
    config.env = env.unwrap_or_default();
    if let Some(timeout) = timeout {
        config.timeout = timeout;
    }
    if let Some(memory) = memory {
        config.memory_mb = memory;
    }
    let latest = Revision {
        config: config.clone(),
        runtime,
        role,
        description: request.description.unwrap_or_default(),
        architectures,
        code_sha256,
        code_size,
        last_modified: now(),
        revision_id: uuid::Uuid::new_v4().to_string(),
    };
    let mut deployed = Deployed {
        latest,
        versions: BTreeMap::new(),
        next_version: 1,
        updating: false,
    };
    let shown = if request.publish == Some(true) {
        publish(&state, &mut deployed, None)
    } else {
        deployed.latest.configuration(false)
    };
    // Known as deployed before it can be found at all, so it never looks like a project's.
    lock(&state.manage().deployed).insert(name.clone(), deployed);
    state.registry().add(FunctionKey::latest(&name), config);
    tracing::info!(function = %name, "created through the management API");
    Ok(json(StatusCode::CREATED, &shown))
}

/// Publishes `$LATEST` as a new version (or answers the last one if nothing changed since).
fn publish(
    state: &AppState,
    deployed: &mut Deployed,
    description: Option<String>,
) -> FunctionConfiguration {
    if let Some(last) = deployed.versions.values().next_back() {
        if deployed.latest.same_as(last) {
            return last.configuration(false);
        }
    }
    let number = deployed.next_version;
    deployed.next_version += 1;
    let mut revision = deployed.latest.clone();
    revision.config.version = number.to_string();
    if let Some(description) = description {
        revision.description = description;
    }
    revision.revision_id = uuid::Uuid::new_v4().to_string();
    state.registry().add(
        FunctionKey::new(&revision.config.name, Some(&revision.config.version)),
        revision.config.clone(),
    );
    let shown = revision.configuration(false);
    deployed.versions.insert(number, revision);
    shown
}

/// The revision of `found` at `qualifier`.
fn revision_at(
    state: &AppState,
    name: &str,
    found: &Found,
    qualifier: Option<&str>,
) -> Result<(Revision, bool), AwsError> {
    let missing = || AwsError::function_not_found(state.region(), name, qualifier);
    match (found, qualifier) {
        (Found::Project(revision), None | Some(VERSION_LATEST)) => Ok((revision.clone(), false)),
        (Found::Project(_), Some(_)) => Err(missing()),
        (Found::Deployed(deployed), None | Some(VERSION_LATEST)) => {
            Ok((deployed.latest.clone(), deployed.updating))
        }
        (Found::Deployed(deployed), Some(version)) => version
            .parse::<u64>()
            .ok()
            .and_then(|n| deployed.versions.get(&n))
            .map(|revision| (revision.clone(), false))
            .ok_or_else(missing),
    }
}

async fn get_function(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
    qualifier: Result<Query<QualifierQuery>, QueryRejection>,
) -> Result<Response, AwsError> {
    let (name, qualifier) = named(name, Some(&query(qualifier)?))?;
    let found = find(&state, &name).await?;
    let (revision, updating) = revision_at(&state, &name, &found, qualifier.as_deref())?;
    // The front's own address, never the request's Host (which a DNS-rebinding page controls).
    let location = revision.code_dir().and_then(|dir| {
        let base = state.hosts().base_url()?;
        let revision = dir.file_name()?.to_str()?;
        Some(format!("{base}/_lambkin/code/{name}/{revision}"))
    });
    let answer = GetFunction {
        configuration: revision.configuration(updating),
        code: CodeLocation {
            repository_type: "S3",
            location,
        },
        concurrency: concurrency::of(&state, &name),
    };
    Ok(json(StatusCode::OK, &answer))
}

async fn get_configuration(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
    qualifier: Result<Query<QualifierQuery>, QueryRejection>,
) -> Result<Response, AwsError> {
    let (name, qualifier) = named(name, Some(&query(qualifier)?))?;
    let found = find(&state, &name).await?;
    let (revision, updating) = revision_at(&state, &name, &found, qualifier.as_deref())?;
    Ok(json(StatusCode::OK, &revision.configuration(updating)))
}

/// `GET /_lambkin/code/{name}/{revision}`: a deployed zip (GetFunction's `Code.Location`).
async fn download_code(
    State(state): State<AppState>,
    UrlPath((name, revision)): UrlPath<(String, String)>,
) -> Result<Response, AwsError> {
    check_name(&name)?;
    let revision = uuid::Uuid::parse_str(&revision)
        .map_err(|_| AwsError::function_not_found(state.region(), &name, None))?;
    let path = state
        .manage()
        .function_dir(&name)
        .join(format!("{revision}.zip"));
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| AwsError::function_not_found(state.region(), &name, None))?;
    Ok(([(header::CONTENT_TYPE, "application/zip")], bytes).into_response())
}

/// Makes `revision` the new `$LATEST` of `deployed` (publishing it too with `publish`) and
/// stores it, then starts it in the background: a warm instance first, as every version switch
/// does. `LastUpdateStatus` is `InProgress` until it serves. Answers the configuration to show.
fn update_latest(
    state: &AppState,
    mut deployed: Deployed,
    revision: Revision,
    publish_too: bool,
) -> FunctionConfiguration {
    // The previous code leaves the disk once neither a version nor an instance runs it.
    deployed.latest = revision;
    deployed.updating = true;
    let shown = if publish_too {
        publish(state, &mut deployed, None)
    } else {
        deployed.latest.configuration(true)
    };
    let config = deployed.latest.config.clone();
    let name = config.name.clone();
    let revision_id = deployed.latest.revision_id.clone();
    lock(&state.manage().deployed).insert(name.clone(), deployed);
    // The pool of this function, taken now: one deleted and created again meanwhile is another.
    let pool = match state.registry().get(&FunctionKey::latest(&name)).as_deref() {
        Some(Function::Pool(pool)) => Some(pool.clone()),
        _ => None,
    };
    let state = state.clone();
    tokio::spawn(async move {
        if let Some(pool) = pool {
            pool.replace(config).await;
        }
        if let Some(deployed) = lock(&state.manage().deployed).get_mut(&name) {
            // Only if no later change (or a new function of the same name) came meanwhile.
            if deployed.latest.revision_id == revision_id {
                deployed.updating = false;
            }
        }
    });
    shown
}

async fn update_code(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
    body: Body,
) -> Result<Response, AwsError> {
    let name = unqualified_name(name)?;
    let request: model::UpdateFunctionCode =
        json_body(body, code::MAX_REQUEST_BYTES, "UpdateFunctionCode").await?;
    let architectures = request
        .architectures
        .map(|a| architectures(Some(a)))
        .transpose()?;
    let _writing = state.manage().writes.lock().await;
    let deployed = find_deployed(&state, &name).await?;
    update_in_progress(&deployed)?;
    check_revision(&deployed, request.revision_id.as_deref())?;
    let zip = zip_file(
        request.zip_file,
        request.s3_bucket.as_ref(),
        request.image_uri.as_ref(),
    )?;
    let (code, code_sha256, code_size) = store_code(&state, &name, zip).await?;
    let mut revision = deployed.latest.clone();
    revision.config.executable = code.path().join("bootstrap");
    revision.config.working_dir = Some(code.path().to_owned());
    revision.config.code = Some(code);
    revision.code_sha256 = code_sha256;
    revision.code_size = code_size;
    revision.last_modified = now();
    revision.revision_id = uuid::Uuid::new_v4().to_string();
    if let Some(architectures) = architectures {
        revision.architectures = architectures;
    }
    if request.dry_run == Some(true) {
        // Dropped with the revision, the code leaves the disk.
        return Ok(json(StatusCode::OK, &revision.configuration(false)));
    }
    let shown = update_latest(&state, deployed, revision, request.publish == Some(true));
    Ok(json(StatusCode::OK, &shown))
}

async fn update_configuration(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
    body: Body,
) -> Result<Response, AwsError> {
    let name = unqualified_name(name)?;
    let request: model::UpdateFunctionConfiguration =
        json_body(body, 1024 * 1024, "UpdateFunctionConfiguration").await?;
    let _writing = state.manage().writes.lock().await;
    let deployed = find_deployed(&state, &name).await?;
    update_in_progress(&deployed)?;
    check_revision(&deployed, request.revision_id.as_deref())?;
    let mut revision = deployed.latest.clone();
    if let Some(role) = request.role {
        check_role(&role)?;
        revision.role = role;
    }
    if let Some(runtime) = request.runtime {
        check_runtime(&runtime)?;
        revision.runtime = runtime;
    }
    if let Some(handler) = request.handler {
        revision.config.handler = Some(handler);
    }
    if let Some(description) = request.description {
        revision.description = description;
    }
    if let Some(seconds) = request.timeout {
        revision.config.timeout = timeout(seconds)?;
    }
    if let Some(mb) = request.memory_size {
        revision.config.memory_mb = memory(mb)?;
    }
    if let Some(env) = request.environment {
        revision.config.env = environment(env)?;
    }
    revision.last_modified = now();
    revision.revision_id = uuid::Uuid::new_v4().to_string();
    let shown = update_latest(&state, deployed, revision, false);
    Ok(json(StatusCode::OK, &shown))
}

async fn publish_version(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
    body: Body,
) -> Result<Response, AwsError> {
    let name = unqualified_name(name)?;
    let request: model::PublishVersion = json_body(body, 1024 * 1024, "PublishVersion").await?;
    let _writing = state.manage().writes.lock().await;
    let mut deployed = find_deployed(&state, &name).await?;
    update_in_progress(&deployed)?;
    check_revision(&deployed, request.revision_id.as_deref())?;
    if let Some(sha) = request.code_sha256 {
        if sha != deployed.latest.code_sha256 {
            return Err(AwsError::invalid_parameter(format!(
                "CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST ({}). Please try again with the CodeSHA256 in $LATEST.",
                deployed.latest.code_sha256
            )));
        }
    }
    let shown = publish(&state, &mut deployed, request.description);
    lock(&state.manage().deployed).insert(name, deployed);
    Ok(json(StatusCode::CREATED, &shown))
}

/// `$LATEST` of `found` and, with `versions`, its published versions, each with its list
/// marker's suffix: empty for `$LATEST`, `!` and the zero-padded number for a version. `!` sorts
/// below every character of a name, so markers order a function's versions right after it and
/// before any longer name; the zero padding orders them numerically.
fn listed(found: Found, versions: bool) -> Vec<(String, FunctionConfiguration)> {
    match found {
        Found::Project(revision) => vec![(String::new(), revision.configuration(false))],
        Found::Deployed(deployed) => {
            let latest = (
                String::new(),
                deployed.latest.configuration(deployed.updating),
            );
            let published =
                deployed
                    .versions
                    .iter()
                    .filter(|_| versions)
                    .map(|(number, revision)| {
                        (format!("!{number:020}"), revision.configuration(false))
                    });
            std::iter::once(latest).chain(published).collect()
        }
    }
}

/// The `MaxItems` of a list request (AWS: 1 to 10000, default 50).
fn page_size(max_items: Option<&str>) -> Result<usize, AwsError> {
    match max_items.map(str::parse::<usize>) {
        None => Ok(50),
        Some(Ok(n @ 1..=10_000)) => Ok(n),
        Some(_) => Err(validation(format!(
            "1 validation error detected: Value '{}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 10000",
            max_items.unwrap_or_default()
        ))),
    }
}

/// One page of `items` (sorted by their marker) after `marker`, and the next page's marker.
fn page<T>(
    mut items: Vec<(String, T)>,
    marker: Option<&str>,
    size: usize,
) -> (Vec<T>, Option<String>) {
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let mut rest = items
        .into_iter()
        .filter(|(key, _)| marker.is_none_or(|m| key.as_str() > m))
        .peekable();
    let mut page = Vec::new();
    let mut last = None;
    while page.len() < size {
        let Some((key, item)) = rest.next() else {
            break;
        };
        last = Some(key);
        page.push(item);
    }
    let next = rest.peek().and(last);
    (page, next)
}

/// A list operation's answer, `{"<member>": [one page], "NextMarker": …}`, for the page
/// `list` asks for.
fn list_answer(
    member: &str,
    items: Vec<(String, FunctionConfiguration)>,
    list: &ListQuery,
) -> Result<Response, AwsError> {
    let size = page_size(list.max_items.as_deref())?;
    let (page, next_marker) = page(items, list.marker.as_deref(), size);
    let mut answer = serde_json::json!({ member: page });
    if let Some(marker) = next_marker {
        answer["NextMarker"] = marker.into();
    }
    Ok(json(StatusCode::OK, &answer))
}

async fn list_functions(
    State(state): State<AppState>,
    list: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, AwsError> {
    let list = query(list)?;
    let all_versions = list.function_version.as_deref() == Some("ALL");
    let mut items = Vec::new();
    for name in state.function_names() {
        // A function deleted meanwhile is left out.
        if let Ok(found) = find(&state, &name).await {
            items.extend(
                listed(found, all_versions)
                    .into_iter()
                    .map(|(key, shown)| (format!("{name}{key}"), shown)),
            );
        }
    }
    list_answer("Functions", items, &list)
}

async fn list_versions(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
    list: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, AwsError> {
    let name = unqualified_name(name)?;
    let list = query(list)?;
    list_answer("Versions", listed(find(&state, &name).await?, true), &list)
}

async fn delete_function(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
    qualifier: Result<Query<QualifierQuery>, QueryRejection>,
) -> Result<Response, AwsError> {
    let (name, qualifier) = named(name, Some(&query(qualifier)?))?;
    let _writing = state.manage().writes.lock().await;
    let mut deployed = find_deployed(&state, &name).await?;
    match qualifier.as_deref() {
        None => {
            state.registry().remove(&FunctionKey::latest(&name));
            for number in deployed.versions.keys() {
                state
                    .registry()
                    .remove(&FunctionKey::new(&name, Some(&number.to_string())));
            }
            state.function_urls().remove(&name);
            lock(&state.manage().policies).remove(&name);
            // Its code leaves the disk once the instances still running it stop.
            lock(&state.manage().deployed).remove(&name);
            tracing::info!(function = %name, "deleted through the management API");
        }
        Some(VERSION_LATEST) => {
            return Err(AwsError::invalid_parameter(
                "$LATEST version cannot be deleted without deleting the function.".to_owned(),
            ));
        }
        Some(version) => {
            let number = version
                .parse::<u64>()
                .ok()
                .filter(|n| deployed.versions.contains_key(n));
            let Some(number) = number else {
                return Err(AwsError::function_not_found(
                    state.region(),
                    &name,
                    Some(version),
                ));
            };
            deployed.versions.remove(&number);
            state
                .registry()
                .remove(&FunctionKey::new(&name, Some(version)));
            lock(&state.manage().deployed).insert(name, deployed);
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The ARN of a function that exists (deployed or the project's), for answers about it.
async fn existing_arn(state: &AppState, name: &str) -> Result<String, AwsError> {
    match find(state, name).await? {
        Found::Deployed(deployed) => Ok(deployed.latest.arn()),
        Found::Project(revision) => Ok(revision.arn()),
    }
}

fn url_config(
    url: &crate::front::function_url::FunctionUrl,
    arn: String,
) -> model::FunctionUrlConfig {
    let created = crate::clock::rfc3339(url.created);
    model::FunctionUrlConfig {
        function_url: url.url.clone(),
        function_arn: arn,
        auth_type: url.auth_type.clone(),
        last_modified_time: created.clone(),
        creation_time: created,
        invoke_mode: "BUFFERED",
    }
}

fn no_such_url() -> AwsError {
    AwsError::new(
        StatusCode::NOT_FOUND,
        "ResourceNotFoundException",
        "The resource you requested does not exist.".to_owned(),
    )
}

/// Function URLs are of `$LATEST` here (AWS also allows one per alias).
fn unqualified(qualifier: Option<&str>) -> Result<(), AwsError> {
    match qualifier {
        None | Some(VERSION_LATEST) => Ok(()),
        Some(other) => Err(AwsError::invalid_parameter(format!(
            "lambkin serves function URLs of $LATEST only, not of `{other}`."
        ))),
    }
}

async fn create_url_config(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
    qualifier: Result<Query<QualifierQuery>, QueryRejection>,
    body: Body,
) -> Result<Response, AwsError> {
    let (name, qualifier) = named(name, Some(&query(qualifier)?))?;
    unqualified(qualifier.as_deref())?;
    let request: model::CreateFunctionUrlConfig =
        json_body(body, 64 * 1024, "CreateFunctionUrlConfig").await?;
    let auth_type = match request.auth_type.as_deref() {
        Some(auth @ ("NONE" | "AWS_IAM")) => auth,
        other => {
            return Err(validation(format!(
                "1 validation error detected: Value '{}' at 'authType' failed to satisfy constraint: Member must satisfy enum value set: [NONE, AWS_IAM]",
                other.unwrap_or("null")
            )));
        }
    };
    if request.invoke_mode.as_deref() == Some("RESPONSE_STREAM") {
        return Err(AwsError::invalid_parameter(
            "lambkin does not stream responses yet; use InvokeMode BUFFERED.".to_owned(),
        ));
    }
    let _writing = state.manage().writes.lock().await;
    let arn = existing_arn(&state, &name).await?;
    if state.function_urls().get(&name).is_some() {
        return Err(conflict(format!(
            "Failed to create function url config for [functionArn = {arn}]. Error message:  FunctionUrlConfig exists for this Lambda function"
        )));
    }
    let url = state
        .function_urls()
        .start(&name, auth_type)
        .await
        .map_err(|error| service_error(error.to_string()))?
        .ok_or_else(|| AwsError::function_not_found(state.region(), &name, None))?;
    tracing::info!(function = %name, url = %url.url, "function URL created");
    Ok(json(StatusCode::CREATED, &url_config(&url, arn)))
}

async fn get_url_config(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
    qualifier: Result<Query<QualifierQuery>, QueryRejection>,
) -> Result<Response, AwsError> {
    let (name, qualifier) = named(name, Some(&query(qualifier)?))?;
    unqualified(qualifier.as_deref())?;
    let arn = existing_arn(&state, &name).await?;
    let url = state.function_urls().get(&name).ok_or_else(no_such_url)?;
    Ok(json(StatusCode::OK, &url_config(&url, arn)))
}

async fn delete_url_config(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
    qualifier: Result<Query<QualifierQuery>, QueryRejection>,
) -> Result<Response, AwsError> {
    let (name, qualifier) = named(name, Some(&query(qualifier)?))?;
    unqualified(qualifier.as_deref())?;
    let _writing = state.manage().writes.lock().await;
    existing_arn(&state, &name).await?;
    if state.function_urls().remove(&name) {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(no_such_url())
    }
}

async fn add_permission(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
    body: Body,
) -> Result<Response, AwsError> {
    let name = unqualified_name(name)?;
    let request: model::AddPermission = json_body(body, 64 * 1024, "AddPermission").await?;
    let _writing = state.manage().writes.lock().await;
    let arn = existing_arn(&state, &name).await?;
    let required = |value: Option<String>, member: &str| {
        value.ok_or_else(|| {
            validation(format!(
                "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
            ))
        })
    };
    let sid = required(request.statement_id, "statementId")?;
    let action = required(request.action, "action")?;
    let principal = required(request.principal, "principal")?;
    let mut statement = serde_json::json!({
        "Sid": sid,
        "Effect": "Allow",
        "Principal": if principal == "*" { serde_json::json!("*") } else { serde_json::json!({ "Service": principal }) },
        "Action": action,
        "Resource": arn,
    });
    if let Some(auth) = request.function_url_auth_type {
        statement["Condition"] =
            serde_json::json!({ "StringEquals": { "lambda:FunctionUrlAuthType": auth } });
    }
    let mut policies = lock(&state.manage().policies);
    let statements = policies.entry(name).or_default();
    if statements.iter().any(|s| s["Sid"] == sid.as_str()) {
        return Err(conflict(format!(
            "The statement id ({sid}) provided already exists. Please provide a new statement id, or remove the existing statement."
        )));
    }
    statements.push(statement.clone());
    Ok(json(
        StatusCode::CREATED,
        &serde_json::json!({ "Statement": statement.to_string() }),
    ))
}

async fn get_policy(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
) -> Result<Response, AwsError> {
    let name = unqualified_name(name)?;
    existing_arn(&state, &name).await?;
    let statements = lock(&state.manage().policies)
        .get(&name)
        .cloned()
        .ok_or_else(no_such_url)?;
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Id": "default",
        "Statement": statements,
    });
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({
            "Policy": policy.to_string(),
            "RevisionId": uuid::Uuid::new_v4().to_string(),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_validated_like_aws() {
        for ok in [
            "arn:aws:iam::123456789012:role/lambda-exec",
            "arn:aws:iam::123456789012:role/service-role/x_y+=,.@-",
            "arn:aws-cn:iam::123456789012:role/r",
        ] {
            assert!(check_role(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "role",
            "arn:aws:iam::12345:role/r",
            "arn:aws:iam::123456789012:user/r",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/a b",
        ] {
            assert!(check_role(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_are_awss() {
        assert!(timeout(0).is_err());
        assert!(timeout(901).is_err());
        assert_eq!(timeout(900).unwrap(), Duration::from_secs(900));
        assert!(memory(127).is_err());
        assert!(memory(10_241).is_err());
        assert_eq!(memory(128).unwrap(), 128);
        assert!(architectures(Some(vec!["x86_64".into(), "arm64".into()])).is_err());
        assert!(architectures(Some(vec!["mips".into()])).is_err());
        assert_eq!(architectures(None).unwrap(), ["x86_64"]);
    }

    #[test]
    fn reserved_and_malformed_variables_are_refused() {
        let env = |k: &str| EnvironmentIn {
            variables: Some(BTreeMap::from([(k.to_owned(), "v".to_owned())])),
        };
        assert!(environment(env("GREETING")).is_ok());
        assert!(environment(env("AWS_REGION")).is_err());
        assert!(environment(env("1X")).is_err());
        assert!(environment(env("A-B")).is_err());
    }

    #[test]
    fn configurations_show_the_handler_and_the_logging_config() {
        let store = Store::default();
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

    #[test]
    fn pages_follow_markers() {
        let items: Vec<(String, u32)> = (0..5).map(|i| (format!("f{i}"), i)).collect();
        let (first, next) = page(items.clone(), None, 2);
        assert_eq!(first, [0, 1]);
        assert_eq!(next.as_deref(), Some("f1"));
        let (second, next) = page(items.clone(), next.as_deref(), 2);
        assert_eq!(second, [2, 3]);
        let (last, next) = page(items, next.as_deref(), 2);
        assert_eq!(last, [4]);
        assert_eq!(next, None);
        assert!(page_size(Some("0")).is_err());
        assert_eq!(page_size(None).unwrap(), 50);
    }
}
