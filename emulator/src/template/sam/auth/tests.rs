use std::time::Duration;

use crate::apigw::auth::{
    AuthorizerKind, IdentitySource, JwksSource, JwtAuthorizer, LambdaAuthorizer, LambdaPayload,
    RouteAuth,
};
use crate::template::testutil::TempDir;
use crate::template::{ConfigError, ErrorKind, Project, parse_sam};

fn parse(tmp: &TempDir, text: &str) -> Result<Project, ConfigError> {
    let file = tmp.write("template.yaml", text);
    parse_sam(text, &file)
}

/// A template with `apis` (indented under Resources) and a function `Fn` whose `Events` are
/// `events`, next to an authorizer function `Auth`.
fn template(head: &str, apis: &str, events: &str) -> String {
    format!(
        "{head}Resources:\n{apis}  Auth:\n    Type: AWS::Serverless::Function\n    Properties: {{CodeUri: functions/users, Runtime: provided.al2023}}\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: functions/users\n      Runtime: provided.al2023\n      Events:\n{events}"
    )
}

fn tmp() -> TempDir {
    let tmp = TempDir::new();
    tmp.package("functions/users", "users", &[]);
    tmp
}

/// The authorization of each route of `Fn`, by route key.
fn auths(project: &Project) -> Vec<(String, Option<RouteAuth>)> {
    let function = project.functions.iter().find(|f| f.name == "Fn").unwrap();
    function
        .routes
        .iter()
        .map(|r| (r.key(), r.auth.clone()))
        .collect()
}

fn lambda(auth: &Option<RouteAuth>) -> (&str, &LambdaAuthorizer) {
    let auth = auth.as_ref().expect("an authorizer");
    match &auth.authorizer.kind {
        AuthorizerKind::Lambda(l) => (auth.authorizer.name.as_str(), l),
        AuthorizerKind::Jwt(_) => panic!("not a Lambda authorizer"),
    }
}

const APIS: &str = r#"  Rest:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      Auth:
        DefaultAuthorizer: Token
        Authorizers:
          Token:
            FunctionArn: !GetAtt Auth.Arn
            Identity:
              ValidationExpression: "^Bearer .+$"
          Request:
            FunctionPayloadType: REQUEST
            FunctionArn: {"Fn::GetAtt": [Auth, Arn]}
            Identity:
              Headers: [X-Key]
              QueryStrings: [user]
              StageVariables: [tenant]
              Context: [identity.sourceIp]
              ReauthorizeEvery: 0
  Http:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Simple
        Authorizers:
          Simple:
            FunctionArn: arn:aws:lambda:us-east-1:123456789012:function:Auth
            AuthorizerPayloadFormatVersion: 2.0
            EnableSimpleResponses: true
            Identity:
              Headers: [Authorization]
              ReauthorizeEvery: 60
          Jwt:
            AuthorizationScopes: [default.scope]
            JwtConfiguration:
              issuer: https://issuer.example
              audience: [app]
"#;

const EVENTS: &str = r#"        Token:
          Type: Api
          Properties: {Path: /token, Method: get, RestApiId: !Ref Rest}
        Request:
          Type: Api
          Properties: {Path: /request, Method: get, RestApiId: !Ref Rest, Auth: {Authorizer: Request}}
        Open:
          Type: Api
          Properties: {Path: /open, Method: get, RestApiId: !Ref Rest, Auth: {Authorizer: NONE}}
        Iam:
          Type: Api
          Properties: {Path: /iam, Method: get, RestApiId: !Ref Rest, Auth: {Authorizer: AWS_IAM}}
        Implicit:
          Type: Api
          Properties: {Path: /implicit, Method: get}
        Simple:
          Type: HttpApi
          Properties: {Path: /simple, Method: get, ApiId: !Ref Http}
        Jwt:
          Type: HttpApi
          Properties:
            Path: /jwt
            Method: get
            ApiId: !Ref Http
            Auth: {Authorizer: Jwt, AuthorizationScopes: [orders.read, admin]}
        JwtDefaultScopes:
          Type: HttpApi
          Properties: {Path: /jwt-default, Method: get, ApiId: !Ref Http, Auth: {Authorizer: Jwt}}
"#;

#[test]
fn routes_take_their_own_or_their_apis_default_authorizer() {
    let tmp = tmp();
    let head = "Metadata:\n  Lambkin:\n    Jwks:\n      https://issuer.example: keys/jwks.json\n";
    let project = parse(&tmp, &template(head, APIS, EVENTS)).unwrap();
    let auths = auths(&project);
    let by_key = |key: &str| &auths.iter().find(|(k, _)| k == key).unwrap().1;

    let (name, token) = lambda(by_key("GET /token"));
    assert_eq!(name, "Rest.Token");
    assert_eq!(
        token,
        &LambdaAuthorizer {
            function: "Auth".to_owned(),
            payload: LambdaPayload::Token,
            identity: vec![IdentitySource::Header("Authorization".to_owned())],
            ttl: Duration::from_secs(300),
            validation: Some("^Bearer .+$".to_owned()),
            simple_responses: false,
        }
    );
    let (name, request) = lambda(by_key("GET /request"));
    assert_eq!(name, "Rest.Request");
    assert_eq!(request.payload, LambdaPayload::Request);
    assert_eq!(
        request.identity,
        vec![
            IdentitySource::Header("X-Key".to_owned()),
            IdentitySource::Query("user".to_owned()),
            IdentitySource::StageVariable("tenant".to_owned()),
            IdentitySource::Context("identity.sourceIp".to_owned()),
        ]
    );
    assert_eq!(request.ttl, Duration::ZERO);
    assert_eq!(by_key("GET /open"), &None);
    // AWS_IAM is not verified: a note says so.
    assert_eq!(by_key("GET /iam"), &None);
    assert!(
        project.notes.iter().any(|n| n.contains("AWS_IAM")),
        "{:?}",
        project.notes
    );
    // The implicit API has no Auth here.
    assert_eq!(by_key("GET /implicit"), &None);

    let (name, simple) = lambda(by_key("GET /simple"));
    assert_eq!(name, "Http.Simple");
    assert_eq!(simple.function, "Auth", "from a plain ARN");
    assert_eq!(simple.payload, LambdaPayload::HttpV2);
    assert!(simple.simple_responses);
    assert_eq!(simple.ttl, Duration::from_secs(60));

    let jwt = by_key("GET /jwt").as_ref().unwrap();
    assert_eq!(jwt.scopes, ["orders.read", "admin"]);
    let default_scopes = by_key("GET /jwt-default").as_ref().unwrap();
    assert_eq!(
        default_scopes.scopes,
        ["default.scope"],
        "the authorizer's own"
    );
    assert_eq!(
        jwt.authorizer.kind,
        AuthorizerKind::Jwt(JwtAuthorizer {
            issuer: "https://issuer.example".to_owned(),
            audience: vec!["app".to_owned()],
            identity: IdentitySource::Header("Authorization".to_owned()),
            jwks: Some(JwksSource::File(tmp.path().join("keys/jwks.json"))),
        })
    );
    // The front's routes carry it.
    let function = project.functions.iter().find(|f| f.name == "Fn").unwrap();
    let route = function.routes[0].route("Fn").unwrap();
    assert_eq!(route.auth(), function.routes[0].auth.as_ref());
}

#[test]
fn globals_give_the_implicit_apis_authorizers() {
    let tmp = tmp();
    let head = "Globals:\n  Api:\n    Auth:\n      DefaultAuthorizer: G\n      Authorizers:\n        G:\n          FunctionArn: !Sub ${Auth.Arn}\n          FunctionPayloadType: REQUEST\n          Identity: {Headers: [X-Key]}\n";
    let events = "        Implicit:\n          Type: Api\n          Properties: {Path: /implicit, Method: get}\n";
    let project = parse(&tmp, &template(head, "", events)).unwrap();
    let auths = auths(&project);
    let (name, g) = lambda(&auths[0].1);
    assert_eq!(name, "(implicit Api).G");
    assert_eq!(g.payload, LambdaPayload::Request);
    assert_eq!(g.ttl, Duration::from_secs(300));
}

#[test]
fn malformed_authorizers_are_errors_with_their_position() {
    let api = |authorizer: &str| {
        format!(
            "  Rest:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n      Auth:\n        DefaultAuthorizer: A\n        Authorizers:\n          A:\n{authorizer}"
        )
    };
    let event = "        E:\n          Type: HttpApi\n          Properties: {Path: /a, Method: get, ApiId: !Ref Rest}\n";
    let cases: &[(&str, &str, u32)] = &[
        (
            "            FunctionArn: !GetAtt Nope.Arn\n            AuthorizerPayloadFormatVersion: '2.0'\n",
            "not a function of the template",
            9,
        ),
        (
            "            FunctionArn: !GetAtt Auth.Arn\n",
            "AuthorizerPayloadFormatVersion is missing",
            9,
        ),
        (
            "            FunctionArn: !GetAtt Auth.Arn\n            AuthorizerPayloadFormatVersion: '1.0'\n            EnableSimpleResponses: true\n",
            "need AuthorizerPayloadFormatVersion 2.0",
            11,
        ),
        (
            "            FunctionArn: !GetAtt Auth.Arn\n            AuthorizerPayloadFormatVersion: '2.0'\n            Identity: {ReauthorizeEvery: 5000}\n",
            "0 to 3600",
            11,
        ),
        (
            "            JwtConfiguration: {issuer: https://i.example}\n",
            "has no audience",
            9,
        ),
        (
            "            AuthorizerPayloadFormatVersion: '2.0'\n",
            "has no FunctionArn",
            9,
        ),
    ];
    for (authorizer, message, line) in cases {
        let err = parse(&tmp(), &template("", &api(authorizer), event)).unwrap_err();
        assert!(err.message.contains(message), "{authorizer}: {err}");
        assert_eq!(err.line, Some(*line), "{authorizer}: {err}");
        assert_eq!(err.kind, ErrorKind::Invalid, "{authorizer}: {err}");
    }
    // An event naming an authorizer its API does not declare.
    let events = "        E:\n          Type: HttpApi\n          Properties: {Path: /a, Method: get, ApiId: !Ref Rest, Auth: {Authorizer: Missing}}\n";
    let text = template(
        "",
        &api("            JwtConfiguration: {issuer: https://i.example, audience: [a]}\n"),
        events,
    );
    let err = parse(&tmp(), &text).unwrap_err();
    assert!(err.message.contains("`Missing` is not one of"), "{err}");
    // A REST TOKEN authorizer's ValidationExpression must be a regular expression.
    let rest = "  Rest:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: p\n      Auth:\n        DefaultAuthorizer: A\n        Authorizers:\n          A:\n            FunctionArn: !GetAtt Auth.Arn\n            Identity: {ValidationExpression: \"(\"}\n";
    let event = "        E:\n          Type: Api\n          Properties: {Path: /a, Method: get, RestApiId: !Ref Rest}\n";
    let err = parse(&tmp(), &template("", rest, event)).unwrap_err();
    assert!(err.message.contains("not a regular expression"), "{err}");
    assert_eq!(err.line, Some(11), "{err}");
}
