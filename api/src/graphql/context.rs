//! The request context every resolver gets: the principal, the request's clock and purpose,
//! the ledger recorder, the rows loaded in this request ([`super::loaders`]) and the two
//! database handles ([`db`], the primary; [`replica_db`], the read replica when one is set).
//! Both are a [`Db`]: the pool, or the request's own transaction when the whole request
//! runs in one (a mutation under an `Idempotency-Key`, [`crate::http::idempotency`]); then
//! both return the transaction, so the request reads its own writes and uses no second
//! connection.
//! The gate through which personal fields are revealed is [`super::gate`].

use std::sync::Arc;

use async_graphql::Context;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use crate::store::Db;

use super::loaders::Rows;
use crate::audit::{AccessRecorder, Entry};
use crate::error::{ApiError, ApiResult};
use crate::policy::{
    self, Action, Category, Decision, Item, Link, Principal, Purpose, SubjectFacts,
};

/// Request-scoped data, inserted by the HTTP layer after authentication.
pub struct RequestCtx {
    pub principal: Principal,
    pub now: DateTime<Utc>,
    pub purpose: Purpose,
    pub recorder: AccessRecorder,
    /// Default length of a break-glass grant, in hours.
    pub emergency_hours: u32,
    /// Rows read in this request, each read once ([`super::loaders`]).
    pub(crate) rows: Rows,
    /// The read replica (TSUNAGI_DATABASE_REPLICA_URL), if set: reached only through
    /// [`replica_db`].
    replica: Option<Db>,
}

impl RequestCtx {
    pub fn new(principal: Principal, now: DateTime<Utc>, emergency_hours: u32) -> Self {
        RequestCtx {
            principal,
            now,
            purpose: Purpose::Support,
            recorder: AccessRecorder::default(),
            emergency_hours,
            rows: Rows::default(),
            replica: None,
        }
    }

    /// With a read replica (a pool handle: cloning it is cheap). See [`replica_db`] for what
    /// may be read from it.
    pub fn with_replica(mut self, replica: Option<DatabaseConnection>) -> Self {
        self.replica = replica.map(Db::Pool);
        self
    }

    /// The policy decision for one item of one subject, held in a record owned by `owner`.
    pub fn decide(&self, facts: &SubjectFacts, owner: &str, item: Item) -> Decision {
        // Benchmark builds only: measure the cost of enforcement (see bench_switches).
        #[cfg(feature = "bench-switches")]
        if crate::bench_switches::no_policy() {
            return Ok(crate::policy::Basis::Own);
        }
        policy::decide(&self.principal, facts, owner, item, self.purpose, self.now)
    }

    /// Whether an error may name this subject of a record tied to it by `link`.
    pub fn may_name(&self, facts: &SubjectFacts, link: Link<'_>) -> bool {
        policy::may_name_subject(&self.principal, facts, link, self.purpose, self.now)
    }

    /// Whether a household membership is current now (`joinedOn <= today < leftOn`).
    pub fn current(&self, m: &entity::household_member::Model) -> bool {
        policy::membership_current(m.joined_on, m.left_on, self.now)
    }

    /// Whether the caller may know this person exists (IDENTITY of the person record).
    pub fn knows_person(&self, facts: &SubjectFacts) -> bool {
        self.decide(facts, &facts.owner_agency_id, Item::of(Category::Identity))
            .is_ok()
    }

    pub fn require(&self, action: Action, what: &str) -> ApiResult<()> {
        if policy::may(&self.principal, action) {
            Ok(())
        } else {
            Err(ApiError::forbidden(what))
        }
    }

    /// Ledger a read that is not a personal field (the ledger itself, a person's consents,
    /// an access explanation), written with this request's other reads.
    pub fn note_read(&self, record_type: &str, subject: Option<&str>, detail: serde_json::Value) {
        self.recorder.note(Entry {
            account_id: Some(self.principal.account_id.clone()),
            agency_id: Some(self.principal.agency_id.clone()),
            roles: policy::Role::format_set(&self.principal.roles),
            action: "READ",
            record_type: record_type.to_owned(),
            subject_person_id: subject.map(str::to_owned),
            bases: serde_json::json!({}),
            detail,
            ..Entry::default()
        });
    }
}

pub fn req<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a RequestCtx> {
    ctx.data::<Arc<RequestCtx>>()
        .map(|r| r.as_ref())
        .map_err(|e| ApiError::internal("request context", e.message))
}

/// The primary. Everything is read here unless [`replica_db`]'s rule allows otherwise. The
/// request's transaction when it has one (request data, which comes before the schema's
/// pool).
pub fn db<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a Db> {
    ctx.data::<Db>()
        .map_err(|e| ApiError::internal("database handle", e.message))
}

/// The read handle: the streaming replica when TSUNAGI_DATABASE_REPLICA_URL is set, else the
/// primary. A replica may lag the primary, so the rule (README §12 "what may go to a read
/// replica", docs/design.md §4.6) is:
///
/// - **May go to the replica**: the *candidates* of a list or a kana/name search (their ids,
///   paging, and the list's visibility subquery), because every candidate is then decided
///   again by the gate on facts read on the primary (a lagging replica can only offer a row
///   that is then dropped, or miss one that just became visible: staleness, not a leak); and
///   the *content* of a record whose access is decided on primary facts (a person's names and
///   contact fields as listed: [`super::loaders::load_listed_persons`]), which may then be as
///   old as the replica's lag.
/// - **Never**: anything a decision rests on — the fields of a row the policy reads (a
///   person's registering agency and `address_confidential`, a household's or consultation's
///   holder), consents with their recipients and categories, accounts and roles, service-client
///   generations, emergency grants, memberships, 支援会議 and their members, involvements —
///   every write, the ledger, reads for optimistic concurrency, `audit verify`. Those use
///   [`db`].
///
/// Callers: `persons`, `households`, `consultations` (grep `replica_db(`). If in doubt, [`db`].
///
/// A request that runs in one transaction reads everything there, the replica never: it
/// must see its own writes.
pub fn replica_db<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a Db> {
    let primary = db(ctx)?;
    match (&req(ctx)?.replica, primary) {
        (Some(replica), Db::Pool(_)) => Ok(replica),
        _ => Ok(primary),
    }
}

/// Whether [`replica_db`] is a replica, so that rows read through it must be read again on
/// the primary before a decision rests on them (without one they came from the primary).
pub fn reads_replica(ctx: &Context<'_>) -> ApiResult<bool> {
    Ok(req(ctx)?.replica.is_some() && matches!(db(ctx)?, Db::Pool(_)))
}
