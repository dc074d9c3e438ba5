//! API Gateway authorizers end to end: `lambkin watch` on a SAM template whose routes require
//! Lambda authorizers (REST TOKEN and REQUEST, HTTP API 1.0 and 2.0 with simple responses) and a
//! JWT authorizer; the authorizer is the `authorizer` fixture, a real function, and the
//! protected function is `echo-http`, which shows the `requestContext.authorizer` it received.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use lambkin_tests::project::{Watching, lambkin_binary, repository, target_dir};
use lambkin_tests::{Answer, request};
use serde_json::{Value, json};

/// The issuer whose keys the template gives locally (`Metadata.Lambkin.Jwks`).
const ISSUER: &str = "https://issuer.lambkin.test";

const TEMPLATE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Metadata:
  Lambkin:
    Jwks:
      "https://issuer.lambkin.test": {jwks}
Globals:
  Function:
    Timeout: 5
Resources:
  Rest:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      Auth:
        DefaultAuthorizer: Token
        Authorizers:
          Token:
            FunctionArn: !GetAtt Authorizer.Arn
            Identity:
              Header: X-Token
              ValidationExpression: "[a-z-]+"
          Request:
            FunctionPayloadType: REQUEST
            FunctionArn: !GetAtt Authorizer.Arn
            Identity:
              Headers: [X-Key]
              QueryStrings: [user]
              ReauthorizeEvery: 0
          Slow:
            FunctionArn: !GetAtt SlowAuthorizer.Arn
            Identity:
              ReauthorizeEvery: 0
  Http:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Simple
        Authorizers:
          Simple:
            FunctionArn: !GetAtt Authorizer.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity:
              Headers: [Authorization]
              ReauthorizeEvery: 0
          Policy:
            FunctionArn: !GetAtt Authorizer.Arn
            AuthorizerPayloadFormatVersion: "1.0"
            Identity:
              Headers: [Authorization]
              ReauthorizeEvery: 0
          Jwt:
            IdentitySource: $request.header.Authorization
            JwtConfiguration:
              issuer: https://issuer.lambkin.test
              audience: [lambkin-tests]
  Authorizer:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {fixtures}
      Handler: authorizer
      Runtime: provided.al2023
  SlowAuthorizer:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {fixtures}
      Handler: authorizer
      Runtime: provided.al2023
      Timeout: 1
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {fixtures}
      Handler: echo-http
      Runtime: provided.al2023
      Events:
        Token:
          Type: Api
          Properties: {Path: /rest/token, Method: GET, RestApiId: !Ref Rest}
        TokenElsewhere:
          Type: Api
          Properties:
            Path: /rest/items/{id}
            Method: GET
            RestApiId: !Ref Rest
        Request:
          Type: Api
          Properties:
            Path: /rest/request
            Method: GET
            RestApiId: !Ref Rest
            Auth: {Authorizer: Request}
        Slow:
          Type: Api
          Properties:
            Path: /rest/slow
            Method: GET
            RestApiId: !Ref Rest
            Auth: {Authorizer: Slow}
        Open:
          Type: Api
          Properties:
            Path: /rest/open
            Method: GET
            RestApiId: !Ref Rest
            Auth: {Authorizer: NONE}
        Simple:
          Type: HttpApi
          Properties: {Path: /http/simple, Method: GET, ApiId: !Ref Http}
        Policy:
          Type: HttpApi
          Properties:
            Path: /http/policy
            Method: GET
            ApiId: !Ref Http
            PayloadFormatVersion: "1.0"
            Auth: {Authorizer: Policy}
        Jwt:
          Type: HttpApi
          Properties:
            Path: /http/jwt
            Method: GET
            ApiId: !Ref Http
            Auth:
              Authorizer: Jwt
              AuthorizationScopes: [orders.read]
"#;

/// The same kinds of authorizer in a serverless.yml: a REST token authorizer, and an HTTP API
/// request authorizer with simple responses whose answers are cached for a minute.
const SERVERLESS: &str = r#"service: auth
provider:
  name: aws
  runtime: provided.al2023
  timeout: 5
  httpApi:
    authorizers:
      simple:
        type: request
        functionName: authorizer
        enableSimpleResponses: true
        identitySource: [$request.header.Authorization]
        resultTtlInSeconds: 60
functions:
  authorizer:
    handler: {fixtures}.authorizer
  echo:
    handler: {fixtures}.echo-http
    events:
      - http: {path: token, method: get, authorizer: {name: authorizer, identitySource: method.request.header.X-Token}}
      - httpApi: {path: /simple, method: get, authorizer: {name: simple}}
"#;

/// A configuration file `name` in a temp dir, with the tests crate as the functions' code.
struct Template(PathBuf);

impl Template {
    fn new(name: &str, text: &str) -> Template {
        let dir = std::env::temp_dir().join(format!("lambkin-auth-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fixtures = repository().join("tests");
        let jwks = fixtures.join("fixtures/jwt/jwks.json");
        let text = text
            .replace("{fixtures}", &fixtures.display().to_string())
            .replace("{jwks}", &jwks.display().to_string());
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        Template(file)
    }

    /// `lambkin watch` serving it.
    async fn watch(&self) -> Watching {
        Watching::start_in(
            &lambkin_binary(),
            repository(),
            &["--no-reload", "--template", self.0.to_str().unwrap()],
            &target_dir(),
        )
        .await
    }
}

impl Drop for Template {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A token signed with the test key (whose public half is `fixtures/jwt/jwks.json`), with
/// `claims` over a valid issuer, audience, expiry and scope.
fn token(claims: Value) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut all = json!({
        "iss": ISSUER,
        "aud": "lambkin-tests",
        "sub": "user-7",
        "exp": now + 600,
        "iat": now - 10,
        "scope": "orders.read profile",
    });
    for (k, v) in claims.as_object().unwrap() {
        all[k] = v.clone();
    }
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("lambkin-test".to_owned());
    let key = jsonwebtoken::EncodingKey::from_rsa_der(include_bytes!("../../fixtures/jwt/key.der"));
    jsonwebtoken::encode(&header, &all, &key).unwrap()
}

/// The `requestContext.authorizer` the protected function received.
fn authorizer_seen(answer: &Answer) -> Value {
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.body["requestContext"]["authorizer"].clone()
}

fn header<'a>(answer: &'a Answer, name: &str) -> Option<&'a str> {
    answer.headers.get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorizers_guard_routes_as_api_gateway_does() {
    let template = Template::new("template.yaml", TEMPLATE);
    let lambkin = template.watch().await;
    let addr = lambkin.addr;
    let get = |path: &'static str, headers: Vec<(&'static str, String)>| async move {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        request(addr, "GET", path, &headers, Vec::new()).await
    };
    let token_header = |t: &str| vec![("x-token", t.to_owned())];

    // REST TOKEN: allowed; the context arrives flat, as strings, with the principal.
    let answer = get("/rest/token", token_header("allow")).await;
    let seen = authorizer_seen(&answer);
    assert_eq!(seen["principalId"], "user-allow");
    assert_eq!(seen["user"], "allow");
    assert_eq!(
        seen["calls"], "1",
        "the first decision invokes the authorizer"
    );
    assert_eq!(seen["admin"], "true");
    assert!(seen["integrationLatency"].is_u64(), "{seen}");
    // Cached for the default 300 s: the same token is not sent to the authorizer again, and the
    // cached policy (`…/prod/*`) is evaluated for another path of the API.
    let answer = get("/rest/items/7", token_header("allow")).await;
    assert_eq!(authorizer_seen(&answer)["calls"], "1", "{answer:?}");
    assert_eq!(answer.body["pathParameters"]["id"], "7");
    // Denied: 403 with REST's message and error type.
    let answer = get("/rest/token", token_header("deny")).await;
    assert_eq!(answer.status, 403, "{answer:?}");
    assert_eq!(
        answer.body,
        json!({"Message": "User is not authorized to access this resource with an explicit deny"})
    );
    assert_eq!(
        header(&answer, "x-amzn-errortype"),
        Some("AccessDeniedException")
    );
    // No Allow matching the request: an implicit deny.
    let answer = get("/rest/token", token_header("elsewhere")).await;
    assert_eq!(
        (answer.status, answer.body.clone()),
        (
            403,
            json!({"Message": "User is not authorized to access this resource"})
        )
    );
    // No token, a token failing the ValidationExpression, or the authorizer's own
    // `Unauthorized`: 401.
    for headers in [
        vec![],
        token_header("Not Valid!"),
        token_header("unauthorized"),
    ] {
        let answer = get("/rest/token", headers).await;
        assert_eq!(
            (answer.status, answer.body.clone()),
            (401, json!({"message": "Unauthorized"})),
            "{answer:?}"
        );
        assert_eq!(
            header(&answer, "x-amzn-errortype"),
            Some("UnauthorizedException")
        );
    }
    // An authorizer that fails, or whose context holds an object: 500.
    for token in ["error", "bad-context"] {
        let answer = get("/rest/token", token_header(token)).await;
        assert_eq!(
            (answer.status, answer.body.clone()),
            (500, json!({"message": null})),
            "{token}: {answer:?}"
        );
        assert_eq!(
            header(&answer, "x-amzn-errortype"),
            Some("AuthorizerConfigurationException")
        );
    }
    // An authorizer that outlives its timeout (1 s): 500. (Its token is in `Authorization`,
    // the default header.)
    let answer = get("/rest/slow", vec![("authorization", "slow".to_owned())]).await;
    assert_eq!(answer.status, 500, "{answer:?}");
    // A route with Authorizer: NONE is open.
    let answer = get("/rest/open", vec![]).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["requestContext"]["authorizer"], Value::Null);

    // REST REQUEST: an identity source missing → 401 without invoking; both present → allowed,
    // and (ReauthorizeEvery: 0) every request invokes the authorizer.
    let key = vec![("x-key", "k".to_owned())];
    let answer = get("/rest/request", key.clone()).await;
    assert_eq!(answer.status, 401, "{answer:?}");
    let first = get("/rest/request?user=allow", key.clone()).await;
    let second = get("/rest/request?user=allow", key.clone()).await;
    let calls = |a: &Answer| {
        authorizer_seen(a)["calls"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert_eq!(calls(&second), calls(&first) + 1, "not cached");
    assert_eq!(authorizer_seen(&first)["user"], "allow");

    // HTTP API 2.0, simple responses: the context under `lambda`, with its JSON types.
    let bearer = |t: &str| vec![("authorization", t.to_owned())];
    let answer = get("/http/simple", bearer("simple-allow")).await;
    let seen = authorizer_seen(&answer);
    assert_eq!(seen["lambda"]["user"], "simple-allow");
    assert_eq!(seen["lambda"]["admin"], true);
    assert!(seen["lambda"]["calls"].is_u64(), "{seen}");
    let answer = get("/http/simple", bearer("simple-deny")).await;
    assert_eq!(
        (answer.status, answer.body.clone()),
        (403, json!({"message": "Forbidden"}))
    );
    // A refusal names the request like any answer of the API.
    assert!(header(&answer, "apigw-requestid").is_some(), "{answer:?}");
    let answer = get("/http/simple", vec![]).await;
    assert_eq!(
        (answer.status, answer.body.clone()),
        (401, json!({"message": "Unauthorized"}))
    );
    let answer = get("/http/simple", bearer("error")).await;
    assert_eq!(
        (answer.status, answer.body.clone()),
        (500, json!({"message": "Internal Server Error"}))
    );

    // HTTP API 1.0 authorizer with an IAM policy, for a route of payload 1.0.
    let answer = get("/http/policy", bearer("allow")).await;
    assert_eq!(authorizer_seen(&answer)["lambda"]["user"], "allow");
    let answer = get("/http/policy", bearer("deny")).await;
    assert_eq!(
        (answer.status, answer.body.clone()),
        (403, json!({"message": "Forbidden"}))
    );

    // JWT: a valid token; its claims (as strings) and scopes reach the function.
    let answer = get("/http/jwt", bearer(&format!("Bearer {}", token(json!({}))))).await;
    let seen = authorizer_seen(&answer);
    assert_eq!(seen["jwt"]["claims"]["sub"], "user-7");
    assert_eq!(seen["jwt"]["claims"]["iss"], ISSUER);
    assert!(seen["jwt"]["claims"]["exp"].is_string(), "{seen}");
    assert_eq!(seen["jwt"]["scopes"], json!(["orders.read", "profile"]));
    // Expired, for another audience, signed by another key: 401 with the reason.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (claims, why) in [
        (json!({"exp": now - 60}), "expired"),
        (json!({"aud": "someone-else"}), "audience"),
        (json!({"iss": "https://other.test"}), "issuer"),
    ] {
        let answer = get("/http/jwt", bearer(&token(claims))).await;
        assert_eq!(
            (answer.status, answer.body.clone()),
            (401, json!({"message": "Unauthorized"})),
            "{why}"
        );
        let challenge = header(&answer, "www-authenticate").unwrap();
        assert!(
            challenge.contains("invalid_token") && challenge.contains(why),
            "{challenge}"
        );
    }
    let mut tampered = token(json!({}));
    tampered.truncate(tampered.len() - 4);
    tampered.push_str("AAAA");
    let answer = get("/http/jwt", bearer(&tampered)).await;
    assert_eq!(answer.status, 401, "{answer:?}");
    // Without the route's scope: 403.
    let answer = get("/http/jwt", bearer(&token(json!({"scope": "profile"})))).await;
    assert_eq!(
        (answer.status, answer.body.clone()),
        (403, json!({"message": "Forbidden"}))
    );
    assert!(
        header(&answer, "www-authenticate")
            .unwrap()
            .contains("insufficient_scope")
    );
    // No token at all.
    let answer = get("/http/jwt", vec![]).await;
    assert_eq!(answer.status, 401, "{answer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serverless_authorizers_run_the_same_way() {
    let file = Template::new("serverless.yml", SERVERLESS);
    let lambkin = file.watch().await;
    let addr = lambkin.addr;
    let get = |path: &'static str, name: &'static str, value: &'static str| async move {
        request(addr, "GET", path, &[(name, value)], Vec::new()).await
    };

    let answer = get("/token", "x-token", "allow").await;
    assert_eq!(authorizer_seen(&answer)["user"], "allow");
    let answer = get("/token", "x-token", "deny").await;
    assert_eq!(answer.status, 403, "{answer:?}");
    let answer = get("/token", "authorization", "allow").await;
    assert_eq!(answer.status, 401, "the token is read from X-Token only");

    // Cached for 60 s by identity: the second request does not invoke the authorizer.
    let first = get("/simple", "authorization", "simple-allow").await;
    let second = get("/simple", "authorization", "simple-allow").await;
    let calls = |a: &Answer| authorizer_seen(a)["lambda"]["calls"].clone();
    assert_eq!(calls(&second), calls(&first), "{second:?}");
    // Another identity is decided anew.
    let other = get("/simple", "authorization", "simple-deny").await;
    assert_eq!(other.status, 403, "{other:?}");
    let third = get("/simple", "authorization", "simple-allow").await;
    assert_eq!(calls(&third), calls(&first));
}
