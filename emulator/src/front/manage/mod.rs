//! Lambda's management API, the subset that deploys and inspects functions, with AWS's paths,
//! shapes, status codes and errors, so `lambkin deploy --endpoint-url` and
//! `aws lambda … --endpoint-url` work against the emulator. The operations served:
//!
//! | Operation | Method and path |
//! |---|---|
//! | CreateFunction (`ZipFile` code) | `POST /2015-03-31/functions` |
//! | ListFunctions | `GET /2015-03-31/functions` |
//! | GetFunction | `GET /2015-03-31/functions/{name}` |
//! | DeleteFunction | `DELETE /2015-03-31/functions/{name}` |
//! | GetFunctionConfiguration | `GET /2015-03-31/functions/{name}/configuration` |
//! | UpdateFunctionConfiguration | `PUT /2015-03-31/functions/{name}/configuration` |
//! | UpdateFunctionCode | `PUT /2015-03-31/functions/{name}/code` |
//! | ListVersionsByFunction | `GET /2015-03-31/functions/{name}/versions` |
//! | PublishVersion | `POST /2015-03-31/functions/{name}/versions` |
//! | GetPolicy | `GET /2015-03-31/functions/{name}/policy` |
//! | AddPermission | `POST /2015-03-31/functions/{name}/policy` |
//! | GetFunctionUrlConfig | `GET /2021-10-31/functions/{name}/url` |
//! | CreateFunctionUrlConfig | `POST /2021-10-31/functions/{name}/url` |
//! | UpdateFunctionUrlConfig | `PUT /2021-10-31/functions/{name}/url` |
//! | DeleteFunctionUrlConfig | `DELETE /2021-10-31/functions/{name}/url` |
//! | GetFunctionConcurrency | `GET /2019-09-30/functions/{name}/concurrency` |
//! | PutFunctionConcurrency | `PUT /2017-10-31/functions/{name}/concurrency` |
//! | DeleteFunctionConcurrency | `DELETE /2017-10-31/functions/{name}/concurrency` |
//! | Put/Update/Get/DeleteFunctionEventInvokeConfig | `PUT`/`POST`/`GET`/`DELETE /2019-09-25/functions/{name}/event-invoke-config` |
//! | ListFunctionEventInvokeConfigs | `GET /2019-09-25/functions/{name}/event-invoke-config/list` |
//! | GetAccountSettings | `GET /2016-08-19/account-settings/` |
//! | (lambkin's own) a deployed zip, GetFunction's `Code.Location` | `GET /_lambkin/code/{name}/{revision}` |
//!
//! A deployed zip is checked and unpacked under the emulator's state directory (see
//! [`code::unpack`]) and its `bootstrap` runs like any other function's executable. Updates are
//! asynchronous as on AWS: the answer says `LastUpdateStatus: InProgress` while a warm instance of
//! the new code starts, then `Successful`; a second update meanwhile is a
//! `ResourceConflictException`. The project's own functions (built from source, hot-reloaded) are
//! listed and described too, but only their source changes them (their reserved concurrency, a
//! runtime setting on AWS too, is the exception).
//!
//! Here: the router and the answers every operation shares. [`store`] keeps the deployed
//! functions, [`validate`] reads and checks requests, [`functions`], [`urls`], [`policy`],
//! [`concurrency`], [`event_invoke`] and [`account`] serve the operations.

mod account;
mod code;
mod concurrency;
mod event_invoke;
mod functions;
mod model;
mod policy;
mod store;
mod urls;
mod validate;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};

use crate::front::{AppState, AwsError};
pub(crate) use store::Store;

/// The management routes, merged into the front.
pub(crate) fn routes() -> Router<AppState> {
    const FUNCTIONS: &str = "/2015-03-31/functions";
    Router::new()
        .route(
            FUNCTIONS,
            get(functions::list_functions).post(functions::create_function),
        )
        .route(&format!("{FUNCTIONS}/"), get(functions::list_functions))
        .route(
            &format!("{FUNCTIONS}/{{name}}"),
            get(functions::get_function).delete(functions::delete_function),
        )
        .route(
            &format!("{FUNCTIONS}/{{name}}/configuration"),
            get(functions::get_configuration).put(functions::update_configuration),
        )
        .route(
            &format!("{FUNCTIONS}/{{name}}/code"),
            put(functions::update_code),
        )
        .route(
            &format!("{FUNCTIONS}/{{name}}/versions"),
            get(functions::list_versions).post(functions::publish_version),
        )
        .route(
            &format!("{FUNCTIONS}/{{name}}/policy"),
            get(policy::get_policy).post(policy::add_permission),
        )
        .route(
            "/2021-10-31/functions/{name}/url",
            get(urls::get_url_config)
                .post(urls::create_url_config)
                .put(urls::update_url_config)
                .delete(urls::delete_url_config),
        )
        .merge(concurrency::routes())
        .merge(event_invoke::routes())
        .merge(account::routes())
        .route(
            "/_lambkin/code/{name}/{revision}",
            get(functions::download_code),
        )
}

/// A JSON answer.
fn json(status: StatusCode, body: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(error) => service_error(error.to_string()).into_response(),
    }
}

/// `ResourceConflictException` (409).
fn conflict(message: String) -> AwsError {
    AwsError::new(StatusCode::CONFLICT, "ResourceConflictException", message)
}

/// `ServiceException` (500).
fn service_error(message: String) -> AwsError {
    AwsError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "ServiceException",
        message,
    )
}

/// `ResourceNotFoundException` for a function's URL configuration or policy that is not there.
fn no_such_resource() -> AwsError {
    AwsError::new(
        StatusCode::NOT_FOUND,
        "ResourceNotFoundException",
        "The resource you requested does not exist.".to_owned(),
    )
}
