//! The subscription root: `subscription { changes(types:, after:) { … } }`, served over
//! graphql-transport-ws at `GET /graphql/ws` (`crate::http::ws`, docs/design.md §4.15).
//!
//! It pushes the events of the change feed ([`super::changes`]), decided exactly as
//! `Query.changes` decides them: the socket's [`ChangeSource`] executes that query again at
//! every wake-up, with a fresh request context (the principal read again from the registry,
//! the clock of now, new loaders, a new ledger recorder), and yields the page's events once
//! their ledger rows are durable. This type only hands the arguments to that source; it
//! reads and decides nothing itself.

use std::sync::Arc;

use async_graphql::futures_util::stream::BoxStream;
use async_graphql::{Context, Subscription as GqlSubscription};

use super::changes::{ChangeEvent, GqlChangeType};
use crate::error::ApiError;

/// What serves a subscription's events: the socket's connection (`http::ws`), which knows
/// the caller's token, the schema, the ledger and the wake-ups. Connection data of the
/// subscription's execution.
pub trait ChangeSource: Send + Sync {
    /// The events after `after` (None: after the feed's end when the subscription starts)
    /// of `types` (None: every type), as they are committed. An `Err` item (the feed's own
    /// error, such as BAD_USER_INPUT for a bad `after`) ends the stream.
    fn changes(
        &self,
        after: Option<String>,
        types: Option<Vec<GqlChangeType>>,
    ) -> BoxStream<'static, async_graphql::Result<ChangeEvent>>;
}

#[derive(Default)]
pub struct Subscription;

#[GqlSubscription]
impl Subscription {
    /// 変更フィードの購読 (GET /graphql/ws、graphql-transport-ws): Query.changes と同じイベントを、
    /// 届けるたびにその時点の事実で判定し直して送る。after を省くと購読を始めた時点の末尾から。
    /// 切れたら最後に受け取った cursor を after にして購読し直せば欠けない / the change feed
    /// pushed over graphql-transport-ws (GET /graphql/ws): the events of `Query.changes`,
    /// decided again on the facts of the moment of each delivery. Without `after` it starts
    /// at the feed's end when the subscription starts; resubscribing with the last `cursor`
    /// received as `after` misses nothing
    async fn changes(
        &self,
        ctx: &Context<'_>,
        types: Option<Vec<GqlChangeType>>,
        after: Option<String>,
    ) -> async_graphql::Result<BoxStream<'static, async_graphql::Result<ChangeEvent>>> {
        let source = ctx
            .data::<Arc<dyn ChangeSource>>()
            .map_err(|e| ApiError::internal("subscription source", e.message))?;
        Ok(source.changes(after, types))
    }
}
