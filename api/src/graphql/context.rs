//! The request context every resolver gets: the principal, the request's clock and purpose,
//! the ledger recorder and the rows loaded in this request ([`super::loaders`]). The gate
//! through which personal fields are revealed is [`super::gate`].

use std::sync::Arc;

use async_graphql::Context;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

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
        }
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

pub fn db<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a DatabaseConnection> {
    ctx.data::<DatabaseConnection>()
        .map_err(|e| ApiError::internal("database handle", e.message))
}
