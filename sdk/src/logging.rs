//! The tracing subscriber every function gets unless it opts out (`logging = false`):
//! Text or JSON per `AWS_LAMBDA_LOG_FORMAT`, level per `AWS_LAMBDA_LOG_LEVEL` then `RUST_LOG`.
//! `lambda_runtime` opens a span per invocation carrying `requestId`, so every line logged
//! while handling an event names it.

use std::io::IsTerminal;

use tracing_subscriber::{
    EnvFilter,
    filter::{FilterExt, filter_fn},
    fmt,
    prelude::*,
};

/// Where `lambda_runtime` opens the per-invocation span that carries `requestId`.
const INVOCATION_SPAN_TARGET: &str = "lambda_runtime::layers::trace";

/// Log line format, as Lambda's advanced logging controls name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Text,
    Json,
}

/// Reads the format and the filter from the variables Lambda sets.
pub(crate) fn settings(var: impl Fn(&str) -> Option<String>) -> (Format, String) {
    let format = match var("AWS_LAMBDA_LOG_FORMAT") {
        Some(f) if f.eq_ignore_ascii_case("json") => Format::Json,
        _ => Format::Text,
    };
    let lambda_level = var("AWS_LAMBDA_LOG_LEVEL").and_then(|level| {
        Some(match level.to_ascii_uppercase().as_str() {
            "TRACE" => "trace",
            "DEBUG" => "debug",
            "INFO" => "info",
            "WARN" => "warn",
            // tracing has no FATAL; its errors are the closest.
            "ERROR" | "FATAL" => "error",
            _ => return None,
        })
    });
    let filter = match (lambda_level, var("RUST_LOG")) {
        (Some(level), _) => level.to_owned(),
        (None, Some(directives)) if !directives.is_empty() => directives,
        _ => "info".to_owned(),
    };
    (format, filter)
}

/// Installs the subscriber and a panic hook that logs through it (so the panic line carries the
/// request id too). Does nothing if the program already installed a subscriber.
pub(crate) fn init() {
    let (format, filter) = settings(|name| std::env::var(name).ok());
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|e| {
        eprintln!("lambkin: ignoring invalid log filter {filter:?}: {e}");
        EnvFilter::new("info")
    });
    // The invocation span is INFO: keep it at any level, so WARN and ERROR lines still name
    // their request.
    let filter = filter.or(filter_fn(|meta| {
        meta.is_span() && meta.target() == INVOCATION_SPAN_TARGET
    }));
    let layer = fmt::layer().with_writer(std::io::stdout);
    let installed = match format {
        Format::Text => {
            let layer = layer.with_ansi(std::io::stdout().is_terminal());
            tracing_subscriber::registry()
                .with(layer.with_filter(filter))
                .try_init()
        }
        Format::Json => {
            let layer = layer
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false);
            tracing_subscriber::registry()
                .with(layer.with_filter(filter))
                .try_init()
        }
    };
    if installed.is_ok() {
        std::panic::set_hook(Box::new(|info| {
            let message = crate::panic::message(info.payload()).unwrap_or("Box<dyn Any>");
            let location = info.location().map(ToString::to_string).unwrap_or_default();
            tracing::error!(%location, "panicked: {message}");
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn defaults_to_text_at_info() {
        assert_eq!(settings(vars(&[])), (Format::Text, "info".to_owned()));
    }

    #[test]
    fn lambda_settings_win_over_rust_log() {
        let env = [
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "FATAL"),
            ("RUST_LOG", "debug"),
        ];
        assert_eq!(settings(vars(&env)), (Format::Json, "error".to_owned()));
    }

    #[test]
    fn rust_log_applies_without_a_lambda_level() {
        let env = [
            ("AWS_LAMBDA_LOG_LEVEL", "LOUD"),
            ("RUST_LOG", "my_fn=trace"),
        ];
        assert_eq!(
            settings(vars(&env)),
            (Format::Text, "my_fn=trace".to_owned())
        );
    }
}
