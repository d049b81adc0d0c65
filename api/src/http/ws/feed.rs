//! What a subscription delivers, and when: the [`ChangeSource`] of one socket.
//!
//! Each **round** does what one `POST /graphql` of `Query.changes` does, with the socket's
//! token: authenticate it again exactly as the HTTP edge does ([`auth::authenticate`]: the
//! registry's account, agency and roles, the client and its secret generation, the clock of
//! now), execute the ordinary `changes(after: <cursor>, types: …)` query through the schema
//! with a fresh [`RequestCtx`] (fresh principal, clock, loaders and ledger recorder), and
//! write the request's ledger rows through the same group commit ([`audit::GroupCommit`]).
//! Only once they are durable are the page's events handed to the subscription, and the
//! cursor moves to the page's `endCursor` (past rows the caller does not see, too). A token
//! that no longer authenticates closes the socket (4401 / 4403) instead; nothing is sent.
//!
//! A round runs when the subscription starts, after every wake-up (`store::wake`: a commit
//! on any hub process, or the head poll), at once again while the page said `hasNextPage`,
//! and at the latest every [`IDLE_ROUND`]. A round that delivers nothing sends nothing and
//! writes no ledger row: nothing left the hub. A database failure is retried (with a growing
//! pause) without moving the cursor; after [`MAX_FAILURES`] in a row the subscription ends
//! with INTERNAL, and the client resubscribes from its last cursor.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::futures_util::stream::{self, BoxStream, StreamExt};
use async_graphql::indexmap::IndexMap;
use async_graphql::{InputType, Name, Request, Value, Variables};
use serde_json::json;
use tokio::sync::watch;

use super::protocol::{Close, FORBIDDEN, UNAUTHORIZED};
use crate::audit;
use crate::auth::{self, AuthFailure, ClientFailure};
use crate::error::{ApiError, Code};
use crate::graphql::changes::{ChangeEvent, GqlChangeType};
use crate::graphql::context::RequestCtx;
use crate::graphql::subscription::ChangeSource;
use crate::http::AppState;
use crate::policy::changes::ChangeType;
use crate::policy::Principal;
use crate::store::{self, wake};

/// A round without a wake-up at the latest this often.
pub const IDLE_ROUND: Duration = Duration::from_secs(30);
/// Failed rounds in a row before the subscription ends.
pub const MAX_FAILURES: u32 = 20;
/// Events one round reads at most (`first`).
const PAGE: i32 = 100;

/// The query a round executes: `Query.changes` itself.
const FEED: &str = "query SubscriptionRound($after: String, $types: [ChangeType!], $first: Int) { changes(after: $after, types: $types, first: $first) { nodes { cursor recordType recordId operation categories agencyId committedAt } pageInfo { endCursor hasNextPage } } }";

/// One socket, as its subscriptions see it.
pub struct Conn {
    pub state: AppState,
    /// The `Authorization` value from `connection_init`, verified again at every round.
    authorization: String,
    closing: watch::Sender<Option<Close>>,
}

/// Why a round did not deliver.
pub enum Stop {
    /// The token no longer authenticates: the socket is being closed.
    Closed,
    /// The feed refused the arguments (or another error that a retry would repeat).
    Fatal(async_graphql::Error),
    /// A database failure or a timeout: try again.
    Retry,
}

/// The close code for a token that does not authenticate: 4403 for an account (or agency)
/// deactivated and a service client revoked (a new token would not help); 4401 otherwise.
pub fn close_for(f: &AuthFailure) -> Close {
    let code = match f {
        AuthFailure::Deactivated | AuthFailure::Client(ClientFailure::Revoked) => FORBIDDEN,
        _ => UNAUTHORIZED,
    };
    Close::new(code, f.reason())
}

impl Conn {
    pub fn new(state: AppState, authorization: String) -> Conn {
        Conn {
            state,
            authorization,
            closing: watch::channel(None).0,
        }
    }

    /// Told when the socket must close.
    pub fn closing(&self) -> watch::Receiver<Option<Close>> {
        self.closing.subscribe()
    }

    /// Close the socket (the connection's loop sends the frame).
    pub fn close(&self, close: Close) {
        self.closing.send_if_modified(|c| {
            let first = c.is_none();
            if first {
                *c = Some(close);
            }
            first
        });
    }

    /// The token authenticated again, as on every HTTP request; a token that fails closes
    /// the socket.
    pub async fn verify(&self) -> Result<Principal, Stop> {
        let s = &self.state;
        match auth::authenticate(&s.db, &s.config.jwt, Some(&self.authorization)).await {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(f)) => {
                crate::observe::token_failure(f.reason());
                self.close(close_for(&f));
                Err(Stop::Closed)
            }
            Err(e) => {
                tracing::warn!(error = %e, "subscription: authentication lookup failed; retrying");
                Err(Stop::Retry)
            }
        }
    }
}

/// One subscription's source: its socket and the names its ledger rows carry.
pub struct Feed {
    pub conn: Arc<Conn>,
    /// The subscription's operation name (the ledger's `operation`).
    pub operation: String,
    /// The client's id of the subscription (`detail.subscription` of the feed's READ row).
    pub id: String,
}

impl ChangeSource for Feed {
    fn changes(
        &self,
        after: Option<String>,
        types: Option<Vec<GqlChangeType>>,
    ) -> BoxStream<'static, async_graphql::Result<ChangeEvent>> {
        let after_given = after.is_some();
        let follow = Follow {
            conn: self.conn.clone(),
            operation: self.operation.clone(),
            id: self.id.clone(),
            after,
            types: types.map(|t| {
                t.into_iter()
                    .map(|t| ChangeType::from(t).as_str())
                    .collect()
            }),
            started: after_given,
            queue: VecDeque::new(),
            wake: wake::subscribe(),
            phase: Phase::Now,
            failures: 0,
        };
        stream::unfold(follow, |mut f| async move {
            let item = f.next().await?;
            Some((item, f))
        })
        .boxed()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// A round now (the start, a page with more after it, a retry).
    Now,
    /// Caught up: the next round after a wake-up.
    Wait,
    Ended,
}

struct Follow {
    conn: Arc<Conn>,
    operation: String,
    id: String,
    /// The cursor: the last ledger position examined (None: the feed's start).
    after: Option<String>,
    /// Whether the first round placed the cursor (at the feed's end, without `after`).
    started: bool,
    types: Option<Vec<&'static str>>,
    queue: VecDeque<ChangeEvent>,
    wake: watch::Receiver<u64>,
    phase: Phase,
    failures: u32,
}

impl Follow {
    async fn next(&mut self) -> Option<async_graphql::Result<ChangeEvent>> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(Ok(event));
            }
            match self.phase {
                Phase::Ended => return None,
                Phase::Wait => {
                    tokio::select! {
                        _ = self.wake.changed() => {}
                        _ = tokio::time::sleep(IDLE_ROUND) => {}
                    }
                }
                Phase::Now => {}
            }
            match self.round().await {
                Ok(more) => {
                    self.failures = 0;
                    self.phase = if more { Phase::Now } else { Phase::Wait };
                }
                Err(Stop::Closed) => self.phase = Phase::Ended,
                Err(Stop::Fatal(e)) => {
                    self.phase = Phase::Ended;
                    return Some(Err(e));
                }
                Err(Stop::Retry) => {
                    self.failures += 1;
                    if self.failures >= MAX_FAILURES {
                        self.phase = Phase::Ended;
                        return Some(Err(ApiError::Internal.into()));
                    }
                    self.phase = Phase::Now;
                    let pause = Duration::from_secs(u64::from(self.failures.min(10)));
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    /// One round: verify, read a page, ledger it, queue its events. Whether the page said
    /// there is more.
    async fn round(&mut self) -> Result<bool, Stop> {
        // Every commit after this point wakes the next wait, however the round goes.
        self.wake.borrow_and_update();
        let conn = self.conn.clone();
        let state = &conn.state;
        // A round is a request like any other: it waits for an admission slot.
        let _ticket = state.admission.admit().await.map_err(|_| Stop::Retry)?;
        let principal = conn.verify().await?;
        if !self.started {
            // No cursor: from the feed's end now (later commits all come after it). An empty
            // feed's end is its start.
            let head = wake::head(&state.db).await.map_err(|e| {
                tracing::warn!(error = %e, "subscription: reading the feed's end failed");
                Stop::Retry
            })?;
            if self.after.is_none() && head > 0 {
                self.after = Some(store::encode_cursor(&head.to_string()));
            }
            self.started = true;
        }
        let ctx = Arc::new(
            RequestCtx::new(
                principal.clone(),
                audit::now_micros(),
                state.config.emergency_hours,
            )
            .with_replica(state.replica.clone()),
        );
        let variables = json!({ "after": self.after, "types": self.types, "first": PAGE });
        let request = Request::new(FEED)
            .variables(Variables::from_json(variables))
            .data(ctx.clone());
        let timeout = state.config.limits.request_timeout;
        let Ok(response) = tokio::time::timeout(timeout, state.schema.execute(request)).await
        else {
            tracing::warn!("subscription: a round timed out; retrying");
            return Err(Stop::Retry);
        };
        if let Some(e) = response.errors.first() {
            let transient = response.errors.iter().any(|e| {
                matches!(
                    error_code(e),
                    Some(c) if c == Code::Internal.as_str() || c == Code::Unavailable.as_str()
                )
            });
            if transient {
                return Err(Stop::Retry);
            }
            return Err(Stop::Fatal(async_graphql::Error {
                message: e.message.clone(),
                source: None,
                extensions: e.extensions.clone(),
            }));
        }
        let Some(page) = Page::of(response.data) else {
            tracing::error!("subscription: a round's answer has not the feed's shape");
            return Err(Stop::Fatal(ApiError::Internal.into()));
        };
        if !page.events.is_empty() {
            // Delivered only once its ledger rows are durable, like any answer.
            let Some(mut entries) = ctx.recorder.entries(&principal, &self.operation) else {
                return Err(Stop::Retry);
            };
            for e in &mut entries {
                if let (true, Some(detail)) =
                    (e.record_type == "change_feed", e.detail.as_object_mut())
                {
                    detail.insert("subscription".to_owned(), json!(self.id));
                }
            }
            if let Err(e) = state.ledger.append(entries).await {
                tracing::error!(error = %e, "subscription: ledger write failed; nothing delivered");
                return Err(Stop::Retry);
            }
        }
        if let Some(end) = page.end {
            self.after = Some(end);
        }
        self.queue.extend(page.events);
        Ok(page.more)
    }
}

fn error_code(e: &async_graphql::ServerError) -> Option<&str> {
    match e.extensions.as_ref()?.get("code")? {
        Value::String(code) => Some(code),
        _ => None,
    }
}

/// A round's page, read back from the query's answer.
struct Page {
    events: Vec<ChangeEvent>,
    end: Option<String>,
    more: bool,
}

type Object = IndexMap<Name, Value>;

fn object(v: &Value) -> Option<&Object> {
    match v {
        Value::Object(o) => Some(o),
        _ => None,
    }
}

fn field<T: InputType>(o: &Object, key: &str) -> Option<T> {
    T::parse(Some(o.get(key)?.clone())).ok()
}

impl Page {
    fn of(data: Value) -> Option<Page> {
        let changes = object(object(&data)?.get("changes")?)?;
        let info = object(changes.get("pageInfo")?)?;
        let Value::List(nodes) = changes.get("nodes")? else {
            return None;
        };
        let events = nodes
            .iter()
            .map(|n| {
                let n = object(n)?;
                Some(ChangeEvent {
                    cursor: field(n, "cursor")?,
                    record_type: field(n, "recordType")?,
                    record_id: field(n, "recordId")?,
                    operation: field(n, "operation")?,
                    categories: field(n, "categories")?,
                    agency_id: field(n, "agencyId")?,
                    committed_at: field(n, "committedAt")?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Page {
            events,
            end: field(info, "endCursor")?,
            more: field(info, "hasNextPage")?,
        })
    }
}
