//! 誰が何を見られるか — who may see what. The one place where access is decided.
//!
//! Pure: no I/O, no clock, no database. Callers pass in the facts (the principal, what is
//! known about the subject person, the record's owning agency, the field, the purpose and
//! the time) and get back a [`Decision`]: allowed with the first [`Basis`] that holds, or
//! denied with a [`Denial`]. Deny wins: a role ceiling always, an address_confidential
//! address unless OWN or a consent that names the recipient agency.
//!
//! Role ceilings and role permissions are data ([`ceiling`]), versioned so every ledger row
//! records which table decided it.

pub mod ceiling;
pub mod changes;
mod decide;
pub mod index;
pub mod matching;
pub mod refs;
pub mod statistics;
mod types;
pub mod write;

pub use ceiling::{may, Action, POLICY_VERSION};
pub use decide::{
    city_date, consent_covers, decide, explain, explain_to_caller, is_party,
    knows_by_own_or_consent, may_convene_support_meeting, may_know_consent, may_name_subject,
    membership_current, referral_missing, sees_all_consents, visible_scope, Explanation, Link,
    ListScope, REFERRAL_CATEGORIES,
};
pub use types::*;
pub use write::{Permit, Refusal, Ruling};
