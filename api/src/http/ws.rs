//! GraphQL subscriptions over WebSocket: `GET /graphql/ws`, subprotocol
//! `graphql-transport-ws` (the `graphql-ws` library's protocol; docs/design.md §4.15,
//! README §11.10). Only subscriptions, and only `subscription { changes }` exists.
//!
//! - **connection_init** must come within [`INIT_WAIT`] (else 4408). Its payload carries the
//!   token as `{"authorization": "Bearer <JWT>"}` (the HTTP header's value) or `{"token":
//!   "<JWT>"}`, checked by [`auth::authenticate`] exactly as a request's `Authorization`
//!   header: no valid token closes the socket with 4401, a deactivated account (or agency)
//!   or a revoked service client with 4403 (close reason: the same `reason` HTTP answers
//!   with). Then `connection_ack`. A `subscribe` before it is 4401, a second init 4429.
//! - **While open** the token is verified again at every round of every subscription (each
//!   wake-up, [`feed`]) and every [`VERIFY_EVERY`] in any case: once it no longer
//!   authenticates (expired, an unknown key, a rotated client secret → 4401; the account
//!   deactivated, the client revoked → 4403) the socket is closed, before any further event.
//! - **subscribe** runs a subscription operation; a query or a mutation is refused with an
//!   `error` message (BAD_USER_INPUT, reason `subscriptions_only`: send those to POST
//!   /graphql), as is one over [`MAX_SUBSCRIPTIONS`] running on the socket, one over the
//!   alias limit, and one over the account's rate limit (RATE_LIMITED; a subscribe counts as
//!   a request). Depth and complexity are checked by the schema as on HTTP. A subscription
//!   that does not even start (parse, validation, variables) gets `error`; otherwise `next`
//!   per event and `complete` when it ends. A `subscribe` with the id of a running one is
//!   4409; `complete` from the client stops it; `ping` gets `pong`.
//! - **Keepalive**: a socket the hub has sent nothing on for `limits.ws_ping_interval` (30 s
//!   by default) gets a `ping` (the client's `pong` is taken silently); a write that fails
//!   ends the socket and frees its subscriptions.
//! - **Shutdown** (SIGTERM, SIGINT): every socket is closed with 1001 (going away), so that
//!   clients reconnect to another replica with their last cursor ([`Hub::shut_down`];
//!   the process waits a few seconds for the closes, [`Hub::closed`]).
//! - An account may hold [`hub::MAX_SOCKETS_PER_ACCOUNT`] sockets per process (the next is
//!   closed with 4429 after its init). Anything else that is not a protocol message is 4400.

mod feed;
mod hub;
mod protocol;

pub use hub::Hub;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::futures_util::StreamExt;
use async_graphql::parser::types::OperationType;
use async_graphql::{Response, Variables};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{IntoResponse, Response as HttpResponse};
use serde_json::json;
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::{error_body, AppState};
use crate::auth;
use crate::error::{is_pool_timeout, Code};
use crate::graphql::subscription::ChangeSource;
use crate::policy::Principal;
use feed::{Conn, Feed};
use protocol::{ClientMessage, Close};

/// How long a socket may take to send `connection_init`.
pub const INIT_WAIT: Duration = Duration::from_secs(10);
/// How often an open socket's token is verified again, events or not.
pub const VERIFY_EVERY: Duration = Duration::from_secs(15);
/// Subscriptions running on one socket at most.
pub const MAX_SUBSCRIPTIONS: usize = 10;
/// Messages queued for the client before a subscription waits for the socket.
const OUTBOX: usize = 64;

/// GET /graphql/ws.
pub async fn handler(
    State(state): State<AppState>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> HttpResponse {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            return (
                rejection.status(),
                error_body(
                    Code::BadUserInput,
                    "WebSocket (サブプロトコル graphql-transport-ws) で接続してください / connect with a WebSocket (subprotocol graphql-transport-ws)",
                    json!({ "field": "upgrade" }),
                ),
            )
                .into_response()
        }
    };
    let limit = state.config.body_limit;
    let upgrade = upgrade
        .protocols([protocol::PROTOCOL])
        .max_message_size(limit)
        .max_frame_size(limit);
    let agreed = upgrade.selected_protocol().is_some();
    upgrade.on_upgrade(move |socket| connection(socket, state, agreed))
}

/// Send a close frame and wait briefly for the client's.
async fn close(mut socket: WebSocket, close: Close) {
    tracing::debug!(code = close.code, reason = %close.reason, "socket closed by the hub");
    let frame = CloseFrame {
        code: close.code,
        reason: close.reason.into(),
    };
    if socket.send(Message::Close(Some(frame))).await.is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(m)) = socket.recv().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

/// The close of a socket when the process shuts down.
fn going_away() -> Close {
    Close::new(protocol::GOING_AWAY, "server shutting down; reconnect")
}

/// Once the process shuts down.
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    if stopping.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// How long one message may take to leave: a peer that stopped reading (a half-open
/// connection behind a NAT, a client gone without a close) fills the send buffer, and
/// without a bound the socket's task, its subscriptions and its seat would wait for TCP to
/// give up.
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Send a text message and note when; false when the socket is gone or the peer has not
/// taken the message within [`SEND_TIMEOUT`].
async fn send(socket: &mut WebSocket, text: String, sent: &mut Instant) -> bool {
    *sent = Instant::now();
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await,
        Ok(Ok(()))
    )
}

async fn connection(mut socket: WebSocket, state: AppState, agreed: bool) {
    // Held until the socket is closed: shutting down waits for it.
    let mut stopping = state.sockets.stopping();
    if !agreed {
        let why = "subprotocol not acceptable: use graphql-transport-ws";
        return close(
            socket,
            Close::new(protocol::SUBPROTOCOL_NOT_ACCEPTABLE, why),
        )
        .await;
    }
    let initialised = tokio::select! {
        got = tokio::time::timeout(INIT_WAIT, init(&mut socket)) => got,
        () = stopped(&mut stopping) => return close(socket, going_away()).await,
    };
    let payload = match initialised {
        Err(_) => {
            let why = "connection initialisation timeout";
            return close(socket, Close::new(protocol::INIT_TIMEOUT, why)).await;
        }
        Ok(Err(Some(refused))) => return close(socket, refused).await,
        Ok(Err(None)) => return,
        Ok(Ok(payload)) => payload,
    };
    let authorization = protocol::authorization(payload.as_ref());
    let principal =
        match auth::authenticate(&state.db, &state.config.jwt, authorization.as_deref()).await {
            Ok(Ok(p)) => p,
            Ok(Err(f)) => {
                crate::observe::token_failure(f.reason());
                return close(socket, feed::close_for(&f)).await;
            }
            Err(e) if is_pool_timeout(&e) => {
                let c = Close::new(protocol::TRY_AGAIN_LATER, "unavailable");
                return close(socket, c).await;
            }
            Err(e) => {
                tracing::error!(error = %e, "socket authentication lookup failed");
                return close(socket, Close::new(protocol::INTERNAL, "internal error")).await;
            }
        };
    let Some(_seat) = state.sockets.seat(&principal.account_id) else {
        let why = "too many sockets for this account";
        return close(socket, Close::new(protocol::TOO_MANY, why)).await;
    };
    state.sockets.listen(&state.db);
    if socket
        .send(Message::Text(protocol::bare("connection_ack").into()))
        .await
        .is_err()
    {
        return;
    }
    let conn = Arc::new(Conn::new(state, authorization.unwrap_or_default()));
    let (outbox, inbox) = mpsc::channel(OUTBOX);
    let mut session = Session {
        conn,
        principal,
        running: HashMap::new(),
        serial: 0,
        outbox,
    };
    let ended = session.serve(&mut socket, inbox, &mut stopping).await;
    for (_, (_, task)) in session.running.drain() {
        task.abort();
    }
    if let Some(c) = ended {
        close(socket, c).await;
    }
}

/// Wait for `connection_init` (answering pings meanwhile): its payload; Err(Some) to close
/// with, Err(None) when the client left.
async fn init(socket: &mut WebSocket) -> Result<Option<serde_json::Value>, Option<Close>> {
    loop {
        let text = match socket.recv().await {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Err(None),
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Binary(_))) => return Err(Some(binary())),
            Some(Ok(_)) => continue,
        };
        match ClientMessage::parse(text.as_str()).map_err(Some)? {
            ClientMessage::ConnectionInit { payload } => return Ok(payload),
            ClientMessage::Ping { .. } => {
                let pong = Message::Text(protocol::bare("pong").into());
                socket.send(pong).await.map_err(|_| None)?;
            }
            ClientMessage::Pong { .. } | ClientMessage::Complete { .. } => {}
            ClientMessage::Subscribe { .. } => {
                return Err(Some(Close::new(protocol::UNAUTHORIZED, "Unauthorized")));
            }
        }
    }
}

fn binary() -> Close {
    Close::new(
        protocol::INVALID_MESSAGE,
        "binary messages are not part of the protocol",
    )
}

/// A message for the client from a subscription's task.
struct Out {
    serial: u64,
    id: String,
    text: String,
    /// The subscription's last message (`complete` or `error`).
    last: bool,
}

/// An acknowledged socket.
struct Session {
    conn: Arc<Conn>,
    principal: Principal,
    /// Running subscriptions by the client's id: their serial (so that a late message of an
    /// ended one is not taken for a new one with the same id) and their task.
    running: HashMap<String, (u64, AbortHandle)>,
    serial: u64,
    outbox: mpsc::Sender<Out>,
}

impl Session {
    /// Until the client leaves (None) or the socket must be closed.
    async fn serve(
        &mut self,
        socket: &mut WebSocket,
        mut inbox: mpsc::Receiver<Out>,
        stopping: &mut watch::Receiver<bool>,
    ) -> Option<Close> {
        let mut closing = self.conn.closing();
        let start = Instant::now() + VERIFY_EVERY;
        let mut verify = tokio::time::interval_at(start, VERIFY_EVERY);
        let ping_every = self.conn.state.config.limits.ws_ping_interval;
        // When the hub last sent anything (the ack, just before).
        let mut sent = Instant::now();
        loop {
            tokio::select! {
                received = socket.recv() => {
                    let text = match received {
                        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return None,
                        Some(Ok(Message::Text(t))) => t,
                        Some(Ok(Message::Binary(_))) => return Some(binary()),
                        Some(Ok(_)) => continue,
                    };
                    let message = match ClientMessage::parse(text.as_str()) {
                        Ok(m) => m,
                        Err(c) => return Some(c),
                    };
                    match self.handle(message) {
                        Ok(Some(reply)) => {
                            if !send(socket, reply, &mut sent).await {
                                return None;
                            }
                        }
                        Ok(None) => {}
                        Err(c) => return Some(c),
                    }
                }
                Some(out) = inbox.recv() => {
                    if self.running.get(&out.id).is_none_or(|(s, _)| *s != out.serial) {
                        continue;
                    }
                    if out.last {
                        self.running.remove(&out.id);
                    }
                    if !send(socket, out.text, &mut sent).await {
                        return None;
                    }
                }
                () = tokio::time::sleep_until(sent + ping_every), if !ping_every.is_zero() => {
                    if !send(socket, protocol::bare("ping"), &mut sent).await {
                        tracing::debug!("socket keepalive ping failed; closing");
                        return None;
                    }
                }
                () = stopped(stopping) => return Some(going_away()),
                _ = verify.tick() => {
                    // A failure tells `closing`; a database failure waits for the next tick.
                    let _ = self.conn.verify().await;
                }
                changed = closing.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                    if let Some(c) = closing.borrow().clone() {
                        return Some(c);
                    }
                }
            }
        }
    }

    /// A message from the client: what to answer, or why to close.
    fn handle(&mut self, message: ClientMessage) -> Result<Option<String>, Close> {
        match message {
            ClientMessage::ConnectionInit { .. } => Err(Close::new(
                protocol::TOO_MANY,
                "Too many initialisation requests",
            )),
            ClientMessage::Ping { .. } => Ok(Some(protocol::bare("pong"))),
            ClientMessage::Pong { .. } => Ok(None),
            ClientMessage::Complete { id } => {
                if let Some((_, task)) = self.running.remove(&id) {
                    task.abort();
                }
                Ok(None)
            }
            ClientMessage::Subscribe { id, payload } => {
                if self.running.contains_key(&id) {
                    let why = format!("Subscriber for {id} already exists");
                    return Err(Close::new(protocol::SUBSCRIBER_EXISTS, &why));
                }
                if let Err(refused) = self.admit(&payload) {
                    return Ok(Some(protocol::error(&id, &[refused])));
                }
                self.start(id, payload);
                Ok(None)
            }
        }
    }

    /// The socket's own refusals of a subscribe, before it runs.
    fn admit(&self, payload: &protocol::Subscribe) -> Result<(), async_graphql::ServerError> {
        let state = &self.conn.state;
        if self.running.len() >= MAX_SUBSCRIPTIONS {
            return Err(protocol::refusal(
                Code::BadUserInput,
                &format!("1 つの接続で購読できるのは {MAX_SUBSCRIPTIONS} 件までです / at most {MAX_SUBSCRIPTIONS} subscriptions per socket"),
                "too_many_subscriptions",
            ));
        }
        if state.limiter.check(&self.principal.account_id).is_err() {
            crate::observe::rate_limited("account");
            return Err(protocol::refusal(
                Code::RateLimited,
                "リクエストが多すぎます / too many requests",
                "rate_limited",
            ));
        }
        let name = payload.operation_name.as_deref();
        if operation_type(&payload.query, name).is_some_and(|t| t != OperationType::Subscription) {
            return Err(protocol::refusal(
                Code::BadUserInput,
                "この接続では subscription だけを受け付けます。query と mutation は POST /graphql へ / only subscriptions over this socket: send queries and mutations to POST /graphql",
                "subscriptions_only",
            ));
        }
        let max = state.config.limits.max_aliases;
        if crate::limits::inspect(&payload.query, name).aliases > max {
            return Err(protocol::refusal(
                Code::BadUserInput,
                &format!("エイリアスが多すぎます (上限 {max}) / too many aliases (at most {max})"),
                "too_many_aliases",
            ));
        }
        Ok(())
    }

    /// Run a subscription on its own task; its messages come back through the outbox.
    fn start(&mut self, id: String, payload: protocol::Subscribe) {
        let operation =
            crate::limits::inspect(&payload.query, payload.operation_name.as_deref()).operation;
        let source: Arc<dyn ChangeSource> = Arc::new(Feed {
            conn: self.conn.clone(),
            operation,
            id: id.clone(),
        });
        let mut request = async_graphql::Request::new(payload.query).data(source);
        if let Some(name) = payload.operation_name {
            request = request.operation_name(name);
        }
        if let Some(variables) = payload.variables {
            request = request.variables(Variables::from_json(variables));
        }
        self.serial += 1;
        let serial = self.serial;
        let schema = self.conn.state.schema.clone();
        let outbox = self.outbox.clone();
        let key = id.clone();
        let task = tokio::spawn(async move {
            let out = |text: String, last: bool| Out {
                serial,
                id: id.clone(),
                text,
                last,
            };
            let mut results = schema.execute_stream(request);
            let mut first = true;
            while let Some(response) = results.next().await {
                if first && refused_before_running(&response) {
                    let _ = outbox
                        .send(out(protocol::error(&id, &response.errors), true))
                        .await;
                    return;
                }
                first = false;
                let Some(text) = protocol::next(&id, &response) else {
                    continue;
                };
                if outbox.send(out(text, false)).await.is_err() {
                    return;
                }
            }
            let _ = outbox.send(out(protocol::complete(&id), true)).await;
        });
        self.running.insert(key, (serial, task.abort_handle()));
    }
}

/// Nothing ran: a parse, validation or variable failure (no data, no error at a path).
fn refused_before_running(response: &Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// The type of the operation a request runs; None when the document does not parse or does
/// not name one operation (the schema then answers with its own error).
fn operation_type(query: &str, name: Option<&str>) -> Option<OperationType> {
    let doc = async_graphql::parser::parse_query(query).ok()?;
    let mut chosen = doc
        .operations
        .iter()
        .filter(|(n, _)| name.is_none() || n.map(|n| n.as_str()) == name);
    match (chosen.next(), chosen.next()) {
        (Some((_, op)), None) => Some(op.node.ty),
        _ => None,
    }
}
