//! The change feed's vocabulary (`Query.changes`, docs/design.md §4.13): which ledger WRITE
//! rows are change events, of which record type and operation, and which items a write
//! changed — from the names the WRITE row keeps (`detail.fields`, `detail.categories`),
//! never from values. Pure, like the rest of the policy: whether an event is shown, and
//! which of its categories, is still `decide` (and the knowledge rules of §3.4) on the facts
//! of the request's time.

use super::ceiling::{ceiling_allows, may, Action};
use super::types::{string_enum, Category, Item, Principal};

string_enum! {
    /// The records the feed reports (the ledger's lowercase `record_type`, mapped by
    /// [`ChangeType::of_record_type`]).
    ChangeType {
        Person = "PERSON",
        Household = "HOUSEHOLD",
        Consultation = "CONSULTATION",
        Referral = "REFERRAL",
        Consent = "CONSENT",
        Activity = "ACTIVITY",
    }
}

impl ChangeType {
    /// The change type of a WRITE row's record type. A membership (`household_member`) is a
    /// change of its household; every other record type (cases, meetings, the registry …)
    /// is not in the feed.
    pub fn of_record_type(record_type: &str) -> Option<ChangeType> {
        ChangeType::ALL
            .iter()
            .copied()
            .find(|t| t.record_types().contains(&record_type))
    }

    /// The ledger record types that are changes of this type.
    pub fn record_types(self) -> &'static [&'static str] {
        match self {
            ChangeType::Person => &["person"],
            ChangeType::Household => &["household", "household_member"],
            ChangeType::Consultation => &["consultation"],
            ChangeType::Referral => &["referral"],
            ChangeType::Consent => &["consent"],
            ChangeType::Activity => &["activity"],
        }
    }

    /// The record kind the ledger's READ rows name for a record of this type.
    pub fn record_kind(self) -> &'static str {
        match self {
            ChangeType::Person => "person",
            ChangeType::Household => "household",
            ChangeType::Consultation => "consultation",
            ChangeType::Referral => "referral",
            ChangeType::Consent => "consent",
            ChangeType::Activity => "activity",
        }
    }
}

string_enum! {
    /// What a write did to its record, from the mutation's name.
    ChangeOperation {
        /// The record was created (create…, record…, proposeReferral; an upsert that created).
        Create = "CREATE",
        /// Its content changed (update…, a membership added or ended; an upsert that changed).
        Update = "UPDATE",
        /// Its status moved (setConsultationStatus; accept, decline, complete a referral).
        StatusChange = "STATUS_CHANGE",
        /// A consent was withdrawn.
        Withdraw = "WITHDRAW",
    }
}

/// The operation of a WRITE row named `operation` (the mutation); `created` is the upsert's
/// `detail.created`. A mutation this table does not know is an update.
pub fn change_operation(operation: &str, created: Option<bool>) -> ChangeOperation {
    match operation {
        "createPerson" | "createHousehold" | "recordConsultation" | "proposeReferral"
        | "recordConsent" | "recordActivity" => ChangeOperation::Create,
        "withdrawConsent" => ChangeOperation::Withdraw,
        "setConsultationStatus" | "acceptReferral" | "declineReferral" | "completeReferral" => {
            ChangeOperation::StatusChange
        }
        op if op.starts_with("upsert") && created == Some(true) => ChangeOperation::Create,
        // The bulk seed's and any later create… mutation.
        op if op.starts_with("create") => ChangeOperation::Create,
        _ => ChangeOperation::Update,
    }
}

/// Which agency holds a changed item, for its decision (the OWN basis): the record's holder
/// (a person's or household's registering agency, a consultation's receiving agency, an
/// activity's recording agency; a consent's categories are the person's, held by the
/// registering agency), or a referral's sender (its reason) or receiver (a decline reason).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holder {
    Record,
    Sender,
    Receiver,
}

/// One item a write changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Changed {
    pub item: Item,
    pub holder: Holder,
}

/// A person's field (its GraphQL name, as WRITE rows list them) as an item (README §6).
fn person_item(field: &str) -> Option<Item> {
    Some(match field {
        "familyName" | "givenName" | "familyNameKana" | "givenNameKana" | "birthDate" | "sex" => {
            Item::of(Category::Identity)
        }
        "address" | "district" => Item::location(),
        "phone" => Item::of(Category::Contact),
        "addressConfidential" => Item::of(Category::ChildProtection),
        "careLevel" | "disabilityCertificate" => Item::of(Category::Health),
        "publicAssistance" => Item::of(Category::Livelihood),
        "ownerAgency" => Item::of(Category::Narrative),
        _ => return None,
    })
}

/// The items a write of `record_type` changed, from the field names (`detail.fields`) and
/// category names (`detail.categories`) of its WRITE row, without repeats. A name this
/// table does not know changes nothing it could name (the event still says that the record
/// changed). Households, consultations and activities are one category whatever changed
/// (HOUSEHOLD, NARRATIVE, NARRATIVE: README §6); a referral names its reason or decline
/// reason (NARRATIVE), not its status or parties, which its parties see anyway.
pub fn changed_items<'a>(
    record_type: &str,
    fields: impl IntoIterator<Item = &'a str>,
    categories: impl IntoIterator<Item = &'a str>,
) -> Vec<Changed> {
    let record = |item: Item| Changed {
        item,
        holder: Holder::Record,
    };
    let narrative = Item::of(Category::Narrative);
    let mut out: Vec<Changed> = match ChangeType::of_record_type(record_type) {
        None => Vec::new(),
        Some(ChangeType::Household) => vec![record(Item::of(Category::Household))],
        Some(ChangeType::Consultation | ChangeType::Activity) => vec![record(narrative)],
        Some(ChangeType::Person) => fields
            .into_iter()
            .filter_map(person_item)
            .chain(
                categories
                    .into_iter()
                    .filter_map(Category::parse)
                    .map(Item::of),
            )
            .map(record)
            .collect(),
        Some(ChangeType::Consent) => categories
            .into_iter()
            .filter_map(Category::parse)
            .map(|c| record(Item::of(c)))
            .collect(),
        Some(ChangeType::Referral) => fields
            .into_iter()
            .filter_map(|f| match f {
                "reason" => Some(Holder::Sender),
                "declineReason" => Some(Holder::Receiver),
                _ => None,
            })
            .map(|holder| Changed {
                item: narrative,
                holder,
            })
            .collect(),
    };
    let mut seen = Vec::with_capacity(out.len());
    out.retain(|c| {
        let new = !seen.contains(c);
        seen.push(*c);
        new
    });
    out
}

/// Whether the caller's roles may receive change events at all: the feed reports only
/// records of persons, so a role that may see no person-level data (admins, analysts,
/// auditors) gets an empty feed, as it gets empty lists.
pub fn receives_changes(principal: &Principal) -> bool {
    ceiling_allows(principal, Category::Identity)
}

/// The categories whose entries in the visibility index make a WRITE row about a person a
/// *candidate* of the caller's feed (`store::changes`): IDENTITY (a person, its consents and
/// activities), HOUSEHOLD (a membership), NARRATIVE (a consultation's subject). Every
/// candidate is still decided by the rules above; the index only narrows what is read.
pub const CANDIDATE_CATEGORIES: [Category; 3] =
    [Category::Identity, Category::Household, Category::Narrative];

/// The record types whose WRITE rows are candidates of the caller's feed whatever person they
/// name: an overseer may know every consent of a person who exists. (Rows the caller's agency
/// wrote are candidates too; a household's own rows, which name no person, are candidates by
/// its registering agency or a member the index lets the caller know for HOUSEHOLD, and a
/// referral's by its parties: `store::changes::FeedScope`, the SQL side of
/// `knows_household` and `is_party`.)
pub fn unscoped_record_types(principal: &Principal) -> Vec<&'static str> {
    let mut out = Vec::new();
    if may(principal, Action::Oversee) {
        out.push("consent");
    }
    out
}

/// Whether an event may name the agency that committed it without a decision about the
/// subject: it is the caller's own agency, or one the record shows to whoever may know it
/// (`shown`: a referral's parties, a consultation's receiving agency, an activity's or a
/// consent's recording agency). Otherwise which agency wrote about a person is NARRATIVE of
/// that person held by that agency (as `Person.ownerAgency`), decided for every subject of
/// the record (a shared record's field needs them all, as `Household.ownerAgency`).
pub fn writer_shown<'a>(
    principal: &Principal,
    writer: &str,
    shown: impl IntoIterator<Item = &'a str>,
) -> bool {
    writer == principal.agency_id || shown.into_iter().any(|a| a == writer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::AgencyKind;

    fn items(record_type: &str, fields: &[&str], categories: &[&str]) -> Vec<(Category, bool)> {
        changed_items(
            record_type,
            fields.iter().copied(),
            categories.iter().copied(),
        )
        .into_iter()
        .map(|c| (c.item.category, c.item.location))
        .collect()
    }

    #[test]
    fn record_types_map_to_change_types() {
        assert_eq!(
            ChangeType::of_record_type("person"),
            Some(ChangeType::Person)
        );
        assert_eq!(
            ChangeType::of_record_type("household_member"),
            Some(ChangeType::Household)
        );
        for other in [
            "support_case",
            "meeting",
            "account",
            "agency",
            "placement",
            "demo",
        ] {
            assert_eq!(ChangeType::of_record_type(other), None, "{other}");
        }
        for t in ChangeType::ALL {
            for rt in t.record_types() {
                assert_eq!(ChangeType::of_record_type(rt), Some(*t));
            }
        }
    }

    #[test]
    fn operations_from_mutation_names() {
        use ChangeOperation::*;
        for (op, created, want) in [
            ("createPerson", None, Create),
            ("updatePerson", None, Update),
            ("recordConsent", None, Create),
            ("withdrawConsent", None, Withdraw),
            ("acceptReferral", None, StatusChange),
            ("setConsultationStatus", None, StatusChange),
            ("addHouseholdMember", None, Update),
            ("upsertPerson", Some(true), Create),
            ("upsertPerson", Some(false), Update),
            ("upsertConsent", None, Update),
            ("somethingNew", Some(true), Update),
            ("createReferral", None, Create),
        ] {
            assert_eq!(change_operation(op, created), want, "{op} {created:?}");
        }
    }

    #[test]
    fn person_fields_map_to_their_categories() {
        use Category::*;
        assert_eq!(
            items("person", &["careLevel", "phone", "address"], &[]),
            vec![(Health, false), (Contact, false), (Contact, true)]
        );
        assert_eq!(
            items(
                "person",
                &["givenName", "familyName", "publicAssistance"],
                &[]
            ),
            vec![(Identity, false), (Livelihood, false)]
        );
        assert_eq!(
            items("person", &["addressConfidential", "district"], &[]),
            vec![(ChildProtection, false), (Contact, true)]
        );
        assert_eq!(
            items("person", &[], &["IDENTITY", "HEALTH", "NOT_A_CATEGORY"]),
            vec![(Identity, false), (Health, false)]
        );
        assert!(items("person", &["version", "updatedAt"], &[]).is_empty());
    }

    #[test]
    fn other_records_name_their_one_category() {
        use Category::*;
        assert_eq!(
            items("household_member", &["leftOn"], &[]),
            vec![(Household, false)]
        );
        assert_eq!(items("household", &[], &[]), vec![(Household, false)]);
        assert_eq!(
            items("consultation", &["summary", "issues"], &[]),
            vec![(Narrative, false)]
        );
        assert_eq!(items("activity", &["note"], &[]), vec![(Narrative, false)]);
        assert_eq!(
            items("consent", &["withdrawnAt"], &["HEALTH", "CONTACT"]),
            vec![(Health, false), (Contact, false)]
        );
        assert!(items("support_case", &["status"], &["PLAN"]).is_empty());
    }

    #[test]
    fn a_referral_names_its_texts_with_their_holders() {
        let got = changed_items("referral", ["toAgencyId", "reason", "consultationId"], []);
        assert_eq!(
            got,
            vec![Changed {
                item: Item::of(Category::Narrative),
                holder: Holder::Sender
            }]
        );
        let got = changed_items("referral", ["declineReason"], []);
        assert_eq!(got[0].holder, Holder::Receiver);
        assert!(changed_items("referral", [], []).is_empty());
    }

    #[test]
    fn the_writer_is_shown_when_it_is_the_caller_or_the_record_shows_it() {
        let p = Principal {
            account_id: "acc".into(),
            agency_id: "mine".into(),
            agency_kind: AgencyKind::Disability,
            roles: [crate::policy::Role::Caseworker].into(),
            client_id: None,
        };
        assert!(writer_shown(&p, "mine", []));
        assert!(writer_shown(&p, "other", ["x", "other"]));
        assert!(!writer_shown(&p, "other", ["x"]));
        assert!(receives_changes(&p));
        for role in [
            crate::policy::Role::Admin,
            crate::policy::Role::Analyst,
            crate::policy::Role::Auditor,
        ] {
            let q = Principal {
                roles: [role].into(),
                ..p.clone()
            };
            assert!(!receives_changes(&q), "{role}");
        }
    }
}
