//! Consultations (相談受付): who may know one exists, record one and change its status.

use chrono::{DateTime, Utc};

use super::{holder_only, needs, Permit, Ruling};
use crate::policy::ceiling::ceiling_allows;
use crate::policy::decide::shared_basis;
use crate::policy::{decide, Action, Category, Item, Principal, Purpose, SubjectFacts};

/// Recording a consultation (recordConsultation); the caller's agency receives it.
#[derive(Debug)]
pub enum RecordConsultation {}

/// A change to a consultation (setConsultationStatus).
#[derive(Debug)]
pub enum ChangeConsultation {}

const NARRATIVE: Item = Item::of(Category::Narrative);

/// Whether the caller may know a consultation exists: it may see the NARRATIVE of at least
/// one of its subjects, held by the receiving agency (OWN for that agency, or a basis for
/// the subject).
pub fn knows_consultation<'a>(
    p: &Principal,
    receiving_agency_id: &str,
    subjects: impl IntoIterator<Item = &'a SubjectFacts>,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> bool {
    subjects
        .into_iter()
        .any(|s| decide(p, s, receiving_agency_id, NARRATIVE, purpose, now).is_ok())
}

/// Whether the caller may see that the person is a subject of any consultation, whichever
/// agency received it: a basis for the person's NARRATIVE that does not rest on holding the
/// record (a consent, a 支援会議, a break-glass grant). Without one, only the consultations its
/// own agency received show the person.
pub fn sees_every_consultation_of(
    p: &Principal,
    person: &SubjectFacts,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> bool {
    ceiling_allows(p, Category::Narrative)
        && shared_basis(p, person, NARRATIVE, purpose, now).is_ok()
}

/// Any account with the role to record consultations records one, as received by its
/// agency (`consultation_id` is the new record's id).
pub fn may_record_consultation(p: &Principal, consultation_id: &str) -> Ruling<RecordConsultation> {
    needs(p, Action::RecordConsultation, "recordConsultation")?;
    Ok(Permit::grant(consultation_id))
}

/// Only the receiving agency changes a consultation.
pub fn may_change_consultation(
    p: &Principal,
    consultation_id: &str,
    receiving_agency_id: &str,
) -> Ruling<ChangeConsultation> {
    needs(p, Action::RecordConsultation, "setConsultationStatus")?;
    holder_only(
        p,
        receiving_agency_id,
        "受付機関のみ変更できます / only the receiving agency may change it",
    )?;
    Ok(Permit::grant(consultation_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::write::household::tests::{now, person};
    use crate::policy::write::test_support::principal;
    use crate::policy::write::Refusal;
    use crate::policy::{MeetingFacts, Role};

    #[test]
    fn a_consultation_is_known_through_any_subject() {
        let cw = principal("a1", &[Role::Caseworker]);
        let s = Purpose::Support;
        let stranger = person("a2", "a1", &[Category::Identity]);
        let consenting = person("a2", "a1", &[Category::Narrative]);
        assert!(knows_consultation(&cw, "a1", [&stranger], s, now()));
        assert!(!knows_consultation(&cw, "a2", [&stranger], s, now()));
        assert!(knows_consultation(
            &cw,
            "a2",
            [&stranger, &consenting],
            s,
            now()
        ));
        assert!(!knows_consultation(&cw, "a1", [], s, now()));
        let auditor = principal("a1", &[Role::Auditor]);
        assert!(!knows_consultation(&auditor, "a1", [&consenting], s, now()));
    }

    #[test]
    fn every_consultation_of_a_person_needs_a_basis_beyond_holding_it() {
        let cw = principal("a1", &[Role::Caseworker]);
        let s = Purpose::Support;
        // The caller's own person, without a consent: only its own consultations.
        let own = person("a1", "a1", &[]);
        assert!(!sees_every_consultation_of(&cw, &own, s, now()));
        let consenting = person("a2", "a1", &[Category::Narrative]);
        assert!(sees_every_consultation_of(&cw, &consenting, s, now()));
        assert!(!sees_every_consultation_of(
            &cw,
            &consenting,
            Purpose::Evaluation,
            now()
        ));
        let narrower = person("a2", "a1", &[Category::Identity]);
        assert!(!sees_every_consultation_of(&cw, &narrower, s, now()));
        let mut in_meeting = person("a2", "a1", &[]);
        in_meeting.meetings.push(MeetingFacts {
            id: "m".to_owned(),
            member_agencies: ["a1".to_owned()].into(),
            categories: [Category::Narrative].into(),
            from: now() - chrono::Duration::days(1),
            until: now() + chrono::Duration::days(1),
            joined_on: None,
            left_on: None,
        });
        assert!(sees_every_consultation_of(&cw, &in_meeting, s, now()));
        let auditor = principal("a1", &[Role::Auditor]);
        assert!(!sees_every_consultation_of(&auditor, &consenting, s, now()));
        // The same answer as deciding for a record no agency holds.
        for f in [&own, &consenting, &narrower, &in_meeting] {
            assert_eq!(
                sees_every_consultation_of(&cw, f, s, now()),
                decide(&cw, f, "", NARRATIVE, s, now()).is_ok()
            );
        }
    }

    #[test]
    fn only_the_receiving_agency_changes_a_consultation() {
        let cw = principal("a1", &[Role::Caseworker]);
        assert_eq!(may_change_consultation(&cw, "c", "a1").unwrap().id(), "c");
        assert!(matches!(
            may_change_consultation(&cw, "c", "a2"),
            Err(Refusal::Forbidden(_))
        ));
        let analyst = principal("a1", &[Role::Analyst]);
        assert!(may_change_consultation(&analyst, "c", "a1").is_err());
        assert!(may_record_consultation(&analyst, "c").is_err());
        assert_eq!(may_record_consultation(&cw, "c").unwrap().id(), "c");
    }
}
