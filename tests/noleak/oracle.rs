//! The independent oracle: who may see what, written from the specification (DESIGN.md
//! "Who may see what", README §6 and the field descriptions in schema.graphql), not from
//! `api/src/policy`, which it neither imports nor calls.
//!
//! Interpretations where the specification leaves room (each one stated, so a reviewer
//! can disagree with a sentence rather than with code):
//! - Role ceilings (policy version 1): coordinator, caseworker and integration see all
//!   eight categories; life_support_coordinator all but HEALTH and CHILD_PROTECTION;
//!   admin, analyst and auditor none. A caller holding several roles gets the union.
//! - OWN belongs to the agency that holds the record a value lives in ("その記録を持つ
//!   機関", README §6): the person's own fields (and ownerAgency) to the agency that
//!   registered the person; a household's membership data to the household's registering
//!   agency; a consultation's content (summary, issues, the link to its subjects) to the
//!   receiving agency; a referral's reason to the sender and its decline reason to the
//!   receiver. Registering a person gives no OWN over other agencies' records about that
//!   person: those need the person's consent. The ceiling applies to OWN as to every basis.
//! - CONSENT: a consent of the person that is not withdrawn, whose validity window
//!   contains now, whose purpose is SUPPORT, that lists the category, and that names the
//!   caller's agency or its agency kind. Proxy consents count like the person's own.
//! - Current member (issue 10, rule 1): a membership is current when joinedOn <= today <
//!   leftOn, today being the city's date (JST) and a null bound open, so a member who has
//!   not joined yet is not current and one leaving in the future still is; "current
//!   members" below (the 支援会議 basis, ownerAgency, minutes, case visibility and content,
//!   noContact, consentGaps and through them every list) always mean exactly these.
//! - SUPPORT_MEETING: a 支援会議 (not a 重層的支援会議, not a case conference) in its period
//!   whose members include the caller's agency opens its declared categories of the
//!   household's current members (not those who left or have not joined), in any record,
//!   like a consent.
//! - EMERGENCY: an open grant (not expired, not closed) opens every category within the
//!   ceiling of that person to the account that holds it, and to no other account.
//! - Location (address, district) of a person under a support measure: OWN or an active
//!   CONTACT consent naming the caller's agency itself (a kind, a 支援会議 or a grant does
//!   not open it).
//! - A person may be known to exist (by id, in lists, as a subject, as a member, as an id
//!   anywhere) exactly when the caller may see the person's IDENTITY. Admins and auditors
//!   (ceiling: nothing) may still meet a person's id: they read every consent and the
//!   ledger by person id, so `consents(personId)` answers them for any existing person.
//! - Household: a member (with its relationship, joinedOn and leftOn), past, current or
//!   future, is visible when the caller may see that member's HOUSEHOLD data; the household
//!   may be known when its registering agency is the
//!   caller's (and HOUSEHOLD is within the ceiling) or at least one member is visible; its
//!   ownerAgency is NARRATIVE of every current member.
//! - Consultation: the link between a consultation and a subject is that subject's
//!   NARRATIVE; a consultation may be known when the link to at least one subject is
//!   visible; the summary needs NARRATIVE for every subject; an issue needs its policy
//!   category for every subject; a listed subject additionally needs IDENTITY.
//! - Referral: known to its sender and receiver only; `person` needs IDENTITY.
//! - Meeting: known to its convener and participant agencies (for callers with some
//!   category in their ceiling); minutes are NARRATIVE of every current member.
//! - Activity: NARRATIVE of its person, held by the recording agency; listed and its
//!   note shown with that basis. Support case: PLAN of every current household member,
//!   held by the case's agency; known (PLAN within the ceiling) to its own agency and with
//!   a PLAN basis for at least one current member, whatever a not-yet member consented to.
//! - Case content: decision basis and reason, plan text, agreement method, assignments and
//!   involvements are PLAN, a decision note NARRATIVE, of every current member, held by the
//!   case's agency; the decisions and plan versions themselves (ids, kinds, dates) come
//!   with the case, while involvements and assignments are null with CONSENT_REQUIRED PLAN
//!   (and their ids unknowable) unless PLAN holds for every current member.
//! - Meeting.decisions: the decisions taken at the meeting on cases the caller may know;
//!   their reason is PLAN of the case's current members, like CaseDecision.reason.
//! - Error subjects (issue 10, rule 2): a CONSENT_REQUIRED error on a person's own field
//!   must name that person; on a referral's reason or declineReason it names the referral's
//!   person exactly when the caller may know them; on consultation content it may name only
//!   a subject denied that category whom the caller may know and whose link (NARRATIVE, held
//!   by the receiving agency) it may see; on household-scoped content (ownerAgency, minutes,
//!   anything in a support case) only a current member denied that category whom the caller
//!   may know and whose membership it may see; otherwise the key is absent (not null), and
//!   an error naming a subject where the oracle judged no denied field fails.
//! - Ids pointing at another record (issue 10, rule 3): Activity.caseId and Meeting.caseId
//!   are the case's id exactly when the caller may know the case, Activity.placementId when
//!   it may know the placement, CaseDecision.meetingId when it may know the meeting; else
//!   null with no error, and an unknowable id appears nowhere in a body.
//! - Writes on hidden records (issue 10, rule 4): a record is hidden from a caller when the
//!   oracle says it may not know it (a person without IDENTITY, a consent it may not list,
//!   a membership whose HOUSEHOLD it may not see, a consultation, referral, meeting, case,
//!   household or placement it may not know, a plan of a case it may not know, an
//!   involvement without PLAN for every current member); an id-taking write on it must
//!   answer byte-identically to a random UUID, NOT_FOUND naming the id argument as `field`
//!   (FORBIDDEN for both is accepted only when README §6's role table does not give the
//!   caller's roles that operation, or does not list it), and change no row.
//!   Its `householdId` is non-null in the schema, so whoever knows a case may meet the
//!   household's id (never the household: `household(id)` stays NOT_FOUND without a
//!   HOUSEHOLD basis).
//! - Placement (参加支援): PLAN of its person, held by the recording agency;
//!   `placements(personId)` needs a person the caller may know.
//! - consentGaps (重層的支援会議, convener's coordinators only): participants other than the
//!   convener × current members the caller may know, with their membership (README §9) ×
//!   declared categories without an active SUPPORT consent naming the participant or its
//!   kind; other current members counted.
//! - explainAccess: answers a caller about itself for persons it may know, and admins and
//!   auditors about any account for any existing person; per item, `allowed` and `basis`
//!   equal the oracle's first basis.
//! - consents(personId): everything to admins/auditors; to a caller who may know the
//!   person (IDENTITY; so not an analyst, even at the registering agency) everything if
//!   its agency registered the person, else only the consents naming its agency or kind
//!   (any state) with only itself among the recipients; nothing to anyone else.
//! - Person.consents: exactly what consents(personId) gives the caller for that person (a
//!   person object is only ever shown to a caller who may know the person).
//! - Person.consultations(first: n): the n newest (newest first) of the consultations whose
//!   link to the person the caller may see; one it may not see takes no place.
//! - External references (`externalRefs` on Person, Household, Consultation and Consent):
//!   exactly the references the caller's agency holds for the record, in system order,
//!   whatever the caller's roles (an agency's own ids are no personal data, and a record is
//!   only ever shown to a caller who may know it); none of another agency's, so a record
//!   only another agency holds references to shows an empty list.
//! - Lookups by reference (`personByRef`, `householdByRef`, `consultationByRef`,
//!   `consentByRef`): the record of that type the caller's agency's reference
//!   `(system, externalId)` names (compared exactly), when the caller may know the record
//!   (as by id: a person with IDENTITY, a household, a consultation, a consent it may list);
//!   otherwise (no such reference of its agency, another agency's reference, a reference to
//!   a record of another type, a record it may not know) NOT_FOUND, byte-identical to a
//!   reference nobody holds.

use std::cell::Cell;
use std::collections::BTreeSet;

use crate::world::{Account, ConsentState, World};
use crate::world_refs::RefKind;

/// The bases of the policy, in the documented order.
pub const BASES: [&str; 4] = ["OWN", "CONSENT", "SUPPORT_MEETING", "EMERGENCY"];

pub struct Oracle<'w> {
    pub w: &'w World,
    pub a: &'w Account,
    /// Which of [`BASES`] this oracle has allowed something on (one bit each), so a run
    /// can tell which bases its cases exercised.
    used: Cell<u8>,
}

pub fn ceiling(roles: &[&str]) -> BTreeSet<&'static str> {
    let mut out = BTreeSet::new();
    for r in roles {
        let cats: &[&'static str] = match *r {
            "coordinator" | "caseworker" | "integration" => &crate::world::CATEGORIES,
            "life_support_coordinator" => &[
                "IDENTITY",
                "CONTACT",
                "HOUSEHOLD",
                "LIVELIHOOD",
                "NARRATIVE",
                "PLAN",
            ],
            _ => &[],
        };
        out.extend(cats.iter().copied());
    }
    out
}

impl<'w> Oracle<'w> {
    pub fn new(w: &'w World, a: &'w Account) -> Self {
        Oracle {
            w,
            a,
            used: Cell::new(0),
        }
    }

    /// Notes that something was allowed on `basis` (see [`Oracle::bases_used`]).
    pub fn note(&self, basis: Option<&'static str>) {
        if let Some(i) = basis.and_then(|b| BASES.iter().position(|x| *x == b)) {
            self.used.set(self.used.get() | 1 << i);
        }
    }

    /// The bases this oracle allowed something on since it was made.
    pub fn bases_used(&self) -> Vec<&'static str> {
        (0..BASES.len())
            .filter(|i| self.used.get() & 1 << i != 0)
            .map(|i| BASES[i])
            .collect()
    }

    fn within(&self, cat: &str) -> bool {
        ceiling(&self.a.roles).contains(cat)
    }

    pub fn oversight(&self) -> bool {
        self.a
            .roles
            .iter()
            .any(|r| *r == "admin" || *r == "auditor")
    }

    fn consent_active(&self, c: &crate::world::Consent) -> bool {
        c.state == ConsentState::Active && c.purpose == "SUPPORT"
    }

    /// An active consent of `person` covering `cat` names the caller's agency (or, when
    /// `by_kind`, its kind).
    fn consented(&self, person: usize, cat: &str, by_kind: bool) -> bool {
        let agency = self.a.agency;
        let kind = self.w.agencies[agency].kind;
        self.w.consents.iter().any(|c| {
            c.person == person
                && self.consent_active(c)
                && c.categories.contains(&cat)
                && (c.agencies.contains(&agency) || (by_kind && c.kinds.contains(&kind)))
        })
    }

    /// A 支援会議 in its period, with the caller's agency as a member, declaring `cat`,
    /// about a household `p` currently belongs to.
    fn support_meeting(&self, p: usize, cat: &str) -> bool {
        self.w.meetings.iter().any(|m| {
            m.in_period
                && m.members.contains(&self.a.agency)
                && m.categories.contains(&cat)
                && self.w.households[m.household]
                    .members
                    .iter()
                    .any(|x| x.person == p && x.current(self.w.today))
        })
    }

    /// An open break-glass grant of this very account for `p`.
    fn emergency(&self, p: usize) -> bool {
        self.w
            .grants
            .iter()
            .any(|g| g.active && g.person == p && self.w.accounts[g.account].id == self.a.id)
    }

    /// The first basis that holds for category `cat` of person `p` in a record held by
    /// agency `holder` (non-location items), in the documented order.
    pub fn basis(&self, p: usize, cat: &str, holder: Option<usize>) -> Option<&'static str> {
        let basis = self.first_basis(p, cat, holder);
        self.note(basis);
        basis
    }

    fn first_basis(&self, p: usize, cat: &str, holder: Option<usize>) -> Option<&'static str> {
        if !self.within(cat) {
            return None;
        }
        if holder == Some(self.a.agency) {
            Some("OWN")
        } else if self.consented(p, cat, true) {
            Some("CONSENT")
        } else if self.support_meeting(p, cat) {
            Some("SUPPORT_MEETING")
        } else if self.emergency(p) {
            Some("EMERGENCY")
        } else {
            None
        }
    }

    /// May the caller see category `cat` of person `p` (the person's own fields)?
    pub fn sees(&self, p: usize, cat: &str) -> bool {
        self.basis(p, cat, Some(self.w.persons[p].owner)).is_some()
    }

    /// Category `cat` of person `p` inside a record the caller's agency does not hold:
    /// consent, a 支援会議 or a grant opens it, registering the person does not.
    pub fn consents_to(&self, p: usize, cat: &str) -> bool {
        self.basis(p, cat, None).is_some()
    }

    /// Address and district.
    pub fn sees_location(&self, p: usize) -> bool {
        if !self.w.persons[p].confidential {
            return self.sees(p, "CONTACT");
        }
        self.within("CONTACT")
            && (self.w.persons[p].owner == self.a.agency || self.consented(p, "CONTACT", false))
    }

    pub fn knows_person(&self, p: usize) -> bool {
        self.sees(p, "IDENTITY")
    }

    /// May the caller meet this person's id (not the person): whoever knows the person,
    /// and admins and auditors, who read the ledger and every consent by person id.
    pub fn knows_person_id(&self, p: usize) -> bool {
        self.knows_person(p) || self.oversight()
    }

    // ---- households ----

    pub fn sees_member(&self, h: usize, m: usize) -> bool {
        let hh = &self.w.households[h];
        let p = hh.members[m].person;
        self.within("HOUSEHOLD") && (hh.owner == self.a.agency || self.consents_to(p, "HOUSEHOLD"))
    }

    pub fn knows_household(&self, h: usize) -> bool {
        let hh = &self.w.households[h];
        (hh.owner == self.a.agency && self.within("HOUSEHOLD"))
            || (0..hh.members.len()).any(|m| self.sees_member(h, m))
    }

    pub fn sees_household_owner(&self, h: usize) -> bool {
        let hh = &self.w.households[h];
        if hh.owner == self.a.agency && self.within("NARRATIVE") {
            return true;
        }
        let current = self.current_members(h);
        !current.is_empty() && current.iter().all(|p| self.consents_to(*p, "NARRATIVE"))
    }

    // ---- consultations ----

    fn receives(&self, c: usize) -> bool {
        self.w.consultations[c].receiver == self.a.agency
    }

    pub fn sees_link(&self, c: usize, p: usize) -> bool {
        self.within("NARRATIVE") && (self.receives(c) || self.consents_to(p, "NARRATIVE"))
    }

    pub fn knows_consultation(&self, c: usize) -> bool {
        self.w.consultations[c]
            .subjects
            .iter()
            .any(|p| self.sees_link(c, *p))
    }

    pub fn sees_summary(&self, c: usize) -> bool {
        let cc = &self.w.consultations[c];
        self.within("NARRATIVE")
            && (self.receives(c)
                || cc
                    .subjects
                    .iter()
                    .all(|p| self.consents_to(*p, "NARRATIVE")))
    }

    pub fn sees_subject(&self, c: usize, p: usize) -> bool {
        self.sees_link(c, p) && self.knows_person(p)
    }

    pub fn sees_issue(&self, c: usize, code: &str) -> bool {
        let cat = self.w.issue_category(code);
        let cc = &self.w.consultations[c];
        self.within(cat)
            && (self.receives(c) || cc.subjects.iter().all(|p| self.consents_to(*p, cat)))
    }

    // ---- referrals ----

    pub fn knows_referral(&self, r: usize) -> bool {
        let rr = &self.w.referrals[r];
        !self.within_none() && (rr.from == self.a.agency || rr.to == self.a.agency)
    }

    /// No category at all: such roles have no business with personal records.
    pub fn within_none(&self) -> bool {
        ceiling(&self.a.roles).is_empty()
    }

    pub fn sees_reason(&self, r: usize) -> bool {
        let rr = &self.w.referrals[r];
        self.within("NARRATIVE")
            && (rr.from == self.a.agency || self.consents_to(rr.person, "NARRATIVE"))
    }

    pub fn sees_decline_reason(&self, r: usize) -> bool {
        let rr = &self.w.referrals[r];
        self.within("NARRATIVE")
            && (rr.to == self.a.agency || self.consents_to(rr.person, "NARRATIVE"))
    }

    // ---- meetings ----

    /// Convener and participants only, and only callers whose role may see some category
    /// (an analyst or auditor at a member agency has no business with its meetings).
    pub fn knows_meeting(&self, m: usize) -> bool {
        !self.within_none() && self.w.meetings[m].members.contains(&self.a.agency)
    }

    /// Minutes are NARRATIVE of every current member of the household (held by the
    /// convener); with no current member there is nobody whose basis could open them.
    pub fn sees_minutes(&self, m: usize) -> bool {
        let mm = &self.w.meetings[m];
        let current = self.current_members(mm.household);
        !current.is_empty()
            && current
                .iter()
                .all(|p| self.basis(*p, "NARRATIVE", Some(mm.convener)).is_some())
    }

    /// The explanation the policy owes for one item: (allowed, basis).
    pub fn explain(&self, p: usize, cat: &str, location: bool) -> Option<&'static str> {
        let person = &self.w.persons[p];
        if location && person.confidential {
            if !self.within("CONTACT") {
                None
            } else if person.owner == self.a.agency {
                Some("OWN")
            } else if self.consented(p, "CONTACT", false) {
                Some("CONSENT")
            } else {
                None
            }
        } else {
            self.basis(p, cat, Some(person.owner))
        }
    }

    // ---- activities and support cases ----

    /// An activity (and its note) is NARRATIVE of its person, held by the recording agency.
    pub fn sees_activity(&self, a: usize) -> bool {
        let x = &self.w.activities[a];
        self.basis(x.person, "NARRATIVE", Some(x.agency)).is_some()
    }

    /// A placement is PLAN of its person, held by the recording agency.
    pub fn sees_placement(&self, x: usize) -> bool {
        let x = &self.w.placements[x];
        self.basis(x.person, "PLAN", Some(x.agency)).is_some()
    }

    /// The persons whose membership is current today: joinedOn <= today < leftOn.
    pub fn current_members(&self, h: usize) -> Vec<usize> {
        self.w.households[h]
            .members
            .iter()
            .filter(|m| m.current(self.w.today))
            .map(|m| m.person)
            .collect()
    }

    /// A support case (and whether there is one) is PLAN of every current member: known
    /// to its own agency (PLAN within the ceiling) and with a PLAN basis, held by the
    /// case's agency, for at least one current member.
    pub fn knows_case(&self, k: usize) -> bool {
        let c = &self.w.cases[k];
        self.within("PLAN")
            && (c.owner == self.a.agency
                || self
                    .current_members(c.household)
                    .iter()
                    .any(|p| self.basis(*p, "PLAN", Some(c.owner)).is_some()))
    }

    /// Content of case `k` in category `cat` (plan text, decision basis and note,
    /// involvements, assignments): a basis, held by the case's agency, for every current
    /// member.
    pub fn sees_case_content(&self, k: usize, cat: &str) -> bool {
        let c = &self.w.cases[k];
        let current = self.current_members(c.household);
        !current.is_empty()
            && current
                .iter()
                .all(|p| self.basis(*p, cat, Some(c.owner)).is_some())
    }

    // ---- who a CONSENT_REQUIRED error may name (issue 10, rule 2) ----

    /// Person `p`'s link to household `h` (its membership there) is visible: the same
    /// decision that lists the membership in `Household.members`.
    pub fn sees_household_link(&self, h: usize, p: usize) -> bool {
        self.w.households[h]
            .members
            .iter()
            .position(|m| m.person == p)
            .is_some_and(|m| self.sees_member(h, m))
    }

    /// Subject ids an error on household-scoped content (ownerAgency, minutes, anything in
    /// a support case) may carry: current members denied `cat` (held by `holder`) whom the
    /// caller may know and whose membership it may see.
    pub fn nameable_in_household(&self, h: usize, cat: &str, holder: usize) -> BTreeSet<String> {
        self.current_members(h)
            .into_iter()
            .filter(|p| self.basis(*p, cat, Some(holder)).is_none())
            .filter(|p| self.knows_person(*p) && self.sees_household_link(h, *p))
            .map(|p| self.w.persons[p].id.clone())
            .collect()
    }

    /// Subject ids an error on a consultation's content may carry: subjects denied `cat`
    /// whom the caller may know and whose link to the consultation it may see.
    pub fn nameable_in_consultation(&self, c: usize, cat: &str) -> BTreeSet<String> {
        let cc = &self.w.consultations[c];
        cc.subjects
            .iter()
            .copied()
            .filter(|p| !(self.within(cat) && (self.receives(c) || self.consents_to(*p, cat))))
            .filter(|p| self.sees_subject(c, *p))
            .map(|p| self.w.persons[p].id.clone())
            .collect()
    }

    // ---- ids that point at another record (issue 10, rule 3) ----

    /// `Activity.caseId` / `Meeting.caseId`: the case id when the caller may know the case.
    pub fn case_ref(&self, k: Option<usize>) -> Option<String> {
        k.filter(|k| self.knows_case(*k))
            .map(|k| self.w.cases[k].id.clone())
    }

    /// `Activity.placementId`: the placement id when the caller may know the placement.
    pub fn placement_ref(&self, x: Option<usize>) -> Option<String> {
        x.filter(|x| self.sees_placement(*x))
            .map(|x| self.w.placements[x].id.clone())
    }

    /// `CaseDecision.meetingId`: the meeting id when the caller may know the meeting.
    pub fn meeting_ref(&self, m: Option<usize>) -> Option<String> {
        m.filter(|m| self.knows_meeting(*m))
            .map(|m| self.w.meetings[m].id.clone())
    }

    /// noContact(days: 1): the worlds hold no outreach visits and every activity is months
    /// old, so it lists the current members of households with an open case of the
    /// caller's agency — those the caller may know; a person it may not know is never
    /// listed (the field is non-null, so it cannot be withheld in place).
    pub fn no_contact(&self) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        for c in self.w.cases.iter().filter(|c| c.owner == self.a.agency) {
            for p in self.current_members(c.household) {
                if self.knows_person(p) {
                    out.insert(p);
                }
            }
        }
        out
    }

    /// consentGaps of meeting `m` as the convener sees them: (participant other than the
    /// convener, current member known with its membership, declared category) without an
    /// active SUPPORT consent naming that participant or its kind; plus how many current
    /// members the caller may not know so (counted, never named).
    pub fn consent_gaps(&self, m: usize) -> (BTreeSet<(usize, usize, &'static str)>, usize) {
        let mm = &self.w.meetings[m];
        let mut gaps = BTreeSet::new();
        let mut unknown = 0;
        for p in self.current_members(mm.household) {
            if !self.knows_person(p) || !self.sees_household_link(mm.household, p) {
                unknown += 1;
                continue;
            }
            for a in mm.members.iter().filter(|a| **a != mm.convener) {
                let kind = self.w.agencies[*a].kind;
                for cat in &mm.categories {
                    let covered = self.w.consents.iter().any(|c| {
                        c.person == p
                            && self.consent_active(c)
                            && c.categories.contains(cat)
                            && (c.agencies.contains(a) || c.kinds.contains(&kind))
                    });
                    if !covered {
                        gaps.insert((*a, p, *cat));
                    }
                }
            }
        }
        (gaps, unknown)
    }

    // ---- consents ----

    pub fn sees_consent(&self, k: usize) -> bool {
        let c = &self.w.consents[k];
        let agency = self.a.agency;
        self.oversight()
            || (self.knows_person(c.person)
                && (self.w.persons[c.person].owner == agency
                    || c.agencies.contains(&agency)
                    || c.kinds.contains(&self.w.agencies[agency].kind)))
    }

    /// Person.consents of person `p`: the consents of `p` that consents(personId) lists.
    pub fn person_consents(&self, p: usize) -> BTreeSet<String> {
        self.w
            .consents
            .iter()
            .enumerate()
            .filter(|(k, c)| c.person == p && self.sees_consent(*k))
            .map(|(_, c)| c.id.clone())
            .collect()
    }

    /// Person.consultations(first: n) of person `p`: ids, newest first.
    pub fn recent_consultations(&self, p: usize, n: usize) -> Vec<String> {
        let mut seen: Vec<&crate::world::Consultation> = self
            .w
            .consultations
            .iter()
            .enumerate()
            .filter(|(c, cc)| cc.subjects.contains(&p) && self.sees_link(*c, p))
            .map(|(_, cc)| cc)
            .collect();
        seen.sort_by_key(|cc| cc.minutes_ago);
        seen.into_iter().take(n).map(|cc| cc.id.clone()).collect()
    }

    /// Whether the listing shows every recipient (else only the caller's agency / kind).
    pub fn sees_all_recipients(&self, k: usize) -> bool {
        let p = self.w.consents[k].person;
        self.oversight() || (self.w.persons[p].owner == self.a.agency && self.knows_person(p))
    }

    // ---- external references ----

    /// May the caller know record `x` of type `kind` (as when read by id)?
    pub fn knows_record(&self, kind: RefKind, x: usize) -> bool {
        match kind {
            RefKind::Person => self.knows_person(x),
            RefKind::Household => self.knows_household(x),
            RefKind::Consultation => self.knows_consultation(x),
            RefKind::Consent => self.sees_consent(x),
            RefKind::Referral => self.knows_referral(x),
            // As activities(personId:) lists it: the person known, the activity seen.
            RefKind::Activity => {
                self.knows_person(self.w.activities[x].person) && self.sees_activity(x)
            }
        }
    }

    /// `externalRefs` of record `x` of type `kind`: (system, externalId) of the references
    /// the caller's agency holds for it, in system order.
    pub fn external_refs(&self, kind: RefKind, x: usize) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .w
            .refs
            .iter()
            .filter(|r| r.agency == self.a.agency && r.kind == kind && r.record == x)
            .map(|r| (r.system.to_owned(), r.external_id.clone()))
            .collect();
        out.sort();
        out
    }

    /// The record a lookup of type `kind` by `(system, externalId)` answers with: the one
    /// the caller's agency's reference names, if the caller may know it; None is NOT_FOUND.
    pub fn by_ref(&self, kind: RefKind, system: &str, external_id: &str) -> Option<usize> {
        let r = self.w.refs.iter().find(|r| {
            r.agency == self.a.agency
                && r.kind == kind
                && r.system == system
                && r.external_id == external_id
        })?;
        self.knows_record(kind, r.record).then_some(r.record)
    }
}
