//! 誰が何を変えられるか — who may change what. The write twin of [`super::decide`]: pure
//! functions of the principal and the facts of the record as read (its owning agency, its
//! state, the caller's tie to it), unit-tested here.
//!
//! A rule that allows returns a [`Permit`]; only this module can make one, and every write
//! function in `store` takes the permit for the record it writes, so a write cannot be
//! reached without passing its rule (lldap's restricted handlers). A rule that refuses
//! returns a [`Refusal`], which the GraphQL edge turns into FORBIDDEN, NOT_FOUND or CONFLICT.

use std::marker::PhantomData;

use super::{may, Action, Principal};

/// Proof that the policy allowed a write of kind `W` to the record `id` (for a new record,
/// the record it is made under, or the new id). Not `Clone`: one check, one write.
#[derive(Debug)]
#[must_use = "a permit is for handing to the store write it allows"]
pub struct Permit<W> {
    id: String,
    _kind: PhantomData<fn() -> W>,
}

impl<W> Permit<W> {
    /// Only rules in `policy` grant.
    pub(in crate::policy) fn grant(id: impl Into<String>) -> Self {
        Permit {
            id: id.into(),
            _kind: PhantomData,
        }
    }

    /// The record the write is allowed on.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The role a write needs: FORBIDDEN naming the operation without it (like
/// `RequestCtx::require`, which the resolvers call first).
pub(in crate::policy) fn needs(
    p: &Principal,
    action: Action,
    operation: &'static str,
) -> Result<(), Refusal> {
    if may(p, action) {
        Ok(())
    } else {
        Err(Refusal::Forbidden(operation))
    }
}

/// Only the agency that holds a record (registered it, received it) changes it: FORBIDDEN
/// with `message` for any other.
pub(in crate::policy) fn holder_only(
    p: &Principal,
    holder_agency_id: &str,
    message: &'static str,
) -> Result<(), Refusal> {
    if holder_agency_id == p.agency_id {
        Ok(())
    } else {
        Err(Refusal::Forbidden(message))
    }
}

/// Why a write is not allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The caller may know the record but may not make this change (FORBIDDEN, with a
    /// bilingual message).
    Forbidden(&'static str),
    /// The caller may not know the record exists (NOT_FOUND at the id argument,
    /// indistinguishable from no such record).
    Unknown,
    /// The record's state does not allow the change (CONFLICT, with a bilingual message).
    State(&'static str),
}

pub type Ruling<W> = Result<Permit<W>, Refusal>;

/// The rule most changes share: only the agency that owns a record (registered, maintains
/// or recorded it) changes it. The permit for `id` when the caller's agency is
/// `owner_agency_id`, else `refusal()` (FORBIDDEN, or NOT_FOUND where the caller may not
/// know the record).
pub(in crate::policy) fn owner_only<W>(
    p: &crate::policy::Principal,
    id: &str,
    owner_agency_id: &str,
    refusal: impl FnOnce() -> Refusal,
) -> Ruling<W> {
    if owner_agency_id == p.agency_id {
        Ok(Permit::grant(id))
    } else {
        Err(refusal())
    }
}

pub mod activity;
pub mod case;
pub mod consent;
pub mod consultation;
pub mod emergency;
pub mod household;
pub mod link;
pub mod meeting;
pub mod person;
pub mod referral;
pub mod registry;
pub mod resource;
pub mod statistics;

/// For the rules' unit tests.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::policy::{AgencyKind, Principal, Role};

    /// An account of agency `agency` (kind CHILD_FAMILY) with `roles`.
    pub fn principal(agency: &str, roles: &[Role]) -> Principal {
        Principal {
            account_id: format!("{agency}/acct-1"),
            agency_id: agency.to_owned(),
            agency_kind: AgencyKind::ChildFamily,
            roles: roles.iter().copied().collect(),
            client_id: None,
        }
    }
}
