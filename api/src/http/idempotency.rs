//! Idempotent retries on POST /graphql (issue 15 item 2): a mutation sent with an
//! `Idempotency-Key` header runs at most once per key; a retry gets the first answer again,
//! byte for byte.
//!
//! - **The key**: 1 to 255 visible ASCII characters (0x21–0x7E), one header value; anything
//!   else is HTTP 400 BAD_USER_INPUT (`field: "Idempotency-Key"`, `reason:
//!   "idempotency_key_invalid"`), whatever the operation. Keys are scoped to the caller:
//!   the account, and the service client for a client token (`ACCOUNT:<account>` or
//!   `CLIENT:<client>/<account>`), so two callers never see each other's keys.
//! - **Only mutations**: on a query (or a document that does not parse, or names no single
//!   operation) the key is ignored and the request runs as any other. A query has no effect
//!   to protect, and a stored answer would hand out personal data decided on yesterday's
//!   facts (a consent withdrawn since) where a new query decides again.
//! - **One transaction**: the whole request runs in ONE database transaction
//!   ([`crate::store::RequestTxn`]; every resolver reads and writes through it, each
//!   mutation field's write in a savepoint). Its WRITE ledger rows, its READ ledger rows
//!   (which do not go to the group commit) and the stored answer are written in it, then it
//!   commits, and only then does the answer leave. A crash before the commit leaves neither
//!   effect nor answer (the retry runs again); after it, both.
//! - **What is stored**: the answer of every request that ran, errors included (a field
//!   refused FORBIDDEN, CONFLICT on a stale version, BAD_USER_INPUT from a resolver): the
//!   outcome was decided, and a retry must learn the same outcome, not a new one. Not
//!   stored, so a retry runs again: a request that did not run (a parse, validation or
//!   variable error: nothing was decided), and a request with an INTERNAL error anywhere,
//!   which is rolled back whole and answered HTTP 500 with no data (as a failed ledger
//!   write is). Neither is an answer a client could act on.
//! - **A replay** (same scope, key and request within [`TTL`]): the stored status,
//!   `Content-Type` and body, with `Idempotent-Replayed: true`; nothing runs, and the replay
//!   is ledgered as one READ row (`idempotentReplay`, record type `idempotency_key`, record
//!   id the key; the first request's READ rows carry `detail.idempotencyKey`, which names
//!   the subjects it showed). "Same request" is the same JSON body (key order and
//!   whitespace aside: SHA-256 of its canonical form); another body is HTTP 422
//!   BAD_USER_INPUT, `reason: "idempotency_key_reused"`.
//! - **In flight**: a request whose key is being run by another is HTTP 409 CONFLICT,
//!   `reason: "idempotency_key_in_flight"`, at once: the process's own set of running keys,
//!   and on PostgreSQL a non-waiting advisory lock on the key taken first in the
//!   transaction, so another hub process answers 409 too (released by COMMIT, ROLLBACK or a
//!   dead session).
//! - **Expiry**: an answer is kept [`TTL`] (24 hours); an expired one is deleted when its key
//!   comes again, and every expired one at start-up and at most every [`PURGE_EVERY`] after
//!   (a background statement started by a keyed request).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sea_orm::DatabaseConnection;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{error_body, internal, AppState};
use crate::audit::{self, Entry};
use crate::error::{is_pool_timeout, Code};
use crate::policy::Principal;
use crate::shed::Shed;
use crate::store::{self, Db, RequestTxn};

/// The request header.
pub const KEY_HEADER: HeaderName = HeaderName::from_static("idempotency-key");
/// The answer header of a replay.
pub const REPLAYED_HEADER: HeaderName = HeaderName::from_static("idempotent-replayed");
/// How long an answer is kept.
pub const TTL: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// Expired answers are purged at most this often (and at start-up).
pub const PURGE_EVERY: Duration = Duration::from_secs(300);
/// The longest key.
pub const MAX_KEY: usize = 255;

/// A valid `Idempotency-Key`.
pub struct Key(String);

/// The request's key, if it sent one; HTTP 400 if the header is not one valid key.
#[allow(clippy::result_large_err)]
pub fn key(headers: &HeaderMap) -> Result<Option<Key>, Response> {
    let mut values = headers.get_all(KEY_HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    let valid = values.next().is_none()
        && (1..=MAX_KEY).contains(&bytes.len())
        && bytes.iter().all(|b| (0x21..=0x7e).contains(b));
    match std::str::from_utf8(bytes) {
        Ok(text) if valid => Ok(Some(Key(text.to_owned()))),
        _ => Err((
            StatusCode::BAD_REQUEST,
            error_body(
                Code::BadUserInput,
                "Idempotency-Key は 1〜255 文字の ASCII の表示可能文字 (0x21–0x7E) を 1 つだけ送ってください / the Idempotency-Key header must be one value of 1 to 255 visible ASCII characters (0x21–0x7E)",
                json!({ "field": "Idempotency-Key", "reason": "idempotency_key_invalid" }),
            ),
        )
            .into_response()),
    }
}

/// The process's keys: those running now, and when expired answers were last purged.
pub struct Keys {
    running: Mutex<HashSet<(String, String)>>,
    purged: Mutex<Instant>,
}

impl Keys {
    /// Purge expired answers now (a background task: start-up does not wait for it).
    pub fn start(db: &DatabaseConnection) -> Arc<Keys> {
        let keys = Arc::new(Keys {
            running: Mutex::new(HashSet::new()),
            purged: Mutex::new(Instant::now()),
        });
        spawn_purge(db.clone());
        keys
    }

    /// Claim `id` for this request; None if another request of this process runs it.
    fn claim(self: &Arc<Self>, id: (String, String)) -> Option<Running> {
        let mut running = self.running.lock().ok()?;
        running.insert(id.clone()).then(|| Running {
            keys: self.clone(),
            id,
        })
    }

    /// Start a purge if the last one is [`PURGE_EVERY`] ago.
    fn purge_if_due(&self, db: &DatabaseConnection) {
        let due = self.purged.lock().is_ok_and(|mut last| {
            let due = last.elapsed() >= PURGE_EVERY;
            if due {
                *last = Instant::now();
            }
            due
        });
        if due {
            spawn_purge(db.clone());
        }
    }
}

fn spawn_purge(db: DatabaseConnection) {
    tokio::spawn(async move {
        match store::idempotency::purge(&db, audit::now_micros()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "expired idempotency keys purged"),
            Err(e) => tracing::warn!(error = %e, "purging expired idempotency keys failed"),
        }
    });
}

/// A key this process is running; released when dropped (the request answered, abandoned
/// at the timeout, or panicked).
struct Running {
    keys: Arc<Keys>,
    id: (String, String),
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(mut running) = self.keys.running.lock() {
            running.remove(&self.id);
        }
    }
}

/// How a request with (or without) a key goes on.
pub enum Start {
    /// No key, or not a mutation: as any other request.
    Plain,
    /// Answered already: a replay, or a refusal (409, 422, 500, 503).
    Answer(Response),
    /// Run it in this transaction and [`Run::finish`] it.
    Run(Run),
}

/// A keyed mutation being run: its transaction and what its answer is stored under.
pub struct Run {
    request: Arc<RequestTxn>,
    scope: String,
    key: String,
    hash: String,
    _running: Running,
}

/// The scope a caller's keys live in.
fn scope(principal: &Principal) -> String {
    match &principal.client_id {
        Some(client) => format!("CLIENT:{client}/{}", principal.account_id),
        None => format!("ACCOUNT:{}", principal.account_id),
    }
}

/// SHA-256 (hex) of the body's canonical JSON: object keys sorted, no whitespace. The body
/// has been parsed as JSON already (a body that is not JSON never gets here).
fn request_hash(body: &[u8]) -> String {
    fn canonical(v: &Value, out: &mut String) {
        match v {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                out.push('{');
                for (i, (k, v)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    canonical(v, out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    canonical(v, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut text = String::new();
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => canonical(&v, &mut text),
        Err(_) => text.push_str(&String::from_utf8_lossy(body)),
    }
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn in_flight() -> Response {
    let mut answer = (
        StatusCode::CONFLICT,
        error_body(
            Code::Conflict,
            "同じ Idempotency-Key のリクエストを実行中です。終わってから再試行してください / a request with this Idempotency-Key is still running: retry when it has finished",
            json!({ "field": "Idempotency-Key", "reason": "idempotency_key_in_flight" }),
        ),
    )
        .into_response();
    answer
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    answer
}

fn reused() -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        error_body(
            Code::BadUserInput,
            "この Idempotency-Key は別の内容のリクエストに使われています。新しいキーを使ってください / this Idempotency-Key was used for a request with another body: use a new key",
            json!({ "field": "Idempotency-Key", "reason": "idempotency_key_reused" }),
        ),
    )
        .into_response()
}

/// Begin a keyed mutation: the key claimed (409 if taken), the transaction begun, the key
/// looked up in it (a replay, or 422 for another body). `mutation`: the operation that
/// would run is a mutation.
pub async fn start(
    state: &AppState,
    principal: &Principal,
    key: Option<Key>,
    body: &[u8],
    mutation: bool,
) -> Start {
    let Some(Key(key)) = key.filter(|_| mutation) else {
        return Start::Plain;
    };
    let scope = scope(principal);
    let Some(running) = state.idempotency.claim((scope.clone(), key.clone())) else {
        return Start::Answer(in_flight());
    };
    state.idempotency.purge_if_due(&state.db);
    let hash = request_hash(body);
    let request = match RequestTxn::begin(&state.db).await {
        Ok(r) => r,
        Err(e) if is_pool_timeout(&e) => {
            return Start::Answer(state.admission.refuse(Shed::DatabasePool, false))
        }
        Err(e) => {
            tracing::error!(error = %e, "idempotent request: BEGIN failed");
            return Start::Answer(internal());
        }
    };
    let run = Run {
        request,
        scope,
        key,
        hash,
        _running: running,
    };
    match run.look_up(principal).await {
        Ok(start) => start,
        Err(e) => {
            tracing::error!(error = %e, "idempotent request: key lookup failed");
            Start::Answer(internal())
        }
    }
}

impl Run {
    /// The database handle the request's resolvers use (request data).
    pub fn db(&self) -> Db {
        Db::Txn(self.request.clone())
    }

    /// The key in the transaction: taken by another process (409), stored for another body
    /// (422), stored for this one (the replay, ledgered and committed), or new: run it.
    async fn look_up(self, principal: &Principal) -> Result<Start, sea_orm::DbErr> {
        let txn = self.request.txn();
        if !store::idempotency::try_lock(txn, &self.scope, &self.key).await? {
            return Ok(Start::Answer(in_flight()));
        }
        let Some(stored) = store::idempotency::find(txn, &self.scope, &self.key).await? else {
            return Ok(Start::Run(self));
        };
        if stored.expires_at <= audit::now_micros() {
            store::idempotency::forget(txn, &self.scope, &self.key).await?;
            return Ok(Start::Run(self));
        }
        if stored.request_hash != self.hash {
            return Ok(Start::Answer(reused()));
        }
        let replay = Entry {
            action: "READ",
            operation: "idempotentReplay".to_owned(),
            record_type: "idempotency_key".to_owned(),
            record_id: Some(self.key.clone()),
            detail: json!({
                "firstAnsweredAt": stored.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "status": stored.status_code,
            }),
            ..Entry::by(principal)
        };
        let Some((txn, _)) = RequestTxn::finish(self.request) else {
            return Err(sea_orm::DbErr::Custom(
                "request transaction in use".to_owned(),
            ));
        };
        audit::append(&txn, vec![replay]).await?;
        txn.commit().await?;
        let mut answer = (
            StatusCode::from_u16(u16::try_from(stored.status_code).unwrap_or(500))
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            stored.body,
        )
            .into_response();
        let headers = answer.headers_mut();
        if let Ok(media) = HeaderValue::from_str(&stored.content_type) {
            headers.insert(header::CONTENT_TYPE, media);
        }
        headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
        Ok(Start::Answer(answer))
    }

    /// Write the request's ledger rows (its writes' and `reads`), store `answer` (as it will
    /// leave) if `keep`, commit; then, and only then, the answer. HTTP 500 and nothing
    /// stored (rolled back) if any of it fails.
    pub async fn finish(self, reads: Vec<Entry>, answer: Response, keep: bool) -> Response {
        match self.commit(reads, answer, keep).await {
            Ok(answer) => answer,
            Err(why) => {
                tracing::error!(error = %why, "idempotent request not committed; response withheld");
                internal()
            }
        }
    }

    async fn commit(
        self,
        reads: Vec<Entry>,
        answer: Response,
        keep: bool,
    ) -> Result<Response, String> {
        let Run {
            request,
            scope,
            key,
            hash,
            _running,
        } = self;
        let (txn, mut entries) =
            RequestTxn::finish(request).ok_or("the request transaction is still in use")?;
        entries.extend(reads.into_iter().map(|mut e| {
            if let (true, Value::Object(detail)) = (e.action == "READ", &mut e.detail) {
                detail.insert("idempotencyKey".to_owned(), Value::String(key.clone()));
            }
            e
        }));
        audit::append(&txn, entries)
            .await
            .map_err(|e| e.to_string())?;
        let (parts, body) = answer.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .map_err(|e| e.to_string())?;
        if keep {
            let now = audit::now_micros();
            let content_type = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let stored = entity::idempotency_key::Model {
                scope,
                key,
                request_hash: hash,
                status_code: i32::from(parts.status.as_u16()),
                content_type,
                body: bytes.to_vec(),
                created_at: now,
                expires_at: now + TTL,
            };
            store::idempotency::store(&txn, stored)
                .await
                .map_err(|e| e.to_string())?;
        }
        txn.commit().await.map_err(|e| e.to_string())?;
        Ok(Response::from_parts(parts, axum::body::Body::from(bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_hash_ignores_key_order_and_whitespace_only() {
        let a = request_hash(
            br#"{"query":"mutation { x }","variables":{"a":1,"b":[1,{"c":"d","e":null}]}}"#,
        );
        let b = request_hash(
            b"{ \"variables\" : { \"b\" : [1, {\"e\": null, \"c\": \"d\"}], \"a\": 1 },\n \"query\": \"mutation { x }\" }",
        );
        assert_eq!(a, b);
        let other = request_hash(
            br#"{"query":"mutation { x }","variables":{"a":2,"b":[1,{"c":"d","e":null}]}}"#,
        );
        assert_ne!(a, other);
        let reordered = request_hash(
            br#"{"query":"mutation { x }","variables":{"a":1,"b":[{"c":"d","e":null},1]}}"#,
        );
        assert_ne!(a, reordered, "array order matters");
    }

    #[test]
    fn a_key_is_one_value_of_1_to_255_visible_ascii_characters() {
        let check = |values: &[&[u8]]| {
            let mut headers = HeaderMap::new();
            for v in values {
                headers.append(KEY_HEADER, HeaderValue::from_bytes(v).unwrap());
            }
            key(&headers)
                .map(|k| k.map(|Key(k)| k))
                .map_err(|refused| refused.status())
        };
        assert!(matches!(check(&[]), Ok(None)));
        let longest = "~".repeat(MAX_KEY);
        for ok in [
            b"a".as_slice(),
            b"!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~",
            longest.as_bytes(),
        ] {
            assert_eq!(
                check(&[ok]).ok().flatten().as_deref().map(str::as_bytes),
                Some(ok)
            );
        }
        let too_long = "a".repeat(MAX_KEY + 1);
        for bad in [
            &[b"".as_slice()][..],
            &[too_long.as_bytes()],
            &[b"a b"],
            &[b"a\tb"],
            &["鍵".as_bytes()],
            &[b"a", b"a"],
        ] {
            let refused = check(bad).err();
            assert_eq!(refused, Some(StatusCode::BAD_REQUEST), "{bad:?}");
        }
    }
}
