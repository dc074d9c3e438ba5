//! An API's stage: its name, its stage variables, and the stage prefix of request paths.
//!
//! A REST API is called at `https://{api}.execute-api.{region}.amazonaws.com/{stage}/…`: the
//! stage name is the first segment of the path. An HTTP API's `$default` stage is served at the
//! root, a named one under `/{stage}` too. Behind a custom domain (a base path mapping to the
//! stage) the same API is called without the stage. The front serves both: a request whose
//! first segment is the stage of the route the rest of its path matches is taken as an
//! execute-api call; any other path is taken as a custom-domain call
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-call-api.html>,
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-stages.html>).

use std::collections::BTreeMap;

use super::PayloadFormat;

/// The name of HTTP APIs' (and function URLs') default stage, served at the root.
pub const DEFAULT_STAGE: &str = "$default";

/// The stage of SAM's implicit REST API (`ServerlessRestApi`): `Prod`.
pub const SAM_REST_STAGE: &str = "Prod";

/// The longest stage name API Gateway accepts.
const MAX_NAME: usize = 128;

/// The longest stage variable value API Gateway accepts.
const MAX_VALUE: usize = 512;

/// An API's stage: `requestContext.stage` and `stageVariables` of its events.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Stage {
    /// The stage name (`Prod`, `v1`, `$default`).
    pub name: String,
    /// Stage variables (`stageVariables`), by name.
    pub variables: BTreeMap<String, String>,
}

impl Default for Stage {
    /// `$default`, without variables.
    fn default() -> Self {
        Stage::named(DEFAULT_STAGE)
    }
}

impl Stage {
    /// The stage `name`, without variables.
    pub fn named(name: impl Into<String>) -> Stage {
        Stage {
            name: name.into(),
            variables: BTreeMap::new(),
        }
    }

    /// The stage of an API of `format` that configures none: `Prod` for a REST API (the stage
    /// of SAM's implicit API), `$default` for the others.
    pub fn of_format(format: PayloadFormat) -> Stage {
        match format {
            PayloadFormat::Rest => Stage::named(SAM_REST_STAGE),
            _ => Stage::default(),
        }
    }

    /// Whether this is `$default`, the stage without a path prefix.
    pub fn is_default(&self) -> bool {
        self.name == DEFAULT_STAGE
    }

    /// The stage name of a request path's first segment: `Prod` of `/Prod/users`, and the rest
    /// of the path (`/users`; `/` for `/Prod` alone). `None` for the root.
    pub(crate) fn split_prefix(path: &str) -> Option<(&str, &str)> {
        let rest = path.strip_prefix('/')?;
        let (first, tail) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        (!first.is_empty()).then_some((first, tail))
    }

    /// Checks a stage name as API Gateway does: `$default` (HTTP APIs), or 1 to 128 letters,
    /// digits, hyphens and underscores
    /// (<https://docs.aws.amazon.com/apigateway/latest/api/API_CreateStage.html>).
    pub fn check_name(name: &str, allow_default: bool) -> Result<(), String> {
        if name == DEFAULT_STAGE {
            return if allow_default {
                Ok(())
            } else {
                Err("a REST API has no `$default` stage".to_owned())
            };
        }
        if name.is_empty() || name.len() > MAX_NAME {
            return Err(format!(
                "stage name `{name}` must be 1 to {MAX_NAME} characters"
            ));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "stage name `{name}` may hold only letters, digits, `-` and `_`"
            ));
        }
        Ok(())
    }

    /// Checks a stage variable as API Gateway does: names of letters, digits and `_`; values of
    /// 1 to 512 characters from `[A-Za-z0-9-._~:/?#&=,]`
    /// (<https://docs.aws.amazon.com/apigateway/latest/api/API_CreateStage.html>, `variables`).
    pub fn check_variable(name: &str, value: &str) -> Result<(), String> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "stage variable name `{name}` may hold only letters, digits and `_`"
            ));
        }
        if value.is_empty() || value.len() > MAX_VALUE {
            return Err(format!(
                "stage variable `{name}`: the value must be 1 to {MAX_VALUE} characters"
            ));
        }
        if let Some(bad) = value
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() && !"-._~:/?#&=,".contains(*c))
        {
            return Err(format!(
                "stage variable `{name}`: the value may not hold `{bad}` (only letters, digits \
                 and -._~:/?#&=,)"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_segment_is_split_off() {
        assert_eq!(Stage::split_prefix("/Prod/a/b"), Some(("Prod", "/a/b")));
        assert_eq!(Stage::split_prefix("/Prod"), Some(("Prod", "/")));
        assert_eq!(Stage::split_prefix("/Prod/"), Some(("Prod", "/")));
        assert_eq!(Stage::split_prefix("/"), None);
        assert_eq!(Stage::split_prefix("//a"), None);
        assert_eq!(Stage::split_prefix(""), None);
    }

    #[test]
    fn names_and_variables_are_checked_as_api_gateway_checks_them() {
        assert!(Stage::check_name("Prod", false).is_ok());
        assert!(Stage::check_name("v1-beta_2", false).is_ok());
        assert!(Stage::check_name("$default", true).is_ok());
        assert!(Stage::check_name("$default", false).is_err());
        assert!(Stage::check_name("", true).is_err());
        assert!(Stage::check_name("a/b", true).is_err());
        assert!(Stage::check_name(&"a".repeat(129), true).is_err());

        assert!(Stage::check_variable("table_1", "https://x.test/a?b=c#d,e").is_ok());
        assert!(Stage::check_variable("bad-name", "v").is_err());
        assert!(Stage::check_variable("n", "").is_err());
        assert!(Stage::check_variable("n", "a b").is_err());
        assert!(Stage::check_variable("n", &"a".repeat(513)).is_err());
    }
}
