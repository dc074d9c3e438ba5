//! The sequence of calls that makes a deployment live.

use std::time::Duration;

use aws_sdk_lambda::{
    client::Waiters,
    config::http::{HttpRequest, HttpResponse},
    error::{ProvideErrorMetadata, SdkError},
    primitives::{Blob, SdkBody},
    types::{self, Environment, FunctionCode, FunctionUrlAuthType, PackageType, Runtime},
};

use crate::{
    Architecture, Call, Code, DeployError, Deployed, Deployment, HANDLER, InvokeMode, RUNTIME,
    UrlPermission,
    call::MAX_WAIT_MINUTES,
    client::{Connection, LOCAL_ROLE},
};

/// What [`Deployed`] holds where a dry run has nothing to show.
const DRY_RUN: &str = "(dry run)";

/// How long a waiter polls before giving up.
const MAX_WAIT: Duration = Duration::from_secs(MAX_WAIT_MINUTES * 60);

/// One deployment in progress.
pub(crate) struct Flow<'a> {
    pub(crate) connection: &'a Connection,
    pub(crate) deployment: &'a Deployment,
    pub(crate) code: Code,
    pub(crate) dry_run: bool,
    pub(crate) progress: &'a mut (dyn FnMut(&Call) + Send),
}

/// What `GetFunction` said about a function that exists.
struct Existing {
    arn: String,
    image: bool,
    pending: bool,
    updating: bool,
}

impl Flow<'_> {
    pub(crate) async fn run(mut self) -> Result<Deployed, DeployError> {
        let existing = self.get_function().await?;
        let created = existing.is_none();
        let function_arn = match existing {
            None => self.create().await?,
            Some(existing) => {
                self.update(&existing).await?;
                existing.arn
            }
        };
        let version = self.publish().await?;
        let function_url = if self.deployment.function_url {
            self.function_url(created).await?
        } else {
            None
        };
        Ok(Deployed {
            function_arn,
            version,
            created,
            function_url,
            dry_run: self.dry_run,
        })
    }

    /// Reports `call`, and tells whether to make it: a dry run makes only the reads.
    fn announce(&mut self, call: &Call) -> bool {
        (self.progress)(call);
        !self.dry_run
            || matches!(
                call,
                Call::GetFunction { .. } | Call::GetFunctionUrlConfig { .. }
            )
    }

    fn name(&self) -> String {
        self.deployment.function_name.clone()
    }

    fn env_names(&self) -> Vec<String> {
        self.deployment.env.keys().cloned().collect()
    }

    fn environment(&self) -> Environment {
        let variables = self.deployment.env.clone().into_iter().collect();
        Environment::builder()
            .set_variables(Some(variables))
            .build()
    }

    fn zip(&self) -> Blob {
        Blob::new(self.deployment.zip.clone())
    }

    /// `GetFunction`: `None` if the function does not exist.
    async fn get_function(&mut self) -> Result<Option<Existing>, DeployError> {
        let connection = self.connection;
        let call = Call::GetFunction {
            function_name: self.name(),
        };
        self.announce(&call);
        let result = connection
            .client
            .get_function()
            .function_name(call.function_name())
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(error) if has_code(&error, NOT_FOUND) => return Ok(None),
            Err(error) => return Err(DeployError::from_sdk(&call, &error, &connection.endpoint)),
        };
        let config = output.configuration();
        Ok(Some(Existing {
            arn: config
                .and_then(|config| config.function_arn())
                .unwrap_or(call.function_name())
                .to_owned(),
            image: config.and_then(|config| config.package_type()) == Some(&PackageType::Image),
            pending: config.and_then(|config| config.state()) == Some(&types::State::Pending),
            updating: config.and_then(|config| config.last_update_status())
                == Some(&types::LastUpdateStatus::InProgress),
        }))
    }

    /// `CreateFunction`, then waits until it is `Active`. Returns its ARN.
    async fn create(&mut self) -> Result<String, DeployError> {
        let connection = self.connection;
        let deployment = self.deployment;
        let role = match &deployment.role {
            Some(role) => role.clone(),
            None if connection.endpoint.is_loopback() => LOCAL_ROLE.to_owned(),
            None => return Err(DeployError::needs_role(&deployment.function_name)),
        };
        let call = Call::CreateFunction {
            function_name: self.name(),
            architecture: deployment.architecture,
            memory_mb: deployment.memory_mb,
            timeout_secs: deployment.timeout_secs,
            code: self.code,
            role: role.clone(),
            env: self.env_names(),
        };
        let arn = if self.announce(&call) {
            let output = connection
                .client
                .create_function()
                .function_name(call.function_name())
                .runtime(Runtime::from(RUNTIME))
                .handler(HANDLER)
                .package_type(PackageType::Zip)
                .role(role)
                .code(FunctionCode::builder().zip_file(self.zip()).build())
                .architectures(architecture(deployment.architecture))
                .memory_size(deployment.memory_mb)
                .timeout(deployment.timeout_secs)
                .environment(self.environment())
                .send()
                .await
                .map_err(|error| DeployError::from_sdk(&call, &error, &connection.endpoint))?;
            output.function_arn().unwrap_or_default().to_owned()
        } else {
            DRY_RUN.to_owned()
        };
        self.wait(Call::WaitUntilActive {
            function_name: self.name(),
        })
        .await?;
        Ok(arn)
    }

    /// `UpdateFunctionConfiguration` and `UpdateFunctionCode`, each followed by a wait for the
    /// update to finish.
    async fn update(&mut self, existing: &Existing) -> Result<(), DeployError> {
        let connection = self.connection;
        let deployment = self.deployment;
        if existing.image {
            return Err(DeployError::not_zip(&deployment.function_name));
        }
        // Whatever changed the function last (an earlier deploy, the console) must finish first.
        if existing.pending {
            self.wait(Call::WaitUntilActive {
                function_name: self.name(),
            })
            .await?;
        } else if existing.updating {
            self.wait(Call::WaitUntilUpdated {
                function_name: self.name(),
            })
            .await?;
        }

        let call = Call::UpdateFunctionConfiguration {
            function_name: self.name(),
            memory_mb: deployment.memory_mb,
            timeout_secs: deployment.timeout_secs,
            env: self.env_names(),
            role: deployment.role.clone(),
        };
        if self.announce(&call) {
            connection
                .client
                .update_function_configuration()
                .function_name(call.function_name())
                .runtime(Runtime::from(RUNTIME))
                .handler(HANDLER)
                .memory_size(deployment.memory_mb)
                .timeout(deployment.timeout_secs)
                .environment(self.environment())
                .set_role(deployment.role.clone())
                .send()
                .await
                .map_err(|error| DeployError::from_sdk(&call, &error, &connection.endpoint))?;
        }
        self.wait(Call::WaitUntilUpdated {
            function_name: self.name(),
        })
        .await?;

        let call = Call::UpdateFunctionCode {
            function_name: self.name(),
            architecture: deployment.architecture,
            code: self.code,
        };
        if self.announce(&call) {
            connection
                .client
                .update_function_code()
                .function_name(call.function_name())
                .zip_file(self.zip())
                .architectures(architecture(deployment.architecture))
                .send()
                .await
                .map_err(|error| DeployError::from_sdk(&call, &error, &connection.endpoint))?;
        }
        self.wait(Call::WaitUntilUpdated {
            function_name: self.name(),
        })
        .await
    }

    /// Polls `GetFunction` as `call` (a `WaitUntil…`) says.
    async fn wait(&mut self, call: Call) -> Result<(), DeployError> {
        let connection = self.connection;
        if !self.announce(&call) {
            return Ok(());
        }
        let client = &connection.client;
        let name = call.function_name();
        let result = match call {
            Call::WaitUntilActive { .. } => {
                client
                    .wait_until_function_active_v2()
                    .function_name(name)
                    .wait(MAX_WAIT)
                    .await
            }
            _ => {
                client
                    .wait_until_function_updated_v2()
                    .function_name(name)
                    .wait(MAX_WAIT)
                    .await
            }
        };
        result
            .map(drop)
            .map_err(|error| DeployError::from_waiter(&call, &error, &connection.endpoint))
    }

    /// `PublishVersion` of the code just uploaded. Returns the version.
    async fn publish(&mut self) -> Result<String, DeployError> {
        let connection = self.connection;
        let call = Call::PublishVersion {
            function_name: self.name(),
            code: self.code,
        };
        if !self.announce(&call) {
            return Ok(DRY_RUN.to_owned());
        }
        let output = connection
            .client
            .publish_version()
            .function_name(call.function_name())
            .code_sha256(self.code.code_sha256())
            .send()
            .await
            .map_err(|error| DeployError::from_sdk(&call, &error, &connection.endpoint))?;
        Ok(output.version().unwrap_or_default().to_owned())
    }

    /// The function's URL, created (with `AuthType` `NONE`) if it has none. A function just
    /// `created` has none, so is not asked.
    async fn function_url(&mut self, created: bool) -> Result<Option<String>, DeployError> {
        let connection = self.connection;
        if !created {
            let call = Call::GetFunctionUrlConfig {
                function_name: self.name(),
            };
            self.announce(&call);
            let result = connection
                .client
                .get_function_url_config()
                .function_name(call.function_name())
                .send()
                .await;
            match result {
                Ok(output) => {
                    let url = output.function_url().to_owned();
                    // A URL created before InvokeMode existed says nothing: BUFFERED. With no
                    // mode asked for, the URL keeps the one it has.
                    let current = output.invoke_mode().map_or("BUFFERED", |m| m.as_str());
                    if let Some(mode) = self.deployment.url_invoke_mode
                        && current != mode.as_str()
                    {
                        self.update_url_invoke_mode(mode).await?;
                    }
                    return Ok(Some(url));
                }
                Err(error) if has_code(&error, NOT_FOUND) => {}
                Err(error) => {
                    return Err(DeployError::from_sdk(&call, &error, &connection.endpoint));
                }
            }
        }

        // Lambda's default when none is asked for.
        let invoke_mode = self.deployment.url_invoke_mode.unwrap_or_default();
        let call = Call::CreateFunctionUrlConfig {
            function_name: self.name(),
            invoke_mode,
        };
        let url = if self.announce(&call) {
            let output = connection
                .client
                .create_function_url_config()
                .function_name(call.function_name())
                .auth_type(FunctionUrlAuthType::None)
                .invoke_mode(types::InvokeMode::from(invoke_mode.as_str()))
                .send()
                .await
                .map_err(|error| DeployError::from_sdk(&call, &error, &connection.endpoint))?;
            Some(output.function_url().to_owned())
        } else {
            None
        };
        // AWS answers 403 on a URL without these statements (the emulator records them).
        for permission in UrlPermission::ALL {
            self.add_permission(permission).await?;
        }
        Ok(url)
    }

    /// `UpdateFunctionUrlConfig` to `invoke_mode`.
    async fn update_url_invoke_mode(&mut self, invoke_mode: InvokeMode) -> Result<(), DeployError> {
        let connection = self.connection;
        let call = Call::UpdateFunctionUrlConfig {
            function_name: self.name(),
            invoke_mode,
        };
        if self.announce(&call) {
            connection
                .client
                .update_function_url_config()
                .function_name(call.function_name())
                .invoke_mode(types::InvokeMode::from(invoke_mode.as_str()))
                .send()
                .await
                .map_err(|error| DeployError::from_sdk(&call, &error, &connection.endpoint))?;
        }
        Ok(())
    }

    /// `AddPermission` for one statement of a public URL's policy; one already there is fine.
    async fn add_permission(&mut self, permission: UrlPermission) -> Result<(), DeployError> {
        let connection = self.connection;
        let call = Call::AddPermission {
            function_name: self.name(),
            permission,
        };
        if !self.announce(&call) {
            return Ok(());
        }
        let request = connection
            .client
            .add_permission()
            .function_name(call.function_name())
            .statement_id(permission.statement_id())
            .action(permission.action())
            .principal("*");
        let result = match permission {
            UrlPermission::InvokeFunctionUrl => {
                request
                    .function_url_auth_type(FunctionUrlAuthType::None)
                    .send()
                    .await
            }
            UrlPermission::InvokeFunctionViaUrl => {
                request
                    .customize()
                    .mutate_request(invoked_via_function_url)
                    .send()
                    .await
            }
        };
        match result {
            Ok(_) => Ok(()),
            // The statement ID is taken: an earlier deploy (or the console) added it.
            Err(error) if has_code(&error, "ResourceConflictException") => Ok(()),
            Err(error) => Err(DeployError::from_sdk(&call, &error, &connection.endpoint)),
        }
    }
}

/// Lambda's answer for a function (or function URL) that does not exist.
const NOT_FOUND: &str = "ResourceNotFoundException";

/// Whether Lambda answered with the error `code`.
fn has_code<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>, code: &str) -> bool {
    error.code() == Some(code)
}

fn architecture(architecture: Architecture) -> types::Architecture {
    match architecture {
        Architecture::X86_64 => types::Architecture::X8664,
        Architecture::Arm64 => types::Architecture::Arm64,
    }
}

/// Adds `"InvokedViaFunctionUrl": true` to a serialized `AddPermission` request, which limits the
/// statement to calls through the function URL.
///
/// The member is newer than the SDK releases that build with Rust 1.85; once the crate's
/// `rust-version` allows an `aws-sdk-lambda` that has it, `.invoked_via_function_url(true)` on the
/// builder replaces this.
fn invoked_via_function_url(request: &mut HttpRequest) {
    const MEMBER: &[u8] = br#","InvokedViaFunctionUrl":true}"#;
    let Some(body) = request.body().bytes() else {
        return;
    };
    // The body is a JSON object with at least the required Action, Principal and StatementId.
    let Some(end) = body.iter().rposition(|&byte| byte == b'}') else {
        return;
    };
    let mut patched = Vec::with_capacity(end + MEMBER.len());
    patched.extend_from_slice(&body[..end]);
    patched.extend_from_slice(MEMBER);
    let length = patched.len();
    *request.body_mut() = SdkBody::from(patched);
    request
        .headers_mut()
        .insert("content-length", length.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoked_via_function_url_extends_the_json_body() {
        let body = r#"{"Action":"lambda:InvokeFunction","Principal":"*","StatementId":"s"}"#;
        let mut request = HttpRequest::new(SdkBody::from(body));
        request
            .headers_mut()
            .insert("content-length", body.len().to_string());
        invoked_via_function_url(&mut request);
        let patched = r#"{"Action":"lambda:InvokeFunction","Principal":"*","StatementId":"s","InvokedViaFunctionUrl":true}"#;
        assert_eq!(request.body().bytes(), Some(patched.as_bytes()));
        assert_eq!(
            request.headers().get("content-length"),
            Some(patched.len().to_string().as_str())
        );
    }
}
