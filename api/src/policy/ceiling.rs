//! The versioned role tables: which categories each role may ever see (the ceiling), and
//! which operations each role may perform. Changing either is a new [`POLICY_VERSION`];
//! every ledger row records the version that decided it.

use super::types::{Category, Principal, Role};

/// Version of the tables below. Bump it with any change to them. Version 2 added
/// [`Action::Disclose`] (開示請求, admins only); version 3 [`Action::LinkRecords`] and
/// [`Action::ConfirmLinks`] (名寄せの結びつき); version 4 [`Action::Analyse`],
/// [`Action::Evaluate`] and [`Action::SetTargets`] (統計と事業評価); the ceilings are those of
/// version 1.
pub const POLICY_VERSION: i32 = 4;

use Category::*;

/// The categories of version 1 that are not 要配慮個人情報, written out (not from
/// `Category::ALL`): a category added later is denied to every role until a new version of
/// this table grants it.
const ORDINARY: &[Category] = &[Identity, Contact, Household, Livelihood, Narrative, Plan];
/// 要配慮個人情報 (個人情報保護法 Art. 2 §3), see [`Category::requires_special_care`].
const SPECIAL_CARE: &[Category] = &[Health, ChildProtection];

/// Role ceilings, version 1. A category missing from a role's row is denied to it whatever
/// the basis: analysts and auditors see no person-level data, admins manage the hub, not
/// people's records, 生活支援コーディネーター see no 要配慮 categories.
const CEILING: &[(Role, &[&[Category]])] = &[
    (Role::Admin, &[]),
    (Role::Coordinator, &[ORDINARY, SPECIAL_CARE]),
    (Role::Caseworker, &[ORDINARY, SPECIAL_CARE]),
    (Role::LifeSupportCoordinator, &[ORDINARY]),
    (Role::Analyst, &[]),
    (Role::Auditor, &[]),
    (Role::Integration, &[ORDINARY, SPECIAL_CARE]),
];

/// Whether any of the principal's roles may see `category` at all.
pub fn ceiling_allows(principal: &Principal, category: Category) -> bool {
    CEILING.iter().any(|(role, groups)| {
        principal.has_role(*role) && groups.iter().any(|cats| cats.contains(&category))
    })
}

/// Operations that are not field reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Create and update agencies and accounts, assign roles, deactivate.
    ManageRegistry,
    /// Read the ledger, verify the chain, explain access on behalf of another account.
    Oversee,
    /// Register persons and households and record their details.
    RecordPerson,
    /// Record consultations (相談受付).
    RecordConsultation,
    /// Propose, accept, decline and complete referrals (つなぎ).
    Refer,
    /// Record and withdraw consents.
    RecordConsent,
    /// Open and run support cases (多機関協働): decisions, involvements, plans, meetings.
    CoordinateCases,
    /// Record activities (outreach visits, participation, monitoring) and placements.
    RecordActivity,
    /// Maintain the directory of community resources (社会資源).
    ManageResources,
    /// Request break-glass access to one person (生命・身体の保護).
    BreakGlass,
    /// Produce a person's disclosure report (開示請求, 個人情報保護法 第76条以下): everything
    /// the hub holds about one person, and the ledger of who saw it. Not a field read (it
    /// bypasses the ceilings and bases: the answer is for the person), so it is an action of
    /// its own, ledgered as one row. Admins only: an auditor checks that productions were
    /// proper (the ledger) and must not make them (separation of duties).
    Disclose,
    /// Propose a link between two records of one person (名寄せ), see the links a person's
    /// records have, and withdraw one's own proposal. A link opens no access.
    LinkRecords,
    /// Confirm, reject and revoke links between records (coordinators: the role that works
    /// across agencies; never the proposer alone).
    ConfirmLinks,
    /// Build ad-hoc aggregate tables (`statistics`) under disclosure control
    /// ([`super::statistics`]): counts over the whole city's records, never a person.
    Analyse,
    /// Read the yearly 事業評価 (`evaluationReport`, `targets`): aggregates under the same
    /// disclosure control, for the analysts who prepare it and the admins who report it.
    Evaluate,
    /// Set the 実施目標 per fiscal year and indicator, and switch a group of measures off or
    /// on for the city (`setTarget`, `setStatisticsMeasure`).
    SetTargets,
}

const ACTIONS: &[(Action, &[Role])] = &[
    (Action::ManageRegistry, &[Role::Admin]),
    (Action::Oversee, &[Role::Admin, Role::Auditor]),
    (
        Action::RecordPerson,
        &[Role::Coordinator, Role::Caseworker, Role::Integration],
    ),
    (
        Action::RecordConsultation,
        &[
            Role::Coordinator,
            Role::Caseworker,
            Role::LifeSupportCoordinator,
            Role::Integration,
        ],
    ),
    (
        Action::Refer,
        &[Role::Coordinator, Role::Caseworker, Role::Integration],
    ),
    (
        Action::RecordConsent,
        &[Role::Coordinator, Role::Caseworker, Role::Integration],
    ),
    (Action::CoordinateCases, &[Role::Coordinator]),
    (
        Action::RecordActivity,
        &[
            Role::Coordinator,
            Role::Caseworker,
            Role::LifeSupportCoordinator,
            Role::Integration,
        ],
    ),
    (
        Action::ManageResources,
        &[Role::LifeSupportCoordinator, Role::Coordinator],
    ),
    (Action::BreakGlass, &[Role::Coordinator, Role::Caseworker]),
    (Action::Disclose, &[Role::Admin]),
    (Action::LinkRecords, &[Role::Coordinator, Role::Caseworker]),
    (Action::ConfirmLinks, &[Role::Coordinator]),
    (Action::Analyse, &[Role::Analyst]),
    (Action::Evaluate, &[Role::Analyst, Role::Admin]),
    (Action::SetTargets, &[Role::Admin]),
];

/// Whether the principal may perform `action`.
pub fn may(principal: &Principal, action: Action) -> bool {
    ACTIONS
        .iter()
        .any(|(a, roles)| *a == action && roles.iter().any(|r| principal.has_role(*r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 開示請求 is produced by admins alone: not by auditors (who check productions in the
    /// ledger), nor by any role that works with people's records.
    #[test]
    fn only_admins_disclose() {
        for &role in Role::ALL {
            let p = Principal {
                account_id: "a".into(),
                agency_id: "g".into(),
                agency_kind: crate::policy::AgencyKind::CityOffice,
                roles: [role].into(),
                client_id: None,
            };
            assert_eq!(may(&p, Action::Disclose), role == Role::Admin, "{role}");
        }
    }

    #[test]
    fn special_care_is_what_the_category_says_it_is() {
        for &cat in Category::ALL {
            assert_eq!(
                SPECIAL_CARE.contains(&cat),
                cat.requires_special_care(),
                "{cat}"
            );
            assert!(
                ORDINARY.contains(&cat) != SPECIAL_CARE.contains(&cat),
                "{cat} is in exactly one group"
            );
        }
    }
}
