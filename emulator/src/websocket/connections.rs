//! The open connections of the WebSocket APIs: what each one's events and `GetConnection`
//! report, and the way to send it a message or close it (`PostToConnection`,
//! `DeleteConnection`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::apigw::request::{Handshake, new_id};
use crate::clock::epoch_ms;
use crate::sync::lock;

/// One client connection, as its events describe it.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    /// `connectionId`.
    pub(crate) id: String,
    /// When the upgrade was asked for.
    pub(crate) connected_at: SystemTime,
    /// The same, in milliseconds since the epoch (`connectedAt`).
    pub(crate) connected_at_ms: u64,
    /// The client's address.
    pub(crate) source_ip: String,
    /// The client's `User-Agent`.
    pub(crate) user_agent: Option<String>,
    /// The `Host` the client connected to: `domainName`, so that `http://{domainName}/{stage}`
    /// is the management API's endpoint as `https://{domainName}/{stage}` is on AWS.
    pub(crate) domain_name: String,
    /// The `$connect` event's headers and query string.
    pub(crate) handshake: Map<String, Value>,
    /// The upgrade request's X-Ray trace header.
    pub(crate) trace_id: String,
}

impl Connection {
    /// A new connection (with a new id) of the client whose upgrade request is `handshake`.
    pub(crate) fn new(handshake: Handshake, now: SystemTime) -> Connection {
        Connection {
            id: new_id(),
            connected_at: now,
            connected_at_ms: epoch_ms(now),
            source_ip: handshake.source_ip,
            user_agent: handshake.user_agent,
            domain_name: handshake.host,
            handshake: handshake.fields,
            trace_id: handshake.trace_id,
        }
    }
}

/// What the management API sends a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outgoing {
    /// A message: a text frame if it is UTF-8 and not marked binary, else a binary frame.
    Data {
        /// The message.
        data: Vec<u8>,
        /// Whether it must go in a binary frame.
        binary: bool,
    },
    /// Close the connection (`DeleteConnection`).
    Close,
}

/// The connection is not open (any more): `GoneException` (410).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gone;

/// An open connection: what it is, which API it belongs to, and its outbox.
#[derive(Debug)]
struct Open {
    connection: Arc<Connection>,
    api: String,
    last_active: SystemTime,
    outbox: mpsc::Sender<Outgoing>,
}

/// The open connections of every WebSocket API, by id.
#[derive(Debug, Default)]
pub(crate) struct Connections {
    open: Mutex<HashMap<String, Open>>,
}

impl Connections {
    /// Registers `connection` of the API `api`, whose messages go to `outbox`.
    pub(crate) fn open(
        &self,
        connection: Arc<Connection>,
        api: &str,
        outbox: mpsc::Sender<Outgoing>,
    ) {
        let open = Open {
            last_active: connection.connected_at,
            connection: connection.clone(),
            api: api.to_owned(),
            outbox,
        };
        lock(&self.open).insert(connection.id.clone(), open);
    }

    /// Forgets the connection `id` (it has ended).
    pub(crate) fn close(&self, id: &str) {
        lock(&self.open).remove(id);
    }

    /// Records activity on `id` (a message from the client), for `lastActiveAt`.
    pub(crate) fn touch(&self, id: &str, now: SystemTime) {
        if let Some(open) = lock(&self.open).get_mut(id) {
            open.last_active = now;
        }
    }

    /// The connection `id` of `api` and when it was last active.
    pub(crate) fn get(&self, api: &str, id: &str) -> Result<(Arc<Connection>, SystemTime), Gone> {
        lock(&self.open)
            .get(id)
            .filter(|open| open.api == api)
            .map(|open| (open.connection.clone(), open.last_active))
            .ok_or(Gone)
    }

    /// Sends `what` to the connection `id` of `api`, waiting while its outbox is full.
    pub(crate) async fn send(&self, api: &str, id: &str, what: Outgoing) -> Result<(), Gone> {
        let outbox = lock(&self.open)
            .get(id)
            .filter(|open| open.api == api)
            .map(|open| open.outbox.clone())
            .ok_or(Gone)?;
        outbox.send(what).await.map_err(|_| Gone)
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use bytes::Bytes;

    use super::*;

    fn connection() -> Arc<Connection> {
        let request = http::Request::get("/dev").body(Bytes::new()).unwrap();
        let peer = SocketAddr::from(([127, 0, 0, 1], 1));
        let now = SystemTime::now();
        Arc::new(Connection::new(
            crate::apigw::request::handshake(&request, peer, now),
            now,
        ))
    }

    #[tokio::test]
    async fn connections_are_found_by_api_and_id_until_closed() {
        let connections = Connections::default();
        let (tx, mut rx) = mpsc::channel(4);
        let one = connection();
        assert_ne!(one.id, connection().id);
        connections.open(one.clone(), "Chat", tx);
        assert!(connections.get("Chat", &one.id).is_ok());
        assert_eq!(connections.get("Other", &one.id).err(), Some(Gone));
        let later = one.connected_at + std::time::Duration::from_secs(5);
        connections.touch(&one.id, later);
        assert_eq!(connections.get("Chat", &one.id).unwrap().1, later);
        let hello = Outgoing::Data {
            data: b"hi".to_vec(),
            binary: false,
        };
        connections
            .send("Chat", &one.id, hello.clone())
            .await
            .unwrap();
        assert_eq!(rx.recv().await, Some(hello.clone()));
        // The connection's task has gone: its outbox is closed.
        drop(rx);
        assert_eq!(
            connections.send("Chat", &one.id, hello.clone()).await,
            Err(Gone)
        );
        connections.close(&one.id);
        assert_eq!(connections.get("Chat", &one.id).err(), Some(Gone));
        assert_eq!(connections.send("Chat", &one.id, hello).await, Err(Gone));
    }
}
