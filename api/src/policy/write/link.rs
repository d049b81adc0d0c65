//! 名寄せの結びつき / links between two records of one person (README §6.1).
//!
//! A link is a statement, "these two records are one person", made by people and kept with
//! its history; it is never a merge, and the access policy never reads it (a confirmed link
//! opens nothing: each record is still decided on its own facts). So the rules here decide
//! only who may make the statement:
//!
//! - **propose**: staff who record persons (coordinator, caseworker), about two different
//!   records they may both know (the resolver checks that first: a record the caller may
//!   not know is NOT_FOUND, as anywhere). A pair already proposed or confirmed is CONFLICT;
//!   a revoked pair may be proposed again.
//! - **confirm**: a coordinator (多機関協働: the role that works across agencies), who may know
//!   both records, and not the account that proposed it (two people agree, as a 支援会議
//!   decides, never one alone).
//! - **revoke**: a confirmed link, by a coordinator; a proposal, by a coordinator (rejecting
//!   it) or by the account that proposed it (withdrawing it). A reason is always given.

use super::{Permit, Refusal, Ruling};
use crate::policy::{may, Action, Principal};

/// A proposal (proposePersonLink).
#[derive(Debug)]
pub enum ProposeLink {}

/// A confirmation (confirmPersonLink).
#[derive(Debug)]
pub enum ConfirmLink {}

/// A revocation, rejection or withdrawal (revokePersonLink).
#[derive(Debug)]
pub enum RevokeLink {}

/// The state of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    Proposed,
    Confirmed,
    Revoked,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Proposed => "PROPOSED",
            LinkState::Confirmed => "CONFIRMED",
            LinkState::Revoked => "REVOKED",
        }
    }

    pub fn parse(s: &str) -> Option<LinkState> {
        match s {
            "PROPOSED" => Some(LinkState::Proposed),
            "CONFIRMED" => Some(LinkState::Confirmed),
            "REVOKED" => Some(LinkState::Revoked),
            _ => None,
        }
    }
}

/// A stored link as the rules read it.
#[derive(Clone, Copy, Debug)]
pub struct LinkFacts<'a> {
    pub id: &'a str,
    pub state: LinkState,
    pub proposed_by: &'a str,
}

pub const SAME_RECORD: &str =
    "同じ記録どうしは結びつけられません / a record cannot be linked to itself";
pub const ALREADY_LINKED: &str =
    "この 2 つの記録は既に提案または確認されています / these two records are already proposed or linked";
pub const NOT_PROPOSED: &str =
    "提案中の結びつきではありません / the link is not a pending proposal";
pub const OWN_PROPOSAL: &str =
    "自分の提案は確認できません。別の調整担当が確認します / you cannot confirm your own proposal: another coordinator confirms it";
pub const ALREADY_REVOKED: &str = "既に取り消されています / already revoked";

/// Staff who record persons propose a link between two different records they may both
/// know; `existing` is the pair's link, if any. The permit is for the first record.
pub fn may_propose_link(
    p: &Principal,
    person_id: &str,
    other_person_id: &str,
    existing: Option<LinkFacts<'_>>,
) -> Ruling<ProposeLink> {
    if !may(p, Action::LinkRecords) {
        return Err(Refusal::Forbidden("proposePersonLink"));
    }
    if person_id == other_person_id {
        return Err(Refusal::State(SAME_RECORD));
    }
    match existing.map(|l| l.state) {
        Some(LinkState::Proposed | LinkState::Confirmed) => Err(Refusal::State(ALREADY_LINKED)),
        _ => Ok(Permit::grant(person_id)),
    }
}

/// A coordinator other than the proposer confirms a pending proposal.
pub fn may_confirm_link(p: &Principal, link: LinkFacts<'_>) -> Ruling<ConfirmLink> {
    if !may(p, Action::ConfirmLinks) {
        return Err(Refusal::Forbidden("confirmPersonLink"));
    }
    if link.state != LinkState::Proposed {
        return Err(Refusal::State(NOT_PROPOSED));
    }
    if link.proposed_by == p.account_id {
        return Err(Refusal::State(OWN_PROPOSAL));
    }
    Ok(Permit::grant(link.id))
}

/// A coordinator revokes a link or rejects a proposal; the proposer may withdraw its own
/// pending proposal (and is told it is already revoked, not refused, when it is).
pub fn may_revoke_link(p: &Principal, link: LinkFacts<'_>) -> Ruling<RevokeLink> {
    let coordinator = may(p, Action::ConfirmLinks);
    let own_proposal = link.state != LinkState::Confirmed
        && link.proposed_by == p.account_id
        && may(p, Action::LinkRecords);
    if !coordinator && !own_proposal {
        return Err(Refusal::Forbidden("revokePersonLink"));
    }
    if link.state == LinkState::Revoked {
        return Err(Refusal::State(ALREADY_REVOKED));
    }
    Ok(Permit::grant(link.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::write::test_support::principal;
    use crate::policy::Role;

    fn link(state: LinkState, by: &str) -> LinkFacts<'_> {
        LinkFacts {
            id: "l",
            state,
            proposed_by: by,
        }
    }

    #[test]
    fn staff_who_record_persons_propose_two_different_records_once() {
        let cw = principal("a", &[Role::Caseworker]);
        assert_eq!(may_propose_link(&cw, "p", "q", None).unwrap().id(), "p");
        assert_eq!(
            may_propose_link(&cw, "p", "p", None).unwrap_err(),
            Refusal::State(SAME_RECORD)
        );
        for state in [LinkState::Proposed, LinkState::Confirmed] {
            assert_eq!(
                may_propose_link(&cw, "p", "q", Some(link(state, "x"))).unwrap_err(),
                Refusal::State(ALREADY_LINKED)
            );
        }
        assert!(may_propose_link(&cw, "p", "q", Some(link(LinkState::Revoked, "x"))).is_ok());
        assert!(may_propose_link(&principal("a", &[Role::Coordinator]), "p", "q", None).is_ok());
        for role in [
            Role::LifeSupportCoordinator,
            Role::Integration,
            Role::Analyst,
            Role::Auditor,
            Role::Admin,
        ] {
            assert_eq!(
                may_propose_link(&principal("a", &[role]), "p", "q", None).unwrap_err(),
                Refusal::Forbidden("proposePersonLink"),
                "{role}"
            );
        }
    }

    #[test]
    fn another_coordinator_confirms_a_pending_proposal() {
        let coord = principal("a", &[Role::Coordinator]);
        let me = coord.account_id.clone();
        assert_eq!(
            may_confirm_link(&coord, link(LinkState::Proposed, "someone"))
                .unwrap()
                .id(),
            "l"
        );
        assert_eq!(
            may_confirm_link(&coord, link(LinkState::Proposed, &me)).unwrap_err(),
            Refusal::State(OWN_PROPOSAL)
        );
        for state in [LinkState::Confirmed, LinkState::Revoked] {
            assert_eq!(
                may_confirm_link(&coord, link(state, "someone")).unwrap_err(),
                Refusal::State(NOT_PROPOSED)
            );
        }
        let cw = principal("a", &[Role::Caseworker]);
        assert_eq!(
            may_confirm_link(&cw, link(LinkState::Proposed, "someone")).unwrap_err(),
            Refusal::Forbidden("confirmPersonLink")
        );
    }

    #[test]
    fn coordinators_revoke_and_proposers_withdraw_their_own_proposal() {
        let coord = principal("a", &[Role::Coordinator]);
        assert!(may_revoke_link(&coord, link(LinkState::Confirmed, "x")).is_ok());
        assert!(may_revoke_link(&coord, link(LinkState::Proposed, "x")).is_ok());
        assert_eq!(
            may_revoke_link(&coord, link(LinkState::Revoked, "x")).unwrap_err(),
            Refusal::State(ALREADY_REVOKED)
        );
        let cw = principal("a", &[Role::Caseworker]);
        let me = cw.account_id.clone();
        assert!(may_revoke_link(&cw, link(LinkState::Proposed, &me)).is_ok());
        assert_eq!(
            may_revoke_link(&cw, link(LinkState::Revoked, &me)).unwrap_err(),
            Refusal::State(ALREADY_REVOKED)
        );
        for l in [
            link(LinkState::Proposed, "someone"),
            link(LinkState::Confirmed, &me),
        ] {
            assert_eq!(
                may_revoke_link(&cw, l).unwrap_err(),
                Refusal::Forbidden("revokePersonLink")
            );
        }
    }
}
