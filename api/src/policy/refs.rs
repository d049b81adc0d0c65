//! Whose external references a caller may see. An external reference `(system, externalId)`
//! is an agency's own id for a hub record (its care-management software's person number, its
//! case system's referral number). It belongs to the agency that wrote it, and only that
//! agency sees it or finds a record by it: another agency's references would tell who is
//! whose client (that a child-family centre holds a reference to a person says that the
//! person is its client), whatever the caller may know of the record itself.
//!
//! No role changes this, and neither does a consent, a 支援会議 or an emergency grant: they
//! open the record's fields, never another agency's ids for it. Every role sees its own
//! agency's references to the records it reads (they are the agency's own data, not
//! personal data); whether the record itself is shown is decided as for any read.
//!
//! Pure: the principal in, the agency (or a yes or no) out. `graphql::external_ref` reads
//! and looks references up only through [`agency_of`] and keeps only the rows
//! [`visible_to`] allows.

use super::Principal;

/// The one agency whose references `principal` may see and look records up by: its own.
/// The store filters by it in SQL (`store::external_refs`).
pub fn agency_of(principal: &Principal) -> &str {
    &principal.agency_id
}

/// Whether `principal` may see a reference held by `ref_agency_id` (written by that agency).
pub fn visible_to(principal: &Principal, ref_agency_id: &str) -> bool {
    agency_of(principal) == ref_agency_id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::write::test_support::principal;
    use crate::policy::Role;

    #[test]
    fn only_the_callers_own_agencys_references_are_visible() {
        let p = principal("a1", &[Role::Caseworker]);
        assert_eq!(agency_of(&p), "a1");
        assert!(visible_to(&p, "a1"));
        assert!(!visible_to(&p, "a2"));
        assert!(!visible_to(&p, ""));
        // Compared exactly: no prefix, no case folding.
        assert!(!visible_to(&p, "a10"));
        assert!(!visible_to(&p, "A1"));
    }

    #[test]
    fn no_role_sees_another_agencys_references() {
        for role in Role::ALL.iter().copied() {
            let p = principal("a1", &[role]);
            assert!(visible_to(&p, "a1"), "{role:?} sees its own agency's");
            assert!(!visible_to(&p, "a2"), "{role:?} sees no other agency's");
        }
    }
}
