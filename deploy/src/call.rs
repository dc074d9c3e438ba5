//! The AWS calls a deployment makes, as reported to its `progress` callback.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::{Architecture, InvokeMode, RUNTIME};

/// How long to wait for a function to become `Active` or finish an update.
pub(crate) const MAX_WAIT_MINUTES: u64 = 5;

/// One AWS call a deployment makes, or in a dry run would make.
///
/// `Display` gives a one-line summary, e.g.
/// `CreateFunction hello (provided.al2023, x86_64, 128 MB, 3 s, zip 1.2 MiB sha256 ab12cd34…)`.
/// Environment variables are listed by name only: their values may be secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Call {
    /// `GetFunction`: does the function exist, and in what state.
    GetFunction {
        /// The function.
        function_name: String,
    },
    /// `GetFunction`, repeated until the function's `State` is `Active` (after creating it).
    WaitUntilActive {
        /// The function.
        function_name: String,
    },
    /// `GetFunction`, repeated until the function's `LastUpdateStatus` is `Successful` (after
    /// changing it).
    WaitUntilUpdated {
        /// The function.
        function_name: String,
    },
    /// `CreateFunction` with runtime [`RUNTIME`], handler [`HANDLER`](crate::HANDLER) and package type `Zip`.
    CreateFunction {
        /// The function.
        function_name: String,
        /// Its instruction set.
        architecture: Architecture,
        /// Memory size in MB.
        memory_mb: i32,
        /// Timeout in seconds.
        timeout_secs: i32,
        /// The zip uploaded.
        code: Code,
        /// The execution role's ARN.
        role: String,
        /// The names of the environment variables set.
        env: Vec<String>,
    },
    /// `UpdateFunctionConfiguration` with runtime [`RUNTIME`] and handler
    /// [`HANDLER`](crate::HANDLER).
    UpdateFunctionConfiguration {
        /// The function.
        function_name: String,
        /// Memory size in MB.
        memory_mb: i32,
        /// Timeout in seconds.
        timeout_secs: i32,
        /// The names of the environment variables the function is left with.
        env: Vec<String>,
        /// The new execution role, if it changes.
        role: Option<String>,
    },
    /// `UpdateFunctionCode` with a zip.
    UpdateFunctionCode {
        /// The function.
        function_name: String,
        /// The instruction set.
        architecture: Architecture,
        /// The zip uploaded.
        code: Code,
    },
    /// `PublishVersion`, only if `$LATEST` still holds `code`.
    PublishVersion {
        /// The function.
        function_name: String,
        /// The zip just uploaded.
        code: Code,
    },
    /// `GetFunctionUrlConfig`: does the function have a URL.
    GetFunctionUrlConfig {
        /// The function.
        function_name: String,
    },
    /// `CreateFunctionUrlConfig` with `AuthType` `NONE`.
    CreateFunctionUrlConfig {
        /// The function.
        function_name: String,
        /// How the URL answers.
        invoke_mode: InvokeMode,
    },
    /// `UpdateFunctionUrlConfig` of an existing URL that answers otherwise.
    UpdateFunctionUrlConfig {
        /// The function.
        function_name: String,
        /// How the URL is to answer.
        invoke_mode: InvokeMode,
    },
    /// `AddPermission`: one statement of the policy that lets anyone call a public URL.
    AddPermission {
        /// The function.
        function_name: String,
        /// The statement added.
        permission: UrlPermission,
    },
}

impl Call {
    /// The Lambda API operation, e.g. `UpdateFunctionCode`.
    pub fn operation(&self) -> &'static str {
        match self {
            Call::GetFunction { .. }
            | Call::WaitUntilActive { .. }
            | Call::WaitUntilUpdated { .. } => "GetFunction",
            Call::CreateFunction { .. } => "CreateFunction",
            Call::UpdateFunctionConfiguration { .. } => "UpdateFunctionConfiguration",
            Call::UpdateFunctionCode { .. } => "UpdateFunctionCode",
            Call::PublishVersion { .. } => "PublishVersion",
            Call::GetFunctionUrlConfig { .. } => "GetFunctionUrlConfig",
            Call::CreateFunctionUrlConfig { .. } => "CreateFunctionUrlConfig",
            Call::UpdateFunctionUrlConfig { .. } => "UpdateFunctionUrlConfig",
            Call::AddPermission { .. } => "AddPermission",
        }
    }

    /// The function the call is about.
    pub fn function_name(&self) -> &str {
        match self {
            Call::GetFunction { function_name }
            | Call::WaitUntilActive { function_name }
            | Call::WaitUntilUpdated { function_name }
            | Call::CreateFunction { function_name, .. }
            | Call::UpdateFunctionConfiguration { function_name, .. }
            | Call::UpdateFunctionCode { function_name, .. }
            | Call::PublishVersion { function_name, .. }
            | Call::GetFunctionUrlConfig { function_name }
            | Call::CreateFunctionUrlConfig { function_name, .. }
            | Call::UpdateFunctionUrlConfig { function_name, .. }
            | Call::AddPermission { function_name, .. } => function_name,
        }
    }

    /// Whether the call changes anything. A dry run reports these without making them (and skips
    /// the waits, which have nothing to wait for).
    pub fn is_mutating(&self) -> bool {
        !matches!(
            self,
            Call::GetFunction { .. }
                | Call::WaitUntilActive { .. }
                | Call::WaitUntilUpdated { .. }
                | Call::GetFunctionUrlConfig { .. }
        )
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.operation(), self.function_name())?;
        match self {
            Call::GetFunction { .. } | Call::GetFunctionUrlConfig { .. } => Ok(()),
            Call::CreateFunctionUrlConfig { invoke_mode, .. }
            | Call::UpdateFunctionUrlConfig { invoke_mode, .. } => {
                write!(f, " (InvokeMode {invoke_mode})")
            }
            Call::WaitUntilActive { .. } => {
                write!(f, " until State is Active (at most {MAX_WAIT_MINUTES} min)")
            }
            Call::WaitUntilUpdated { .. } => write!(
                f,
                " until LastUpdateStatus is Successful (at most {MAX_WAIT_MINUTES} min)"
            ),
            Call::CreateFunction {
                architecture,
                memory_mb,
                timeout_secs,
                code,
                role,
                env,
                ..
            } => write!(
                f,
                " ({RUNTIME}, {architecture}, {memory_mb} MB, {timeout_secs} s, {code}, role \
                 {role}, {})",
                EnvNames(env)
            ),
            Call::UpdateFunctionConfiguration {
                memory_mb,
                timeout_secs,
                env,
                role,
                ..
            } => {
                write!(
                    f,
                    " ({RUNTIME}, {memory_mb} MB, {timeout_secs} s, {}",
                    EnvNames(env)
                )?;
                if let Some(role) = role {
                    write!(f, ", role {role}")?;
                }
                f.write_str(")")
            }
            Call::UpdateFunctionCode {
                architecture, code, ..
            } => write!(f, " ({architecture}, {code})"),
            Call::PublishVersion { code, .. } => {
                write!(
                    f,
                    " (only if $LATEST is sha256 {}…)",
                    Hex(&code.sha256[..4])
                )
            }
            Call::AddPermission { permission, .. } => write!(f, " ({permission})"),
        }
    }
}

/// `env A,B` or `no env`.
struct EnvNames<'a>(&'a [String]);

impl fmt::Display for EnvNames<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("no env")
        } else {
            write!(f, "env {}", self.0.join(","))
        }
    }
}

/// A zip as Lambda identifies it: its size and SHA-256.
///
/// `Display` gives e.g. `zip 1.2 MiB sha256 ab12cd34…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 digest.
    pub sha256: [u8; 32],
}

impl Code {
    /// The size and digest of `zip`.
    pub fn of(zip: &[u8]) -> Code {
        Code {
            size: zip.len() as u64,
            sha256: Sha256::digest(zip).into(),
        }
    }

    /// The digest as Lambda's `CodeSha256` shows it: base64.
    pub fn code_sha256(&self) -> String {
        aws_smithy_types::base64::encode(self.sha256)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "zip {} sha256 {}…",
            Size(self.size),
            Hex(&self.sha256[..4])
        )
    }
}

/// A byte count in B, KiB or MiB.
struct Size(u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const KIB: u64 = 1024;
        const MIB: u64 = 1024 * KIB;
        match self.0 {
            n if n < KIB => write!(f, "{n} B"),
            n if n < MIB => write!(f, "{:.1} KiB", n as f64 / KIB as f64),
            n => write!(f, "{:.1} MiB", n as f64 / MIB as f64),
        }
    }
}

/// Bytes as lowercase hex.
struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

/// A statement of the resource-based policy that a function URL with `AuthType` `NONE` needs
/// before it answers anyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlPermission {
    /// `lambda:InvokeFunctionUrl` for principal `*`, when the URL's `AuthType` is `NONE`.
    InvokeFunctionUrl,
    /// `lambda:InvokeFunction` for principal `*`, only through the function URL (required for
    /// URLs created since October 2025).
    InvokeFunctionViaUrl,
}

impl UrlPermission {
    /// Both statements, in the order they are added.
    pub(crate) const ALL: [UrlPermission; 2] = [
        UrlPermission::InvokeFunctionUrl,
        UrlPermission::InvokeFunctionViaUrl,
    ];

    /// The statement's ID: the one the Lambda console uses, so a statement the console added is
    /// recognised as already there.
    pub fn statement_id(self) -> &'static str {
        match self {
            UrlPermission::InvokeFunctionUrl => "FunctionURLAllowPublicAccess",
            UrlPermission::InvokeFunctionViaUrl => "FunctionURLAllowInvokeAction",
        }
    }

    /// The action allowed.
    pub fn action(self) -> &'static str {
        match self {
            UrlPermission::InvokeFunctionUrl => "lambda:InvokeFunctionUrl",
            UrlPermission::InvokeFunctionViaUrl => "lambda:InvokeFunction",
        }
    }
}

impl fmt::Display for UrlPermission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let condition = match self {
            UrlPermission::InvokeFunctionUrl => "FunctionUrlAuthType is NONE",
            UrlPermission::InvokeFunctionViaUrl => "invoked via the function URL",
        };
        write!(
            f,
            "{} {} for * if {condition}",
            self.statement_id(),
            self.action()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code() -> Code {
        let mut sha256 = [0; 32];
        sha256[..4].copy_from_slice(&[0xab, 0x12, 0xcd, 0x34]);
        Code {
            size: 1_258_291,
            sha256,
        }
    }

    fn env(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn create_function() {
        let call = Call::CreateFunction {
            function_name: "hello".into(),
            architecture: Architecture::X86_64,
            memory_mb: 128,
            timeout_secs: 3,
            code: code(),
            role: "arn:aws:iam::123456789012:role/hello".into(),
            env: env(&["A", "B"]),
        };
        assert_eq!(
            call.to_string(),
            "CreateFunction hello (provided.al2023, x86_64, 128 MB, 3 s, zip 1.2 MiB sha256 \
             ab12cd34…, role arn:aws:iam::123456789012:role/hello, env A,B)"
        );
        assert!(call.is_mutating());
    }

    #[test]
    fn update_function_configuration() {
        let mut call = Call::UpdateFunctionConfiguration {
            function_name: "hello".into(),
            memory_mb: 512,
            timeout_secs: 30,
            env: Vec::new(),
            role: None,
        };
        assert_eq!(
            call.to_string(),
            "UpdateFunctionConfiguration hello (provided.al2023, 512 MB, 30 s, no env)"
        );
        if let Call::UpdateFunctionConfiguration { env: e, role, .. } = &mut call {
            *e = env(&["RUST_LOG"]);
            *role = Some("arn:aws:iam::123456789012:role/r".into());
        }
        assert_eq!(
            call.to_string(),
            "UpdateFunctionConfiguration hello (provided.al2023, 512 MB, 30 s, env RUST_LOG, role \
             arn:aws:iam::123456789012:role/r)"
        );
    }

    #[test]
    fn code_and_publish() {
        let update = Call::UpdateFunctionCode {
            function_name: "hello".into(),
            architecture: Architecture::Arm64,
            code: Code {
                size: 512,
                ..code()
            },
        };
        assert_eq!(
            update.to_string(),
            "UpdateFunctionCode hello (arm64, zip 512 B sha256 ab12cd34…)"
        );
        let publish = Call::PublishVersion {
            function_name: "hello".into(),
            code: code(),
        };
        assert_eq!(
            publish.to_string(),
            "PublishVersion hello (only if $LATEST is sha256 ab12cd34…)"
        );
    }

    #[test]
    fn reads_and_waits() {
        let name = || "hello".to_string();
        let cases = [
            (
                Call::GetFunction {
                    function_name: name(),
                },
                "GetFunction hello",
            ),
            (
                Call::WaitUntilActive {
                    function_name: name(),
                },
                "GetFunction hello until State is Active (at most 5 min)",
            ),
            (
                Call::WaitUntilUpdated {
                    function_name: name(),
                },
                "GetFunction hello until LastUpdateStatus is Successful (at most 5 min)",
            ),
            (
                Call::GetFunctionUrlConfig {
                    function_name: name(),
                },
                "GetFunctionUrlConfig hello",
            ),
        ];
        for (call, display) in cases {
            assert_eq!(call.to_string(), display);
            assert!(!call.is_mutating(), "{call}");
        }
    }

    #[test]
    fn function_url() {
        let create = Call::CreateFunctionUrlConfig {
            function_name: "hello".into(),
            invoke_mode: InvokeMode::Buffered,
        };
        assert_eq!(
            create.to_string(),
            "CreateFunctionUrlConfig hello (InvokeMode BUFFERED)"
        );
        let update = Call::UpdateFunctionUrlConfig {
            function_name: "hello".into(),
            invoke_mode: InvokeMode::ResponseStream,
        };
        assert_eq!(
            update.to_string(),
            "UpdateFunctionUrlConfig hello (InvokeMode RESPONSE_STREAM)"
        );
        assert!(update.is_mutating());
        let [url, invoke] = UrlPermission::ALL.map(|permission| Call::AddPermission {
            function_name: "hello".into(),
            permission,
        });
        assert_eq!(
            url.to_string(),
            "AddPermission hello (FunctionURLAllowPublicAccess lambda:InvokeFunctionUrl for * if \
             FunctionUrlAuthType is NONE)"
        );
        assert_eq!(
            invoke.to_string(),
            "AddPermission hello (FunctionURLAllowInvokeAction lambda:InvokeFunction for * if \
             invoked via the function URL)"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(Size(0).to_string(), "0 B");
        assert_eq!(Size(1023).to_string(), "1023 B");
        assert_eq!(Size(1536).to_string(), "1.5 KiB");
        assert_eq!(Size(50 * 1024 * 1024).to_string(), "50.0 MiB");
    }

    #[test]
    fn code_sha256_is_lambdas_base64() {
        // `printf hello | openssl dgst -sha256 -binary | base64`
        let code = Code::of(b"hello");
        assert_eq!(code.size, 5);
        assert_eq!(
            code.code_sha256(),
            "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="
        );
        assert_eq!(code.to_string(), "zip 5 B sha256 2cf24dba…");
    }
}
