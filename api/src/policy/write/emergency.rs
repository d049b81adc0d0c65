//! Break-glass grants (生命・身体の保護): requested by an account for one person, closed by
//! an admin after review.

use chrono::{DateTime, Utc};

use super::{Permit, Refusal, Ruling};
use crate::policy::{may, Action, Principal};

/// A new grant to the caller's account (requestEmergencyAccess).
#[derive(Debug)]
pub enum RequestEmergency {}

/// The review and close of a grant (closeEmergencyGrant).
#[derive(Debug)]
pub enum CloseGrant {}

/// A stored grant as the rules need it.
#[derive(Clone, Debug)]
pub struct GrantFacts<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub person_id: &'a str,
    pub expires_at: DateTime<Utc>,
    /// Closed by an admin.
    pub closed: bool,
}

/// An account with the role to break the glass may get a grant for a person, but not chain
/// them: while one of its grants for the person is open (not closed, not expired), it cannot
/// renew it by itself (an admin closes it first, after review). `grants` are any of the
/// account's grants. The permit is for the person.
pub fn may_request_emergency(
    p: &Principal,
    person_id: &str,
    grants: &[GrantFacts<'_>],
    now: DateTime<Utc>,
) -> Ruling<RequestEmergency> {
    if !may(p, Action::BreakGlass) {
        return Err(Refusal::Forbidden("requestEmergencyAccess"));
    }
    let open = grants.iter().any(|g| {
        g.account_id == p.account_id && g.person_id == person_id && !g.closed && now < g.expires_at
    });
    if open {
        return Err(Refusal::State(
            "この人への緊急時アクセスは既に有効です / an emergency grant for this person is already open",
        ));
    }
    Ok(Permit::grant(person_id))
}

/// What an admin's close of a grant is refused with when the grant was closed meanwhile.
pub const ALREADY_CLOSED: &str = "既に終了しています / already closed";

/// An admin closes a grant that is not closed yet (an expired one too: the review is the
/// point).
pub fn may_close_grant(p: &Principal, g: &GrantFacts<'_>) -> Ruling<CloseGrant> {
    if !may(p, Action::ManageRegistry) {
        return Err(Refusal::Forbidden("closeEmergencyGrant"));
    }
    if g.closed {
        return Err(Refusal::State(ALREADY_CLOSED));
    }
    Ok(Permit::grant(g.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::write::test_support::principal;
    use crate::policy::Role;
    use chrono::Duration;

    fn now() -> DateTime<Utc> {
        "2025-06-01T12:00:00Z".parse().expect("fixed test time")
    }

    fn grant<'a>(account: &'a str, person: &'a str, hours: i64, closed: bool) -> GrantFacts<'a> {
        GrantFacts {
            id: "g",
            account_id: account,
            person_id: person,
            expires_at: now() + Duration::hours(hours),
            closed,
        }
    }

    #[test]
    fn no_chaining_of_open_grants() {
        let cw = principal("a1", &[Role::Caseworker]);
        let me = cw.account_id.as_str();
        let ask = |grants: &[GrantFacts<'_>]| may_request_emergency(&cw, "p", grants, now());
        assert_eq!(ask(&[]).unwrap().id(), "p");
        assert!(matches!(
            ask(&[grant(me, "p", 2, false)]),
            Err(Refusal::State(_))
        ));
        // Expired (at this instant), closed, another person's, another account's: no bar.
        assert!(ask(&[grant(me, "p", 0, false)]).is_ok());
        assert!(ask(&[grant(me, "p", 2, true)]).is_ok());
        assert!(ask(&[grant(me, "q", 2, false)]).is_ok());
        assert!(ask(&[grant("a1/acct-2", "p", 2, false)]).is_ok());
        let analyst = principal("a1", &[Role::Analyst]);
        assert_eq!(
            may_request_emergency(&analyst, "p", &[], now()).unwrap_err(),
            Refusal::Forbidden("requestEmergencyAccess")
        );
    }

    #[test]
    fn an_admin_closes_an_open_grant() {
        let admin = principal("city", &[Role::Admin]);
        let me = admin.account_id.as_str();
        assert_eq!(
            may_close_grant(&admin, &grant(me, "p", 2, false))
                .unwrap()
                .id(),
            "g"
        );
        assert!(may_close_grant(&admin, &grant(me, "p", -2, false)).is_ok());
        assert_eq!(
            may_close_grant(&admin, &grant(me, "p", 2, true)).unwrap_err(),
            Refusal::State(ALREADY_CLOSED)
        );
        let auditor = principal("city", &[Role::Auditor]);
        assert_eq!(
            may_close_grant(&auditor, &grant(me, "p", 2, false)).unwrap_err(),
            Refusal::Forbidden("closeEmergencyGrant")
        );
    }
}
