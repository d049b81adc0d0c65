//! A small graphql-transport-ws client for the subscription tests (tests/api/subscriptions.rs
//! and api/tests/subscriptions.rs include this file by path): connect to `GET /graphql/ws`,
//! init, subscribe, read messages, and see how the hub closed the socket.

// Each including test uses a different subset.
#![allow(dead_code)]

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// What came from the hub.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Message(Value),
    /// A close frame: its code and reason (1005 when the frame had none; 1006 when the
    /// connection ended without one).
    Closed(u16, String),
    Timeout,
}

pub struct Socket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// `base` is the server's `http://host:port`.
pub async fn connect(base: &str) -> Socket {
    connect_with(base, Some("graphql-transport-ws")).await
}

pub async fn connect_with(base: &str, protocol: Option<&str>) -> Socket {
    let url = format!("{}/graphql/ws", base.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().expect("ws request");
    if let Some(p) = protocol {
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", p.parse().expect("header"));
    }
    let (ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("WebSocket handshake");
    Socket { ws }
}

impl Socket {
    pub async fn send(&mut self, message: Value) {
        self.ws
            .send(Message::text(message.to_string()))
            .await
            .expect("send");
    }

    /// The next message (pings from the hub answered), a close, or nothing within `bound`.
    pub async fn recv(&mut self, bound: Duration) -> Incoming {
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.recv_raw(left).await {
                Incoming::Message(v) if v["type"] == "ping" => {
                    self.send(json!({ "type": "pong" })).await;
                }
                other => return other,
            }
        }
    }

    /// Like [`Socket::recv`], but the hub's `ping` messages are returned (not answered).
    pub async fn recv_raw(&mut self, bound: Duration) -> Incoming {
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            let Ok(next) = tokio::time::timeout_at(deadline, self.ws.next()).await else {
                return Incoming::Timeout;
            };
            match next {
                None | Some(Err(_)) => return Incoming::Closed(1006, String::new()),
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str()).expect("JSON message");
                    return Incoming::Message(v);
                }
                Some(Ok(Message::Close(frame))) => {
                    return match frame {
                        Some(f) => Incoming::Closed(u16::from(f.code), f.reason.to_string()),
                        None => Incoming::Closed(1005, String::new()),
                    }
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    /// `connection_init` with `payload`: Ok on `connection_ack`, else how it was closed.
    pub async fn init(&mut self, payload: Value) -> Result<(), (u16, String)> {
        self.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        match self.recv(Duration::from_secs(10)).await {
            Incoming::Message(m) if m["type"] == "connection_ack" => Ok(()),
            Incoming::Closed(code, reason) => Err((code, reason)),
            other => panic!("expected connection_ack or a close, got {other:?}"),
        }
    }

    /// Init with a bearer token (the `authorization` form).
    pub async fn init_token(&mut self, token: &str) {
        self.init(json!({ "authorization": format!("Bearer {token}") }))
            .await
            .expect("connection_ack");
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe",
            "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next message, which must come within `bound`.
    pub async fn message(&mut self, bound: Duration) -> Value {
        match self.recv(bound).await {
            Incoming::Message(m) => m,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// The next `next` of subscription `id` as its `payload.data.changes`, asserting no
    /// errors; panics on anything else within `bound`.
    pub async fn event(&mut self, id: &str, bound: Duration) -> Value {
        let m = self.message(bound).await;
        assert_eq!((&m["type"], &m["id"]), (&json!("next"), &json!(id)), "{m}");
        assert!(m["payload"]["errors"].is_null(), "{m}");
        m["payload"]["data"]["changes"].clone()
    }

    /// How the hub closes the socket, within `bound` (messages before it are skipped).
    pub async fn closed(&mut self, bound: Duration) -> (u16, String) {
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.recv(left).await {
                Incoming::Closed(code, reason) => return (code, reason),
                Incoming::Timeout => panic!("the socket was not closed within {bound:?}"),
                Incoming::Message(_) => {}
            }
        }
    }

    /// Close from the client side (1000).
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
