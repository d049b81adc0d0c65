//! Activities (outreach visits, participation activities, monitoring notes).

use super::case::role;
use super::{Permit, Ruling};
use crate::policy::{Action, Principal};

/// Recording an activity about a person (recordActivity); the permit names the person.
#[derive(Debug)]
pub enum RecordActivity {}

/// Staff who record activities record them about a person they may know (asked first);
/// the caller's agency holds the record.
pub fn may_record_activity(p: &Principal, person_id: &str) -> Ruling<RecordActivity> {
    role(p, Action::RecordActivity, "recordActivity")?;
    Ok(Permit::grant(person_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::write::test_support::principal;
    use crate::policy::Refusal;
    use crate::policy::Role;

    #[test]
    fn staff_who_record_activities_record_them() {
        for role in [
            Role::Coordinator,
            Role::Caseworker,
            Role::LifeSupportCoordinator,
        ] {
            let p = principal("a1", &[role]);
            assert_eq!(may_record_activity(&p, "p").unwrap().id(), "p");
        }
        for role in [Role::Admin, Role::Analyst, Role::Auditor] {
            let p = principal("a1", &[role]);
            assert_eq!(
                may_record_activity(&p, "p").unwrap_err(),
                Refusal::Forbidden("recordActivity")
            );
        }
    }
}
