//! Person records.

use super::{Permit, Refusal, Ruling};
use crate::policy::{may, Action, Principal};

/// A change to a person's record (updatePerson).
#[derive(Debug)]
pub enum ChangePerson {}

/// Only the agency that registered a person changes their record (with the role to record
/// persons).
pub fn may_change_person(
    p: &Principal,
    person_id: &str,
    owner_agency_id: &str,
) -> Ruling<ChangePerson> {
    if !may(p, Action::RecordPerson) {
        return Err(Refusal::Forbidden("updatePerson"));
    }
    if owner_agency_id != p.agency_id {
        return Err(Refusal::Forbidden(
            "登録機関のみ更新できます / only the owning agency may update",
        ));
    }
    Ok(Permit::grant(person_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::write::test_support::principal;
    use crate::policy::Role;

    #[test]
    fn only_the_owning_agency_changes_a_person() {
        let own = principal("a1", &[Role::Caseworker]);
        assert_eq!(may_change_person(&own, "p", "a1").unwrap().id(), "p");
        assert!(matches!(
            may_change_person(&own, "p", "a2"),
            Err(Refusal::Forbidden(_))
        ));
        let viewer = principal("a1", &[Role::Auditor]);
        assert!(matches!(
            may_change_person(&viewer, "p", "a1"),
            Err(Refusal::Forbidden(_))
        ));
    }
}
