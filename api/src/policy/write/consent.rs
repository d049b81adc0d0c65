//! Consents: recorded by the agency that registered the person; a withdrawal recorded by
//! that agency or by the one that recorded the consent.

use chrono::{DateTime, Utc};

use super::{Permit, Refusal, Ruling};
use crate::policy::{
    consent_names, may, may_know_consent, Action, Principal, Recipient, SubjectFacts,
};

/// A new consent of a person (recordConsent).
#[derive(Debug)]
pub enum RecordConsent {}

/// The withdrawal of a consent (withdrawConsent).
#[derive(Debug)]
pub enum WithdrawConsent {}

/// Only the agency that registered a person records their consent (with the role to record
/// consents). The permit is for the person the consent is recorded under.
pub fn may_record_consent(p: &Principal, person: &SubjectFacts) -> Ruling<RecordConsent> {
    if !may(p, Action::RecordConsent) {
        return Err(Refusal::Forbidden("recordConsent"));
    }
    if person.owner_agency_id != p.agency_id {
        return Err(Refusal::Forbidden("本人を登録した機関のみ記録できます / only the agency that registered the person may record consent"));
    }
    Ok(Permit::grant(&person.person_id))
}

/// A stored consent as the withdrawal rule needs it.
#[derive(Clone, Debug)]
pub struct ConsentOnRecord<'a> {
    pub id: &'a str,
    /// The agency that registered the person.
    pub person_owner: &'a str,
    /// The agency that recorded the consent.
    pub recorded_by: &'a str,
    /// Whom the consent names.
    pub recipients: &'a [Recipient<'a>],
    pub withdrawn_at: Option<DateTime<Utc>>,
}

/// A withdrawal is recorded by the agency that registered the person or the one that
/// recorded the consent. A consent the caller may not know of ([`may_know_consent`]) is, to
/// it, one that does not exist; one already withdrawn cannot be withdrawn again.
pub fn may_withdraw_consent(p: &Principal, c: &ConsentOnRecord<'_>) -> Ruling<WithdrawConsent> {
    if !may(p, Action::RecordConsent) {
        return Err(Refusal::Forbidden("withdrawConsent"));
    }
    let names_caller = consent_names(c.recipients.iter().copied(), &p.agency_id, p.agency_kind);
    if !may_know_consent(p, c.person_owner, names_caller, c.recorded_by) {
        return Err(Refusal::Unknown);
    }
    if c.person_owner != p.agency_id && c.recorded_by != p.agency_id {
        return Err(Refusal::Forbidden("本人を登録した機関のみ撤回を記録できます / only the registering agency may record a withdrawal"));
    }
    if c.withdrawn_at.is_some() {
        return Err(Refusal::State("既に撤回されています / already withdrawn"));
    }
    Ok(Permit::grant(c.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::write::test_support::principal;
    use crate::policy::{AgencyKind, Role};

    #[test]
    fn only_the_registering_agency_records_a_consent() {
        let caseworker = principal("a1", &[Role::Caseworker]);
        let auditor = principal("a1", &[Role::Auditor]);
        let forbidden = |p: &Principal, owner: &str| {
            let person = SubjectFacts {
                person_id: "p".to_owned(),
                owner_agency_id: owner.to_owned(),
                ..SubjectFacts::default()
            };
            forbidden_by(may_record_consent(p, &person))
        };
        fn forbidden_by(ruling: Ruling<RecordConsent>) -> Option<&'static str> {
            match ruling {
                Ok(permit) => {
                    assert_eq!(permit.id(), "p");
                    None
                }
                Err(Refusal::Forbidden(m)) => Some(m),
                Err(other) => panic!("{other:?}"),
            }
        }
        assert_eq!(forbidden(&caseworker, "a1"), None);
        assert!(forbidden(&caseworker, "a2").is_some_and(|m| m.contains("registered")));
        assert_eq!(forbidden(&auditor, "a1"), Some("recordConsent"));
    }

    #[test]
    fn a_withdrawal_is_the_registering_or_recording_agencys() {
        let me = principal("a1", &[Role::Caseworker]);
        let named = [
            Recipient::Agency("a9"),
            Recipient::Kind(AgencyKind::ChildFamily),
        ];
        let withdraw = |p: &Principal, owner, recorder, recipients: &[Recipient<'_>]| {
            may_withdraw_consent(
                p,
                &ConsentOnRecord {
                    id: "c",
                    person_owner: owner,
                    recorded_by: recorder,
                    recipients,
                    withdrawn_at: None,
                },
            )
        };
        // The person's registering agency, or the agency that recorded the consent.
        assert_eq!(withdraw(&me, "a1", "a2", &[]).unwrap().id(), "c");
        assert!(withdraw(&me, "a2", "a1", &[]).is_ok());
        // Named by it (here by its kind), but neither: FORBIDDEN.
        assert!(matches!(
            withdraw(&me, "a2", "a3", &named),
            Err(Refusal::Forbidden(m)) if m.contains("withdrawal")
        ));
        // Not named by it and not its own: it does not exist to this caller.
        let other = [Recipient::Agency("a9")];
        assert_eq!(
            withdraw(&me, "a2", "a3", &other).unwrap_err(),
            Refusal::Unknown
        );
        // Already withdrawn: CONFLICT, after the caller is known to be allowed.
        let withdrawn = ConsentOnRecord {
            id: "c",
            person_owner: "a1",
            recorded_by: "a1",
            recipients: &[],
            withdrawn_at: Some(chrono::DateTime::UNIX_EPOCH),
        };
        assert!(matches!(
            may_withdraw_consent(&me, &withdrawn),
            Err(Refusal::State(_))
        ));
        // Without the role, nothing else is judged.
        let auditor = principal("a1", &[Role::Auditor]);
        assert_eq!(
            withdraw(&auditor, "a2", "a3", &other).unwrap_err(),
            Refusal::Forbidden("withdrawConsent")
        );
    }
}
