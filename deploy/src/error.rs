//! [`DeployError`]: what failed, AWS's error code and message, and what to do about it.

use std::{error::Error, fmt};

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_lambda::{
    config::http::HttpResponse,
    error::{ProvideErrorMetadata, SdkError},
    waiters::function_updated_v2::WaitUntilFunctionUpdatedV2Error as WaiterError,
};

use crate::{Call, client::Endpoint};

/// Why a deployment failed.
///
/// `Display` gives what failed, AWS's error code and message, and on a second line a hint, e.g.
///
/// ```text
/// UpdateFunctionCode hello failed: AccessDeniedException: User: arn:aws:iam::123456789012:user/ci is not authorized to perform: lambda:UpdateFunctionCode on resource: …
/// hint: the identity deploying needs the IAM permission lambda:UpdateFunctionCode on the function
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployError {
    what: String,
    code: Option<String>,
    message: String,
    hint: Option<String>,
}

impl DeployError {
    /// What failed: the call, e.g. `UpdateFunctionCode hello`, a wait, e.g. `waiting for hello to
    /// become Active`, or the step before any call, e.g. `choosing the AWS region`.
    pub fn what(&self) -> &str {
        &self.what
    }

    /// AWS's error code, e.g. `ResourceConflictException`, when AWS answered with one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// AWS's message, or a description of the failure.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What to do about it, when known.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// A failure of a call, classified by [`Cause`].
    fn of_call(call: &Call, cause: Cause, endpoint: &Endpoint) -> DeployError {
        let hint = hint(call.operation(), &cause, endpoint);
        let (code, message) = match cause {
            Cause::Service {
                code,
                message,
                status,
            } => {
                let message = message.unwrap_or_else(|| match status {
                    Some(status) => format!("HTTP {status}"),
                    None => "no message".to_owned(),
                });
                (code, message)
            }
            Cause::Credentials(message)
            | Cause::Unreachable(message)
            | Cause::Timeout(message)
            | Cause::BadResponse(message)
            | Cause::Other(message) => (None, message),
        };
        DeployError {
            what: what(call),
            code,
            message,
            hint,
        }
    }

    /// An SDK error from `call`.
    pub(crate) fn from_sdk<E>(
        call: &Call,
        error: &SdkError<E, HttpResponse>,
        endpoint: &Endpoint,
    ) -> DeployError
    where
        E: ProvideErrorMetadata + Error + 'static,
    {
        DeployError::of_call(call, Cause::of(error), endpoint)
    }

    /// A waiter's failure: it timed out, the function ended up `Failed`, or polling failed.
    pub(crate) fn from_waiter(
        call: &Call,
        error: &WaiterError,
        endpoint: &Endpoint,
    ) -> DeployError {
        let name = call.function_name();
        match error {
            WaiterError::ExceededMaxWait(wait) => DeployError {
                what: what(call),
                code: None,
                message: format!("still not done after {} s", wait.elapsed().as_secs()),
                hint: Some(format!(
                    "see what the function is doing with `aws lambda get-function --function-name \
                     {name}`, then deploy again"
                )),
            },
            WaiterError::FailureState(failure) => match failure.final_poll().as_result() {
                Ok(output) => {
                    let config = output.configuration();
                    let (field, code, reason) = match call {
                        Call::WaitUntilActive { .. } => (
                            "State",
                            config
                                .and_then(|c| c.state_reason_code())
                                .map(|code| code.as_str()),
                            config.and_then(|c| c.state_reason()),
                        ),
                        _ => (
                            "LastUpdateStatus",
                            config
                                .and_then(|c| c.last_update_status_reason_code())
                                .map(|code| code.as_str()),
                            config.and_then(|c| c.last_update_status_reason()),
                        ),
                    };
                    DeployError {
                        what: what(call),
                        code: code.map(str::to_owned),
                        message: format!(
                            "{field} is Failed: {}",
                            reason.unwrap_or("no reason given")
                        ),
                        hint: None,
                    }
                }
                Err(error) => DeployError::of_call(
                    call,
                    Cause::Service {
                        code: error.code().map(str::to_owned),
                        message: error.message().map(str::to_owned),
                        status: None,
                    },
                    endpoint,
                ),
            },
            WaiterError::OperationFailed(failed) => {
                DeployError::from_sdk(call, failed.error(), endpoint)
            }
            other => DeployError::of_call(call, Cause::Other(describe(other)), endpoint),
        }
    }

    /// `--endpoint-url` is not an `http://` or `https://` URL.
    pub(crate) fn bad_endpoint_url(url: &str) -> DeployError {
        DeployError {
            what: "reading the endpoint URL".to_owned(),
            code: None,
            message: format!("`{url}` is not an http:// or https:// URL"),
            hint: Some("pass e.g. --endpoint-url http://127.0.0.1:9001".to_owned()),
        }
    }

    /// Neither the target, the environment nor the profile names a region.
    pub(crate) fn no_region(profile: Option<&str>) -> DeployError {
        let profile = profile.map_or_else(String::new, |profile| format!(" for profile {profile}"));
        DeployError {
            what: "choosing the AWS region".to_owned(),
            code: None,
            message: format!("no region is configured{profile}"),
            hint: Some(
                "pass --region, set AWS_REGION, or set `region` in ~/.aws/config".to_owned(),
            ),
        }
    }

    /// Creating `function_name` on AWS needs an execution role.
    pub(crate) fn needs_role(function_name: &str) -> DeployError {
        DeployError {
            what: format!("CreateFunction {function_name}"),
            code: None,
            message: "a new function needs --role <execution role ARN>".to_owned(),
            hint: Some(
                "use a role that lambda.amazonaws.com may assume, e.g. one with the \
                 AWSLambdaBasicExecutionRole managed policy"
                    .to_owned(),
            ),
        }
    }

    /// The existing function runs a container image, which a zip cannot replace.
    pub(crate) fn not_zip(function_name: &str) -> DeployError {
        DeployError {
            what: format!("UpdateFunctionCode {function_name}"),
            code: None,
            message: format!(
                "{function_name} is a container image function; lambkin deploys zip packages"
            ),
            hint: Some("deploy under another name, or delete the function first".to_owned()),
        }
    }
}

impl fmt::Display for DeployError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: ", self.what)?;
        if let Some(code) = &self.code {
            write!(f, "{code}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

impl Error for DeployError {}

/// `UpdateFunctionCode hello`: the call without its parameters; for a wait, what it waits for.
fn what(call: &Call) -> String {
    let name = call.function_name();
    match call {
        Call::WaitUntilActive { .. } => format!("waiting for {name} to become Active"),
        Call::WaitUntilUpdated { .. } => format!("waiting for the update of {name} to finish"),
        _ => format!("{} {name}", call.operation()),
    }
}

/// Why a call failed, as far as the hints care.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cause {
    /// The service answered with an error.
    Service {
        code: Option<String>,
        message: Option<String>,
        status: Option<u16>,
    },
    /// No credentials could be loaded.
    Credentials(String),
    /// The request could not be sent: nothing listening, DNS, TLS.
    Unreachable(String),
    /// No answer in time.
    Timeout(String),
    /// An answer that is not the Lambda API's.
    BadResponse(String),
    /// Anything else.
    Other(String),
}

impl Cause {
    fn of<E>(error: &SdkError<E, HttpResponse>) -> Cause
    where
        E: ProvideErrorMetadata + Error + 'static,
    {
        if let Some(credentials) = find::<CredentialsError>(error) {
            return Cause::Credentials(describe(credentials));
        }
        match error {
            SdkError::ServiceError(service) => Cause::Service {
                code: error.code().map(str::to_owned),
                message: error.message().map(str::to_owned),
                status: Some(service.raw().status().as_u16()),
            },
            SdkError::DispatchFailure(failure) if failure.is_timeout() => {
                Cause::Timeout(describe(error))
            }
            SdkError::DispatchFailure(_) => {
                Cause::Unreachable(format!("cannot send the request: {}", root(error)))
            }
            SdkError::TimeoutError(_) => Cause::Timeout(describe(error)),
            SdkError::ResponseError(response) => Cause::BadResponse(format!(
                "{} (HTTP {})",
                describe(error),
                response.raw().status().as_u16()
            )),
            _ => Cause::Other(describe(error)),
        }
    }
}

/// The first error of type `T` in `error`'s source chain.
fn find<'a, T: Error + 'static>(error: &'a (dyn Error + 'static)) -> Option<&'a T> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(found) = error.downcast_ref::<T>() {
            return Some(found);
        }
        next = error.source();
    }
    None
}

/// The innermost source of `error`: for a request that could not be sent, the reason, without the
/// layers of the HTTP stack above it.
fn root(error: &(dyn Error + 'static)) -> String {
    let mut root = error;
    while let Some(source) = root.source() {
        root = source;
    }
    root.to_string()
}

/// An error and its sources on one line, leaving out messages that repeat an earlier one.
fn describe(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(source) = next {
        let message = source.to_string();
        if !message.is_empty() && !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        next = source.source();
    }
    text.trim_end().to_owned()
}

/// What to do about `cause`, a failure of `operation` against `endpoint`.
fn hint(operation: &str, cause: &Cause, endpoint: &Endpoint) -> Option<String> {
    match cause {
        Cause::Credentials(message) if message.contains("cargo feature") => Some(
            "this build of lambkin cannot load this profile's kind of credentials (such as AWS \
             IAM Identity Center's); export them to the environment instead: `eval \"$(aws \
             configure export-credentials --format env)\"`"
                .to_owned(),
        ),
        Cause::Credentials(_) => Some(
            "provide AWS credentials: run `aws configure`, pick a profile with AWS_PROFILE or \
             --profile, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; to deploy to the \
             local emulator instead, pass --endpoint-url http://127.0.0.1:<port>"
                .to_owned(),
        ),
        Cause::Unreachable(_) => Some(match endpoint {
            Endpoint::Url { url, .. } => {
                format!("is the endpoint running? Nothing accepted a connection at {url}")
            }
            Endpoint::Aws { region } => format!(
                "cannot reach AWS Lambda in {region}: check the network connection, any proxy \
                 (HTTPS_PROXY), and that {region} is a region name"
            ),
        }),
        Cause::Timeout(_) => Some(match endpoint {
            Endpoint::Url { url, .. } => format!("{url} did not answer in time; retry"),
            Endpoint::Aws { region } => {
                format!("AWS Lambda in {region} did not answer in time; check the network, retry")
            }
        }),
        Cause::BadResponse(_) => match endpoint {
            Endpoint::Url { url, .. } => Some(not_lambda(url)),
            Endpoint::Aws { .. } => None,
        },
        Cause::Other(_) => None,
        Cause::Service {
            code: None, status, ..
        } => match endpoint {
            Endpoint::Url { url, .. } => Some(not_lambda(url)),
            Endpoint::Aws { .. } if status.is_some_and(|status| status >= 500) => {
                Some("AWS failed internally; retry".to_owned())
            }
            Endpoint::Aws { .. } => None,
        },
        Cause::Service {
            code: Some(code),
            message,
            ..
        } => service_hint(operation, code, message.as_deref().unwrap_or_default()),
    }
}

/// The endpoint answered, but not as the Lambda API does.
fn not_lambda(url: &str) -> String {
    format!(
        "the answer is not the Lambda API's: is {url} a Lambda endpoint (the emulator's, not a \
         function URL)?"
    )
}

/// What to do about an error the Lambda API answered with.
fn service_hint(operation: &str, code: &str, message: &str) -> Option<String> {
    let hint = match code {
        "AccessDeniedException" | "AccessDenied" if message.contains("iam:PassRole") => {
            "the identity deploying needs the IAM permission iam:PassRole on the execution role"
                .to_owned()
        }
        "AccessDeniedException" | "AccessDenied" => format!(
            "the identity deploying needs the IAM permission lambda:{operation} on the function"
        ),
        "InvalidParameterValueException" if message.to_ascii_lowercase().contains("role") => {
            "the execution role must exist and trust lambda.amazonaws.com (sts:AssumeRole); a \
             role created moments ago can take a few seconds to be usable, so retry"
                .to_owned()
        }
        "InvalidParameterValueException" | "PreconditionFailedException"
            if operation == "PublishVersion" =>
        {
            "the function changed while deploying (another deploy?); deploy again".to_owned()
        }
        "ResourceConflictException" if message.contains("built from source") => {
            "that emulator serves this function from its project's source (edit the source \
             there), so deploy to another emulator or under another name"
                .to_owned()
        }
        "ResourceConflictException" if operation == "CreateFunction" => {
            "a function of this name was created meanwhile (another deploy?); deploy again"
                .to_owned()
        }
        "ResourceConflictException" => {
            "an update of the function is in progress; wait for it to finish and retry".to_owned()
        }
        "TooManyRequestsException" | "ThrottlingException" => {
            "AWS is throttling requests; retry later".to_owned()
        }
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch" => "AWS rejected the credentials: check the access key and \
                                      secret (and this machine's clock)"
            .to_owned(),
        "ExpiredTokenException" | "ExpiredToken" => {
            "the credentials have expired: refresh them (e.g. `aws sso login`)".to_owned()
        }
        "ResourceNotFoundException" => {
            "the function was deleted while deploying; deploy again".to_owned()
        }
        "RequestTooLargeException" | "RequestEntityTooLargeException" => {
            "a zip uploaded directly is limited to 50 MB: make bootstrap smaller (strip, opt-level \
             \"s\", fewer dependencies)"
                .to_owned()
        }
        "CodeStorageExceededException" => {
            "the account's code storage is full: delete old versions of functions".to_owned()
        }
        "ServiceException" => "Lambda failed internally; retry".to_owned(),
        _ => return None,
    };
    Some(hint)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aws_sdk_lambda::{
        error::{ConnectorError, ErrorMetadata},
        operation::get_function::{GetFunctionError, GetFunctionOutput},
        primitives::SdkBody,
        types::{FunctionConfiguration, State, StateReasonCode},
    };
    use aws_smithy_runtime_api::client::waiters::{
        FinalPoll,
        error::{ExceededMaxWait, FailureState},
    };

    use super::*;

    fn local() -> Endpoint {
        Endpoint::Url {
            url: "http://127.0.0.1:9001".into(),
            loopback: true,
        }
    }

    fn aws() -> Endpoint {
        Endpoint::Aws {
            region: "eu-west-1".into(),
        }
    }

    fn service(code: &str, message: &str) -> Cause {
        Cause::Service {
            code: Some(code.into()),
            message: Some(message.into()),
            status: Some(400),
        }
    }

    fn hint_for(operation: &str, cause: &Cause) -> String {
        hint(operation, cause, &aws()).unwrap_or_default()
    }

    fn get_function() -> Call {
        Call::GetFunction {
            function_name: "hello".into(),
        }
    }

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(status.try_into().expect("a status code"), SdkBody::empty())
    }

    #[test]
    fn access_denied_names_the_permission() {
        let denied = service(
            "AccessDeniedException",
            "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: \
             lambda:UpdateFunctionCode on resource: arn:aws:lambda:eu-west-1:123456789012:\
             function:hello",
        );
        assert_eq!(
            hint_for("UpdateFunctionCode", &denied),
            "the identity deploying needs the IAM permission lambda:UpdateFunctionCode on the \
             function"
        );
        let pass_role = service(
            "AccessDeniedException",
            "User: ci is not authorized to perform: iam:PassRole on resource: role/hello",
        );
        assert!(hint_for("CreateFunction", &pass_role).contains("iam:PassRole"));
    }

    #[test]
    fn role_problems() {
        let role = service(
            "InvalidParameterValueException",
            "The role defined for the function cannot be assumed by Lambda.",
        );
        assert!(hint_for("CreateFunction", &role).contains("trust lambda.amazonaws.com"));
        let memory = service(
            "InvalidParameterValueException",
            "'MemorySize' value failed to satisfy constraint",
        );
        assert_eq!(hint("CreateFunction", &memory, &aws()), None);
    }

    #[test]
    fn conflicts_and_throttling_say_retry() {
        let conflict = service(
            "ResourceConflictException",
            "The operation cannot be performed at this time. An update is in progress for \
             resource: arn:aws:lambda:eu-west-1:123456789012:function:hello",
        );
        assert!(hint_for("UpdateFunctionCode", &conflict).contains("in progress"));
        assert!(hint_for("UpdateFunctionCode", &conflict).contains("retry"));
        let throttled = service("TooManyRequestsException", "Rate exceeded");
        assert!(hint_for("GetFunction", &throttled).contains("retry later"));
        let created = service("ResourceConflictException", "Function already exist: hello");
        assert!(hint_for("CreateFunction", &created).contains("created meanwhile"));
        let project = service(
            "ResourceConflictException",
            "Function arn:… is built from source by this emulator; edit its code instead.",
        );
        assert!(hint_for("UpdateFunctionConfiguration", &project).contains("another name"));
    }

    #[test]
    fn publish_race() {
        let race = service(
            "InvalidParameterValueException",
            "CodeSHA256 (abc) is different from current CodeSHA256 in $LATEST (def).",
        );
        assert!(hint_for("PublishVersion", &race).contains("changed while deploying"));
    }

    #[test]
    fn rejected_credentials() {
        for code in ["UnrecognizedClientException", "InvalidSignatureException"] {
            assert!(hint_for("GetFunction", &service(code, "")).contains("rejected"));
        }
        assert!(hint_for("GetFunction", &service("ExpiredTokenException", "")).contains("expired"));
    }

    #[test]
    fn unknown_codes_get_no_hint() {
        assert_eq!(
            hint("GetFunction", &service("KMSDisabledException", ""), &aws()),
            None
        );
        let bare = Cause::Service {
            code: None,
            message: None,
            status: Some(503),
        };
        assert!(hint_for("GetFunction", &bare).contains("retry"));
    }

    #[test]
    fn unreachable_names_the_endpoint() {
        let cause = Cause::Unreachable("dispatch failure".into());
        let local = hint("GetFunction", &cause, &local()).unwrap_or_default();
        assert!(local.contains("is the endpoint running?"), "{local}");
        assert!(local.contains("http://127.0.0.1:9001"), "{local}");
        assert!(hint_for("GetFunction", &cause).contains("AWS Lambda in eu-west-1"));
    }

    #[test]
    fn no_credentials() {
        let cause = Cause::Credentials("no providers in chain provided credentials".into());
        let hint = hint_for("GetFunction", &cause);
        for needle in [
            "aws configure",
            "AWS_PROFILE",
            "AWS_ACCESS_KEY_ID",
            "--endpoint-url",
        ] {
            assert!(hint.contains(needle), "{needle}: {hint}");
        }
        let sso = Cause::Credentials(
            "This behavior requires following cargo feature(s) enabled: sso.".into(),
        );
        assert!(hint_for("GetFunction", &sso).contains("export-credentials"));
    }

    #[test]
    fn sdk_service_errors_keep_code_and_message() {
        let error = SdkError::service_error(
            GetFunctionError::generic(
                ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .message("not authorized to perform: lambda:GetFunction")
                    .build(),
            ),
            response(403),
        );
        let error = DeployError::from_sdk(&get_function(), &error, &aws());
        assert_eq!(error.what(), "GetFunction hello");
        assert_eq!(error.code(), Some("AccessDeniedException"));
        assert_eq!(
            error.message(),
            "not authorized to perform: lambda:GetFunction"
        );
        assert_eq!(
            error.to_string(),
            "GetFunction hello failed: AccessDeniedException: not authorized to perform: \
             lambda:GetFunction\nhint: the identity deploying needs the IAM permission \
             lambda:GetFunction on the function"
        );
    }

    #[test]
    fn sdk_errors_without_a_code_show_the_status() {
        let error: SdkError<GetFunctionError, HttpResponse> = SdkError::service_error(
            GetFunctionError::generic(ErrorMetadata::builder().build()),
            response(404),
        );
        let error = DeployError::from_sdk(&get_function(), &error, &local());
        assert_eq!(error.code(), None);
        assert_eq!(
            error.to_string(),
            "GetFunction hello failed: HTTP 404\nhint: the answer is not the Lambda API's: is \
             http://127.0.0.1:9001 a Lambda endpoint (the emulator's, not a function URL)?"
        );
    }

    #[test]
    fn sdk_credential_errors_are_recognised() {
        let error: SdkError<GetFunctionError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::other(
                CredentialsError::not_loaded("no providers in chain provided credentials").into(),
                None,
            ));
        let error = DeployError::from_sdk(&get_function(), &error, &aws());
        assert!(error.message().contains("no providers in chain"), "{error}");
        assert!(
            error
                .hint()
                .is_some_and(|hint| hint.contains("aws configure"))
        );
    }

    #[test]
    fn sdk_connection_errors_are_unreachable() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let error: SdkError<GetFunctionError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io(refused.into()));
        let error = DeployError::from_sdk(&get_function(), &error, &local());
        assert!(error.message().contains("refused"), "{error}");
        assert!(
            error
                .to_string()
                .contains("\nhint: is the endpoint running?")
        );
    }

    #[test]
    fn waits_that_end_in_failed() {
        let config = FunctionConfiguration::builder()
            .state(State::Failed)
            .state_reason_code(StateReasonCode::InvalidRuntime)
            .state_reason("The runtime parameter of provided.al2023 is not supported.")
            .build();
        let output = GetFunctionOutput::builder().configuration(config).build();
        let error = WaiterError::FailureState(FailureState::new(FinalPoll::new(Ok(output))));
        let wait = Call::WaitUntilActive {
            function_name: "hello".into(),
        };
        assert_eq!(
            DeployError::from_waiter(&wait, &error, &aws()).to_string(),
            "waiting for hello to become Active failed: InvalidRuntime: State is Failed: The \
             runtime parameter of provided.al2023 is not supported."
        );
    }

    #[test]
    fn waits_that_take_too_long() {
        let error = WaiterError::ExceededMaxWait(ExceededMaxWait::new(
            Duration::from_secs(300),
            Duration::from_secs(301),
            40,
        ));
        let wait = Call::WaitUntilUpdated {
            function_name: "hello".into(),
        };
        assert_eq!(
            DeployError::from_waiter(&wait, &error, &aws()).to_string(),
            "waiting for the update of hello to finish failed: still not done after 301 s\nhint: \
             see what the function is doing with `aws lambda get-function --function-name \
             hello`, then deploy again"
        );
    }

    #[test]
    fn errors_before_any_call() {
        let error = DeployError::no_region(Some("dev"));
        assert_eq!(
            error.to_string(),
            "choosing the AWS region failed: no region is configured for profile dev\nhint: pass \
             --region, set AWS_REGION, or set `region` in ~/.aws/config"
        );
        let error = DeployError::needs_role("hello");
        assert!(error.to_string().starts_with(
            "CreateFunction hello failed: a new function needs --role <execution role ARN>\n"
        ));
    }
}
