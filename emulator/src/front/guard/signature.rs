//! The management APIs' signature check (Lambda's, and a WebSocket API's `@connections`): an
//! `Authorization` header in the form AWS Signature Version 4 gives it (the form only; the
//! emulator checks no keys).

use axum::http::{HeaderMap, header};

use super::Refusal;

/// The service a Lambda management API request is signed for.
pub(super) const LAMBDA: &str = "lambda";
/// The service an `@connections` request is signed for: API Gateway's execute-api, as the
/// `apigatewaymanagementapi` clients sign it
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html>:
/// the caller needs `execute-api:ManageConnections` and signs with SigV4).
pub(super) const EXECUTE_API: &str = "execute-api";
/// The service the Step Functions API is signed for.
#[cfg(feature = "workflows")]
pub(super) const STATES: &str = "states";

/// A management API takes requests signed with AWS Signature Version 4 for `service` (the form
/// only).
///
/// The errors are AWS's: an unsigned request gets 403 `MissingAuthenticationTokenException`
/// ("Missing Authentication Token"), what AWS's endpoints answer one (see
/// <https://repost.aws/knowledge-center/api-gateway-authentication-token-errors>); a malformed
/// signature gets 403 `IncompleteSignatureException`, Lambda's "IncompleteSignature: the request
/// signature does not conform to AWS standards"
/// (<https://docs.aws.amazon.com/lambda/latest/api/CommonErrors.html>).
pub(super) fn check_signature(headers: &HeaderMap, service: &str) -> Result<(), Refusal> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        // What AWS answers an unsigned request.
        return Err(Refusal::new(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token: this management API takes requests signed with AWS Signature Version 4, as the AWS CLI and SDKs send them (any credentials will do, e.g. AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x)".to_owned(),
        ));
    };
    sigv4_problem(value.to_str().unwrap_or_default(), service).map_or(Ok(()), |problem| {
        Err(Refusal::new(
            "IncompleteSignatureException",
            format!("{problem} (expected `AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/{service}/aws4_request, SignedHeaders=..., Signature=...`)"),
        ))
    })
}

/// What is wrong with an `Authorization` value as a SigV4 header for `service`, if anything.
///
/// The form is AWS's: <https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>
/// (`AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/iam/aws4_request,
/// SignedHeaders=content-type;host;x-amz-date, Signature=<64 hex digits>`).
fn sigv4_problem(value: &str, service: &str) -> Option<String> {
    let Some(parameters) = value.strip_prefix("AWS4-HMAC-SHA256 ") else {
        return Some("Authorization header requires the AWS4-HMAC-SHA256 algorithm".to_owned());
    };
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for parameter in parameters.split(',') {
        match parameter.trim().split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed_headers = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => {
                return Some(format!(
                    "Authorization header has a malformed parameter {:?}",
                    parameter.trim()
                ));
            }
        }
    }
    let missing: Vec<&str> = [
        ("Credential", credential.is_none()),
        ("SignedHeaders", signed_headers.is_none()),
        ("Signature", signature.is_none()),
    ]
    .iter()
    .filter(|(_, absent)| *absent)
    .map(|(name, _)| *name)
    .collect();
    if !missing.is_empty() {
        return Some(format!(
            "Authorization header requires {}",
            missing.join(", ")
        ));
    }
    let scope: Vec<&str> = credential.unwrap_or_default().split('/').collect();
    let scope_ok = matches!(
        scope.as_slice(),
        [key, date, region, _, "aws4_request"]
            if !key.is_empty()
                && date.len() == 8
                && date.bytes().all(|b| b.is_ascii_digit())
                && !region.is_empty()
    );
    if !scope_ok {
        return Some("Credential must be KEY/YYYYMMDD/REGION/SERVICE/aws4_request".to_owned());
    }
    if scope[3] != service {
        return Some(format!(
            "Credential should be scoped to correct service: '{service}'"
        ));
    }
    let headers_ok = signed_headers.unwrap_or_default().split(';').all(|name| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    if !headers_ok {
        return Some("SignedHeaders must be lower-case header names separated by ';'".to_owned());
    }
    let signature = signature.unwrap_or_default();
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some("Signature must be 64 hexadecimal digits".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_for_form() {
        let good = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(sigv4_problem(good, LAMBDA), None);
        assert_eq!(sigv4_problem(&good.replace(", ", ","), LAMBDA), None);
        let connections = good.replace("/lambda/", "/execute-api/");
        assert_eq!(sigv4_problem(&connections, EXECUTE_API), None);
        assert!(sigv4_problem(&connections, LAMBDA).is_some());
        assert!(sigv4_problem(good, EXECUTE_API).is_some());
        for bad in [
            "",
            "Bearer x",
            "AWS4-HMAC-SHA256 ",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/lambda/aws4_request",
            &good.replace("/lambda/", "/s3/"),
            &good.replace("20240101", "2024"),
            &good.replace("AKIDEXAMPLE/", "/"),
            &good.replace("host;x-amz-date", "Host"),
            &good.replace("Signature=0123", "Signature=zz23"),
            &good.replace("Signature=0123", "Signature=123"),
            &format!("{good}, Extra=1"),
            &good.replace("SignedHeaders", "Signed"),
        ] {
            assert!(sigv4_problem(bad, LAMBDA).is_some(), "{bad}");
        }
    }
}
