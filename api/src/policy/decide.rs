//! The decision function and what is derived from it (list scopes, explanations).

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::ceiling::ceiling_allows;
use super::types::*;

/// Decide whether `principal` may read `item` of the person described by `subject`, held in
/// a record owned by `record_owner`, for `purpose`, at `now`.
///
/// Order: the role ceiling (deny wins), OWN, then for an address_confidential location only
/// a consent naming the caller's agency, otherwise CONSENT, SUPPORT_MEETING, EMERGENCY.
pub fn decide(
    principal: &Principal,
    subject: &SubjectFacts,
    record_owner: &str,
    item: Item,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Decision {
    if !ceiling_allows(principal, item.category) {
        return Err(Denial::RoleCeiling);
    }
    if record_owner == principal.agency_id {
        return Ok(Basis::Own);
    }
    shared_basis(principal, subject, item, purpose, now)
}

/// The bases that hold whichever agency holds the record, the role ceiling aside: for an
/// address_confidential location only a consent naming the caller's agency, otherwise
/// CONSENT, SUPPORT_MEETING, EMERGENCY. [`decide`] after OWN.
pub(super) fn shared_basis(
    principal: &Principal,
    subject: &SubjectFacts,
    item: Item,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Decision {
    let covering = |c: &&ConsentFacts| c.covers(item.category, purpose, now);
    if item.location && subject.address_confidential {
        // 支援措置: only a consent that names this very agency opens the address.
        return subject
            .consents
            .iter()
            .filter(covering)
            .find(|c| c.names_agency(&principal.agency_id))
            .map(|c| Basis::Consent {
                consent_id: c.id.clone(),
            })
            .ok_or(Denial::AddressConfidential);
    }
    if let Some(c) = subject
        .consents
        .iter()
        .filter(covering)
        .find(|c| c.names_recipient(principal))
    {
        return Ok(Basis::Consent {
            consent_id: c.id.clone(),
        });
    }
    // A 支援会議 shares for the support it was constituted for (Art. 106-6), never for
    // evaluation: what is seen there must not flow into analysts' data.
    if let Some(m) = subject.meetings.iter().find(|m| {
        purpose == Purpose::Support
            && m.from <= now
            && now < m.until
            && m.member_agencies.contains(&principal.agency_id)
            && m.categories.contains(&item.category)
            && membership_current(m.joined_on, m.left_on, now)
    }) {
        return Ok(Basis::SupportMeeting {
            meeting_id: m.id.clone(),
        });
    }
    if let Some(g) = subject
        .emergencies
        .iter()
        .find(|g| g.account_id == principal.account_id && g.from <= now && now < g.until)
    {
        return Ok(Basis::Emergency {
            grant_id: g.id.clone(),
        });
    }
    Err(Denial::NoBasis)
}

/// The city's calendar date at `now` (JST, UTC+9, no daylight saving): the "today" of every
/// date-valued fact (a membership's joinedOn and leftOn, a review date).
pub fn city_date(now: DateTime<Utc>) -> NaiveDate {
    (now + Duration::hours(9)).date_naive()
}

/// Whether a household membership is current at `now`: `joinedOn <= today < leftOn` in the
/// city's calendar (no joinedOn: since always; no leftOn: not left). Only current members
/// are a household's subjects: a 支援会議 opens their data, a case is theirs, its content
/// needs a basis for each of them. A member who has not joined yet, or has left, is none
/// of these. The store's list scoping applies the same rule in SQL.
pub fn membership_current(
    joined_on: Option<NaiveDate>,
    left_on: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> bool {
    let today = city_date(now);
    joined_on.is_none_or(|j| j <= today) && left_on.is_none_or(|l| today < l)
}

/// How the subject of a withheld field is tied to the record the field lives in, so that an
/// error names the subject only where the data would show that tie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link<'a> {
    /// The field is the person's own (or the record is known to be about the person to
    /// whoever may see it, like a referral to its parties): knowing the person is enough.
    Person,
    /// The tie is itself the subject's data of `category`, held by `holder`: a
    /// consultation's subject (NARRATIVE, the receiving agency), a household's member
    /// (HOUSEHOLD, the household's registering agency) and so everything about the
    /// household (its cases, plans, meetings), an activity's person (NARRATIVE), a
    /// placement's person (PLAN).
    Data { category: Category, holder: &'a str },
}

/// Whether an error about a withheld field may name `subject` (`extensions.subjectId`): the
/// caller may know the person (IDENTITY of the person record) and may see the person's tie
/// to this record, by the same decision that shows or hides that tie in the data. Otherwise
/// naming the person would tell what the data hides (that they consulted together with
/// someone, that they belong to a household).
pub fn may_name_subject(
    principal: &Principal,
    subject: &SubjectFacts,
    link: Link<'_>,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> bool {
    let knows = decide(
        principal,
        subject,
        &subject.owner_agency_id,
        Item::of(Category::Identity),
        purpose,
        now,
    )
    .is_ok();
    knows
        && match link {
            Link::Person => true,
            Link::Data { category, holder } => {
                decide(principal, subject, holder, Item::of(category), purpose, now).is_ok()
            }
        }
}

/// What a referral (つなぎ) needs: the receiving agency must be able to learn who the person
/// is and how to reach them, by the person's consent.
pub const REFERRAL_CATEGORIES: [Category; 2] = [Category::Identity, Category::Contact];

/// The categories of [`REFERRAL_CATEGORIES`] that no active consent of the subject covers
/// for the receiving agency (named, or by kind). Empty when the referral may be made.
pub fn referral_missing(
    subject: &SubjectFacts,
    to_agency_id: &str,
    to_kind: AgencyKind,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Vec<Category> {
    REFERRAL_CATEGORIES
        .into_iter()
        .filter(|&cat| !consent_covers(subject, to_agency_id, to_kind, cat, purpose, now))
        .collect()
}

/// Whether an active consent of the subject covers `category` for `purpose`, naming the
/// agency or its kind: what a 重層的支援会議 needs before a participant may see the category
/// (its consent gaps are where this is false).
pub fn consent_covers(
    subject: &SubjectFacts,
    agency_id: &str,
    kind: AgencyKind,
    category: Category,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> bool {
    subject
        .consents
        .iter()
        .any(|c| c.covers(category, purpose, now) && c.names(agency_id, kind))
}

/// Whether `principal` may constitute a 支援会議 (Art. 106-6) for a household: it is the
/// city's to set up (a 多機関協働 or city-office agency, with a coordinator), and the city
/// must know the household by its own record or a current member's consent — never through
/// another 支援会議 or a break-glass grant, which would let one basis breed another.
/// `members` are the household's current members; `household_owner` its registering agency.
pub fn may_convene_support_meeting(
    principal: &Principal,
    members: &[&SubjectFacts],
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<(), &'static str> {
    if !super::ceiling::may(principal, super::ceiling::Action::CoordinateCases)
        || !matches!(
            principal.agency_kind,
            AgencyKind::MultiAgency | AgencyKind::CityOffice
        )
    {
        return Err("支援会議を設置できるのは市の多機関協働担当です / only the city's coordinators constitute a 支援会議");
    }
    // Judged against each person's own record, not the household's: a household the city
    // made itself must not launder a person known only by a grant or a meeting.
    let known = members
        .iter()
        .any(|m| knows_by_own_or_consent(principal, m, Category::Household, purpose, now));
    if known {
        Ok(())
    } else {
        Err("世帯を自機関の記録か同意で把握している必要があります / the household must be known by the city's own record or a member's consent")
    }
}

/// Whether the caller knows this person, for `category`, by its own record or by consent —
/// the bases that may found new records about the person (a household membership, a
/// 支援会議); a 支援会議 or a break-glass grant may not breed another basis.
pub fn knows_by_own_or_consent(
    principal: &Principal,
    subject: &SubjectFacts,
    category: Category,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> bool {
    matches!(
        decide(
            principal,
            subject,
            &subject.owner_agency_id,
            Item::of(category),
            purpose,
            now
        ),
        Ok(Basis::Own | Basis::Consent { .. })
    )
}

/// Whether the caller may know a record exchanged between agencies (a referral, a meeting):
/// its agency is one of the parties, and its roles may see person-level data at all.
pub fn is_party<'a>(principal: &Principal, parties: impl IntoIterator<Item = &'a str>) -> bool {
    ceiling_allows(principal, Category::Identity)
        && parties.into_iter().any(|a| a == principal.agency_id)
}

/// Whether the caller sees every consent of a person (its agency registered the person, or
/// it oversees the hub) rather than only those naming it: which other agencies a person
/// consented to is itself sensitive.
pub fn sees_all_consents(principal: &Principal, person_owner: &str) -> bool {
    super::ceiling::may(principal, super::ceiling::Action::Oversee)
        || principal.agency_id == person_owner
}

/// Whether the caller may know that a consent exists (list it, or act on it by id), given it
/// may know the person: it sees all of the person's consents ([`sees_all_consents`]), the
/// consent names its agency or kind, or its agency recorded the consent. Any other consent
/// is, to this caller, like one that does not exist (NOT_FOUND, never FORBIDDEN).
pub fn may_know_consent(
    principal: &Principal,
    person_owner: &str,
    names_caller: bool,
    recorded_by: &str,
) -> bool {
    sees_all_consents(principal, person_owner) || names_caller || recorded_by == principal.agency_id
}

/// What the store needs to restrict a list to the records the caller may know exist through
/// `category`: its own agency's records, or subjects for whom another basis holds (a consent
/// naming the agency or its kind, a 支援会議 membership, the account's emergency grant). None when the role ceiling denies the category, in
/// which case the list is empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListScope {
    pub account_id: String,
    pub agency_id: String,
    pub agency_kind: AgencyKind,
    pub category: Category,
    pub purpose: Purpose,
    pub now: DateTime<Utc>,
}

impl ListScope {
    /// The city's calendar date at the scope's `now` (what membership dates are read against).
    pub fn today(&self) -> NaiveDate {
        city_date(self.now)
    }
}

pub fn visible_scope(
    principal: &Principal,
    category: Category,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Option<ListScope> {
    ceiling_allows(principal, category).then(|| ListScope {
        account_id: principal.account_id.clone(),
        agency_id: principal.agency_id.clone(),
        agency_kind: principal.agency_kind,
        category,
        purpose,
        now,
    })
}

/// The answer to "may this caller see this, and if not, what is missing".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    pub item: Item,
    pub decision: Decision,
    /// Consents that would cover this item for this caller but have lapsed.
    pub lapsed: Vec<(String, Lapse)>,
    /// Consents that cover the category and purpose but name other recipients only.
    pub other_recipients: Vec<String>,
}

/// Explain one item, from the same [`decide`].
pub fn explain(
    principal: &Principal,
    subject: &SubjectFacts,
    record_owner: &str,
    item: Item,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Explanation {
    let decision = decide(principal, subject, record_owner, item, purpose, now);
    let relevant = subject
        .consents
        .iter()
        .filter(|c| c.purpose == purpose && c.categories.contains(&item.category));
    let lapsed = relevant
        .clone()
        .filter(|c| c.names_recipient(principal))
        .filter_map(|c| c.lapse(now).map(|l| (c.id.clone(), l)))
        .collect();
    let other_recipients = relevant
        .filter(|c| c.lapse(now).is_none() && !c.names_recipient(principal))
        .map(|c| c.id.clone())
        .collect();
    Explanation {
        item,
        decision,
        lapsed,
        other_recipients,
    }
}

/// [`explain`] as told to the caller: saying ADDRESS_CONFIDENTIAL would tell them the person
/// is under a support measure (CHILD_PROTECTION), so only a caller who may see that category
/// is told; anyone else hears NO_BASIS.
pub fn explain_to_caller(
    principal: &Principal,
    subject: &SubjectFacts,
    record_owner: &str,
    item: Item,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Explanation {
    let e = explain(principal, subject, record_owner, item, purpose, now);
    let protection = Item::of(Category::ChildProtection);
    match e.decision {
        Err(Denial::AddressConfidential)
            if decide(principal, subject, record_owner, protection, purpose, now).is_err() =>
        {
            Explanation {
                decision: Err(Denial::NoBasis),
                ..e
            }
        }
        _ => e,
    }
}

#[cfg(test)]
mod tests;
