//! External references in a world: an agency's own id `(system, externalId)` for a record it
//! holds. Persons, consents, some households and some consultations are registered through
//! the upsert mutations (`upsertPerson`, `upsertConsent`, `upsertHousehold`,
//! `upsertConsultation`) by the agency that holds them; households and consultations the
//! world writes row by row get, now and then, the reference their holder's upsert would have
//! stored with them, and so do referrals (the sender's, as `proposeReferral(ref:)` stores it,
//! and now and then the receiver's own) and activities (the recording agency's, as
//! `recordActivity(ref:)` stores it). The API gives an agency references only to its own records, so a
//! record's references are its holder's alone; every other agency must see none of them.
//!
//! References collide on purpose: the n-th "shared" reference of every agency of one record
//! type is the same `(system, externalId)` (`共有000`, ...), naming a different record at
//! each agency, and one agency holds the same `(system, externalId)` for records of different
//! types; the other ids are canaries unique to their agency (`外部X03P001`), which the leak
//! scan looks for in every response to a caller at another agency. For each type some
//! account sits at a holding agency whose roles may know none of the records (see
//! [`add_blind_holders`]): its lookups must answer NOT_FOUND.

use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::{json, Value};
use tsunagi_tests::Server;

use crate::oracle::ceiling;
use crate::rng::Rng;
use crate::world::{Account, Agency};

/// The record types that take references (the API's lookups, one per type).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RefKind {
    Person,
    Household,
    Consultation,
    Consent,
    Referral,
    Activity,
}

impl RefKind {
    pub const ALL: [RefKind; 6] = [
        RefKind::Person,
        RefKind::Household,
        RefKind::Consultation,
        RefKind::Consent,
        RefKind::Referral,
        RefKind::Activity,
    ];

    /// The root field that looks a record of this type up by reference.
    pub fn lookup(self) -> &'static str {
        match self {
            RefKind::Person => "personByRef",
            RefKind::Household => "householdByRef",
            RefKind::Consultation => "consultationByRef",
            RefKind::Consent => "consentByRef",
            RefKind::Referral => "referralByRef",
            RefKind::Activity => "activityByRef",
        }
    }

    fn letter(self) -> char {
        match self {
            RefKind::Person => 'P',
            RefKind::Household => 'H',
            RefKind::Consultation => 'C',
            RefKind::Consent => 'D',
            RefKind::Referral => 'R',
            RefKind::Activity => 'A',
        }
    }

    fn record_type(self) -> &'static str {
        match self {
            RefKind::Person => "PERSON",
            RefKind::Household => "HOUSEHOLD",
            RefKind::Consultation => "CONSULTATION",
            RefKind::Consent => "CONSENT",
            RefKind::Referral => "REFERRAL",
            RefKind::Activity => "ACTIVITY",
        }
    }
}

/// The systems references name; shared references are all in the first.
pub const SYSTEMS: [&str; 2] = ["kaigo-v3", "kikan:db/2"];

/// One reference: agency `agency`'s id for record `record` (an index into the world's list
/// of `kind`).
#[derive(Clone, Debug)]
pub struct ExtRef {
    pub agency: usize,
    pub kind: RefKind,
    pub record: usize,
    pub system: &'static str,
    pub external_id: String,
}

/// A new reference of `agency` for its next record of `kind`: a third of them shared (the
/// same as the other agencies' n-th shared reference of that type, and as this agency's
/// n-th shared reference of every other type), the rest unique canaries.
pub fn new_ref(
    rng: &mut Rng,
    refs: &[ExtRef],
    agency: usize,
    kind: RefKind,
    record: usize,
) -> ExtRef {
    let mine = |shared: bool| {
        refs.iter()
            .filter(|r| r.agency == agency && r.kind == kind)
            .filter(|r| r.external_id.starts_with("共有") == shared)
            .count()
    };
    let (system, external_id) = if rng.chance(35) {
        (SYSTEMS[0], format!("共有{:03}", mine(true)))
    } else {
        let system = SYSTEMS[rng.below(SYSTEMS.len())];
        let id = format!("外部X{agency:02}{}{:03}", kind.letter(), mine(false));
        (system, id)
    };
    ExtRef {
        agency,
        kind,
        record,
        system,
        external_id,
    }
}

impl ExtRef {
    /// The `ref:` argument of an upsert.
    pub fn input(&self) -> Value {
        json!({ "system": self.system, "externalId": self.external_id })
    }

    /// Stores the reference row by row, as the holder's upsert would have stored it with the
    /// record (`account`: the holder's writer).
    pub async fn insert(&self, srv: &Server, agency_id: &str, account_id: &str, record_id: &str) {
        entity::external_ref::ActiveModel {
            id: Set(tsunagi_api::store::new_id()),
            agency_id: Set(agency_id.to_owned()),
            record_type: Set(self.kind.record_type().to_owned()),
            record_id: Set(record_id.to_owned()),
            system: Set(self.system.to_owned()),
            external_id: Set(self.external_id.clone()),
            input_hash: Set(None),
            created_by: Set(account_id.to_owned()),
            created_at: Set(tsunagi_api::audit::now_micros()),
        }
        .insert(&srv.db)
        .await
        .expect("external reference");
    }
}

pub const UPSERT_PERSON: &str = "mutation($r: ExternalRefInput!, $i: CreatePersonInput!) { \
    upsertPerson(ref: $r, input: $i) { created person { id } } }";

pub const UPSERT_CONSENT: &str = "mutation($r: ExternalRefInput!, $i: RecordConsentInput!) { \
    upsertConsent(ref: $r, input: $i) { created consent { id version } } }";

pub const UPSERT_HOUSEHOLD: &str = "mutation($r: ExternalRefInput!, $m: [MemberInput!]!) { \
    upsertHousehold(ref: $r, members: $m) { created household { id members { id person { id } } } } }";

pub const UPSERT_CONSULTATION: &str =
    "mutation($r: ExternalRefInput!, $i: RecordConsultationInput!) { \
    upsertConsultation(ref: $r, input: $i) { created consultation { id } } }";

/// For each record type, unless someone who may know none of the records sits at an agency
/// holding references of that type (no category in its roles' ceiling; for consents, no
/// admin or auditor either, who read every consent), an analyst at the agency holding the
/// most: its lookups by its agency's references must answer NOT_FOUND. Added before the
/// bootstrap admin, which stays the last account.
pub async fn add_blind_holders(
    srv: &Server,
    agencies: &[Agency],
    accounts: &mut Vec<Account>,
    refs: &[ExtRef],
) {
    for kind in RefKind::ALL {
        let held = |agency: usize| {
            refs.iter()
                .filter(|r| r.agency == agency && r.kind == kind)
                .count()
        };
        let blind = |a: &Account| {
            let oversight = a.roles.iter().any(|r| *r == "admin" || *r == "auditor");
            ceiling(&a.roles).is_empty() && (kind != RefKind::Consent || !oversight)
        };
        if accounts.iter().any(|a| blind(a) && held(a.agency) > 0) {
            continue;
        }
        let Some(agency) = (0..agencies.len())
            .filter(|a| held(*a) > 0)
            .max_by_key(|a| held(*a))
        else {
            continue;
        };
        let login = format!("n{}", accounts.len());
        let (id, token) = srv
            .account(&login, &agencies[agency].id, &["analyst"])
            .await;
        let account = Account {
            id,
            token,
            agency,
            roles: vec!["analyst"],
            login,
        };
        accounts.insert(accounts.len() - 1, account);
    }
}

/// The record an upsert `root` answered with, checking it created one.
pub fn created<'a>(data: &'a Value, root: &str, record: &str) -> &'a Value {
    assert_eq!(
        data[root]["created"],
        json!(true),
        "world building: {root} did not create: {data}"
    );
    &data[root][record]
}

impl crate::world::World {
    /// The id of record `x` of type `kind`.
    pub fn record_id(&self, kind: RefKind, x: usize) -> &str {
        match kind {
            RefKind::Person => &self.persons[x].id,
            RefKind::Household => &self.households[x].id,
            RefKind::Consultation => &self.consultations[x].id,
            RefKind::Consent => &self.consents[x].id,
            RefKind::Referral => &self.referrals[x].id,
            RefKind::Activity => &self.activities[x].id,
        }
    }
}
