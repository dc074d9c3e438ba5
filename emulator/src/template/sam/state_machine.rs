//! `AWS::Serverless::StateMachine` resources: the name (`Name`, else the logical id) and the
//! definition (`Definition` inline, or `DefinitionUri`, a JSON or YAML file beside the
//! template), with `DefinitionSubstitutions` applied (`${Key}` → its value; `!GetAtt F.Arn` and
//! `!Ref F` of a function resource become that function's ARN), and its `Type` (`STANDARD` or
//! `EXPRESS`). Its `Events` of type `Schedule`/`ScheduleV2` and `Api` start it (`Api`: a
//! route whose integration is StartExecution, as SAM generates:
//! <https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-statemachine-statemachineapi.html>);
//! the others are noted as not served.
//! <https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-statemachine.html>
//!
//! The definition is checked when the emulator starts (`Options::state_machines`), each
//! problem with its state's path.

use serde_yaml::{Mapping, Value};

use super::Sam;
use crate::apigw::{Integration, Route};
use crate::state_machine::StateMachineConfig;
use crate::template::yaml::{YPath, describe, to_json};
use crate::template::{ConfigError, RouteSpec};

impl Sam<'_> {
    /// Reads one `AWS::Serverless::StateMachine`.
    pub(super) fn state_machine(
        &self,
        id: &str,
        resource: &Mapping,
        path: &YPath,
        notes: &mut Vec<String>,
    ) -> Result<StateMachineConfig, ConfigError> {
        let empty = Mapping::new();
        let props_path = path.key("Properties");
        let props = match resource.get("Properties") {
            Some(Value::Mapping(props)) => props,
            None | Some(Value::Null) => &empty,
            Some(other) => {
                return Err(self.src.invalid(
                    &props_path,
                    format!("resource `{id}`: Properties is {}", describe(other)),
                    "Properties: takes indented `name: value` entries",
                ));
            }
        };
        let name = match props.get("Name") {
            None => id.to_owned(),
            Some(Value::String(name)) => name.clone(),
            Some(other) => {
                return Err(self.src.invalid(
                    &props_path.key("Name"),
                    format!("state machine `{id}`: Name is {}", describe(other)),
                    "Name is a string",
                ));
            }
        };
        let definition = match (props.get("Definition"), props.get("DefinitionUri")) {
            (Some(definition), None) => to_json(definition),
            (None, Some(Value::String(uri))) => {
                self.definition_file(id, uri, &props_path.key("DefinitionUri"))?
            }
            (None, Some(other)) => {
                return Err(self.src.invalid(
                    &props_path.key("DefinitionUri"),
                    format!("state machine `{id}`: DefinitionUri is {}", describe(other)),
                    "give a path to a local .asl.json (or YAML) file; definitions in S3 are not read",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(self.src.invalid(
                    &props_path,
                    format!("state machine `{id}` has both Definition and DefinitionUri"),
                    "keep one of them",
                ));
            }
            (None, None) => {
                return Err(self.src.invalid(
                    &props_path,
                    format!("state machine `{id}` has no Definition"),
                    "add Definition: (inline) or DefinitionUri: (a file)",
                ));
            }
        };
        let mut text = definition.to_string();
        if let Some(substitutions) = props.get("DefinitionSubstitutions") {
            let at = props_path.key("DefinitionSubstitutions");
            let Value::Mapping(substitutions) = substitutions else {
                return Err(self.src.invalid(
                    &at,
                    format!(
                        "state machine `{id}`: DefinitionSubstitutions is {}",
                        describe(substitutions)
                    ),
                    "a mapping of names to values",
                ));
            };
            for (key, value) in substitutions {
                let Some(key) = key.as_str() else { continue };
                let value = self.substitution(value, &at.key(key), id)?;
                // The value lands inside a JSON string: escape it as one.
                let quoted = serde_json::Value::String(value).to_string();
                let escaped = quoted.get(1..quoted.len() - 1).unwrap_or_default();
                text = text.replace(&format!("${{{key}}}"), escaped);
            }
        }
        let express = match props.get("Type") {
            None => false,
            Some(Value::String(kind)) if kind == "STANDARD" => false,
            Some(Value::String(kind)) if kind == "EXPRESS" => true,
            Some(other) => {
                return Err(self.src.invalid(
                    &props_path.key("Type"),
                    format!("state machine `{id}`: Type is {}", describe(other)),
                    "Type is STANDARD or EXPRESS",
                ));
            }
        };
        let mut machine = StateMachineConfig::new(name, text);
        machine.express = express;
        self.state_machine_events(id, props, &props_path, &mut machine, notes)?;
        Ok(machine)
    }

    /// `Events`: `Schedule` and `ScheduleV2` start the machine, and so do `Api` events'
    /// routes (on the implicit REST API or the one `RestApiId` names, with its stage, CORS
    /// and authorizers); the others are noted as not served.
    fn state_machine_events(
        &self,
        id: &str,
        props: &Mapping,
        props_path: &YPath,
        machine: &mut StateMachineConfig,
        notes: &mut Vec<String>,
    ) -> Result<(), ConfigError> {
        let Some(Value::Mapping(events)) = props.get("Events") else {
            return Ok(());
        };
        // Where a schedule's errors point; schedules are read only with their feature.
        #[cfg(not(feature = "schedules"))]
        let _ = props_path;
        for (key, event) in events {
            let Some(name) = key.as_str() else { continue };
            let kind = event.get("Type").and_then(Value::as_str);
            #[cfg(feature = "schedules")]
            if let (Value::Mapping(m), Some(kind @ ("Schedule" | "ScheduleV2"))) = (event, kind) {
                let mut schedule =
                    self.schedule_event(id, name, kind, m, &props_path.key("Events").key(name))?;
                schedule.function.clone_from(&machine.name);
                schedule.target = crate::sources::schedule::Target::StateMachine;
                machine.schedules.push(schedule);
                continue;
            }
            if kind == Some("Api") {
                let at = props_path.key("Events").key(name);
                let owner = format!("state machine `{id}`");
                if let Some(route) = self.route_event(&owner, name, event, &at, notes)? {
                    machine
                        .routes
                        .push(self.start_route(&route, machine, &at, &owner)?);
                }
                continue;
            }
            // SAM takes Api, Schedule, ScheduleV2, CloudWatchEvent and EventBridgeRule events
            // on a state machine (no HttpApi):
            // https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-statemachine-statemachineeventsource.html
            notes.push(format!(
                "state machine `{id}`: event `{name}` ({}) is not served; start it with the Step Functions API or `lambkin workflow run {}`",
                kind.unwrap_or("no Type"),
                machine.name
            ));
        }
        Ok(())
    }

    /// The route of an `Api` event that starts `machine` (SAM's generated integration names
    /// no execution: each gets a generated name).
    fn start_route(
        &self,
        route: &RouteSpec,
        machine: &StateMachineConfig,
        at: &YPath,
        owner: &str,
    ) -> Result<Route, ConfigError> {
        if machine.routes.iter().any(|r| r.key() == route.key()) {
            return Err(self.src.invalid(
                at,
                format!("{owner}: route `{}` is repeated", route.key()),
                "remove one of the two events",
            ));
        }
        let route = route.route(&machine.name).map_err(|e| {
            self.src.invalid(
                at,
                format!("{owner}: {e}"),
                "fix the event's Path and Method",
            )
        })?;
        Ok(route.with_integration(Integration::StartExecution {
            named_by_request: false,
        }))
    }

    fn definition_file(
        &self,
        id: &str,
        uri: &str,
        at: &YPath,
    ) -> Result<serde_json::Value, ConfigError> {
        let file = self.base.join(uri);
        let text = std::fs::read_to_string(&file).map_err(|e| {
            self.src.invalid(
                at,
                format!("state machine `{id}`: cannot read {}: {e}", file.display()),
                "DefinitionUri is a path relative to the template",
            )
        })?;
        let parsed: Result<Value, String> = serde_yaml::from_str(&text).map_err(|e| e.to_string());
        parsed.map(|v| to_json(&v)).map_err(|e| {
            self.src.invalid(
                at,
                format!(
                    "state machine `{id}`: {} is not JSON or YAML: {e}",
                    file.display()
                ),
                "fix the definition file",
            )
        })
    }

    /// A substitution's value: text, a number, or the ARN of a function of the template.
    fn substitution(&self, value: &Value, at: &YPath, id: &str) -> Result<String, ConfigError> {
        let target = match value {
            Value::String(s) => return Ok(s.clone()),
            Value::Number(n) => return Ok(n.to_string()),
            Value::Bool(b) => return Ok(b.to_string()),
            Value::Tagged(tagged) if tagged.tag == "!GetAtt" || tagged.tag == "!Ref" => {
                tagged.value.as_str().map(str::to_owned)
            }
            Value::Mapping(m) => match m.iter().next() {
                Some((Value::String(k), Value::String(v))) if k == "Fn::GetAtt" || k == "Ref" => {
                    Some(v.clone())
                }
                Some((Value::String(k), Value::Sequence(parts))) if k == "Fn::GetAtt" => parts
                    .first()
                    .and_then(Value::as_str)
                    .map(|p| format!("{p}.Arn")),
                _ => None,
            },
            _ => None,
        };
        let function = target
            .as_deref()
            .map(|t| t.strip_suffix(".Arn").unwrap_or(t));
        match function.filter(|f| self.resources.get(*f).is_some()) {
            // Task states find functions by the ARN's name: its region is not looked at.
            Some(function) => Ok(format!(
                "arn:aws:lambda:us-east-1:{}:function:{function}",
                crate::ACCOUNT_ID
            )),
            None => match self.resolve(
                value,
                at,
                &format!("state machine `{id}`: DefinitionSubstitutions"),
            )? {
                Some(Value::String(s)) => Ok(s),
                Some(other) => Err(self.src.invalid(
                    at,
                    format!(
                        "state machine `{id}`: a substitution is {}",
                        describe(&other)
                    ),
                    "a substitution is text, a number or a function's !GetAtt F.Arn",
                )),
                None => Ok(String::new()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::apigw::{Integration, PayloadFormat};
    use crate::template::parse_sam;
    use crate::template::testutil::TempDir;

    const TEMPLATE: &str = r#"
Resources:
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello/
      Handler: bootstrap
      Runtime: provided.al2023
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: EXPRESS
      Events:
        Hourly:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: rate(1 hour)
            Input: '{"from": "scheduler"}'
        Start:
          Type: Api
          Properties:
            Path: /start
            Method: post
        Later:
          Type: HttpApi
          Properties:
            Path: /later
            Method: post
      DefinitionSubstitutions:
        HelloArn: !GetAtt HelloFunction.Arn
        Greeting: "say \"hi\""
      Definition:
        StartAt: Hello
        States:
          Hello:
            Type: Task
            Resource: ${HelloArn}
            Parameters:
              greeting: ${Greeting}
            End: true
"#;

    #[test]
    fn inline_definitions_with_substitutions() {
        let tmp = TempDir::new();
        tmp.bootstrap("hello", true);
        let project = parse_sam(TEMPLATE, &tmp.write("template.yaml", TEMPLATE)).unwrap();
        assert_eq!(project.state_machines.len(), 1);
        let machine = &project.state_machines[0];
        assert_eq!((machine.name.as_str(), machine.express), ("Flow", true));
        let schedule = &machine.schedules[0];
        assert_eq!(
            (schedule.name.as_str(), schedule.function.as_str()),
            ("FlowHourly", "Flow")
        );
        assert_eq!(
            schedule.target,
            crate::sources::schedule::Target::StateMachine
        );
        assert_eq!(schedule.input.as_deref(), Some(r#"{"from": "scheduler"}"#));
        // The Api event: a route of the implicit REST API (stage Prod) starting the machine.
        assert_eq!(machine.routes.len(), 1);
        let route = &machine.routes[0];
        assert_eq!((route.key(), route.function()), ("POST /start", "Flow"));
        assert_eq!(
            route.integration(),
            Integration::StartExecution {
                named_by_request: false
            }
        );
        assert_eq!(route.format(), PayloadFormat::Rest);
        assert_eq!(route.stage().name, "Prod");
        assert!(
            project
                .notes
                .iter()
                .any(|n| n.contains("state machine `Flow`: event `Later` (HttpApi) is not served")),
            "{:?}",
            project.notes
        );
        let definition: serde_json::Value = serde_json::from_str(&machine.definition).unwrap();
        assert_eq!(
            definition["States"]["Hello"]["Resource"],
            "arn:aws:lambda:us-east-1:012345678912:function:HelloFunction"
        );
        assert_eq!(
            definition["States"]["Hello"]["Parameters"]["greeting"],
            "say \"hi\""
        );
        assert_eq!(project.notes.len(), 1, "{:?}", project.notes);
    }

    #[test]
    fn api_events_name_the_field_they_get_wrong() {
        let tmp = TempDir::new();
        tmp.bootstrap("hello", true);
        let file = tmp.write("template.yaml", TEMPLATE);
        let no_method =
            TEMPLATE.replace("            Method: post\n        Later", "        Later");
        let error = parse_sam(&no_method, &file).unwrap_err();
        assert_eq!(
            error.field.as_deref(),
            Some("Resources.Flow.Properties.Events.Start.Properties")
        );
        assert!(error.line.is_some(), "{error}");
        assert!(
            error
                .to_string()
                .contains("state machine `Flow`: event `Start` has no Method"),
            "{error}"
        );
        let bad_path = TEMPLATE.replace("Path: /start", "Path: start");
        let error = parse_sam(&bad_path, &file).unwrap_err();
        assert_eq!(
            error.field.as_deref(),
            Some("Resources.Flow.Properties.Events.Start.Properties.Path")
        );
        let twice = TEMPLATE
            .replace(
                "Path: /later\n            Method: post",
                "Path: /x\n            Method: get",
            )
            .replace(
                "        Later:\n          Type: HttpApi",
                "        Again:\n          Type: Api",
            )
            .replace(
                "Path: /x\n            Method: get",
                "Path: /start\n            Method: POST",
            );
        let error = parse_sam(&twice, &file).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("route `POST /start` is repeated"),
            "{error}"
        );
    }

    #[test]
    fn definition_files_beside_the_template() {
        let tmp = TempDir::new();
        tmp.bootstrap("f", true);
        tmp.write(
            "flow.asl.json",
            r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#,
        );
        let dir = tmp.path();
        let template = "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: f/, Handler: bootstrap, Runtime: provided.al2023}\n  M:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n      Name: named\n      DefinitionUri: flow.asl.json\n";
        let project = parse_sam(template, &dir.join("template.yaml")).unwrap();
        assert_eq!(project.state_machines[0].name, "named");
        assert!(project.state_machines[0].definition.contains("\"Pass\""));
        let missing = template.replace("flow.asl.json", "nope.json");
        let error = parse_sam(&missing, &dir.join("template.yaml")).unwrap_err();
        assert!(error.to_string().contains("DefinitionUri"), "{error}");
    }
}
