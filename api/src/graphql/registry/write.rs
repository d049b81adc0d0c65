//! The write plumbing the registry's mutations share (and the service clients' reuse):
//! create a record, or change one at the client's version, as the policy permits, with its
//! ledger entry.

use async_graphql::{Context, ID};
use chrono::{DateTime, Utc};

use super::super::context::{db, req};
use super::super::validate;
use crate::audit::Entry;
use crate::error::{ApiError, ApiResult};
use crate::policy::write::registry::{may_administer, ChangeAccount};
use crate::policy::{self, Action, Permit, Principal, Ruling};
use crate::store::{self, write::Record};
use entity::account;

/// A registry record an administrator changes by its id and version (an account, a
/// service client): its ledger record type and the rule for a change.
pub(in crate::graphql) trait Registered: Record + Stamped {
    type Change;
    const RECORD_TYPE: &'static str;
    fn may_change(&self, p: &Principal, operation: &'static str) -> Ruling<Self::Change>;
}

impl Registered for account::Model {
    type Change = ChangeAccount;
    const RECORD_TYPE: &'static str = "account";
    fn may_change(&self, p: &Principal, operation: &'static str) -> Ruling<ChangeAccount> {
        may_administer(p, operation, &self.id)
    }
}

/// An administrator's change of one registry record by `operation`: `change` is made to
/// a copy of the record as read and returns the ledger detail.
pub(in crate::graphql) async fn change_registered<M: Registered>(
    ctx: &Context<'_>,
    operation: &'static str,
    (id, version): (ID, i32),
    change: impl FnOnce(&mut M) -> serde_json::Value,
) -> ApiResult<M> {
    req(ctx)?.require(Action::ManageRegistry, operation)?;
    let id = validate::id("id", &id)?;
    let rule = |p: &Principal, m: &M| m.may_change(p, operation);
    change_record(ctx, (operation, M::RECORD_TYPE), &id, version, rule, |m| {
        Ok(change(m))
    })
    .await
}

/// A refused write: the record is named by the `id` argument.
pub(in crate::graphql) fn refused(refusal: policy::Refusal) -> ApiError {
    ApiError::refused(refusal, "id")
}

/// Ledgered as `.0` (the mutation) on a `.1` row.
pub(in crate::graphql) type Operation = (&'static str, &'static str);

/// Store the new record `model` as `permit` allows, ledgered as `operation` with the
/// entry's subject person and detail.
pub(in crate::graphql) async fn create_record<W, M: Record>(
    ctx: &Context<'_>,
    (operation, record_type): Operation,
    permit: Permit<W>,
    model: M,
    (subject, detail): (Option<&str>, serde_json::Value),
) -> ApiResult<M> {
    let r = req(ctx)?;
    let entry = Entry::write(
        &r.principal,
        operation,
        record_type,
        model.id(),
        subject,
        detail,
    );
    store::write::create(db(ctx)?, permit, model, vec![entry]).await
}

/// A record whose change stamps `updated_at`.
pub(in crate::graphql) trait Stamped {
    fn stamp(&mut self, now: DateTime<Utc>);
}

macro_rules! stamped {
    ($($m:ident),*) => {$(
        impl Stamped for entity::$m::Model {
            fn stamp(&mut self, now: DateTime<Utc>) {
                self.updated_at = now;
            }
        }
    )*};
}

stamped!(
    account,
    agency,
    community_resource,
    participation_placement,
    service_client
);

/// Change the record `id` at the client's `version`: read (NOT_FOUND at `id`), allowed by
/// `rule` (its refusal is the error), changed by `change` on a copy (which returns the
/// ledger detail, or an argument error), stamped, written under the version guard and
/// ledgered as `operation`. Returns the record as stored.
pub(in crate::graphql) async fn change_record<W, M: Record + Stamped>(
    ctx: &Context<'_>,
    operation: Operation,
    id: &str,
    version: i32,
    rule: impl FnOnce(&Principal, &M) -> Ruling<W>,
    change: impl FnOnce(&mut M) -> ApiResult<serde_json::Value>,
) -> ApiResult<M> {
    let checked = (rule, change);
    change_record_checked(
        ctx,
        operation,
        (id, version),
        checked,
        store::write::no_check,
    )
    .await
}

/// [`change_record`] with `check` run first inside the writing transaction
/// ([`store::write::change_checked`]).
pub(in crate::graphql) async fn change_record_checked<W, M: Record + Stamped, C>(
    ctx: &Context<'_>,
    (operation, record_type): Operation,
    (id, version): (&str, i32),
    (rule, change): (
        impl FnOnce(&Principal, &M) -> Ruling<W>,
        impl FnOnce(&mut M) -> ApiResult<serde_json::Value>,
    ),
    check: C,
) -> ApiResult<M>
where
    C: for<'t> FnOnce(&'t store::write::Txn) -> store::write::Rows<'t, ()> + Send + 'static,
{
    let r = req(ctx)?;
    let db = db(ctx)?;
    let current = store::write::read::<M>(db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("id"))?;
    let permit = rule(&r.principal, &current).map_err(refused)?;
    let mut changed = current.clone();
    let detail = change(&mut changed)?;
    changed.stamp(r.now);
    let entry = Entry::write(&r.principal, operation, record_type, id, None, detail);
    store::write::change_checked(db, permit, (&current, version), changed, vec![entry], check).await
}
