//! The readers' errors: [`ConfigError`] (a file, a position, a message, a hint) and the
//! position-less [`Problem`] the shared checks return before a reader places it.

use std::path::PathBuf;

/// What kind of problem a [`ConfigError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be read (missing, unreadable, not UTF-8).
    Read,
    /// The file is not valid YAML / TOML.
    Syntax,
    /// A field has the wrong type, a bad value, or a required field is missing.
    Invalid,
    /// An intrinsic function or variable the emulator cannot evaluate locally.
    Unresolved,
    /// Something the emulator cannot run (container images, code in S3, …).
    Unsupported,
    /// A function's code directory is missing or holds neither a Rust package nor an executable
    /// `bootstrap`.
    Code,
}

/// A configuration problem: which file, where in it, what is wrong, and what to do.
///
/// Displayed as `file:line:column: message (at `field`)`, then `hint: …` on its own line.
#[derive(Debug, thiserror::Error)]
#[error("{}", render(self))]
pub struct ConfigError {
    /// The file the problem is in.
    pub file: PathBuf,
    /// 1-based line, where known.
    pub line: Option<u32>,
    /// 1-based column, where known.
    pub column: Option<u32>,
    /// The field, as a dotted path (`Resources.Hello.Properties.Timeout`), where one applies.
    pub field: Option<String>,
    /// What kind of problem this is.
    pub kind: ErrorKind,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

/// A 1-based position as stored in [`ConfigError`] (saturating).
pub(crate) fn position(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn render(e: &ConfigError) -> String {
    let mut out = e.file.display().to_string();
    if let Some(line) = e.line {
        out.push_str(&format!(":{line}"));
        if let Some(column) = e.column {
            out.push_str(&format!(":{column}"));
        }
    }
    out.push_str(": ");
    out.push_str(&e.message);
    if let Some(field) = &e.field {
        out.push_str(&format!(" (at `{field}`)"));
    }
    if let Some(hint) = &e.hint {
        out.push_str("\n  hint: ");
        out.push_str(hint);
    }
    out
}

impl ConfigError {
    /// An error about a whole file (no position).
    pub fn new(file: impl Into<PathBuf>, kind: ErrorKind, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.into(),
            line: None,
            column: None,
            field: None,
            kind,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// A validation failure before it is given a file and a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    pub(crate) fn invalid(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Problem {
            kind: ErrorKind::Invalid,
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    pub(crate) fn code(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Problem {
            kind: ErrorKind::Code,
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}
