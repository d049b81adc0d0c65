//! The messages of graphql-transport-ws (the `graphql-ws` library's PROTOCOL.md) and the
//! close codes the socket uses.

use async_graphql::{ErrorExtensionValues, Response, ServerError};
use serde::Deserialize;
use serde_json::Value;

use crate::error::Code;

/// The WebSocket subprotocol.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// Why the hub closes a socket: a close code and a short reason (at most 123 bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Close {
    pub code: u16,
    pub reason: String,
}

impl Close {
    pub fn new(code: u16, reason: &str) -> Close {
        // A close frame's reason is at most 123 bytes: cut at a character boundary.
        let mut end = reason.len().min(123);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        Close {
            code,
            reason: reason[..end].to_owned(),
        }
    }
}

/// 4400: a message that is not one of the protocol's.
pub const INVALID_MESSAGE: u16 = 4400;
/// 4401: no valid token at `connection_init`, or it is no longer valid (expired, unknown
/// key, a rotated client secret …); also a `subscribe` before the connection was acked.
pub const UNAUTHORIZED: u16 = 4401;
/// 4403: the account (or its agency) is deactivated, or its service client revoked.
pub const FORBIDDEN: u16 = 4403;
/// 4406: the client did not ask for the `graphql-transport-ws` subprotocol.
pub const SUBPROTOCOL_NOT_ACCEPTABLE: u16 = 4406;
/// 4408: no `connection_init` in time.
pub const INIT_TIMEOUT: u16 = 4408;
/// 4409: a `subscribe` with the id of a subscription still running.
pub const SUBSCRIBER_EXISTS: u16 = 4409;
/// 4429: a second `connection_init`, or too many sockets for the account.
pub const TOO_MANY: u16 = 4429;
/// 4500: an internal failure.
pub const INTERNAL: u16 = 4500;
/// 1001 (going away): the process is shutting down; reconnect (to another replica) with
/// the last cursor.
pub const GOING_AWAY: u16 = 1001;
/// 1013 (try again later): the database could not be reached in time at `connection_init`.
pub const TRY_AGAIN_LATER: u16 = 1013;

/// What a client sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<Value>,
    },
    Ping {
        #[serde(default)]
        #[allow(dead_code)]
        payload: Option<Value>,
    },
    Pong {
        #[serde(default)]
        #[allow(dead_code)]
        payload: Option<Value>,
    },
    Subscribe {
        id: String,
        payload: Subscribe,
    },
    Complete {
        id: String,
    },
}

/// A `subscribe` message's payload: a GraphQL request.
#[derive(Debug, Deserialize)]
pub struct Subscribe {
    pub query: String,
    #[serde(default, rename = "operationName")]
    pub operation_name: Option<String>,
    #[serde(default)]
    pub variables: Option<Value>,
}

impl ClientMessage {
    /// A text frame as a message; the error is the close reason (4400).
    pub fn parse(text: &str) -> Result<ClientMessage, Close> {
        serde_json::from_str(text).map_err(|e| {
            Close::new(
                INVALID_MESSAGE,
                &format!("invalid message: {}", e.to_string().replace('\n', " ")),
            )
        })
    }
}

/// `connection_ack`, `pong`: a message with only a type.
pub fn bare(kind: &str) -> String {
    format!(r#"{{"type":"{kind}"}}"#)
}

fn with_id(id: &str, kind: &str, payload: Option<String>) -> String {
    let id = serde_json::to_string(id).unwrap_or_else(|_| "\"\"".to_owned());
    match payload {
        Some(p) => format!(r#"{{"id":{id},"type":"{kind}","payload":{p}}}"#),
        None => format!(r#"{{"id":{id},"type":"{kind}"}}"#),
    }
}

/// `next`: one result, serialised as built (its objects keep their keys in selection
/// order; never through a sorted map).
pub fn next(id: &str, response: &Response) -> Option<String> {
    Some(with_id(
        id,
        "next",
        Some(serde_json::to_string(response).ok()?),
    ))
}

/// `error`: the operation is refused before it runs (no `complete` follows).
pub fn error(id: &str, errors: &[ServerError]) -> String {
    let payload = serde_json::to_string(errors).unwrap_or_else(|_| "[]".to_owned());
    with_id(id, "error", Some(payload))
}

/// `complete`: the operation ended.
pub fn complete(id: &str) -> String {
    with_id(id, "complete", None)
}

/// A coded error of the socket's own (the house style: a code, a reason, both languages).
pub fn refusal(code: Code, message: &str, reason: &str) -> ServerError {
    let mut e = ServerError::new(message, None);
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", code.as_str());
    ext.set("reason", reason);
    e.extensions = Some(ext);
    e
}

/// The `Authorization` value a `connection_init` payload carries: `{"authorization":
/// "Bearer <JWT>"}` (the HTTP header's value, also as `Authorization`) or `{"token":
/// "<JWT>"}`. None when it carries neither (then the token is missing).
pub fn authorization(payload: Option<&Value>) -> Option<String> {
    let payload = payload?;
    for key in ["authorization", "Authorization"] {
        if let Some(v) = payload.get(key) {
            // Not text: an authorization that cannot be a bearer token (malformed).
            return Some(v.as_str().unwrap_or("\u{0}").to_owned());
        }
    }
    let token = payload.get("token")?;
    Some(format!("Bearer {}", token.as_str().unwrap_or("\u{0}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_token_comes_from_authorization_or_token() {
        let a = json!({ "authorization": "Bearer x.y.z" });
        assert_eq!(authorization(Some(&a)).as_deref(), Some("Bearer x.y.z"));
        let a = json!({ "Authorization": "Bearer x.y.z" });
        assert_eq!(authorization(Some(&a)).as_deref(), Some("Bearer x.y.z"));
        let t = json!({ "token": "x.y.z" });
        assert_eq!(authorization(Some(&t)).as_deref(), Some("Bearer x.y.z"));
        assert_eq!(authorization(Some(&json!({}))), None);
        assert_eq!(authorization(None), None);
        let n = json!({ "token": 7 });
        assert_eq!(authorization(Some(&n)).as_deref(), Some("Bearer \u{0}"));
    }

    #[test]
    fn messages_parse_and_unknown_ones_are_4400() {
        assert!(matches!(
            ClientMessage::parse(r#"{"type":"connection_init"}"#),
            Ok(ClientMessage::ConnectionInit { payload: None })
        ));
        assert!(matches!(
            ClientMessage::parse(
                r#"{"type":"subscribe","id":"1","payload":{"query":"subscription { changes { cursor } }"}}"#
            ),
            Ok(ClientMessage::Subscribe { .. })
        ));
        let bad = ClientMessage::parse(r#"{"type":"start","id":"1"}"#).unwrap_err();
        assert_eq!(bad.code, INVALID_MESSAGE);
        assert!(bad.reason.len() <= 123);
        assert_eq!(ClientMessage::parse("nope").unwrap_err().code, 4400);
    }

    #[test]
    fn close_reasons_fit_a_frame() {
        let long = "あ".repeat(100);
        let c = Close::new(4400, &long);
        assert!(c.reason.len() <= 123 && long.starts_with(&c.reason));
    }

    #[test]
    fn messages_carry_their_id() {
        assert_eq!(complete("a\"b"), r#"{"id":"a\"b","type":"complete"}"#);
        assert_eq!(bare("connection_ack"), r#"{"type":"connection_ack"}"#);
    }
}
