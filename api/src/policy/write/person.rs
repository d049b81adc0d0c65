//! Person records.

use super::{holder_only, needs, Permit, Ruling};
use crate::policy::{Action, Principal};

/// Registering a new person (createPerson); the caller's agency owns the record.
#[derive(Debug)]
pub enum CreatePerson {}

/// A change to a person's record (updatePerson).
#[derive(Debug)]
pub enum ChangePerson {}

/// Any account with the role to record persons registers a person, as its agency's record
/// (`person_id` is the new record's id).
pub fn may_create_person(p: &Principal, person_id: &str) -> Ruling<CreatePerson> {
    needs(p, Action::RecordPerson, "createPerson")?;
    Ok(Permit::grant(person_id))
}

/// Only the agency that registered a person changes their record (with the role to record
/// persons).
pub fn may_change_person(
    p: &Principal,
    person_id: &str,
    owner_agency_id: &str,
) -> Ruling<ChangePerson> {
    needs(p, Action::RecordPerson, "updatePerson")?;
    holder_only(
        p,
        owner_agency_id,
        "登録機関のみ更新できます / only the owning agency may update",
    )?;
    Ok(Permit::grant(person_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::write::test_support::principal;
    use crate::policy::write::Refusal;
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

    #[test]
    fn registering_a_person_needs_the_role() {
        let cw = principal("a1", &[Role::Caseworker]);
        assert_eq!(may_create_person(&cw, "new").unwrap().id(), "new");
        let analyst = principal("a1", &[Role::Analyst]);
        assert_eq!(
            may_create_person(&analyst, "new").unwrap_err(),
            Refusal::Forbidden("createPerson")
        );
    }
}
