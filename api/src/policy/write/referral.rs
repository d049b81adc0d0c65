//! Referrals (つなぎ): who may propose one, and the state machine: PROPOSED → ACCEPTED or
//! DECLINED, ACCEPTED → COMPLETED, every move the receiving agency's. A referral needs the
//! person's consent naming the receiver (IDENTITY and CONTACT) when it is proposed, and
//! still when it is accepted.

use chrono::{DateTime, Utc};

use super::{Permit, Refusal};
use crate::policy::types::string_enum;
use crate::policy::{
    is_party, may, referral_missing, Action, AgencyKind, Category, Principal, Purpose,
    SubjectFacts, REFERRAL_CATEGORIES,
};

string_enum! {
    /// A referral's status.
    ReferralStatus {
        Proposed = "PROPOSED",
        Accepted = "ACCEPTED",
        Declined = "DECLINED",
        Completed = "COMPLETED",
    }
}

/// Which party to a referral an agency is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// つなぎ元, the referring agency.
    Sender,
    /// つなぎ先, the receiving agency.
    Receiver,
}

/// The state machine: every legal move (from, to) and the side that makes it.
pub const MOVES: [(ReferralStatus, ReferralStatus, Side); 3] = [
    (
        ReferralStatus::Proposed,
        ReferralStatus::Accepted,
        Side::Receiver,
    ),
    (
        ReferralStatus::Proposed,
        ReferralStatus::Declined,
        Side::Receiver,
    ),
    (
        ReferralStatus::Accepted,
        ReferralStatus::Completed,
        Side::Receiver,
    ),
];

/// A new referral of a person (proposeReferral).
#[derive(Debug)]
pub enum ProposeReferral {}

/// A move of a referral to another status (accept, decline, complete).
#[derive(Debug)]
pub enum MoveReferral {}

/// Why a referral write is not allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Blocked {
    /// FORBIDDEN, NOT_FOUND or CONFLICT as for any write.
    Refused(Refusal),
    /// Not a referral the caller may make: BAD_USER_INPUT at the receiving agency.
    Target(&'static str),
    /// The caller decided on a version that is no longer current: CONFLICT naming the current
    /// one (judged before the move, which the caller judged on a state that is gone).
    Stale(i32),
    /// Not a move of the state machine: BAD_USER_INPUT at the referral.
    Illegal {
        from: ReferralStatus,
        to: ReferralStatus,
    },
    /// No active consent of the person covers this category for the receiving agency:
    /// CONSENT_REQUIRED.
    NeedsConsent(Category),
}

/// A referral as read.
#[derive(Clone, Debug)]
pub struct ReferralFacts<'a> {
    pub id: &'a str,
    pub from_agency_id: &'a str,
    pub to_agency_id: &'a str,
    pub status: ReferralStatus,
    pub version: i32,
    /// The person's policy facts: needed to accept (the consent must still hold), not
    /// loaded for other moves. Accepting without them is refused.
    pub subject: Option<&'a SubjectFacts>,
}

impl ReferralFacts<'_> {
    /// The caller's side, if its agency is party to the referral.
    pub fn side(&self, p: &Principal) -> Option<Side> {
        if p.agency_id == self.to_agency_id {
            Some(Side::Receiver)
        } else if p.agency_id == self.from_agency_id {
            Some(Side::Sender)
        } else {
            None
        }
    }
}

/// A referral goes to another agency: never to the caller's own.
pub fn referral_target(p: &Principal, to_agency_id: &str) -> Result<(), &'static str> {
    if to_agency_id == p.agency_id {
        return Err("自機関へはつなげません / cannot refer to one's own agency");
    }
    Ok(())
}

/// A referral of `subject` to the agency `to_agency_id` (of kind `to_kind`) is proposed by an
/// agency with the role to refer, to another agency, and needs the person's consent naming
/// the receiver for [`REFERRAL_CATEGORIES`]. The permit is for the person.
pub fn may_propose_referral(
    p: &Principal,
    subject: &SubjectFacts,
    to_agency_id: &str,
    to_kind: AgencyKind,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<Permit<ProposeReferral>, Blocked> {
    if !may(p, Action::Refer) {
        return Err(Blocked::Refused(Refusal::Forbidden("proposeReferral")));
    }
    referral_target(p, to_agency_id).map_err(Blocked::Target)?;
    if let Some(missing) = referral_missing(subject, to_agency_id, to_kind, purpose, now).first() {
        return Err(Blocked::NeedsConsent(*missing));
    }
    Ok(Permit::grant(&subject.person_id))
}

/// The side that makes the move to `to` (None: no move leads there).
pub fn mover(to: ReferralStatus) -> Option<Side> {
    MOVES.iter().find(|m| m.1 == to).map(|m| m.2)
}

/// The mutation that moves a referral to `to`, as named in a FORBIDDEN for a missing role.
fn operation(to: ReferralStatus) -> &'static str {
    match to {
        ReferralStatus::Proposed => "proposeReferral",
        ReferralStatus::Accepted => "acceptReferral",
        ReferralStatus::Declined => "declineReferral",
        ReferralStatus::Completed => "completeReferral",
    }
}

/// May the caller move the referral to `to`, having decided on `client_version`? In order:
/// the role to refer (FORBIDDEN); a party to the referral, with a role that sees person-level
/// data (NOT_FOUND otherwise); the side that makes moves to `to` (FORBIDDEN); the version
/// still current (CONFLICT); a move of the state machine (BAD_USER_INPUT); and to accept,
/// the person's consent still naming the receiver (CONSENT_REQUIRED: a withdrawal since
/// the proposal ends it).
pub fn referral_transition(
    p: &Principal,
    r: &ReferralFacts<'_>,
    client_version: i32,
    to: ReferralStatus,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<Permit<MoveReferral>, Blocked> {
    if !may(p, Action::Refer) {
        return Err(Blocked::Refused(Refusal::Forbidden(operation(to))));
    }
    if !is_party(p, [r.from_agency_id, r.to_agency_id]) {
        return Err(Blocked::Refused(Refusal::Unknown));
    }
    if let Some(by) = mover(to) {
        if r.side(p) != Some(by) {
            return Err(Blocked::Refused(Refusal::Forbidden(match by {
                Side::Receiver => {
                    "つなぎ先のみ操作できます / only the receiving agency may do this"
                }
                Side::Sender => "つなぎ元のみ操作できます / only the referring agency may do this",
            })));
        }
    }
    if client_version != r.version {
        return Err(Blocked::Stale(r.version));
    }
    if !MOVES.iter().any(|m| (m.0, m.1) == (r.status, to)) {
        return Err(Blocked::Illegal { from: r.status, to });
    }
    if to == ReferralStatus::Accepted {
        let missing = match r.subject {
            Some(s) => referral_missing(s, &p.agency_id, p.agency_kind, purpose, now),
            None => REFERRAL_CATEGORIES.to_vec(),
        };
        if let Some(m) = missing.first() {
            return Err(Blocked::NeedsConsent(*m));
        }
    }
    Ok(Permit::grant(r.id))
}

#[cfg(test)]
mod tests;
