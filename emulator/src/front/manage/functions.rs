//! The function operations: CreateFunction, GetFunction, GetFunctionConfiguration,
//! ListFunctions, ListVersionsByFunction, UpdateFunctionCode, UpdateFunctionConfiguration,
//! PublishVersion and DeleteFunction, and the download of a deployed zip.

use std::collections::BTreeMap;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::model::{
    self, CodeLocation, FunctionConfiguration, GetFunction, ListQuery, QualifierQuery,
};
use super::store::{Deployed, Found, Revision, find, find_deployed, store_code};
use super::validate::{
    architectures, check_name, check_role, check_runtime, dead_letter, environment, json_body,
    logging, memory, named, page_size, qualified_refused, query, timeout, unqualified_name,
    validation, zip_file,
};
use super::{code, concurrency, conflict, json};
use crate::VERSION_LATEST;
use crate::config::{FunctionConfig, FunctionSettings, InvokeMode, LoggingConfig};
use crate::front::{AppState, AwsError};
use crate::pool::Function;
use crate::registry::{FunctionKey, split_name};
use crate::sync::lock;

/// AWS has no quota on the number of functions, so no error of its own for this cap. Of
/// CreateFunction's errors, `ResourceConflictException` (409) fits best: the request conflicts
/// with the functions already there and succeeds once one is deleted, and SDKs do not retry it
/// (they would retry a `ServiceException` or `TooManyRequestsException` that cannot succeed).
fn too_many_functions(max: usize) -> AwsError {
    conflict(format!(
        "This emulator serves at most {max} deployed functions. Delete one, or raise the limit (lambkin watch --max-functions)."
    ))
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

fn now() -> String {
    crate::clock::last_modified(SystemTime::now())
}

/// A CreateFunction request, checked before anything is stored.
struct NewFunction {
    name: String,
    zip: Vec<u8>,
    publish: bool,
    /// Its `$LATEST`, without code until the zip is stored.
    latest: Revision,
}

impl NewFunction {
    /// Checks `request` as CreateFunction does; `region` is the emulator's.
    fn checked(request: model::CreateFunction, region: &str) -> Result<Self, AwsError> {
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
        // The executable is set once the code is stored.
        let settings = FunctionSettings {
            handler: request.handler,
            timeout: request.timeout.map(timeout).transpose()?,
            memory_mb: request.memory_size.map(memory).transpose()?,
            reserved_concurrency: None,
            // CreateFunction's `CapacityProviderConfig` is not read: one invocation per instance.
            max_concurrency: None,
            env: request
                .environment
                .map(environment)
                .transpose()?
                .unwrap_or_default(),
            logging: request
                .logging_config
                .map(|given| logging(LoggingConfig::default(), given))
                .transpose()?
                .unwrap_or_default(),
            // Until CreateFunctionUrlConfig says otherwise (urls.rs).
            url_invoke_mode: InvokeMode::Buffered,
            // PutFunctionEventInvokeConfig sets these (the queue keeps them).
            event_invoke_config: None,
            dead_letter_target: request
                .dead_letter_config
                .map(dead_letter)
                .transpose()?
                .flatten(),
        };
        let mut config = FunctionConfig::from_settings(&name, "", None, settings);
        config.region = region.to_owned();
        let architectures = architectures(request.architectures)?;
        let code = request.code.unwrap_or_default();
        let zip = zip_file(
            code.zip_file,
            code.s3_bucket.as_ref(),
            code.image_uri.as_ref(),
        )?;
        let latest = Revision {
            config,
            runtime,
            role,
            description: request.description.unwrap_or_default(),
            architectures,
            code_sha256: String::new(),
            code_size: 0,
            last_modified: String::new(),
            revision_id: uuid::Uuid::new_v4().to_string(),
        };
        Ok(NewFunction {
            name,
            zip,
            publish: request.publish == Some(true),
            latest,
        })
    }
}

pub(super) async fn create_function(
    State(state): State<AppState>,
    body: Body,
) -> Result<Response, AwsError> {
    let request: model::CreateFunction =
        json_body(body, code::MAX_REQUEST_BYTES, "CreateFunction").await?;
    let NewFunction {
        name,
        zip,
        publish: publish_too,
        mut latest,
    } = NewFunction::checked(request, state.region())?;

    let _writing = state.manage().writes.lock().await;
    if state.manage().deployed(&name).is_some() || state.function(&name).is_some() {
        return Err(conflict(format!("Function already exist: {name}")));
    }
    let max_functions = state.manage().limits().max_functions;
    if lock(&state.manage().deployed).len() >= max_functions {
        return Err(too_many_functions(max_functions));
    }
    latest.set_code(store_code(&state, &name, zip).await?);
    latest.last_modified = now();
    let config = latest.config.clone();
    let mut deployed = Deployed {
        latest,
        versions: BTreeMap::new(),
        next_version: 1,
        updating: false,
    };
    let shown = if publish_too {
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

pub(super) async fn get_function(
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

pub(super) async fn get_configuration(
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
pub(super) async fn download_code(
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

pub(super) async fn update_code(
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
    let mut revision = deployed.latest.clone();
    revision.set_code(store_code(&state, &name, zip).await?);
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

pub(super) async fn update_configuration(
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
    if let Some(given) = request.logging_config {
        revision.config.logging = logging(revision.config.logging.clone(), given)?;
    }
    if let Some(given) = request.dead_letter_config {
        revision.config.dead_letter_target = dead_letter(given)?;
    }
    revision.last_modified = now();
    revision.revision_id = uuid::Uuid::new_v4().to_string();
    let shown = update_latest(&state, deployed, revision, false);
    Ok(json(StatusCode::OK, &shown))
}

pub(super) async fn publish_version(
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

pub(super) async fn list_functions(
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

pub(super) async fn list_versions(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
    list: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, AwsError> {
    let name = unqualified_name(name)?;
    let list = query(list)?;
    list_answer("Versions", listed(find(&state, &name).await?, true), &list)
}

pub(super) async fn delete_function(
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
            state.events().forget(&name);
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

#[cfg(test)]
mod tests {
    use super::*;

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
