//! 誰が何を変えられるか — who may change what. The write twin of [`super::decide`]: pure
//! functions of the principal and the facts of the record as read (its owning agency, its
//! state, the caller's tie to it), unit-tested here.
//!
//! A rule that allows returns a [`Permit`]; only this module can make one, and every write
//! function in `store` takes the permit for the record it writes, so a write cannot be
//! reached without passing its rule (lldap's restricted handlers). A rule that refuses
//! returns a [`Refusal`], which the GraphQL edge turns into FORBIDDEN, NOT_FOUND or CONFLICT.

use std::marker::PhantomData;

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

pub mod activity;
pub mod case;
pub mod meeting;
pub mod person;

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
        }
    }
}
