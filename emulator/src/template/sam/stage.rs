//! The stage of the API an `Api` or `HttpApi` event belongs to, and its stage variables.
//!
//! - `Api` events: `StageName` of the `AWS::Serverless::Api` their `RestApiId` names (SAM
//!   requires it there), else `Prod`, the stage of SAM's implicit API; stage variables are
//!   `Globals.Api.Variables` with the API's own `Variables` over them
//!   (<https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-api.html>).
//! - `HttpApi` events: `StageName` of the `AWS::Serverless::HttpApi` their `ApiId` names, else
//!   `$default`; stage variables are `Globals.HttpApi.StageVariables` with the API's own
//!   `StageVariables` over them
//!   (<https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-httpapi.html>).
//!
//! A plain CloudFormation API (`AWS::ApiGateway::RestApi`, `AWS::ApiGatewayV2::Api`) keeps its
//! stage in resources of their own, which are not read: its events get the defaults.

use serde_yaml::{Mapping, Value};

use super::super::ConfigError;
use super::super::yaml::{YPath, describe, key_text};
use super::Sam;
use crate::apigw::{PayloadFormat, Stage};

impl Sam<'_> {
    /// The stage of the API of an event of `kind` (`Api` or `HttpApi`) with `props`.
    pub(super) fn event_stage(&self, kind: &str, props: &Mapping) -> Result<Stage, ConfigError> {
        let rest = kind == "Api";
        let (id_key, api_type, globals, globals_name, variables_key) = if rest {
            (
                "RestApiId",
                "AWS::Serverless::Api",
                self.api_globals,
                "Api",
                "Variables",
            )
        } else {
            (
                "ApiId",
                "AWS::Serverless::HttpApi",
                self.http_api_globals,
                "HttpApi",
                "StageVariables",
            )
        };
        let mut stage = Stage::of_format(if rest {
            PayloadFormat::Rest
        } else {
            PayloadFormat::Http
        });
        let api = props
            .get(id_key)
            .and_then(super::events::ref_name)
            .and_then(|name| {
                let resource = self.resources.get(name)?.as_mapping()?;
                (resource.get("Type")?.as_str()? == api_type).then_some(name)
            });
        if props.contains_key(id_key) && api.is_none() {
            // A plain CloudFormation API: its stage is a resource of its own, unread.
            return Ok(stage);
        }
        if let Some(v) = globals.and_then(|g| g.get(variables_key)) {
            let path = YPath::root()
                .key("Globals")
                .key(globals_name)
                .key(variables_key);
            let what = format!("Globals.{globals_name}.{variables_key}");
            self.stage_variables(v, &path, &what, &mut stage)?;
        }
        let Some(name) = api else {
            return Ok(stage);
        };
        let props_path = YPath::root().key("Resources").key(name).key("Properties");
        let api_props = self
            .resources
            .get(name)
            .and_then(|r| r.get("Properties"))
            .and_then(Value::as_mapping);
        let get = |key: &str| api_props.and_then(|p| p.get(key));
        let name_path = props_path.key("StageName");
        let what = format!("API `{name}`: StageName");
        match get("StageName") {
            Some(v) => {
                if let Some(text) = self.string(v, &name_path, &what)? {
                    Stage::check_name(&text, !rest).map_err(|message| {
                        self.src.invalid(
                            &name_path,
                            format!("{what}: {message}"),
                            "a stage name is letters, digits, `-` and `_`, e.g. StageName: dev",
                        )
                    })?;
                    stage.name = text;
                }
            }
            None if rest => {
                return Err(self.src.invalid(
                    &props_path,
                    format!("API `{name}` has no StageName"),
                    "an AWS::Serverless::Api needs StageName: (the first segment of its URLs), \
                     e.g. StageName: Prod",
                ));
            }
            None => {}
        }
        if let Some(v) = get(variables_key) {
            let path = props_path.key(variables_key);
            let what = format!("API `{name}`: {variables_key}");
            self.stage_variables(v, &path, &what, &mut stage)?;
        }
        Ok(stage)
    }

    /// Adds the stage variables of a `Variables` / `StageVariables` mapping to `stage`.
    fn stage_variables(
        &self,
        value: &Value,
        path: &YPath,
        what: &str,
        stage: &mut Stage,
    ) -> Result<(), ConfigError> {
        let map = match self.resolve(value, path, what)? {
            None | Some(Value::Null) => return Ok(()),
            Some(Value::Mapping(map)) => map,
            Some(other) => {
                return Err(self.src.invalid(
                    path,
                    format!("{what} is {}, not a mapping", describe(&other)),
                    "stage variables are `name: value` entries",
                ));
            }
        };
        for (key, v) in &map {
            let Some(name) = key_text(key) else {
                return Err(self.src.invalid(
                    path,
                    format!("{what}: the name {} is not text", describe(key)),
                    "stage variable names are letters, digits and `_`",
                ));
            };
            let p = path.key(&name);
            let Some(text) = self.string(v, &p, &format!("{what}.{name}"))? else {
                continue;
            };
            Stage::check_variable(&name, &text).map_err(|message| {
                self.src.invalid(
                    &p,
                    format!("{what}: {message}"),
                    "stage variable values are 1 to 512 of A-Z a-z 0-9 -._~:/?#&=,",
                )
            })?;
            stage.variables.insert(name, text);
        }
        Ok(())
    }
}
