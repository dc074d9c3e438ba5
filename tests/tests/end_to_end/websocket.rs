//! WebSocket APIs through `lambkin watch`, end to end: a SAM template's
//! `AWS::ApiGatewayV2` resources, a real WebSocket client, and an SDK function that answers
//! through the `@connections` API.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use lambkin_tests::project::{Watching, lambkin_binary, repository, target_dir};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// A chat API over the `ws-chat` fixture, as CloudFormation resources write it.
const TEMPLATE: &str = r#"Transform: AWS::Serverless-2016-10-31
Resources:
  Chat:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: Chat
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: $request.body.action
  ConnectRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Chat
      RouteKey: $connect
      Target: !Join ['/', [integrations, !Ref ChatIntegration]]
  SendRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Chat
      RouteKey: sendmessage
      Target: !Join ['/', [integrations, !Ref ChatIntegration]]
  ChatIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Chat
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${ChatFunction.Arn}/invocations
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Chat
      StageName: Prod
  ChatFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {fixtures}
      Handler: ws-chat
      Runtime: provided.al2023
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sam_websocket_api_is_served_by_lambkin_watch() {
    let dir = std::env::temp_dir().join(format!("lambkin-ws-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fixtures = repository().join("tests");
    let template = TEMPLATE.replace("{fixtures}", &fixtures.display().to_string());
    let file = dir.join("template.yaml");
    std::fs::write(&file, template).unwrap();
    // Run in the repository, whose workspace holds the fixture.
    let args = ["--no-reload", "--template", file.to_str().unwrap()];
    let mut watching =
        Watching::start_in(&lambkin_binary(), repository(), &args, &target_dir()).await;
    let line = watching
        .wait_for(Duration::from_secs(30), |l| l.contains("WebSocket ws://"))
        .await;
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("ws://"))
        .unwrap()
        .to_owned();
    assert_eq!(url, format!("ws://{}/Prod", watching.addr));

    let bounded = |url: String| {
        tokio::time::timeout(
            Duration::from_secs(60),
            tokio_tungstenite::connect_async(url),
        )
    };
    // `$connect` refusing: the upgrade gets its status.
    match bounded(format!("{url}?refuse=1")).await.unwrap() {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let (mut client, _) = bounded(url.clone()).await.unwrap().unwrap();
    client
        .send(Message::text(
            r#"{"action":"sendmessage","data":"hello, chat"}"#,
        ))
        .await
        .unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(60), client.next())
        .await
        .unwrap();
    match reply {
        Some(Ok(Message::Text(text))) => assert_eq!(text.as_str(), "hello, chat"),
        other => panic!("expected the message back, got {other:?}"),
    }
    client.close(None).await.unwrap();
    drop(watching);
    let _ = std::fs::remove_dir_all(&dir);
}
