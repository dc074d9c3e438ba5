//! Handler errors and their conversion into Lambda error responses.

use std::{borrow::Cow, fmt};

use lambda_runtime::Diagnostic;

/// The error type for handlers that do not define their own: any error converts into it with
/// `?`, and it remembers the short name of the type it came from, which becomes the
/// `errorType` of the Lambda error response.
///
/// ```
/// # fn parse(s: &str) -> Result<u32, lambkin::Error> {
/// let n: u32 = s.parse()?; // errorType "ParseIntError"
/// # Ok(n) }
/// ```
pub struct Error {
    error_type: Cow<'static, str>,
    source: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl Error {
    /// An error with the given `errorType` and message, for full control of the response.
    pub fn new(error_type: impl Into<Cow<'static, str>>, message: impl fmt::Display) -> Self {
        Self {
            error_type: error_type.into(),
            source: message.to_string().into(),
        }
    }

    /// An error with a message only; its `errorType` is `Error`.
    pub fn msg(message: impl fmt::Display) -> Self {
        Self::new("Error", message)
    }

    /// The `errorType` this error is reported with.
    pub fn error_type(&self) -> &str {
        &self.error_type
    }

    /// The underlying error.
    pub fn source(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.source
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for Error {
    fn from(error: E) -> Self {
        Self {
            error_type: Cow::Borrowed(short_type_name::<E>()),
            source: Box::new(error),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {:?}", self.error_type, self.source)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.source, f)
    }
}

/// Conversion of a handler's error into the `{errorType, errorMessage}` Lambda reports.
///
/// Implemented for every [`std::error::Error`] (the `errorType` is the type's own name, e.g.
/// `ParseIntError`, never a `Box<dyn …>`) and for [`Error`]. Implement it for an error type
/// that is not a `std::error::Error` to choose the `errorType` yourself.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be reported as a Lambda error",
    label = "the handler's error type must implement `std::error::Error` or `lambkin::IntoDiagnostic`",
    note = "return `lambkin::Error` (any error converts into it with `?`), or implement `lambkin::IntoDiagnostic` for `{Self}`"
)]
pub trait IntoDiagnostic {
    /// The Lambda error response for this error.
    fn into_diagnostic(self) -> Diagnostic;
}

impl<E: std::error::Error> IntoDiagnostic for E {
    fn into_diagnostic(self) -> Diagnostic {
        Diagnostic {
            error_type: short_type_name::<E>().to_owned(),
            error_message: self.to_string(),
        }
    }
}

impl IntoDiagnostic for Error {
    fn into_diagnostic(self) -> Diagnostic {
        Diagnostic {
            error_type: self.error_type.into_owned(),
            error_message: self.source.to_string(),
        }
    }
}

/// `my_crate::errors::MyError<T>` → `MyError`: the name a reader of the error response knows.
pub(crate) fn short_type_name<T: ?Sized>() -> &'static str {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Custom;
    impl fmt::Display for Custom {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("custom failure")
        }
    }
    impl std::error::Error for Custom {}

    #[test]
    fn std_errors_report_their_short_type_name() {
        let err = "x".parse::<u32>().unwrap_err();
        let d = err.into_diagnostic();
        assert_eq!(d.error_type, "ParseIntError");
        assert_eq!(d.error_message, "invalid digit found in string");
        assert_eq!(Custom.into_diagnostic().error_type, "Custom");
    }

    #[test]
    fn lambkin_error_keeps_the_original_type_name() {
        let err: Error = Custom.into();
        assert_eq!(err.error_type(), "Custom");
        let d = err.into_diagnostic();
        assert_eq!(
            (d.error_type.as_str(), d.error_message.as_str()),
            ("Custom", "custom failure")
        );
        let d = Error::new("Validation", "name is empty").into_diagnostic();
        assert_eq!(
            (d.error_type.as_str(), d.error_message.as_str()),
            ("Validation", "name is empty")
        );
        assert_eq!(Error::msg("boom").into_diagnostic().error_type, "Error");
    }

    #[test]
    fn short_names_drop_paths_and_generics() {
        assert_eq!(short_type_name::<std::io::Error>(), "Error");
        assert_eq!(short_type_name::<Vec<std::io::Error>>(), "Vec");
        assert_eq!(short_type_name::<u8>(), "u8");
    }
}
