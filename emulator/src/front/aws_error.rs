//! What every answer of Lambda's API shares: [`AwsError`], the error in the shape AWS sends (the
//! status, an `x-amzn-ErrorType` header and a `{"Type": …, "message": …}` body), the request id
//! header, the API's path prefixes and the header helper its handlers read parameters with.

use std::ops::Deref;
use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::ACCOUNT_ID;
use crate::events::Rejected;
use crate::instance::Refused;

/// The request id every answer carries.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");

/// The path prefixes of Lambda's REST API, one per API version (functions, URLs, tags, layers, …).
pub(crate) const LAMBDA_API_PREFIXES: [&str; 9] = [
    "/2015-03-31/",
    "/2021-11-15/",
    "/2021-10-31/",
    "/2017-03-31/",
    "/2018-10-31/",
    "/2019-09-25/",
    // Reserved concurrency (Put/Delete, Get) and account settings.
    "/2017-10-31/",
    "/2019-09-30/",
    "/2016-08-19/",
];

/// The region of the emulator's ARNs (the first function's, else `us-east-1`).
#[derive(Debug, Clone)]
pub(crate) struct Region(Arc<str>);

impl Region {
    /// The region called `name`.
    pub(crate) fn new(name: &str) -> Region {
        Region(name.into())
    }
}

impl Deref for Region {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// A header as text; a value that is not text is an invalid parameter.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, AwsError> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| AwsError::invalid_parameter(format!("Invalid {name} header")))
        })
        .transpose()
}

/// `response` with `request_id` as its `x-amzn-RequestId`.
pub(crate) fn with_request_id(mut response: Response, request_id: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// An error of an AWS JSON 1.0 API (Step Functions): the status, `x-amzn-ErrorType` and a
/// `{"__type": …, "message": …}` body, which is where those clients read the error's name.
#[cfg(feature = "workflows")]
pub(crate) fn json_error(status: StatusCode, error_type: &str, message: String) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/x-amz-json-1.0")],
        json_error_body(error_type, &message),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(error_type) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-amzn-errortype"), value);
    }
    with_request_id(response, &crate::ids::uuid().to_string())
}

/// The body of an AWS JSON 1.0 API's error, `{"__type": …, "message": …}`; API Gateway passes it
/// through from a Step Functions integration.
#[cfg(feature = "workflows")]
pub(crate) fn json_error_body(error_type: &str, message: &str) -> String {
    json!({ "__type": error_type, "message": message }).to_string()
}

/// An Invoke API error, answered as AWS answers it.
#[derive(Debug)]
pub(crate) struct AwsError {
    status: StatusCode,
    error_type: &'static str,
    message: String,
    /// The `Reason` of a `TooManyRequestsException` (one of AWS's `ThrottleReason` values).
    reason: Option<&'static str>,
}

impl AwsError {
    pub(crate) fn new(status: StatusCode, error_type: &'static str, message: String) -> Self {
        AwsError {
            status,
            error_type,
            message,
            reason: None,
        }
    }

    /// The `x-amzn-ErrorType`.
    #[cfg(test)]
    pub(crate) fn error_type(&self) -> &'static str {
        self.error_type
    }

    /// The message.
    #[cfg(test)]
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// 429 `TooManyRequestsException` for `reason`, with AWS's message.
    fn throttled(reason: &'static str) -> Self {
        AwsError {
            reason: Some(reason),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsException",
                "Rate Exceeded.".to_owned(),
            )
        }
    }

    fn shutting_down() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceException",
            "The emulator is shutting down".to_owned(),
        )
    }

    /// 404 `ResourceNotFoundException` for `name` (at `qualifier`).
    pub(crate) fn function_not_found(region: &str, name: &str, qualifier: Option<&str>) -> Self {
        let mut arn = format!("arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}");
        if let Some(qualifier) = qualifier {
            arn.push(':');
            arn.push_str(qualifier);
        }
        Self::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("Function not found: {arn}"),
        )
    }

    pub(crate) fn invalid_parameter(message: String) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            message,
        )
    }

    pub(crate) fn invalid_request_content(message: String) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
            message,
        )
    }

    /// 408 `RequestTimeoutException`: the request body came too slowly (the listener's
    /// limits). AWS's SDKs retry this error type as transient (`TRANSIENT_ERRORS` in
    /// aws-runtime's retry classifiers).
    pub(crate) fn request_timeout() -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "RequestTimeoutException",
            "The request body was not received in time".to_owned(),
        )
    }

    pub(crate) fn too_large(limit: usize, operation: &str) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
            format!("Request must be smaller than {limit} bytes for the {operation} operation"),
        )
    }
}

impl From<Refused> for AwsError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Throttled(limit) => Self::throttled(limit.reason()),
            Refused::ShuttingDown => Self::shutting_down(),
            // The local instance cap, not a Lambda limit: not a 429, which would say the caller
            // went over a limit AWS has. SDKs retry a `ServiceException`.
            Refused::NoInstance => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                "No instance of the function became free in time: every instance lambkin may run for it locally is busy (raise --max-instances)".to_owned(),
            ),
            Refused::Internal => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                "The emulator failed to run the invocation".to_owned(),
            ),
        }
    }
}

impl From<Rejected> for AwsError {
    fn from(rejected: Rejected) -> Self {
        match rejected {
            // AWS's asynchronous queue throttles on the invocation rate it accepts, not on
            // concurrency: the rate reasons of `ThrottleReason` (Invoke API reference,
            // https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_Errors;
            // https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html: requests per
            // second are limited as well as concurrency). Each emulated function has its own
            // limits, as a function with reserved concurrency does.
            Rejected::Full => Self::throttled("ReservedFunctionInvocationRateLimitExceeded"),
            Rejected::ShuttingDown => Self::shutting_down(),
            Rejected::Store(error) => {
                tracing::error!(%error, "cannot store an asynchronous invocation");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "ServiceException",
                    format!("The emulator could not store the event: {error}"),
                )
            }
        }
    }
}

impl IntoResponse for AwsError {
    fn into_response(self) -> Response {
        let kind = if self.status.is_server_error() {
            "Service"
        } else {
            "User"
        };
        let mut body = json!({ "Type": kind, "message": self.message });
        if let Some(reason) = self.reason {
            body["Reason"] = json!(reason);
        }
        let response = (
            self.status,
            [
                (header::CONTENT_TYPE, "application/json"),
                (HeaderName::from_static("x-amzn-errortype"), self.error_type),
            ],
            body.to_string(),
        )
            .into_response();
        with_request_id(response, &crate::ids::uuid().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::concurrency::Limit;

    #[test]
    fn errors_have_aws_shape() {
        let response = AwsError::from(Refused::Throttled(Limit::Account)).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            response.headers()["x-amzn-ErrorType"],
            "TooManyRequestsException"
        );
        assert!(response.headers().contains_key("x-amzn-RequestId"));
    }

    /// The `Reason` of a 429 says which limit was hit; other errors have none.
    #[tokio::test]
    async fn throttle_reasons_come_from_the_cause() {
        async fn reason(error: AwsError) -> serde_json::Value {
            let body = error.into_response().into_body();
            let bytes = http_body_util::BodyExt::collect(body)
                .await
                .unwrap()
                .to_bytes();
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()["Reason"].clone()
        }
        assert_eq!(
            reason(Refused::Throttled(Limit::Reserved).into()).await,
            "ReservedFunctionConcurrentInvocationLimitExceeded"
        );
        assert_eq!(
            reason(Refused::Throttled(Limit::Account).into()).await,
            "ConcurrentInvocationLimitExceeded"
        );
        assert!(reason(Refused::NoInstance.into()).await.is_null());
        assert_eq!(
            reason(Rejected::Full.into()).await,
            "ReservedFunctionInvocationRateLimitExceeded"
        );
        assert!(reason(Rejected::ShuttingDown.into()).await.is_null());
        assert!(
            reason(AwsError::invalid_parameter("x".to_owned()))
                .await
                .is_null()
        );
    }
}
