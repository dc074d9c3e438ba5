//! GetAccountSettings (<https://docs.aws.amazon.com/lambda/latest/api/API_GetAccountSettings.html>):
//! the limits this emulator applies and what is used of them. The code limits are the local ones
//! (`--max-code-size`; AWS's 75 GB would say nothing about a laptop's disk); the package limits
//! and the concurrency are Lambda's, as the emulator enforces them.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

use super::code::{MAX_UNZIPPED_BYTES, MAX_ZIP_BYTES};
use super::json;
use super::model::{AccountLimit, AccountSettings, AccountUsage};
use crate::front::AppState;

/// The operation's route (the AWS SDKs and CLI call it with the trailing slash).
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/2016-08-19/account-settings/", get(account_settings))
        .route("/2016-08-19/account-settings", get(account_settings))
}

async fn account_settings(State(state): State<AppState>) -> Response {
    let store = state.manage();
    let (concurrent, unreserved) = state.registry().concurrency().account();
    let settings = AccountSettings {
        account_limit: AccountLimit {
            total_code_size: store.limits().max_code_bytes,
            code_size_unzipped: MAX_UNZIPPED_BYTES,
            code_size_zipped: u64::try_from(MAX_ZIP_BYTES).unwrap_or(u64::MAX),
            concurrent_executions: concurrent,
            unreserved_concurrent_executions: unreserved,
        },
        account_usage: AccountUsage {
            total_code_size: store.code_bytes(),
            // Every function served, the project's as well as the deployed ones.
            function_count: state.registry().names().len(),
        },
    };
    json(StatusCode::OK, &settings)
}
