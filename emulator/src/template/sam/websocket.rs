//! WebSocket APIs of a SAM / CloudFormation template: SAM has no WebSocket shorthand, so they
//! are written with the API Gateway V2 resources
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-apigatewayv2-api.html>):
//!
//! - `AWS::ApiGatewayV2::Api` with `ProtocolType: WEBSOCKET` and `RouteSelectionExpression`;
//! - `AWS::ApiGatewayV2::Route`: `ApiId`, `RouteKey`, `Target` (`integrations/{id}`, written
//!   `!Join ['/', [integrations, !Ref Integration]]` or `!Sub integrations/${Integration}`), and
//!   `RouteResponseSelectionExpression` (or an `AWS::ApiGatewayV2::RouteResponse` naming the
//!   route in `RouteId`) for a two-way route;
//! - `AWS::ApiGatewayV2::Integration`: `ApiId`, `IntegrationType: AWS_PROXY` and an
//!   `IntegrationUri` naming a function of the template (`!Sub
//!   arn:…/functions/${Function.Arn}/invocations`, `!GetAtt Function.Arn`, `!Join` of those,
//!   or a literal ARN ending in `function:{name}`);
//! - `AWS::ApiGatewayV2::Stage`: `ApiId`, `StageName` (the API's path; `local` without one).
//!
//! `AWS::ApiGatewayV2::Deployment` and `AWS::Lambda::Permission` resources need nothing locally.

use std::collections::BTreeMap;

use serde_yaml::{Mapping, Value};

use super::super::yaml::{YPath, describe};
use super::super::{ConfigError, FunctionSpec};
use super::{Sam, resource_type};
use crate::websocket::{SelectionExpression, WebSocketApi};

/// The stage of a WebSocket API without an `AWS::ApiGatewayV2::Stage`.
const NO_STAGE: &str = "local";

/// One API Gateway V2 resource: its id, properties and where it is.
struct Resource<'a> {
    id: String,
    props: &'a Mapping,
    path: YPath,
}

/// A stage's name and where it is written.
type Stage = (String, YPath);

/// A route, as its `AWS::ApiGatewayV2::Route` says.
struct RouteResource {
    key: String,
    /// The function its integration invokes.
    function: String,
    two_way: bool,
}

impl Sam<'_> {
    /// The template's WebSocket APIs, over `functions` (the functions it serves).
    pub(super) fn websocket_apis(
        &self,
        functions: &[FunctionSpec],
        notes: &mut Vec<String>,
    ) -> Result<Vec<WebSocketApi>, ConfigError> {
        let empty = Mapping::new();
        let mut by_type: BTreeMap<&str, Vec<Resource<'_>>> = BTreeMap::new();
        let resources_path = YPath::root().key("Resources");
        for (key, resource) in self.resources {
            let Some(id) = super::key_text(key) else {
                continue; // reported by `parse_sam`
            };
            let path = resources_path.key(&id);
            let (resource, kind) = resource_type(&self.src, &id, resource, &path)?;
            let Some(kind) = kind.strip_prefix("AWS::ApiGatewayV2::") else {
                continue;
            };
            let props = match resource.get("Properties") {
                Some(Value::Mapping(props)) => props,
                None | Some(Value::Null) => &empty,
                Some(other) => {
                    return Err(self.src.invalid(
                        &path.key("Properties"),
                        format!("resource `{id}`: Properties is {}", describe(other)),
                        "Properties: takes indented `name: value` entries",
                    ));
                }
            };
            let path = path.key("Properties");
            by_type
                .entry(kind)
                .or_default()
                .push(Resource { id, props, path });
        }
        let of = |kind: &str| by_type.get(kind).map_or(&[][..], Vec::as_slice);

        // The WebSocket APIs, by resource id, with their stage.
        let mut apis: BTreeMap<&str, (SelectionExpression, Option<Stage>)> = BTreeMap::new();
        for api in of("Api") {
            let protocol = self.text(api, "ProtocolType")?.unwrap_or_default();
            if protocol != "WEBSOCKET" {
                notes.push(format!(
                    "resource `{}` (AWS::ApiGatewayV2::Api, ProtocolType {protocol}) is not served: \
                     HTTP APIs are read from AWS::Serverless::HttpApi and HttpApi events",
                    api.id
                ));
                continue;
            }
            let expression = self
                .text(api, "RouteSelectionExpression")?
                .ok_or_else(|| {
                    self.src.invalid(
                        &api.path,
                        format!("WebSocket API `{}` has no RouteSelectionExpression", api.id),
                        "add RouteSelectionExpression: $request.body.action (or the field your messages name their route in)",
                    )
                })?;
            let selection = SelectionExpression::parse(&expression).map_err(|e| {
                self.src.invalid(
                    &api.path.key("RouteSelectionExpression"),
                    format!("WebSocket API `{}`: {e}", api.id),
                    "write $request.body.{field}, e.g. $request.body.action",
                )
            })?;
            apis.insert(&api.id, (selection, None));
        }
        if apis.is_empty() {
            return Ok(Vec::new());
        }
        for stage in of("Stage") {
            let Some(api) = self.api_of(stage, &apis)? else {
                continue;
            };
            let name = self.text(stage, "StageName")?.ok_or_else(|| {
                self.src.invalid(
                    &stage.path,
                    format!("stage `{}` has no StageName", stage.id),
                    "add StageName: the path segment the API is served under",
                )
            })?;
            if let Some((first, _)) = apis.get(api).and_then(|(_, stage)| stage.as_ref()) {
                notes.push(format!(
                    "WebSocket API `{api}` has several stages: served under the first, `{first}`"
                ));
                continue;
            }
            if let Some(entry) = apis.get_mut(api) {
                entry.1 = Some((name, stage.path.key("StageName")));
            }
        }
        // Integrations: the function each invokes.
        let mut integrations: BTreeMap<&str, String> = BTreeMap::new();
        for integration in of("Integration") {
            if self.api_of(integration, &apis)?.is_none() {
                continue;
            }
            let kind = self
                .text(integration, "IntegrationType")?
                .unwrap_or_default();
            if kind != "AWS_PROXY" {
                notes.push(format!(
                    "integration `{}` ({kind}) is not served: only Lambda proxy integrations (AWS_PROXY) are",
                    integration.id
                ));
                continue;
            }
            let uri = integration
                .props
                .get("IntegrationUri")
                .unwrap_or(&Value::Null);
            let names: Vec<String> = function_names(uri);
            let Some(function) = names
                .iter()
                .find(|name| functions.iter().any(|f| &f.name == *name))
                .cloned()
            else {
                if let Some(left_out) = names
                    .iter()
                    .find(|n| self.resources.contains_key(n.as_str()))
                {
                    notes.push(format!(
                        "integration `{}` invokes `{left_out}`, which is not served: its routes are left out",
                        integration.id
                    ));
                    continue;
                }
                return Err(self.src.invalid(
                    &integration.path.key("IntegrationUri"),
                    format!(
                        "integration `{}`: IntegrationUri names no function of the template",
                        integration.id
                    ),
                    "write !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${MyFunction.Arn}/invocations",
                ));
            };
            integrations.insert(&integration.id, function);
        }
        // Two-way routes named by a RouteResponse.
        let answered: Vec<String> = of("RouteResponse")
            .iter()
            .flat_map(|response| references(response.props.get("RouteId").unwrap_or(&Value::Null)))
            .collect();
        let mut routes: BTreeMap<&str, Vec<RouteResource>> = BTreeMap::new();
        for route in of("Route") {
            let Some(api) = self.api_of(route, &apis)? else {
                continue;
            };
            let key = self.text(route, "RouteKey")?.ok_or_else(|| {
                self.src.invalid(&route.path, format!("route `{}` has no RouteKey", route.id), "add RouteKey: $connect, $disconnect, $default or a value of the route selection expression")
            })?;
            let Some(target) = route.props.get("Target") else {
                notes.push(format!(
                    "route `{}` ({key}) has no Target: not served",
                    route.id
                ));
                continue;
            };
            let mut named = references(target);
            named.extend(
                literal(target)
                    .and_then(|t| t.strip_prefix("integrations/"))
                    .map(str::to_owned),
            );
            let function = named
                .iter()
                .find_map(|id| integrations.get(id.as_str()).cloned());
            let Some(function) = function else {
                if of("Integration").iter().any(|i| named.contains(&i.id)) {
                    continue; // an integration that is not served, noted above
                }
                return Err(self.src.invalid(
                    &route.path.key("Target"),
                    format!("route `{}`: Target names no AWS::ApiGatewayV2::Integration of the template", route.id),
                    "write !Join ['/', [integrations, !Ref MyIntegration]]",
                ));
            };
            let two_way = route.props.contains_key("RouteResponseSelectionExpression")
                || answered.contains(&route.id);
            routes.entry(api).or_default().push(RouteResource {
                key,
                function,
                two_way,
            });
        }
        let mut served: Vec<WebSocketApi> = Vec::new();
        for (id, (selection, stage)) in apis {
            let (stage, stage_path) = match stage {
                Some(stage) => stage,
                None => {
                    notes.push(format!(
                        "WebSocket API `{id}` has no AWS::ApiGatewayV2::Stage: served under /{NO_STAGE}"
                    ));
                    (NO_STAGE.to_owned(), YPath::root().key("Resources").key(id))
                }
            };
            let invalid = |e: crate::websocket::WebSocketError, path: &YPath| {
                self.src.invalid(
                    path,
                    format!("WebSocket API `{id}`: {e}"),
                    "fix the stage or route",
                )
            };
            let mut api =
                WebSocketApi::new(id, stage, selection).map_err(|e| invalid(e, &stage_path))?;
            if let Some(other) = served.iter().find(|other| other.stage() == api.stage()) {
                return Err(self.src.invalid(
                    &stage_path,
                    format!(
                        "WebSocket APIs `{}` and `{id}` are both served under /{}",
                        other.name(),
                        api.stage()
                    ),
                    "give each WebSocket API its own StageName",
                ));
            }
            for route in routes.remove(id).unwrap_or_default() {
                api = api
                    .with_route(&route.key, route.function, route.two_way)
                    .map_err(|e| invalid(e, &YPath::root().key("Resources")))?;
            }
            served.push(api);
        }
        Ok(served)
    }

    /// The WebSocket API a resource's `ApiId` names: `None` for another API (an HTTP one);
    /// an error if it names none.
    fn api_of<'r, T>(
        &self,
        resource: &Resource<'_>,
        apis: &BTreeMap<&'r str, T>,
    ) -> Result<Option<&'r str>, ConfigError> {
        let named = references(resource.props.get("ApiId").unwrap_or(&Value::Null));
        if let Some((api, _)) = named.iter().find_map(|n| apis.get_key_value(n.as_str())) {
            return Ok(Some(*api));
        }
        if named
            .iter()
            .any(|n| self.resources.contains_key(n.as_str()))
        {
            return Ok(None);
        }
        Err(self.src.invalid(
            &resource.path.key("ApiId"),
            format!(
                "resource `{}`: ApiId names no API of the template",
                resource.id
            ),
            "write ApiId: !Ref MyWebSocketApi",
        ))
    }

    /// A string property of an API Gateway V2 resource (`!Ref` to parameters resolved).
    fn text(&self, resource: &Resource<'_>, key: &str) -> Result<Option<String>, ConfigError> {
        match resource.props.get(key) {
            None => Ok(None),
            Some(value) => self.string(
                value,
                &resource.path.key(key),
                &format!("resource `{}`: {key}", resource.id),
            ),
        }
    }
}

/// A plain string value.
fn literal(value: &Value) -> Option<&str> {
    value.as_str()
}

/// The resources a value refers to: `!Ref X`, `!GetAtt X.Arn`, `${X}` / `${X.Arn}` in a `!Sub`,
/// and those inside `!Join` and lists, in order (pseudo parameters `AWS::…` left out).
fn references(value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    collect(value, &mut found);
    found
}

fn collect(value: &Value, found: &mut Vec<String>) {
    let (function, argument) = match value {
        Value::Tagged(tagged) => (
            tagged.tag.to_string().trim_start_matches('!').to_owned(),
            &tagged.value,
        ),
        Value::Mapping(m) if m.len() == 1 => match m.iter().next() {
            Some((Value::String(k), v)) if k == "Ref" || k.starts_with("Fn::") => {
                (k.trim_start_matches("Fn::").to_owned(), v)
            }
            _ => return,
        },
        Value::Sequence(items) => {
            items.iter().for_each(|item| collect(item, found));
            return;
        }
        _ => return,
    };
    match (function.as_str(), argument) {
        ("Ref", Value::String(name)) => found.push(name.clone()),
        ("GetAtt", Value::String(name)) => {
            found.push(name.split('.').next().unwrap_or(name).to_owned());
        }
        ("GetAtt", Value::Sequence(items)) => {
            if let Some(Value::String(name)) = items.first() {
                found.push(name.clone());
            }
        }
        ("Sub", Value::String(text)) => substituted(text, found),
        ("Sub", Value::Sequence(items)) => {
            if let Some(Value::String(text)) = items.first() {
                substituted(text, found);
            }
            items.iter().skip(1).for_each(|item| collect(item, found));
        }
        (_, other) => collect(other, found),
    }
    found.retain(|name| !name.starts_with("AWS::"));
}

/// The resources `${X}` and `${X.Attr}` of a `!Sub` string name (`${!X}` is literal).
fn substituted(text: &str, found: &mut Vec<String>) {
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !name.starts_with('!') {
            found.push(name.split('.').next().unwrap_or(name).to_owned());
        }
        rest = &after[end + 1..];
    }
}

/// The functions an `IntegrationUri` may name: those it refers to, and the `{name}` of a
/// literal `…:function:{name}/invocations` ARN.
fn function_names(uri: &Value) -> Vec<String> {
    let mut names = references(uri);
    if let Some(text) = literal(uri)
        && let Some((_, name)) = text.rsplit_once(":function:")
    {
        let name = name.trim_end_matches("/invocations");
        names.push(name.split(':').next().unwrap_or(name).to_owned());
    }
    names
}

#[cfg(test)]
mod tests {
    use crate::template::testutil::TempDir;
    use crate::template::{ErrorKind, parse_sam};
    use crate::websocket::WebSocketApi;

    /// A chat API as the CloudFormation resources write it: three functions, each route's
    /// target written a different way, a two-way `sendmessage`.
    const CHAT: &str = r#"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Expression:
    Type: String
    Default: $request.body.action
Resources:
  Chat:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: Chat
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: !Ref Expression
  ConnectRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Chat
      RouteKey: $connect
      Target: !Join ['/', [integrations, !Ref ConnectIntegration]]
  ConnectIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Chat
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${OnConnect.Arn}/invocations
  SendRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Chat
      RouteKey: sendmessage
      Target: !Sub integrations/${SendIntegration}
  SendResponse:
    Type: AWS::ApiGatewayV2::RouteResponse
    Properties:
      ApiId: !Ref Chat
      RouteId: !Ref SendRoute
      RouteResponseKey: $default
  SendIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: {"Ref": "Chat"}
      IntegrationType: AWS_PROXY
      IntegrationUri:
        Fn::Join:
          - ''
          - - 'arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/'
            - !GetAtt SendMessage.Arn
            - '/invocations'
  DefaultRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Chat
      RouteKey: $default
      RouteResponseSelectionExpression: $default
      Target: integrations/DefaultIntegration
  DefaultIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Chat
      IntegrationType: AWS_PROXY
      IntegrationUri: arn:aws:lambda:us-east-1:012345678912:function:SendMessage
  Deployment:
    Type: AWS::ApiGatewayV2::Deployment
    Properties:
      ApiId: !Ref Chat
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      StageName: Prod
      ApiId: !Ref Chat
      DeploymentId: !Ref Deployment
  OnConnect:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/connect
      Handler: bootstrap
      Runtime: provided.al2023
  SendMessage:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/send
      Handler: bootstrap
      Runtime: provided.al2023
"#;

    fn parse(text: &str) -> Result<Vec<WebSocketApi>, crate::template::ConfigError> {
        let tmp = TempDir::new();
        tmp.bootstrap("functions/connect", true);
        tmp.bootstrap("functions/send", true);
        let file = tmp.write("template.yaml", text);
        parse_sam(text, &file).map(|project| project.websockets)
    }

    #[test]
    fn websocket_apis_are_read_from_api_gateway_v2_resources() {
        let apis = parse(CHAT).unwrap();
        assert_eq!(apis.len(), 1);
        let api = &apis[0];
        assert_eq!((api.name(), api.stage()), ("Chat", "Prod"));
        assert_eq!(api.selection().to_string(), "$request.body.action");
        let routes: Vec<(&str, &str, bool)> = api
            .routes()
            .iter()
            .map(|(key, route)| (key.as_str(), route.function(), route.two_way()))
            .collect();
        assert_eq!(
            routes,
            [
                ("$connect", "OnConnect", false),
                ("$default", "SendMessage", true),
                ("sendmessage", "SendMessage", true),
            ]
        );
        // Without a stage, the API is served under /local, with a note.
        let stage = "  Stage:\n    Type: AWS::ApiGatewayV2::Stage\n    Properties:\n      StageName: Prod\n      ApiId: !Ref Chat\n      DeploymentId: !Ref Deployment\n";
        assert!(CHAT.contains(stage));
        let unstaged = parse(&CHAT.replace(stage, "")).unwrap();
        assert_eq!(unstaged[0].stage(), "local");
    }

    #[test]
    fn routes_to_functions_not_served_are_left_out() {
        let managed = CHAT.replacen(
            "      Handler: bootstrap\n      Runtime: provided.al2023",
            "      Handler: app.handler\n      Runtime: python3.12",
            1,
        );
        assert_ne!(managed, CHAT);
        let apis = parse(&managed).unwrap();
        let keys: Vec<&String> = apis[0].routes().keys().collect();
        assert_eq!(keys, ["$default", "sendmessage"]);
    }

    #[test]
    fn http_apis_of_api_gateway_v2_are_not_websocket_apis() {
        let http = CHAT.replace("ProtocolType: WEBSOCKET", "ProtocolType: HTTP");
        assert_eq!(parse(&http).unwrap(), Vec::new());
    }

    #[test]
    fn malformed_websocket_configuration_is_an_error_at_its_field() {
        let cases = [
            (
                CHAT.replace(
                    "Default: $request.body.action",
                    "Default: $request.header.x",
                ),
                "route selection expression",
            ),
            (
                CHAT.replace("${OnConnect.Arn}", "${Missing.Arn}"),
                "IntegrationUri names no function",
            ),
            (
                CHAT.replace("!Ref ConnectIntegration", "!Ref Nowhere"),
                "Target names no AWS::ApiGatewayV2::Integration",
            ),
            (
                CHAT.replace("RouteKey: sendmessage", "RouteKey: $connect"),
                "defined twice",
            ),
            (
                CHAT.replace("RouteKey: sendmessage", "RouteKey: $other"),
                "invalid WebSocket route key",
            ),
            (
                CHAT.replace("StageName: Prod", "StageName: a/b"),
                "invalid stage name",
            ),
            (
                CHAT.replace("      RouteSelectionExpression: !Ref Expression\n", ""),
                "has no RouteSelectionExpression",
            ),
            (
                CHAT.replace(
                    "ApiId: !Ref Chat\n      RouteKey: $connect",
                    "ApiId: !Ref Nope\n      RouteKey: $connect",
                ),
                "ApiId names no API",
            ),
        ];
        for (text, expected) in cases {
            let error = parse(&text).unwrap_err();
            assert_eq!(error.kind, ErrorKind::Invalid, "{error}");
            assert!(error.to_string().contains(expected), "{expected}: {error}");
            assert!(error.line.is_some(), "{error}");
        }
    }
}
