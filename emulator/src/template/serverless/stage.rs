//! `provider.stage`: the stage of the REST API of `http` events (default `dev`, as the framework
//! deploys). The usual `${opt:stage, 'dev'}` takes its fallback, since no `--stage` option is
//! given locally; any other variable is an error. `httpApi` events are served by the HTTP API's
//! `$default` stage, as the framework deploys them.

use serde_yaml::{Mapping, Value};

use super::super::ConfigError;
use super::super::yaml::YPath;
use super::Reader;
use crate::apigw::Stage;

/// The framework's stage when none is given.
const DEFAULT_STAGE: &str = "dev";

impl Reader<'_> {
    /// The REST API's stage: `provider.stage`, else `dev`.
    pub(super) fn stage(
        &self,
        provider: &Mapping,
        provider_path: &YPath,
    ) -> Result<Stage, ConfigError> {
        let path = provider_path.key("stage");
        let what = "provider.stage";
        let name = match provider.get("stage") {
            None | Some(Value::Null) => DEFAULT_STAGE.to_owned(),
            Some(v) => match v.as_str().and_then(option_fallback) {
                Some(fallback) => fallback,
                None => self
                    .text(v, &path, what)?
                    .unwrap_or_else(|| DEFAULT_STAGE.to_owned()),
            },
        };
        Stage::check_name(&name, false).map_err(|message| {
            self.src.invalid(
                &path,
                format!("{what}: {message}"),
                "a stage name is letters, digits, `-` and `_`, e.g. stage: dev",
            )
        })?;
        Ok(Stage::named(name))
    }
}

/// The fallback of `${opt:stage, 'dev'}` (the quotes may be `"` or none): `dev`; `None` for
/// any other text.
fn option_fallback(text: &str) -> Option<String> {
    let inner = text.trim().strip_prefix("${")?.strip_suffix('}')?;
    let (source, fallback) = inner.split_once(',')?;
    if source.trim() != "opt:stage" {
        return None;
    }
    let fallback = fallback.trim();
    let unquoted = ['\'', '"']
        .iter()
        .find_map(|q| fallback.strip_prefix(*q)?.strip_suffix(*q))
        .unwrap_or(fallback);
    (!unquoted.is_empty() && !unquoted.contains("${")).then(|| unquoted.to_owned())
}

#[cfg(test)]
mod tests {
    use super::option_fallback;

    #[test]
    fn the_stage_option_takes_its_fallback() {
        assert_eq!(
            option_fallback("${opt:stage, 'dev'}").as_deref(),
            Some("dev")
        );
        assert_eq!(
            option_fallback("${opt:stage,\"qa\"}").as_deref(),
            Some("qa")
        );
        assert_eq!(
            option_fallback("${opt:stage, prod}").as_deref(),
            Some("prod")
        );
        assert_eq!(option_fallback("${opt:stage}"), None);
        assert_eq!(option_fallback("${env:STAGE, 'dev'}"), None);
        assert_eq!(option_fallback("${opt:stage, ${env:X}}"), None);
        assert_eq!(option_fallback("dev"), None);
    }
}
