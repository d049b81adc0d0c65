//! Support cases (多機関協働) and their parts (decisions, involvements, plan versions): who
//! may open and change a case, which status may go where, and who may know a case or see
//! all of it.
//!
//! A case is a record about a household as a whole: its content is PLAN of every current
//! member, held by the owning agency. Only that agency's coordinators change it.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Permit, Refusal, Ruling};
use crate::policy::ceiling::ceiling_allows;
use crate::policy::{decide, may, Action, Category, Item, Principal, Purpose, Role, SubjectFacts};

/// The status of a case, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaseStatus {
    Assessment,
    Planning,
    Active,
    Monitoring,
    Suspended,
    Closed,
}

impl CaseStatus {
    pub const ALL: [CaseStatus; 6] = [
        CaseStatus::Assessment,
        CaseStatus::Planning,
        CaseStatus::Active,
        CaseStatus::Monitoring,
        CaseStatus::Suspended,
        CaseStatus::Closed,
    ];

    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Assessment => "ASSESSMENT",
            CaseStatus::Planning => "PLANNING",
            CaseStatus::Active => "ACTIVE",
            CaseStatus::Monitoring => "MONITORING",
            CaseStatus::Suspended => "SUSPENDED",
            CaseStatus::Closed => "CLOSED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Every status but CLOSED is open.
    pub fn is_open(self) -> bool {
        self != CaseStatus::Closed
    }

    /// Plans, decisions and involvements change only while the case is open and not
    /// suspended.
    pub fn is_workable(self) -> bool {
        !matches!(self, CaseStatus::Closed | CaseStatus::Suspended)
    }
}

/// A record the coordinators of one agency keep: only they change it (or act on it as its
/// keeper); any other caller who may know it is refused with `ONLY_KEEPER`.
pub trait Kept {
    const ONLY_KEEPER: &'static str;
}

/// A change to a case or one of its parts (its status and decisions, involvements, plan
/// versions); the permit names the case.
#[derive(Debug)]
pub enum ChangeCase {}

impl Kept for ChangeCase {
    const ONLY_KEEPER: &'static str =
        "担当機関のみ変更できます / only the owning agency may change a case";
}

/// The end of an involvement in a case (endInvolvement): the case's owner's; the permit
/// names the involvement.
#[derive(Debug)]
pub enum EndInvolvement {}

impl Kept for EndInvolvement {
    const ONLY_KEEPER: &'static str = ChangeCase::ONLY_KEEPER;
}

/// The rule for what the coordinators of one agency keep (a case and its parts, a meeting's
/// minutes): the role to coordinate cases (FORBIDDEN naming `operation` without it), and the
/// caller's agency owns the record `id` (FORBIDDEN with [`Kept::ONLY_KEEPER`] otherwise).
/// Whether the caller may know the record at all is asked first ([`may_know_case`],
/// `policy::is_party`).
pub fn may_coordinate<W: Kept>(
    p: &Principal,
    operation: &'static str,
    id: &str,
    owner_agency_id: &str,
) -> Ruling<W> {
    role(p, Action::CoordinateCases, operation)?;
    if owner_agency_id != p.agency_id {
        return Err(Refusal::Forbidden(W::ONLY_KEEPER));
    }
    Ok(Permit::grant(id))
}

/// The role a write needs: FORBIDDEN naming `operation` without it.
pub(super) fn role(p: &Principal, action: Action, operation: &'static str) -> Result<(), Refusal> {
    if may(p, action) {
        Ok(())
    } else {
        Err(Refusal::Forbidden(operation))
    }
}

/// Who may lead a case the caller's agency opens: an active coordinator account of that
/// same agency.
pub fn may_lead_case(
    p: &Principal,
    account_agency_id: &str,
    active: bool,
    roles: &BTreeSet<Role>,
) -> bool {
    active && account_agency_id == p.agency_id && roles.contains(&Role::Coordinator)
}

/// Opening a case for a household (openCase); the permit names the household.
#[derive(Debug)]
pub enum OpenCase {}

/// A coordinator opens a case for a household it may know; its agency owns the case.
pub fn may_open_case(p: &Principal, household_id: &str) -> Ruling<OpenCase> {
    role(p, Action::CoordinateCases, "openCase")?;
    Ok(Permit::grant(household_id))
}

/// A requested change of a case's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// advanceCase: ASSESSMENT → PLANNING → ACTIVE → MONITORING, and MONITORING → ACTIVE.
    Advance(CaseStatus),
    /// suspendCase (中断): from any open status but SUSPENDED.
    Suspend,
    /// resumeCase (再開): back to the status before the suspension.
    Resume,
    /// closeCase (終結): from any open status (a person may die or move out at any stage).
    Close,
}

/// Where a legal step leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move {
    pub to: CaseStatus,
    /// The new status-before-suspension when the step changes it: the status left on a
    /// suspension, none on a resumption.
    pub before_suspension: Option<Option<CaseStatus>>,
    /// Moving forward to ACTIVE needs the person's agreement to the current plan.
    pub needs_agreed_plan: bool,
}

/// Why a step is not allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IllegalStep {
    /// No such move from this status.
    Cannot { from: CaseStatus, to: CaseStatus },
    /// A resumption of a case that is not suspended.
    NotSuspended,
    /// A suspended case without the status it was suspended from (an inconsistency of the
    /// stored case, not the caller's fault).
    NoPriorStatus,
}

/// The case's status machine: where `step` leads from `from` (`before_suspension` is the
/// stored status before a suspension).
pub fn case_step(
    from: CaseStatus,
    before_suspension: Option<CaseStatus>,
    step: Step,
) -> Result<Move, IllegalStep> {
    use CaseStatus::*;
    let to = |to| Move {
        to,
        before_suspension: None,
        needs_agreed_plan: false,
    };
    match step {
        Step::Advance(next) => match (from, next) {
            (Assessment, Planning) | (Active, Monitoring) => Ok(to(next)),
            (Planning, Active) | (Monitoring, Active) => Ok(Move {
                needs_agreed_plan: true,
                ..to(next)
            }),
            _ => Err(IllegalStep::Cannot { from, to: next }),
        },
        Step::Suspend if from.is_workable() => Ok(Move {
            before_suspension: Some(Some(from)),
            ..to(Suspended)
        }),
        Step::Suspend => Err(IllegalStep::Cannot {
            from,
            to: Suspended,
        }),
        Step::Resume if from == Suspended => {
            let back = before_suspension.ok_or(IllegalStep::NoPriorStatus)?;
            Ok(Move {
                before_suspension: Some(None),
                ..to(back)
            })
        }
        Step::Resume => Err(IllegalStep::NotSuspended),
        Step::Close if from.is_open() => Ok(to(Closed)),
        Step::Close => Err(IllegalStep::Cannot { from, to: Closed }),
    }
}

/// Why an involvement may not be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clash {
    /// The agency already has an open involvement in the case.
    AlreadyInvolved,
    /// The case already has an open LEAD (it must end first).
    LeadTaken,
}

/// An agency is involved in a case once at a time, and a case has at most one open LEAD.
/// `open` are the case's open involvements as (agency, whether it is the LEAD).
pub fn may_add_involvement(
    open: &[(&str, bool)],
    agency_id: &str,
    lead: bool,
) -> Result<(), Clash> {
    if open.iter().any(|(a, _)| *a == agency_id) {
        return Err(Clash::AlreadyInvolved);
    }
    if lead && open.iter().any(|(_, l)| *l) {
        return Err(Clash::LeadTaken);
    }
    Ok(())
}

/// Whether the caller holds a record about a household as a whole (a case, a meeting) as
/// its own: its agency owns the record and its roles may see `category`. That is the OWN
/// basis, which needs no subject: what [`decide`] answers for every member, asked without
/// one (a household may have no current member left).
pub fn holds_own(p: &Principal, owner_agency_id: &str, category: Category) -> bool {
    ceiling_allows(p, category) && owner_agency_id == p.agency_id
}

const PLAN: Item = Item::of(Category::Plan);

/// Whether the caller may know that a case exists: it holds the case (OWN, even with no one
/// left in the household, so it can still close it), or PLAN of at least one current member
/// is allowed. Otherwise the case is, to it, one that does not exist.
pub fn may_know_case(
    p: &Principal,
    owner_agency_id: &str,
    members: &[Arc<SubjectFacts>],
    purpose: Purpose,
    now: DateTime<Utc>,
) -> bool {
    holds_own(p, owner_agency_id, Category::Plan)
        || members
            .iter()
            .any(|s| decide(p, s, owner_agency_id, PLAN, purpose, now).is_ok())
}

/// Whether `item` of a case is allowed for every current member (what the gate shows of
/// its content), decided without the ledger for a write that shows nothing of it. The
/// owning agency always sees its own record, even with no member left.
pub fn sees_whole_case(
    p: &Principal,
    owner_agency_id: &str,
    members: &[Arc<SubjectFacts>],
    item: Item,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> bool {
    holds_own(p, owner_agency_id, item.category)
        || !members.is_empty()
            && members
                .iter()
                .all(|s| decide(p, s, owner_agency_id, item, purpose, now).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::write::test_support::principal;
    use crate::policy::{ConsentFacts, Purpose};
    use CaseStatus::*;

    fn now() -> DateTime<Utc> {
        "2025-06-01T12:00:00Z".parse().expect("fixed test time")
    }

    /// A member of the household; with `consented`, an active SUPPORT consent for PLAN and
    /// NARRATIVE naming agency a2.
    fn member(id: &str, consented: bool) -> Arc<SubjectFacts> {
        let consents = consented.then(|| ConsentFacts {
            id: format!("consent-{id}"),
            categories: [Category::Plan, Category::Narrative].into(),
            recipient_agencies: ["a2".to_owned()].into(),
            recipient_kinds: BTreeSet::new(),
            purpose: Purpose::Support,
            valid_from: now() - chrono::Duration::days(1),
            valid_until: None,
            withdrawn_at: None,
            by_proxy: false,
        });
        Arc::new(SubjectFacts {
            person_id: id.to_owned(),
            owner_agency_id: "a3".to_owned(),
            consents: consents.into_iter().collect(),
            ..SubjectFacts::default()
        })
    }

    /// What the coordinators of one agency keep (a case, a meeting's minutes and consent
    /// gaps): only they act on it, with the role; each kind names its keeper when it refuses.
    #[test]
    fn only_the_keeping_agencys_coordinators_act() {
        use crate::policy::write::meeting::{AskConsentGaps, ChangeMinutes};
        fn check<W: Kept + std::fmt::Debug>(operation: &'static str) {
            let coord = principal("a1", &[Role::Coordinator]);
            let cw = principal("a1", &[Role::Caseworker]);
            let act = |p, owner| may_coordinate::<W>(p, operation, "r", owner);
            assert_eq!(act(&coord, "a1").unwrap().id(), "r");
            let other = act(&coord, "a2").unwrap_err();
            assert_eq!(other, Refusal::Forbidden(W::ONLY_KEEPER));
            let role = act(&cw, "a1").unwrap_err();
            assert_eq!(role, Refusal::Forbidden(operation));
        }
        check::<ChangeCase>("advanceCase");
        check::<EndInvolvement>("endInvolvement");
        check::<ChangeMinutes>("updateMeetingMinutes");
        check::<AskConsentGaps>("consentGaps");
        assert!(ChangeMinutes::ONLY_KEEPER.starts_with("招集機関"));
        assert!(ChangeCase::ONLY_KEEPER.starts_with("担当機関"));
        let coord = principal("a1", &[Role::Coordinator]);
        let cw = principal("a1", &[Role::Caseworker]);
        assert_eq!(may_open_case(&coord, "h").unwrap().id(), "h");
        assert!(may_open_case(&cw, "h").is_err());
    }

    #[test]
    fn a_lead_is_an_active_coordinator_of_the_callers_agency() {
        let p = principal("a1", &[Role::Coordinator]);
        let coord: BTreeSet<Role> = [Role::Coordinator].into();
        let cw: BTreeSet<Role> = [Role::Caseworker].into();
        assert!(may_lead_case(&p, "a1", true, &coord));
        assert!(!may_lead_case(&p, "a1", false, &coord));
        assert!(!may_lead_case(&p, "a2", true, &coord));
        assert!(!may_lead_case(&p, "a1", true, &cw));
    }

    #[test]
    fn the_status_machine() {
        let moved = |to, needs| {
            Ok(Move {
                to,
                before_suspension: None,
                needs_agreed_plan: needs,
            })
        };
        let cannot = |from, to| Err(IllegalStep::Cannot { from, to });
        // (from, before suspension, step, outcome)
        let table = [
            (
                Assessment,
                None,
                Step::Advance(Planning),
                moved(Planning, false),
            ),
            (Planning, None, Step::Advance(Active), moved(Active, true)),
            (
                Active,
                None,
                Step::Advance(Monitoring),
                moved(Monitoring, false),
            ),
            (Monitoring, None, Step::Advance(Active), moved(Active, true)),
            (
                Assessment,
                None,
                Step::Advance(Active),
                cannot(Assessment, Active),
            ),
            (
                Planning,
                None,
                Step::Advance(Assessment),
                cannot(Planning, Assessment),
            ),
            (
                Active,
                None,
                Step::Advance(Suspended),
                cannot(Active, Suspended),
            ),
            (Active, None, Step::Advance(Closed), cannot(Active, Closed)),
            (Closed, None, Step::Advance(Active), cannot(Closed, Active)),
            (
                Suspended,
                Some(Active),
                Step::Advance(Monitoring),
                cannot(Suspended, Monitoring),
            ),
            (
                Planning,
                None,
                Step::Suspend,
                Ok(Move {
                    to: Suspended,
                    before_suspension: Some(Some(Planning)),
                    needs_agreed_plan: false,
                }),
            ),
            (
                Suspended,
                Some(Planning),
                Step::Suspend,
                cannot(Suspended, Suspended),
            ),
            (Closed, None, Step::Suspend, cannot(Closed, Suspended)),
            (
                Suspended,
                Some(Monitoring),
                Step::Resume,
                Ok(Move {
                    to: Monitoring,
                    before_suspension: Some(None),
                    needs_agreed_plan: false,
                }),
            ),
            (
                Suspended,
                None,
                Step::Resume,
                Err(IllegalStep::NoPriorStatus),
            ),
            (Active, None, Step::Resume, Err(IllegalStep::NotSuspended)),
            (Closed, None, Step::Resume, Err(IllegalStep::NotSuspended)),
            (Assessment, None, Step::Close, moved(Closed, false)),
            (Suspended, Some(Active), Step::Close, moved(Closed, false)),
            (Closed, None, Step::Close, cannot(Closed, Closed)),
        ];
        for (from, before, step, want) in table {
            assert_eq!(case_step(from, before, step), want, "{from:?} {step:?}");
        }
        // Every open status may close; only open, unsuspended ones may be worked on.
        for s in CaseStatus::ALL {
            assert_eq!(case_step(s, None, Step::Close).is_ok(), s.is_open());
            assert_eq!(s.is_workable(), s != Closed && s != Suspended);
            assert_eq!(CaseStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(CaseStatus::parse("OPEN"), None);
    }

    #[test]
    fn one_involvement_per_agency_and_one_open_lead() {
        let open = [("a1", true), ("a2", false)];
        assert_eq!(may_add_involvement(&open, "a3", false), Ok(()));
        assert_eq!(
            may_add_involvement(&open, "a2", false),
            Err(Clash::AlreadyInvolved)
        );
        assert_eq!(
            may_add_involvement(&open, "a1", true),
            Err(Clash::AlreadyInvolved)
        );
        assert_eq!(
            may_add_involvement(&open, "a3", true),
            Err(Clash::LeadTaken)
        );
        assert_eq!(may_add_involvement(&open[1..], "a3", true), Ok(()));
    }

    /// Holding a household record as one's own is exactly what `decide` answers for a
    /// subject it knows nothing else about.
    #[test]
    fn holding_as_own_is_the_own_basis_without_a_subject() {
        let nobody = SubjectFacts::default();
        for roles in [
            &[Role::Coordinator][..],
            &[Role::LifeSupportCoordinator],
            &[Role::Analyst],
            &[Role::Admin],
        ] {
            let p = principal("a1", roles);
            for owner in ["a1", "a2"] {
                for category in Category::ALL.iter().copied() {
                    let item = Item::of(category);
                    let decided = decide(&p, &nobody, owner, item, Purpose::Support, now());
                    assert_eq!(
                        holds_own(&p, owner, category),
                        decided.is_ok(),
                        "{roles:?} {owner} {category:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_case_is_known_by_its_owner_or_through_any_member() {
        let (support, t) = (Purpose::Support, now());
        let owner = principal("a1", &[Role::Coordinator]);
        let other = principal("a2", &[Role::Caseworker]);
        let analyst = principal("a1", &[Role::Analyst]);
        let both = [member("p1", true), member("p2", false)];
        // The owner keeps its case with no one left in the household.
        assert!(may_know_case(&owner, "a1", &[], support, t));
        assert!(!may_know_case(&analyst, "a1", &both, support, t));
        // Another agency: a basis for one member is enough to know the case exists ...
        assert!(may_know_case(&other, "a1", &both, support, t));
        assert!(!may_know_case(&other, "a1", &both[1..], support, t));
        assert!(!may_know_case(&other, "a1", &[], support, t));
        // ... but evaluation is no purpose the consent covers.
        assert!(!may_know_case(&other, "a1", &both, Purpose::Evaluation, t));
    }

    #[test]
    fn a_whole_case_is_seen_by_its_owner_or_through_every_member() {
        let (support, t) = (Purpose::Support, now());
        let owner = principal("a1", &[Role::Coordinator]);
        let other = principal("a2", &[Role::Caseworker]);
        let both = [member("p1", true), member("p2", true)];
        let one = [member("p1", true), member("p2", false)];
        assert!(sees_whole_case(&owner, "a1", &[], PLAN, support, t));
        assert!(sees_whole_case(&owner, "a1", &one, PLAN, support, t));
        assert!(sees_whole_case(&other, "a1", &both, PLAN, support, t));
        assert!(!sees_whole_case(&other, "a1", &one, PLAN, support, t));
        assert!(!sees_whole_case(&other, "a1", &[], PLAN, support, t));
        let health = Item::of(Category::Health);
        assert!(!sees_whole_case(&other, "a1", &both, health, support, t));
    }
}
