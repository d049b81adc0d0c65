//! The vocabulary of the policy: categories, roles, agency kinds, purposes, facts, decisions.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable text form used in the database, tokens and the ledger.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use string_enum;

string_enum! {
    /// 情報区分: every personal field belongs to exactly one.
    Category {
        Identity = "IDENTITY",
        Contact = "CONTACT",
        Household = "HOUSEHOLD",
        Health = "HEALTH",
        Livelihood = "LIVELIHOOD",
        ChildProtection = "CHILD_PROTECTION",
        Narrative = "NARRATIVE",
        Plan = "PLAN",
    }
}

impl Category {
    /// 要配慮個人情報 (個人情報保護法 Art. 2 §3): each must be opted into separately.
    pub fn requires_special_care(self) -> bool {
        matches!(self, Category::Health | Category::ChildProtection)
    }
}

string_enum! {
    /// ロール. An account's roles come from the hub's registry; a token may only narrow them.
    Role {
        Admin = "admin",
        Coordinator = "coordinator",
        Caseworker = "caseworker",
        LifeSupportCoordinator = "life_support_coordinator",
        Analyst = "analyst",
        Auditor = "auditor",
        Integration = "integration",
    }
}

impl Role {
    /// Roles as stored in the registry (an account's roles, a client's scopes): role names
    /// separated by commas. Unknown names are ignored (and so cannot grant anything).
    pub fn parse_set(text: &str) -> BTreeSet<Role> {
        text.split(',')
            .filter_map(|r| Role::parse(r.trim()))
            .collect()
    }

    /// The stored form of a set of roles (and the ledger's `roles`): names in role order,
    /// separated by commas.
    pub fn format_set(roles: &BTreeSet<Role>) -> String {
        roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

string_enum! {
    /// 機関種別: the functions of Art. 106-4 §2 as the seed city runs them, plus third parties.
    AgencyKind {
        ComprehensiveCare = "COMPREHENSIVE_CARE",
        Disability = "DISABILITY",
        ChildFamily = "CHILD_FAMILY",
        SelfReliance = "SELF_RELIANCE",
        ParticipationSupport = "PARTICIPATION_SUPPORT",
        CommunityBuilding = "COMMUNITY_BUILDING",
        Outreach = "OUTREACH",
        MultiAgency = "MULTI_AGENCY",
        CityOffice = "CITY_OFFICE",
        ThirdParty = "THIRD_PARTY",
    }
}

string_enum! {
    /// 利用目的: a consent covers one purpose; every read states one.
    Purpose {
        /// 包括的な支援のための情報共有 (support and its coordination)
        Support = "SUPPORT",
        /// 事業評価・統計 (programme evaluation; person-level data never leaves for it)
        Evaluation = "EVALUATION",
    }
}

/// The caller, as the hub's registry and the token agree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub account_id: String,
    pub agency_id: String,
    pub agency_kind: AgencyKind,
    pub roles: BTreeSet<Role>,
    /// The service client a client token (`/oauth/token`) was issued to: its `cid`. None for
    /// a staff token. Decides nothing: the ledger names it beside the account.
    pub client_id: Option<String>,
}

impl Principal {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// What is being read: a field's category, and whether it is a location (address, district)
/// that an address_confidential flag (DV等支援措置) suppresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item {
    pub category: Category,
    pub location: bool,
}

impl Item {
    pub const fn of(category: Category) -> Self {
        Item {
            category,
            location: false,
        }
    }

    pub const fn location() -> Self {
        Item {
            category: Category::Contact,
            location: true,
        }
    }
}

/// A consent as the policy needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentFacts {
    pub id: String,
    pub categories: BTreeSet<Category>,
    pub recipient_agencies: BTreeSet<String>,
    pub recipient_kinds: BTreeSet<AgencyKind>,
    pub purpose: Purpose,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// Given by a proxy (親権者, 成年後見人 …) rather than the person: same effect, recorded.
    pub by_proxy: bool,
}

impl ConsentFacts {
    /// Why this consent does not hold at `now`, or None when it does.
    pub fn lapse(&self, now: DateTime<Utc>) -> Option<Lapse> {
        Lapse::at(self.withdrawn_at, self.valid_from, self.valid_until, now)
    }

    /// Active at `now` for this category and purpose (recipients not considered).
    pub fn covers(&self, category: Category, purpose: Purpose, now: DateTime<Utc>) -> bool {
        self.lapse(now).is_none() && self.purpose == purpose && self.categories.contains(&category)
    }

    /// Whether this consent names the agency itself (not merely its kind): what the address
    /// of an address_confidential person needs.
    pub fn names_agency(&self, agency_id: &str) -> bool {
        self.recipient_agencies.contains(agency_id)
    }

    /// The recipients this consent names.
    pub fn recipients(&self) -> impl Iterator<Item = Recipient<'_>> {
        self.recipient_agencies
            .iter()
            .map(|a| Recipient::Agency(a))
            .chain(self.recipient_kinds.iter().map(|k| Recipient::Kind(*k)))
    }

    /// Whether this consent names the agency `agency_id` of kind `kind` ([`consent_names`]).
    pub fn names(&self, agency_id: &str, kind: AgencyKind) -> bool {
        consent_names(self.recipients(), agency_id, kind)
    }

    /// Whether this consent names the principal's agency or its kind ([`consent_names`]).
    pub fn names_recipient(&self, principal: &Principal) -> bool {
        self.names(&principal.agency_id, principal.agency_kind)
    }
}

/// 提供先: whom a consent names, one agency or every agency of a kind. Stored as the text
/// pair ([`Recipient::recipient_type`], [`Recipient::value`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recipient<'a> {
    Agency(&'a str),
    Kind(AgencyKind),
}

impl<'a> Recipient<'a> {
    /// A stored recipient back from its text pair; None for text that does not parse (such a
    /// row names no one).
    pub fn parse(recipient_type: &str, value: &'a str) -> Option<Self> {
        match recipient_type {
            "AGENCY" => Some(Recipient::Agency(value)),
            "AGENCY_KIND" => AgencyKind::parse(value).map(Recipient::Kind),
            _ => None,
        }
    }

    /// The stored type text.
    pub fn recipient_type(self) -> &'static str {
        match self {
            Recipient::Agency(_) => "AGENCY",
            Recipient::Kind(_) => "AGENCY_KIND",
        }
    }

    /// The stored value text: the agency id, or the kind.
    pub fn value(self) -> &'a str {
        match self {
            Recipient::Agency(a) => a,
            Recipient::Kind(k) => k.as_str(),
        }
    }
}

/// Whether a consent with these recipients names the agency `agency_id` of kind `kind`: the
/// agency itself, or its kind. The one recipient rule, for the policy's facts and for stored
/// consent records alike (which consents another agency may list, and which of their
/// recipients it is shown).
pub fn consent_names<'a>(
    recipients: impl IntoIterator<Item = Recipient<'a>>,
    agency_id: &str,
    kind: AgencyKind,
) -> bool {
    recipients.into_iter().any(|r| match r {
        Recipient::Agency(a) => a == agency_id,
        Recipient::Kind(k) => k == kind,
    })
}

/// Why a consent no longer (or not yet) holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lapse {
    Withdrawn,
    Expired,
    NotYetValid,
}

impl Lapse {
    /// A consent's state at `now` from its dates: withdrawal first, then validity.
    pub fn at(
        withdrawn_at: Option<DateTime<Utc>>,
        valid_from: DateTime<Utc>,
        valid_until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<Lapse> {
        if withdrawn_at.is_some_and(|w| w <= now) {
            Some(Lapse::Withdrawn)
        } else if valid_from > now {
            Some(Lapse::NotYetValid)
        } else if valid_until.is_some_and(|u| u <= now) {
            Some(Lapse::Expired)
        } else {
            None
        }
    }
}

/// A 支援会議 (Art. 106-6) constituted for a household: members share without consent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeetingFacts {
    pub id: String,
    pub member_agencies: BTreeSet<String>,
    pub categories: BTreeSet<Category>,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// The subject's membership of the meeting's household: the meeting is a basis only
    /// while it is current (`policy::membership_current`).
    pub joined_on: Option<NaiveDate>,
    pub left_on: Option<NaiveDate>,
}

/// A break-glass grant (生命・身体の保護) for one account and one person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmergencyFacts {
    pub id: String,
    pub account_id: String,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// Everything the policy knows about one person.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubjectFacts {
    pub person_id: String,
    /// The agency that registered the person's record.
    pub owner_agency_id: String,
    pub address_confidential: bool,
    pub consents: Vec<ConsentFacts>,
    pub meetings: Vec<MeetingFacts>,
    pub emergencies: Vec<EmergencyFacts>,
}

/// 根拠: why a field was shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Basis {
    /// The caller's agency recorded the record.
    Own,
    Consent {
        consent_id: String,
    },
    SupportMeeting {
        meeting_id: String,
    },
    Emergency {
        grant_id: String,
    },
}

impl Basis {
    pub fn kind(&self) -> &'static str {
        match self {
            Basis::Own => "OWN",
            Basis::Consent { .. } => "CONSENT",
            Basis::SupportMeeting { .. } => "SUPPORT_MEETING",
            Basis::Emergency { .. } => "EMERGENCY",
        }
    }

    pub fn reference(&self) -> Option<&str> {
        match self {
            Basis::Own => None,
            Basis::Consent { consent_id } => Some(consent_id),
            Basis::SupportMeeting { meeting_id } => Some(meeting_id),
            Basis::Emergency { grant_id } => Some(grant_id),
        }
    }
}

/// Why a field was withheld.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denial {
    /// None of the caller's roles may see this category at all.
    RoleCeiling,
    /// The address of an address_confidential person, without OWN or a consent naming the
    /// caller's agency.
    AddressConfidential,
    /// No basis holds.
    NoBasis,
}

impl Denial {
    /// What the client is told. ADDRESS_CONFIDENTIAL would itself say that the person is
    /// under a DV等支援措置 (CHILD_PROTECTION data), so clients see NO_BASIS; the ledger
    /// keeps the true [`Denial::kind`].
    pub fn client_kind(&self) -> &'static str {
        match self {
            Denial::AddressConfidential => Denial::NoBasis.kind(),
            other => other.kind(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Denial::RoleCeiling => "ROLE_CEILING",
            Denial::AddressConfidential => "ADDRESS_CONFIDENTIAL",
            Denial::NoBasis => "NO_BASIS",
        }
    }
}

pub type Decision = Result<Basis, Denial>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consent_names_an_agency_itself_or_its_kind() {
        let kind = AgencyKind::ChildFamily;
        let rows = [("AGENCY", "a1"), ("AGENCY_KIND", "DISABILITY")];
        let names = |agency: &str, kind: AgencyKind| {
            consent_names(
                rows.iter().filter_map(|(t, v)| Recipient::parse(t, v)),
                agency,
                kind,
            )
        };
        assert!(names("a1", kind));
        assert!(names("a2", AgencyKind::Disability));
        assert!(!names("a2", kind));
        // Text that does not parse names no one.
        assert_eq!(Recipient::parse("AGENCY_KIND", "NO_SUCH_KIND"), None);
        assert_eq!(Recipient::parse("PERSON", "a1"), None);
        // Stored text round-trips.
        for r in [Recipient::Agency("a1"), Recipient::Kind(kind)] {
            assert_eq!(Recipient::parse(r.recipient_type(), r.value()), Some(r));
        }
    }

    #[test]
    fn role_text_round_trips_and_ignores_unknown_names() {
        let set = Role::parse_set(" caseworker,admin,nobody,,coordinator ");
        assert_eq!(
            set,
            BTreeSet::from([Role::Admin, Role::Coordinator, Role::Caseworker])
        );
        assert_eq!(Role::format_set(&set), "admin,coordinator,caseworker");
        assert_eq!(Role::parse_set(&Role::format_set(&set)), set);
        assert_eq!(Role::format_set(&BTreeSet::new()), "");
    }
}
