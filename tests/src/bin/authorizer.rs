//! Fixture: a Lambda authorizer of any type (REST TOKEN or REQUEST, HTTP API 1.0 or 2.0), whose
//! decision is its credential (the token, else the first identity value, else `?user=`):
//!
//! - `allow` (or anything else): an IAM policy allowing every method and path of the stage
//!   (`…/{stage}/*`); `deny`: one denying the request's ARN; `elsewhere`: one allowing only
//!   another API (an implicit deny);
//! - `simple-allow`, `simple-deny`: a simple response (`isAuthorized`);
//! - `unauthorized`: the error `Unauthorized`; `error`: another error; `slow`: sleeps 3 s;
//!   `bad-context`: a policy whose context holds an object (REST refuses it).
//!
//! Every answer's context is `{user, calls, admin: true}`, `calls` counting the invocations its
//! instance served, so tests see when a decision came from API Gateway's cache.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

fn setup() -> Result<AtomicU64, lambkin::Error> {
    Ok(AtomicU64::new(0))
}

/// The credential of a TOKEN, REQUEST 1.0 or 2.0 event.
fn credential(event: &Value) -> String {
    let candidates = [
        &event["authorizationToken"],
        &event["identitySource"][0],
        &event["queryStringParameters"]["user"],
    ];
    candidates
        .iter()
        .find_map(|v| v.as_str())
        .unwrap_or_default()
        .split(',')
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[lambkin::handler(init = setup)]
fn authorize(calls: &AtomicU64, event: Value) -> Result<Value, lambkin::Error> {
    let calls = calls.fetch_add(1, Ordering::Relaxed) + 1;
    let token = credential(&event);
    let arn = event["methodArn"]
        .as_str()
        .or(event["routeArn"].as_str())
        .unwrap_or_default()
        .to_owned();
    let context = json!({ "user": token, "calls": calls, "admin": true });
    let policy = |effect: &str, resource: &str, context: Value| {
        json!({
            "principalId": format!("user-{token}"),
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Action": "execute-api:Invoke",
                    "Effect": effect,
                    "Resource": resource,
                }],
            },
            "context": context,
        })
    };
    // `arn:…:{api}/{stage}/{METHOD}/{path}` → `arn:…:{api}/{stage}/*`.
    let stage_wide = {
        let mut parts = arn.splitn(3, '/');
        format!(
            "{}/{}/*",
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default()
        )
    };
    Ok(match token.as_str() {
        "unauthorized" => return Err(lambkin::Error::msg("Unauthorized")),
        "error" => return Err(lambkin::Error::msg("the authorizer failed on purpose")),
        "slow" => {
            std::thread::sleep(std::time::Duration::from_secs(3));
            policy("Allow", &stage_wide, context)
        }
        "deny" => policy("Deny", &arn, context),
        "elsewhere" => policy(
            "Allow",
            "arn:aws:execute-api:us-east-1:123456789012:another/*",
            context,
        ),
        "bad-context" => policy("Allow", &stage_wide, json!({ "nested": { "a": 1 } })),
        "simple-allow" => json!({ "isAuthorized": true, "context": context }),
        "simple-deny" => json!({ "isAuthorized": false, "context": context }),
        _ => policy("Allow", &stage_wide, context),
    })
}
