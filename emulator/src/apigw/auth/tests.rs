use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::JwkSet;
use serde_json::{Value, json};

use super::jwt::{JwtError, verify};
use super::lambda::{Decision, Output, OutputError, event, request_arn, wildcard_match};
use super::*;

fn lambda(payload: LambdaPayload, simple_responses: bool) -> LambdaAuthorizer {
    LambdaAuthorizer {
        function: "auth".to_owned(),
        payload,
        identity: vec![IdentitySource::Header("Authorization".to_owned())],
        ttl: DEFAULT_TTL,
        validation: None,
        simple_responses,
    }
}

#[test]
fn identity_sources_parse_in_both_api_types_spellings() {
    let header = Some(IdentitySource::Header("Authorization".to_owned()));
    assert_eq!(
        IdentitySource::parse("method.request.header.Authorization"),
        header
    );
    assert_eq!(
        IdentitySource::parse("$request.header.Authorization"),
        header
    );
    assert_eq!(
        IdentitySource::parse("$request.querystring.user"),
        Some(IdentitySource::Query("user".to_owned()))
    );
    assert_eq!(
        IdentitySource::parse("stageVariables.tenant"),
        Some(IdentitySource::StageVariable("tenant".to_owned()))
    );
    assert_eq!(
        IdentitySource::parse("$context.identity.sourceIp"),
        Some(IdentitySource::Context("identity.sourceIp".to_owned()))
    );
    for bad in ["", "Authorization", "$request.header.", "$request.body.x"] {
        assert_eq!(IdentitySource::parse(bad), None, "{bad}");
    }
}

#[test]
fn identity_values_are_read_from_the_event_and_all_required() {
    let event = json!({
        "headers": {"X-Key": "k", "Empty": ""},
        "queryStringParameters": {"user": "u"},
        "stageVariables": {"tenant": "t"},
        "requestContext": {"identity": {"sourceIp": "127.0.0.1"}},
    });
    let sources = [
        IdentitySource::Header("x-key".to_owned()),
        IdentitySource::Query("user".to_owned()),
        IdentitySource::StageVariable("tenant".to_owned()),
        IdentitySource::Context("identity.sourceIp".to_owned()),
    ];
    assert_eq!(
        identity(&sources, &event),
        Some(vec!["k".into(), "u".into(), "t".into(), "127.0.0.1".into()])
    );
    assert_eq!(identity(&[], &event), Some(vec![]));
    for missing in ["Empty", "Absent"] {
        let sources = [IdentitySource::Header(missing.to_owned())];
        assert_eq!(identity(&sources, &event), None, "{missing}");
    }
}

#[test]
fn resource_wildcards_match_as_iam_does() {
    let arn = "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/items/7";
    for (pattern, expected) in [
        (arn, true),
        (
            "arn:aws:execute-api:us-east-1:123456789012:api/prod/*",
            true,
        ),
        ("arn:aws:execute-api:*:*:api/*/GET/*", true),
        ("*", true),
        (
            "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/items/?",
            true,
        ),
        (
            "arn:aws:execute-api:us-east-1:123456789012:api/prod/POST/*",
            false,
        ),
        (
            "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/items",
            false,
        ),
        (
            "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/items/??",
            false,
        ),
    ] {
        assert_eq!(wildcard_match(pattern, arn), expected, "{pattern}");
    }
    assert_eq!(
        request_arn("eu-west-1", "api", "prod", "GET", "/items/7"),
        format!(
            "arn:aws:execute-api:eu-west-1:{}:api/prod/GET/items/7",
            crate::ACCOUNT_ID
        )
    );
}

#[test]
fn policies_are_evaluated_for_each_arn_and_deny_wins() {
    let answer = json!({
        "principalId": "me",
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "arn:a/prod/*"},
            {"Action": ["execute-api:Invoke"], "Effect": "Deny", "Resource": ["arn:a/prod/DELETE/*"]},
            {"Action": "s3:GetObject", "Effect": "Allow", "Resource": "*"},
        ]},
        "context": {"n": 1, "b": true, "s": "x"},
    });
    let output = Output::parse(
        &lambda(LambdaPayload::Token, false),
        answer.to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(output.decide("arn:a/prod/GET/x"), Decision::Allow);
    assert_eq!(output.decide("arn:a/prod/DELETE/x"), Decision::ExplicitDeny);
    // Only statements about execute-api:Invoke count.
    assert_eq!(output.decide("arn:a/test/GET/x"), Decision::ImplicitDeny);
    // REST: flat, strings, with the principal.
    assert_eq!(
        output.authorizer_value(PayloadFormat::Rest, 5),
        json!({"n": "1", "b": "true", "s": "x", "principalId": "me", "integrationLatency": 5})
    );
    // HTTP APIs: under `lambda`, as sent.
    assert_eq!(
        output.authorizer_value(PayloadFormat::Http, 5),
        json!({"lambda": {"n": 1, "b": true, "s": "x"}})
    );
    // One statement may be an object rather than a list.
    let one = json!({"policyDocument": {"Statement":
        {"Action": "*", "Effect": "Allow", "Resource": "*"}}});
    let output = Output::parse(
        &lambda(LambdaPayload::HttpV1, false),
        one.to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(output.decide("arn:any"), Decision::Allow);
    assert_eq!(
        output.authorizer_value(PayloadFormat::HttpV1, 0),
        json!({"lambda": null})
    );
}

#[test]
fn simple_responses_and_unusable_answers() {
    let simple = lambda(LambdaPayload::HttpV2, true);
    let parse = |a: &LambdaAuthorizer, body: Value| Output::parse(a, body.to_string().as_bytes());
    let yes = parse(
        &simple,
        json!({"isAuthorized": true, "context": {"o": {"a": 1}}}),
    )
    .unwrap();
    assert_eq!(yes.decide("arn"), Decision::Allow);
    assert_eq!(
        yes.authorizer_value(PayloadFormat::Http, 0),
        json!({"lambda": {"o": {"a": 1}}}),
        "HTTP APIs take any JSON in the context"
    );
    let no = parse(&simple, json!({"isAuthorized": false})).unwrap();
    assert_eq!(no.decide("arn"), Decision::ImplicitDeny);
    assert_eq!(
        parse(&simple, json!({"isAuthorized": "yes"})),
        Err(OutputError::NoIsAuthorized)
    );
    let token = lambda(LambdaPayload::Token, false);
    assert_eq!(parse(&token, json!([1])), Err(OutputError::NotAnObject));
    assert_eq!(
        parse(&token, json!({"principalId": "x"})),
        Err(OutputError::NoPolicy)
    );
    let statement = |effect: &str| json!({"policyDocument": {"Statement": [{"Effect": effect, "Action": "*", "Resource": "*"}]}});
    assert_eq!(
        parse(&token, statement("Maybe")),
        Err(OutputError::BadEffect)
    );
    let mut nested = statement("Allow");
    nested["context"] = json!({"o": {"a": 1}});
    assert_eq!(parse(&token, nested), Err(OutputError::BadContext), "REST");
}

#[test]
fn authorizer_events_have_each_types_shape() {
    let arn = "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/a";
    let ids = ["tok".to_owned(), "u".to_owned()];
    assert_eq!(
        event(
            &lambda(LambdaPayload::Token, false),
            Value::Null,
            &ids[..1],
            arn
        ),
        json!({"type": "TOKEN", "authorizationToken": "tok", "methodArn": arn})
    );
    let base = json!({"path": "/a", "body": "secret", "isBase64Encoded": false, "headers": {}});
    let request = event(
        &lambda(LambdaPayload::Request, false),
        base.clone(),
        &ids,
        arn,
    );
    assert_eq!(
        request,
        json!({"type": "REQUEST", "methodArn": arn, "path": "/a", "headers": {}})
    );
    let v1 = event(
        &lambda(LambdaPayload::HttpV1, false),
        base.clone(),
        &ids,
        arn,
    );
    assert_eq!(v1["identitySource"], "tok,u");
    assert_eq!(v1["authorizationToken"], "tok,u");
    assert_eq!(v1["methodArn"], arn);
    let v2 = event(&lambda(LambdaPayload::HttpV2, true), base, &ids, arn);
    assert_eq!(v2["identitySource"], json!(["tok", "u"]));
    assert_eq!(v2["routeArn"], arn);
    assert_eq!(v2["type"], "REQUEST");
    assert!(v2.get("body").is_none() && v2.get("methodArn").is_none());
}

#[test]
fn answers_of_api_gateway_itself() {
    let body = |r: &http::Response<Bytes>| serde_json::from_slice::<Value>(r.body()).unwrap();
    let kind = |r: &http::Response<Bytes>| {
        r.headers()
            .get("x-amzn-errortype")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let r = unauthorized(PayloadFormat::Rest);
    assert_eq!(
        (r.status().as_u16(), body(&r)),
        (401, json!({"message": "Unauthorized"}))
    );
    assert_eq!(kind(&r).as_deref(), Some("UnauthorizedException"));
    assert_eq!(kind(&unauthorized(PayloadFormat::Http)), None);
    let r = forbidden(PayloadFormat::Rest, true);
    assert_eq!(
        body(&r),
        json!({"Message": "User is not authorized to access this resource with an explicit deny"})
    );
    assert_eq!(kind(&r).as_deref(), Some("AccessDeniedException"));
    let r = forbidden(PayloadFormat::HttpV1, true);
    assert_eq!(
        (r.status().as_u16(), body(&r)),
        (403, json!({"message": "Forbidden"}))
    );
    let r = authorizer_failure(PayloadFormat::Rest);
    assert_eq!(
        (r.status().as_u16(), body(&r)),
        (500, json!({"message": null}))
    );
    assert_eq!(
        kind(&r).as_deref(),
        Some("AuthorizerConfigurationException")
    );
    let r = authorizer_failure(PayloadFormat::Http);
    assert_eq!(body(&r), json!({"message": "Internal Server Error"}));
}

/// The test key of `tests/fixtures/jwt` (its public half is `jwks.json` there).
const KEY: &[u8] = include_bytes!("../../../../tests/fixtures/jwt/key.der");
const JWKS: &str = include_str!("../../../../tests/fixtures/jwt/jwks.json");

fn sign(claims: Value, alg: jsonwebtoken::Algorithm, kid: Option<&str>) -> String {
    let mut header = jsonwebtoken::Header::new(alg);
    header.kid = kid.map(str::to_owned);
    let key = match alg {
        jsonwebtoken::Algorithm::HS256 => jsonwebtoken::EncodingKey::from_secret(b"s"),
        _ => jsonwebtoken::EncodingKey::from_rsa_der(KEY),
    };
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

#[test]
fn jwts_are_checked_as_http_apis_check_them() {
    let keys: JwkSet = serde_json::from_str(JWKS).unwrap();
    let authorizer = JwtAuthorizer {
        issuer: "https://issuer.test".to_owned(),
        audience: vec!["app".to_owned(), "other".to_owned()],
        identity: IdentitySource::Header("Authorization".to_owned()),
        jwks: None,
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = |extra: Value| {
        let mut c = json!({"iss": "https://issuer.test", "exp": now + 60, "scp": ["read"],
            "client_id": "app", "groups": ["a", "b"]});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let rs = jsonwebtoken::Algorithm::RS256;
    let kid = Some("lambkin-test");
    let scopes = ["read".to_owned()];
    let ok = verify(
        &sign(claims(json!({})), rs, kid),
        &authorizer,
        &scopes,
        &keys,
    )
    .unwrap();
    assert_eq!(ok.scopes, ["read"]);
    let value = ok.authorizer_value(PayloadFormat::Http);
    assert_eq!(value["jwt"]["claims"]["groups"], "[a b]");
    assert_eq!(value["jwt"]["claims"]["exp"], (now + 60).to_string());
    assert_eq!(value["jwt"]["scopes"], json!(["read"]));
    assert_eq!(
        ok.authorizer_value(PayloadFormat::HttpV1)["scopes"],
        json!(["read"])
    );

    let refused = |token: String| verify(&token, &authorizer, &scopes, &keys).unwrap_err();
    let invalid = |e: JwtError| match e {
        JwtError::Invalid(why) => why,
        JwtError::InsufficientScope => panic!("not a scope problem"),
    };
    let hs = jsonwebtoken::Algorithm::HS256;
    assert!(invalid(refused(sign(claims(json!({})), hs, kid))).contains("RS256"));
    assert!(invalid(refused(sign(claims(json!({})), rs, None))).contains("no kid"));
    assert!(invalid(refused(sign(claims(json!({})), rs, Some("x")))).contains("kid"));
    assert!(
        invalid(refused(sign(claims(json!({"nbf": now + 600})), rs, kid)))
            .contains("not valid yet")
    );
    assert!(invalid(refused(sign(claims(json!({"iat": now + 600})), rs, kid))).contains("future"));
    let no_exp = json!({"iss": "https://issuer.test", "aud": "app"});
    assert!(invalid(refused(sign(no_exp, rs, kid))).contains("exp"));
    assert!(
        invalid(refused(sign(claims(json!({"client_id": "x"})), rs, kid))).contains("audience")
    );
    assert!(invalid(refused("not.a.jwt".to_owned())).contains("not a JWT"));
    assert_eq!(
        refused(sign(claims(json!({"scp": "write"})), rs, kid)),
        JwtError::InsufficientScope
    );
    // No route scopes: none needed; `Bearer ` is taken off.
    let token = format!("Bearer {}", sign(claims(json!({"scp": []})), rs, kid));
    assert!(verify(&token, &authorizer, &[], &keys).is_ok());
}
