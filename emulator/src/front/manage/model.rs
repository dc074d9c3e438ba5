//! The management API's request and response bodies, in AWS's JSON shapes (`restJson1`,
//! PascalCase members). The AWS SDK for Rust has client types only (no serde), so the wire
//! shapes are spelled out here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `Code` of CreateFunction.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct FunctionCode {
    pub(crate) zip_file: Option<String>,
    pub(crate) s3_bucket: Option<String>,
    pub(crate) image_uri: Option<String>,
}

/// `Environment` of a request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct EnvironmentIn {
    pub(crate) variables: Option<BTreeMap<String, String>>,
}

/// CreateFunction's body (members the emulator does not model are ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CreateFunction {
    pub(crate) function_name: Option<String>,
    pub(crate) runtime: Option<String>,
    pub(crate) role: Option<String>,
    pub(crate) handler: Option<String>,
    pub(crate) code: Option<FunctionCode>,
    pub(crate) description: Option<String>,
    pub(crate) timeout: Option<i64>,
    pub(crate) memory_size: Option<i64>,
    pub(crate) publish: Option<bool>,
    pub(crate) environment: Option<EnvironmentIn>,
    pub(crate) package_type: Option<String>,
    pub(crate) architectures: Option<Vec<String>>,
    pub(crate) logging_config: Option<LoggingConfigIn>,
    pub(crate) dead_letter_config: Option<DeadLetterConfig>,
}

/// `DeadLetterConfig`, of a request and of an answer.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DeadLetterConfig {
    pub(crate) target_arn: Option<String>,
}

/// `LoggingConfig` of a request (each member optional: an update changes what it names).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct LoggingConfigIn {
    pub(crate) log_format: Option<String>,
    pub(crate) application_log_level: Option<String>,
    pub(crate) system_log_level: Option<String>,
    pub(crate) log_group: Option<String>,
}

/// UpdateFunctionCode's body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UpdateFunctionCode {
    pub(crate) zip_file: Option<String>,
    pub(crate) s3_bucket: Option<String>,
    pub(crate) image_uri: Option<String>,
    pub(crate) publish: Option<bool>,
    pub(crate) dry_run: Option<bool>,
    pub(crate) revision_id: Option<String>,
    pub(crate) architectures: Option<Vec<String>>,
}

/// UpdateFunctionConfiguration's body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UpdateFunctionConfiguration {
    pub(crate) role: Option<String>,
    pub(crate) handler: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) timeout: Option<i64>,
    pub(crate) memory_size: Option<i64>,
    pub(crate) environment: Option<EnvironmentIn>,
    pub(crate) runtime: Option<String>,
    pub(crate) revision_id: Option<String>,
    pub(crate) logging_config: Option<LoggingConfigIn>,
    pub(crate) dead_letter_config: Option<DeadLetterConfig>,
}

/// PublishVersion's body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PublishVersion {
    pub(crate) code_sha256: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) revision_id: Option<String>,
}

/// `FunctionConfiguration`: what Get/Create/Update/Publish answer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct FunctionConfiguration {
    pub(crate) function_name: String,
    pub(crate) function_arn: String,
    pub(crate) runtime: String,
    pub(crate) role: String,
    pub(crate) handler: String,
    pub(crate) code_size: u64,
    pub(crate) description: String,
    pub(crate) timeout: u64,
    pub(crate) memory_size: u32,
    pub(crate) last_modified: String,
    pub(crate) code_sha256: String,
    pub(crate) version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) environment: Option<EnvironmentOut>,
    pub(crate) tracing_config: TracingConfig,
    pub(crate) revision_id: String,
    pub(crate) state: &'static str,
    pub(crate) last_update_status: &'static str,
    pub(crate) package_type: &'static str,
    pub(crate) architectures: Vec<String>,
    pub(crate) ephemeral_storage: EphemeralStorage,
    pub(crate) logging_config: LoggingConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) dead_letter_config: Option<DeadLetterConfig>,
}

/// `Environment` of an answer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct EnvironmentOut {
    pub(crate) variables: BTreeMap<String, String>,
}

/// `TracingConfig`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TracingConfig {
    pub(crate) mode: &'static str,
}

/// `EphemeralStorage` (`/tmp`, in MB).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct EphemeralStorage {
    pub(crate) size: u32,
}

/// `LoggingConfig` (the levels only with the JSON format, as AWS answers).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct LoggingConfig {
    pub(crate) log_format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) application_log_level: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) system_log_level: Option<&'static str>,
    pub(crate) log_group: String,
}

/// GetFunction's answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetFunction {
    pub(crate) configuration: FunctionConfiguration,
    pub(crate) code: CodeLocation,
    /// Only for a function with reserved concurrency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) concurrency: Option<Concurrency>,
}

/// A function's reserved concurrency: GetFunction's `Concurrency`, the body of
/// PutFunctionConcurrency and the answer of Get/PutFunctionConcurrency (an empty object when
/// nothing is reserved).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Concurrency {
    /// Signed, so a negative number is refused with AWS's message rather than a parse error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reserved_concurrent_executions: Option<i64>,
}

/// Where a function's code can be downloaded.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CodeLocation {
    pub(crate) repository_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) location: Option<String>,
}

/// Query parameters of the list operations.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(rename = "Marker")]
    pub(crate) marker: Option<String>,
    #[serde(rename = "MaxItems")]
    pub(crate) max_items: Option<String>,
    #[serde(rename = "FunctionVersion")]
    pub(crate) function_version: Option<String>,
}

/// The `Qualifier` query parameter.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct QualifierQuery {
    #[serde(rename = "Qualifier")]
    pub(crate) qualifier: Option<String>,
}

/// Create/UpdateFunctionUrlConfig's body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct FunctionUrlConfigRequest {
    pub(crate) auth_type: Option<String>,
    pub(crate) invoke_mode: Option<String>,
    pub(crate) cors: Option<UrlCors>,
}

/// A function URL's `Cors`
/// (<https://docs.aws.amazon.com/lambda/latest/api/API_Cors.html>).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UrlCors {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) allow_credentials: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) allow_headers: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) allow_methods: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) allow_origins: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) expose_headers: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_age: Option<u32>,
}

impl From<UrlCors> for crate::apigw::Cors {
    fn from(c: UrlCors) -> Self {
        crate::apigw::Cors {
            allow_origins: c.allow_origins.unwrap_or_default(),
            allow_methods: c.allow_methods.unwrap_or_default(),
            allow_headers: c.allow_headers.unwrap_or_default(),
            expose_headers: c.expose_headers.unwrap_or_default(),
            max_age: c.max_age,
            allow_credentials: c.allow_credentials.unwrap_or(false),
        }
    }
}

impl From<crate::apigw::Cors> for UrlCors {
    fn from(c: crate::apigw::Cors) -> Self {
        let list = |items: Vec<String>| (!items.is_empty()).then_some(items);
        UrlCors {
            allow_credentials: Some(c.allow_credentials),
            allow_headers: list(c.allow_headers),
            allow_methods: list(c.allow_methods),
            allow_origins: list(c.allow_origins),
            expose_headers: list(c.expose_headers),
            max_age: c.max_age,
        }
    }
}

/// A function URL's configuration, as Create/Get/UpdateFunctionUrlConfig answer it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct FunctionUrlConfig {
    pub(crate) function_url: String,
    pub(crate) function_arn: String,
    pub(crate) auth_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cors: Option<UrlCors>,
    pub(crate) creation_time: String,
    pub(crate) last_modified_time: String,
    pub(crate) invoke_mode: &'static str,
}

/// AddPermission's body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AddPermission {
    pub(crate) statement_id: Option<String>,
    pub(crate) action: Option<String>,
    pub(crate) principal: Option<String>,
    pub(crate) function_url_auth_type: Option<String>,
}

/// GetAccountSettings' answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AccountSettings {
    pub(crate) account_limit: AccountLimit,
    pub(crate) account_usage: AccountUsage,
}

/// GetAccountSettings' `AccountLimit`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AccountLimit {
    pub(crate) total_code_size: u64,
    pub(crate) code_size_unzipped: u64,
    pub(crate) code_size_zipped: u64,
    pub(crate) concurrent_executions: usize,
    pub(crate) unreserved_concurrent_executions: usize,
}

/// GetAccountSettings' `AccountUsage`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AccountUsage {
    pub(crate) total_code_size: u64,
    pub(crate) function_count: usize,
}
