//! The gate: the one way a personal field leaves the hub. [`reveal`] asks the policy
//! (`RequestCtx::decide`, which calls `policy::decide`), hands the decision to the ledger
//! recorder (a response whose reads could not be recorded is withheld by the HTTP layer),
//! and gives out the value only when allowed. [`reveal_all`] does it for every subject of a
//! shared record, [`admit`] for list entries, [`nullable`] turns a withheld nullable field
//! into `null` with its error beside it.

use std::sync::Arc;

use async_graphql::Context;

use super::context::req;
use crate::error::{ApiError, ApiResult};
use crate::policy::{Item, Link, SubjectFacts};

/// Which record a revealed field belongs to, for the ledger.
#[derive(Clone, Copy, Debug)]
pub struct RecordRef<'a> {
    pub kind: &'static str,
    pub id: &'a str,
    /// The agency that recorded it (the OWN basis).
    pub owner: &'a str,
    /// How a subject is tied to this record: an error about a withheld field names the
    /// subject only where the caller may see that tie (`policy::may_name_subject`).
    pub link: Link<'a>,
}

/// The gate: decide, ledger the decision, and hand out the value only when allowed. A denied
/// field becomes null with a CONSENT_REQUIRED error at its path.
pub fn reveal<T>(
    ctx: &Context<'_>,
    facts: &SubjectFacts,
    record: RecordRef<'_>,
    item: Item,
    value: impl FnOnce() -> T,
) -> ApiResult<T> {
    let r = req(ctx)?;
    let decision = r.decide(facts, record.owner, item);
    r.recorder.record(
        &facts.person_id,
        record.kind,
        record.id,
        item.category,
        &decision,
    );
    match decision {
        Ok(_) => Ok(value()),
        Err(denial) => Err(ApiError::ConsentRequired {
            category: item.category,
            // Never name a subject the caller may not know exists (a referral's reason
            // withheld from its receiver once the consent lapsed, say), nor one whose tie to
            // this record the data hides (a co-subject of a consultation, a household member).
            subject_id: r
                .may_name(facts, record.link)
                .then(|| facts.person_id.clone()),
            reason: denial.client_kind(),
        }),
    }
}

/// For a nullable field: a withheld value becomes `null` at its path with its
/// CONSENT_REQUIRED error beside it. (Returning the error would make async-graphql drop the
/// key altogether, which clients cannot tell from a field they did not ask for.)
pub fn nullable<T>(ctx: &Context<'_>, result: ApiResult<Option<T>>) -> ApiResult<Option<T>> {
    match result {
        Err(e @ ApiError::ConsentRequired { .. }) => {
            let err: async_graphql::Error = e.into();
            ctx.add_error(ctx.set_error_path(err.into_server_error(ctx.item.pos)));
            Ok(None)
        }
        other => other,
    }
}

/// Like [`reveal`] for every subject of a shared record (a consultation about two people):
/// allowed only if allowed for each; the first denial is the error.
pub fn reveal_all<T>(
    ctx: &Context<'_>,
    subjects: &[Arc<SubjectFacts>],
    record: RecordRef<'_>,
    item: Item,
    value: impl FnOnce() -> T,
) -> ApiResult<T> {
    let mut first_err: Option<ApiError> = None;
    for s in subjects {
        // `reveal` never names a co-subject the caller may not know, or whose tie to this
        // record it may not see. The error names a subject if any denial may.
        if let Err(e) = reveal(ctx, s, record, item, || ()) {
            let named = |e: &ApiError| {
                matches!(
                    e,
                    ApiError::ConsentRequired {
                        subject_id: Some(_),
                        ..
                    }
                )
            };
            if first_err.as_ref().is_none_or(|f| !named(f) && named(&e)) {
                first_err = Some(e);
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        // Nobody to ask for: nothing is shown.
        None if subjects.is_empty() => Err(ApiError::ConsentRequired {
            category: item.category,
            subject_id: None,
            reason: "NO_BASIS",
        }),
        None => Ok(value()),
    }
}

/// Ledgered filter for list entries: true when the item may be shown; a withheld entry is
/// recorded as withheld and left out of the list.
pub fn admit(
    ctx: &Context<'_>,
    facts: &SubjectFacts,
    record: RecordRef<'_>,
    item: Item,
) -> ApiResult<bool> {
    match reveal(ctx, facts, record, item, || ()) {
        Ok(()) => Ok(true),
        Err(ApiError::ConsentRequired { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}
