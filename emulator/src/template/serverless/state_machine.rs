//! `stepFunctions.stateMachines` of a serverless.yml, in the `serverless-step-functions`
//! plugin's format (<https://github.com/serverless-operations/serverless-step-functions>):
//! each entry's `name` (else its key), `type` (`STANDARD` or `EXPRESS`) and `definition`, where
//! `Fn::GetAtt: [fn, Arn]` and `Ref: fn` of a function of the file (by its key or its
//! CloudFormation logical id, `HelloLambdaFunction`) become that function's ARN. The entries'
//! `schedule` and `http` events start them; others are noted as not served.
//!
//! The definition is checked when the emulator starts (`Options::state_machines`).

use serde_yaml::{Mapping, Value};

use super::Reader;
use crate::apigw::Integration;
use crate::state_machine::StateMachineConfig;
use crate::template::ConfigError;
use crate::template::yaml::{YPath, key_text, to_json};

impl Reader<'_> {
    /// The file's state machines; `functions` are the names of its functions.
    pub(super) fn state_machines(
        &self,
        functions: &[String],
        notes: &mut Vec<String>,
    ) -> Result<Vec<StateMachineConfig>, ConfigError> {
        let path = YPath::root().key("stepFunctions");
        let Some(section) = self.mapping(self.root.get("stepFunctions"), &path, "stepFunctions")?
        else {
            return Ok(Vec::new());
        };
        let path = path.key("stateMachines");
        let Some(machines) = self.mapping(section.get("stateMachines"), &path, "stateMachines")?
        else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (key, machine) in machines {
            let key = key_text(key).unwrap_or_default();
            let at = path.key(&key);
            let Some(machine) =
                self.mapping(Some(machine), &at, &format!("state machine `{key}`"))?
            else {
                continue;
            };
            out.push(self.state_machine(&key, machine, &at, functions, notes)?);
        }
        Ok(out)
    }

    fn state_machine(
        &self,
        key: &str,
        machine: &Mapping,
        at: &YPath,
        functions: &[String],
        notes: &mut Vec<String>,
    ) -> Result<StateMachineConfig, ConfigError> {
        let what = format!("state machine `{key}`");
        let name = match machine.get("name") {
            None => key.to_owned(),
            Some(value) => self
                .text(value, &at.key("name"), &format!("{what}: name"))?
                .unwrap_or_else(|| key.to_owned()),
        };
        let express = match machine.get("type") {
            None => false,
            Some(value) => match self
                .text(value, &at.key("type"), &format!("{what}: type"))?
                .as_deref()
            {
                None | Some("STANDARD") => false,
                Some("EXPRESS") => true,
                Some(other) => {
                    return Err(self.src.invalid(
                        &at.key("type"),
                        format!("{what}: type `{other}` is neither STANDARD nor EXPRESS"),
                        "write type: STANDARD or type: EXPRESS",
                    ));
                }
            },
        };
        let Some(definition) = machine.get("definition") else {
            return Err(self.src.invalid(
                at,
                format!("{what} has no definition"),
                "add definition: with StartAt: and States:",
            ));
        };
        let mut definition = to_json(definition);
        self.function_arns(&mut definition, functions, &at.key("definition"), &what)?;
        let mut config = StateMachineConfig::new(name, definition.to_string());
        config.express = express;
        self.state_machine_events(machine, at, &what, &mut config, notes)?;
        Ok(config)
    }

    /// `events`: `schedule` and `http` (a REST API route whose integration is StartExecution,
    /// with the plugin's default request template) start the machine; the others are noted as
    /// not served.
    fn state_machine_events(
        &self,
        machine: &Mapping,
        at: &YPath,
        what: &str,
        config: &mut StateMachineConfig,
        notes: &mut Vec<String>,
    ) -> Result<(), ConfigError> {
        let Some(Value::Sequence(events)) = machine.get("events") else {
            return Ok(());
        };
        // Where a schedule's errors point; schedules are read only with their feature.
        #[cfg(not(feature = "schedules"))]
        let _ = at;
        for (i, event) in events.iter().enumerate() {
            let kind = event
                .as_mapping()
                .and_then(|m| m.iter().next())
                .and_then(|(k, v)| Some((k.as_str()?, v)));
            #[cfg(feature = "schedules")]
            if let Some(("schedule", body)) = kind {
                let body_path = at.key("events").index(i).key("schedule");
                for mut schedule in self.schedule_event(what, &config.name, i, body, &body_path)? {
                    schedule.target = crate::sources::schedule::Target::StateMachine;
                    config.schedules.push(schedule);
                }
                continue;
            }
            if let Some(("http", body)) = kind {
                let body_path = at.key("events").index(i).key("http");
                let spec = self.http_event(what, body, &body_path, notes)?;
                for key in ["action", "request", "response"] {
                    if body.get(key).is_some() {
                        notes.push(format!(
                            "{what}: http event {}: `{key}` is not read; the route starts an execution as the plugin's default template does",
                            i + 1
                        ));
                    }
                }
                if config.routes.iter().any(|r| r.key() == spec.key()) {
                    return Err(self.src.invalid(
                        &body_path,
                        format!("{what}: route `{}` is repeated", spec.key()),
                        "remove one of the two events",
                    ));
                }
                let route = spec.route(&config.name).map_err(|e| {
                    self.src.invalid(
                        &body_path,
                        format!("{what}: {e}"),
                        "fix the path and method",
                    )
                })?;
                // The plugin's request template names the execution `$context.requestId`.
                config
                    .routes
                    .push(route.with_integration(Integration::StartExecution {
                        named_by_request: true,
                    }));
                continue;
            }
            notes.push(format!(
                "{what}: event {} ({}) is not served; start it with the Step Functions API or `lambkin workflow run {}`",
                i + 1,
                kind.map_or("unknown", |(k, _)| k),
                config.name
            ));
        }
        Ok(())
    }

    /// Replaces `{"Fn::GetAtt": [f, "Arn"]}` and `{"Ref": f}` of a function of the file by its
    /// ARN, everywhere in `value`.
    fn function_arns(
        &self,
        value: &mut serde_json::Value,
        functions: &[String],
        at: &YPath,
        what: &str,
    ) -> Result<(), ConfigError> {
        match value {
            serde_json::Value::Object(object) => {
                let target = match (object.len(), object.iter().next()) {
                    (1, Some((k, serde_json::Value::Array(parts)))) if k == "Fn::GetAtt" => {
                        parts.first().and_then(|p| p.as_str()).map(str::to_owned)
                    }
                    (1, Some((k, serde_json::Value::String(s)))) if k == "Fn::GetAtt" => {
                        s.strip_suffix(".Arn").map(str::to_owned)
                    }
                    (1, Some((k, serde_json::Value::String(s)))) if k == "Ref" => Some(s.clone()),
                    _ => None,
                };
                if let Some(target) = target {
                    let Some(function) = functions
                        .iter()
                        .find(|f| **f == target || logical_id(f) == target)
                    else {
                        return Err(self.src.invalid(
                            at,
                            format!("{what}: `{target}` is not a function of this file"),
                            "refer to a function by its key under functions: (Fn::GetAtt: [hello, Arn])",
                        ));
                    };
                    // Task states find functions by the ARN's name: its region is not looked at.
                    *value = serde_json::Value::String(format!(
                        "arn:aws:lambda:us-east-1:{}:function:{function}",
                        crate::ACCOUNT_ID
                    ));
                    return Ok(());
                }
                for (key, inner) in object.iter_mut() {
                    self.function_arns(inner, functions, &at.key(key), what)?;
                }
            }
            serde_json::Value::Array(items) => {
                for (i, inner) in items.iter_mut().enumerate() {
                    self.function_arns(inner, functions, &at.index(i), what)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// The CloudFormation logical id the Serverless Framework gives a function's resource:
/// `hello-world_v2` → `HelloDashworldUnderscorev2LambdaFunction`.
fn logical_id(function: &str) -> String {
    let mut chars = function.chars();
    let first = chars.next().map(|c| c.to_ascii_uppercase());
    let rest: String = chars.collect();
    let normalised = first
        .into_iter()
        .chain(rest.chars())
        .collect::<String>()
        .replace('-', "Dash")
        .replace('_', "Underscore");
    format!("{normalised}LambdaFunction")
}

#[cfg(test)]
mod tests {
    use super::logical_id;
    use crate::apigw::{Integration, PayloadFormat};
    use crate::sources::schedule::Target;
    use crate::template::parse_serverless;

    const FILE: &str = r#"
service: orders
provider:
  name: aws
  runtime: provided.al2023
functions:
  hello:
    handler: bootstrap
stepFunctions:
  stateMachines:
    flow:
      name: orderFlow
      type: EXPRESS
      events:
        - schedule: rate(1 hour)
        - http:
            path: start
            method: POST
            cors: true
            action: StartSyncExecution
      definition:
        StartAt: Hello
        States:
          Hello:
            Type: Task
            Resource:
              Fn::GetAtt: [hello, Arn]
            Next: Again
          Again:
            Type: Task
            Resource:
              Fn::GetAtt: [HelloLambdaFunction, Arn]
            End: true
    plain:
      definition:
        StartAt: P
        States:
          P: {Type: Pass, End: true}
"#;

    #[test]
    fn state_machines_from_the_plugin_format() {
        let dir = crate::template::testutil::TempDir::new();
        dir.bootstrap(".", true);
        let file = dir.path().join("serverless.yml");
        let project = parse_serverless(FILE, &file).unwrap();
        let machines = &project.state_machines;
        assert_eq!(machines.len(), 2);
        assert_eq!(
            (machines[0].name.as_str(), machines[0].express),
            ("orderFlow", true)
        );
        let definition: serde_json::Value = serde_json::from_str(&machines[0].definition).unwrap();
        let arn = "arn:aws:lambda:us-east-1:012345678912:function:hello";
        assert_eq!(definition["States"]["Hello"]["Resource"], arn);
        assert_eq!(definition["States"]["Again"]["Resource"], arn);
        assert_eq!(
            (machines[1].name.as_str(), machines[1].express),
            ("plain", false)
        );
        let schedules = &machines[0].schedules;
        assert_eq!(schedules.len(), 1);
        assert_eq!(
            (schedules[0].function.as_str(), schedules[0].target),
            ("orderFlow", Target::StateMachine)
        );
        assert_eq!(schedules[0].expression_text, "rate(1 hour)");
        // The http event: a REST API route starting the machine, each execution named after
        // API Gateway's request id.
        let route = &machines[0].routes[..];
        assert_eq!(route.len(), 1);
        assert_eq!(
            (route[0].key(), route[0].function()),
            ("POST /start", "orderFlow")
        );
        assert_eq!(
            route[0].integration(),
            Integration::StartExecution {
                named_by_request: true
            }
        );
        assert_eq!(route[0].format(), PayloadFormat::Rest);
        assert!(route[0].cors().is_some());
        assert_eq!(
            project.notes,
            [
                "state machine `flow`: http event 2: `action` is not read; the route starts an execution as the plugin's default template does"
            ]
        );
        let no_method = FILE.replace("            method: POST\n", "");
        let error = parse_serverless(&no_method, &file).unwrap_err();
        assert_eq!(
            error.field.as_deref(),
            Some("stepFunctions.stateMachines.flow.events[1].http")
        );
        assert!(
            error
                .to_string()
                .contains("state machine `flow`: http event"),
            "{error}"
        );

        let unknown = FILE.replace("[hello, Arn]", "[nobody, Arn]");
        let error = parse_serverless(&unknown, &file).unwrap_err().to_string();
        assert!(
            error.contains("`nobody` is not a function of this file"),
            "{error}"
        );
        let bad_type = FILE.replace("type: EXPRESS", "type: FAST");
        let error = parse_serverless(&bad_type, &file).unwrap_err().to_string();
        assert!(error.contains("type `FAST`"), "{error}");
    }

    #[test]
    fn logical_ids_as_the_framework_writes_them() {
        assert_eq!(logical_id("hello"), "HelloLambdaFunction");
        assert_eq!(
            logical_id("hello-world_v2"),
            "HelloDashworldUnderscorev2LambdaFunction"
        );
    }
}
