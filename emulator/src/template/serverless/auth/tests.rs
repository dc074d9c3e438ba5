use std::time::Duration;

use crate::apigw::auth::{
    AuthorizerKind, IdentitySource, JwksSource, JwtAuthorizer, LambdaAuthorizer, LambdaPayload,
    RouteAuth,
};
use crate::template::testutil::TempDir;
use crate::template::{ConfigError, ErrorKind, Project, parse_serverless};

fn parse(text: &str) -> (TempDir, Result<Project, ConfigError>) {
    let tmp = TempDir::new();
    tmp.package("fns", "fns", &[]);
    let file = tmp.write("serverless.yml", text);
    let project = parse_serverless(text, &file);
    (tmp, project)
}

/// A service whose function `api` has `events`, next to an authorizer function `auth`.
fn service(provider: &str, events: &str) -> String {
    format!(
        "service: s\nprovider:\n  name: aws\n  runtime: provided.al2023\n{provider}custom:\n  lambkin:\n    jwks:\n      https://issuer.example: keys.json\nfunctions:\n  auth:\n    handler: fns\n  api:\n    handler: fns\n    events:\n{events}"
    )
}

fn auths(project: &Project) -> Vec<Option<RouteAuth>> {
    let api = project.functions.iter().find(|f| f.name == "api").unwrap();
    api.routes.iter().map(|r| r.auth.clone()).collect()
}

fn lambda(auth: &Option<RouteAuth>) -> &LambdaAuthorizer {
    match &auth.as_ref().expect("an authorizer").authorizer.kind {
        AuthorizerKind::Lambda(l) => l,
        AuthorizerKind::Jwt(_) => panic!("not a Lambda authorizer"),
    }
}

const PROVIDER: &str = r#"  httpApi:
    authorizers:
      jwtAuth:
        type: jwt
        identitySource: $request.header.Authorization
        issuerUrl: https://issuer.example
        audience: [app]
      lambdaAuth:
        type: request
        functionName: auth
        enableSimpleResponses: true
        identitySource: [$request.header.X-Key, $request.querystring.user]
        resultTtlInSeconds: 30
"#;

const EVENTS: &str = r#"      - http: {path: token, method: get, authorizer: auth}
      - http:
          path: request
          method: get
          authorizer:
            name: auth
            type: request
            identitySource: method.request.header.X-Key, method.request.querystring.user
            resultTtlInSeconds: 0
      - http: {path: iam, method: get, authorizer: aws_iam}
      - httpApi:
          path: /jwt
          method: get
          authorizer: {name: jwtAuth, scopes: [orders.read]}
      - httpApi:
          path: /lambda
          method: get
          authorizer: {name: lambdaAuth}
      - httpApi: GET /open
"#;

#[test]
fn http_and_http_api_events_take_their_authorizers() {
    let (tmp, project) = parse(&service(PROVIDER, EVENTS));
    let project = project.unwrap();
    let auths = auths(&project);
    assert_eq!(
        lambda(&auths[0]),
        &LambdaAuthorizer {
            function: "auth".to_owned(),
            payload: LambdaPayload::Token,
            identity: vec![IdentitySource::Header("Authorization".to_owned())],
            ttl: Duration::from_secs(300),
            validation: None,
            simple_responses: false,
        }
    );
    let request = lambda(&auths[1]);
    assert_eq!(request.payload, LambdaPayload::Request);
    assert_eq!(
        request.identity,
        vec![
            IdentitySource::Header("X-Key".to_owned()),
            IdentitySource::Query("user".to_owned()),
        ]
    );
    assert_eq!(request.ttl, Duration::ZERO);
    assert_eq!(auths[2], None);
    assert!(project.notes.iter().any(|n| n.contains("aws_iam")));
    let jwt = auths[3].as_ref().unwrap();
    assert_eq!(jwt.scopes, ["orders.read"]);
    assert_eq!(
        jwt.authorizer.kind,
        AuthorizerKind::Jwt(JwtAuthorizer {
            issuer: "https://issuer.example".to_owned(),
            audience: vec!["app".to_owned()],
            identity: IdentitySource::Header("Authorization".to_owned()),
            jwks: Some(JwksSource::File(tmp.path().join("keys.json"))),
        })
    );
    let simple = lambda(&auths[4]);
    assert_eq!(simple.payload, LambdaPayload::HttpV2);
    assert!(simple.simple_responses);
    assert_eq!(simple.ttl, Duration::from_secs(30));
    assert_eq!(auths[5], None);
}

#[test]
fn malformed_authorizers_are_errors_with_their_position() {
    let cases: &[(&str, &str, &str, u32)] = &[
        (
            "",
            "      - http: {path: a, method: get, authorizer: nobody}\n",
            "`nobody` is not a function of this file",
            15,
        ),
        (
            "",
            "      - http: {path: a, method: get, authorizer: {name: auth, type: magic}}\n",
            "is not token, request",
            15,
        ),
        (
            "",
            "      - http: {path: a, method: get, authorizer: {name: auth, resultTtlInSeconds: 7200}}\n",
            "0 to 3600",
            15,
        ),
        (
            "",
            "      - httpApi: {path: /a, method: get, authorizer: {name: missing}}\n",
            "not one of provider.httpApi.authorizers",
            15,
        ),
        (
            "  httpApi:\n    authorizers:\n      j: {type: jwt, issuerUrl: https://i.example}\n",
            "      - httpApi: {path: /a, method: get, authorizer: {name: j}}\n",
            "has no audience",
            7,
        ),
        (
            "  httpApi:\n    authorizers:\n      l: {type: request, functionName: auth, payloadVersion: '3.0'}\n",
            "      - httpApi: {path: /a, method: get, authorizer: {name: l}}\n",
            "neither '1.0' nor '2.0'",
            7,
        ),
    ];
    for (provider, events, message, line) in cases {
        let (_tmp, project) = parse(&service(provider, events));
        let err = project.unwrap_err();
        assert!(err.message.contains(message), "{events}: {err}");
        assert_eq!(err.line, Some(*line), "{events}: {err}");
        assert_eq!(err.kind, ErrorKind::Invalid, "{events}: {err}");
    }
}
