//! Loading what the policy needs about persons (consents, 支援会議 covering their household,
//! open emergency grants), for all subjects of a response at once.

use std::collections::{BTreeSet, HashMap};

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};

use crate::policy::{
    AgencyKind, Category, ConsentFacts, EmergencyFacts, MeetingFacts, Purpose, SubjectFacts,
};
use entity::{
    consent, consent_category, consent_recipient, emergency_grant, household_member, meeting,
    meeting_category, meeting_member, person,
};

/// A stored consent with its categories and recipients, as read for the policy.
#[derive(Clone, Debug)]
pub struct ConsentRecord {
    pub model: consent::Model,
    pub categories: Vec<consent_category::Model>,
    pub recipients: Vec<consent_recipient::Model>,
}

/// What [`for_persons`] loads about one person: the policy's facts, and the consent records
/// they were made from (every consent of the person, oldest recorded first), so that a
/// person's consent list needs no further query.
pub struct PersonFacts {
    pub facts: SubjectFacts,
    pub consents: Vec<ConsentRecord>,
}

/// The order a person's consents are listed in: recorded_at, then id.
pub fn consent_order(a: &consent::Model, b: &consent::Model) -> std::cmp::Ordering {
    (a.recorded_at, &a.id).cmp(&(b.recorded_at, &b.id))
}

/// Policy facts for the given persons (consents with their categories and recipients):
/// a fixed number of queries, whatever the number of persons.
pub async fn for_persons<C: ConnectionTrait>(
    db: &C,
    persons: &[&person::Model],
) -> Result<HashMap<String, PersonFacts>, DbErr> {
    let subjects = persons.iter().map(|p| {
        (
            p.id.clone(),
            p.owner_agency_id.clone(),
            p.address_confidential,
        )
    });
    for_subjects(db, subjects.collect()).await
}

/// Policy facts for persons by id, the person columns the decision rests on
/// (`owner_agency_id`, `address_confidential`) included, all read on `db`: for person rows
/// that came from elsewhere (a read replica, whose copy of those columns may be stale). An id
/// with no person has no entry.
pub async fn for_person_ids<C: ConnectionTrait>(
    db: &C,
    ids: Vec<String>,
) -> Result<HashMap<String, PersonFacts>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let subjects: Vec<(String, String, bool)> = person::Entity::find()
        .select_only()
        .column(person::Column::Id)
        .column(person::Column::OwnerAgencyId)
        .column(person::Column::AddressConfidential)
        .filter(person::Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    for_subjects(db, subjects).await
}

/// [`for_persons`] from each person's (id, registering agency, address_confidential).
async fn for_subjects<C: ConnectionTrait>(
    db: &C,
    persons: Vec<(String, String, bool)>,
) -> Result<HashMap<String, PersonFacts>, DbErr> {
    let ids: Vec<String> = persons.iter().map(|p| p.0.clone()).collect();
    let consents = if ids.is_empty() {
        Vec::new()
    } else {
        consent::Entity::find()
            .filter(consent::Column::SubjectPersonId.is_in(ids))
            .all(db)
            .await?
    };
    let mut by_consent = consent_details(db, &consents).await?;
    let mut out: HashMap<String, SubjectFacts> = persons
        .into_iter()
        .map(|(id, owner_agency_id, address_confidential)| {
            (
                id.clone(),
                SubjectFacts {
                    person_id: id,
                    owner_agency_id,
                    address_confidential,
                    ..SubjectFacts::default()
                },
            )
        })
        .collect();
    let mut records: HashMap<String, Vec<ConsentRecord>> = HashMap::new();
    for c in consents {
        let Some(facts) = out.get_mut(&c.subject_person_id) else {
            continue;
        };
        if let Some(f) = to_facts(&c, &by_consent) {
            facts.consents.push(f);
        }
        let (categories, recipients) = by_consent.remove(&c.id).unwrap_or_default();
        records
            .entry(c.subject_person_id.clone())
            .or_default()
            .push(ConsentRecord {
                model: c,
                categories,
                recipients,
            });
    }
    for (person_id, m) in support_meetings(db, &out).await? {
        if let Some(facts) = out.get_mut(&person_id) {
            facts.meetings.push(m);
        }
    }
    let ids: Vec<String> = out.keys().cloned().collect();
    if !ids.is_empty() {
        for g in emergency_grant::Entity::find()
            .filter(emergency_grant::Column::PersonId.is_in(ids))
            .filter(emergency_grant::Column::ClosedAt.is_null())
            .all(db)
            .await?
        {
            if let Some(facts) = out.get_mut(&g.person_id) {
                facts.emergencies.push(EmergencyFacts {
                    id: g.id,
                    account_id: g.account_id,
                    from: g.granted_at,
                    until: g.expires_at,
                });
            }
        }
    }
    Ok(out
        .into_iter()
        .map(|(id, facts)| {
            let mut consents = records.remove(&id).unwrap_or_default();
            consents.sort_by(|a, b| consent_order(&a.model, &b.model));
            (id, PersonFacts { facts, consents })
        })
        .collect())
}

/// 支援会議 (Art. 106-6) constituted for the households the persons belong to (or did, or
/// will): (person id, meeting facts with the person's membership dates) pairs, in four
/// queries. Whether the membership is current is the policy's to decide.
async fn support_meetings<C: ConnectionTrait>(
    db: &C,
    persons: &HashMap<String, SubjectFacts>,
) -> Result<Vec<(String, MeetingFacts)>, DbErr> {
    let ids: Vec<String> = persons.keys().cloned().collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Every membership, with its dates: the policy decides whether it is current now (a
    // member who has not joined yet, or has left, is not a subject of the 支援会議).
    let memberships = household_member::Entity::find()
        .filter(household_member::Column::PersonId.is_in(ids))
        .all(db)
        .await?;
    let households: Vec<String> = memberships.iter().map(|m| m.household_id.clone()).collect();
    if households.is_empty() {
        return Ok(Vec::new());
    }
    let meetings = meeting::Entity::find()
        .filter(meeting::Column::HouseholdId.is_in(households))
        .filter(meeting::Column::Kind.eq(SUPPORT_MEETING_KIND))
        .all(db)
        .await?;
    let meeting_ids: Vec<String> = meetings.iter().map(|m| m.id.clone()).collect();
    if meeting_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut members: HashMap<String, BTreeSet<String>> = HashMap::new();
    for m in meeting_member::Entity::find()
        .filter(meeting_member::Column::MeetingId.is_in(meeting_ids.clone()))
        .all(db)
        .await?
    {
        members.entry(m.meeting_id).or_default().insert(m.agency_id);
    }
    let mut categories: HashMap<String, BTreeSet<Category>> = HashMap::new();
    for c in meeting_category::Entity::find()
        .filter(meeting_category::Column::MeetingId.is_in(meeting_ids))
        .all(db)
        .await?
    {
        if let Some(cat) = Category::parse(&c.category) {
            categories.entry(c.meeting_id).or_default().insert(cat);
        }
    }
    let mut out = Vec::new();
    for m in &meetings {
        let (Some(from), Some(until)) = (m.period_from, m.period_until) else {
            continue;
        };
        for hm in memberships
            .iter()
            .filter(|hm| hm.household_id == m.household_id)
        {
            out.push((
                hm.person_id.clone(),
                MeetingFacts {
                    id: m.id.clone(),
                    member_agencies: members.get(&m.id).cloned().unwrap_or_default(),
                    categories: categories.get(&m.id).cloned().unwrap_or_default(),
                    from,
                    until,
                    joined_on: hm.joined_on,
                    left_on: hm.left_on,
                },
            ));
        }
    }
    Ok(out)
}

/// The stored kind of a 支援会議 under Art. 106-6 (the only meeting that is a basis).
pub const SUPPORT_MEETING_KIND: &str = "SUPPORT_MEETING";

/// Categories and recipients of the given consents, keyed by consent id.
pub async fn consent_details<C: ConnectionTrait>(
    db: &C,
    consents: &[consent::Model],
) -> Result<HashMap<String, (Vec<consent_category::Model>, Vec<consent_recipient::Model>)>, DbErr> {
    let ids: Vec<String> = consents.iter().map(|c| c.id.clone()).collect();
    let mut out: HashMap<String, (Vec<_>, Vec<_>)> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    for cat in consent_category::Entity::find()
        .filter(consent_category::Column::ConsentId.is_in(ids.clone()))
        .all(db)
        .await?
    {
        out.entry(cat.consent_id.clone()).or_default().0.push(cat);
    }
    for rec in consent_recipient::Entity::find()
        .filter(consent_recipient::Column::ConsentId.is_in(ids))
        .all(db)
        .await?
    {
        out.entry(rec.consent_id.clone()).or_default().1.push(rec);
    }
    // A fixed order, whatever order the rows came in (which differs with the set of consents
    // asked for): categories and recipients as they were recorded (in their sets' order).
    for (cats, recs) in out.values_mut() {
        cats.sort_by(|a, b| {
            (Category::parse(&a.category), &a.category)
                .cmp(&(Category::parse(&b.category), &b.category))
        });
        recs.sort_by(|a, b| {
            let key = |r: &consent_recipient::Model| {
                (
                    r.recipient_type.clone(),
                    AgencyKind::parse(&r.recipient_value),
                    r.recipient_value.clone(),
                )
            };
            key(a).cmp(&key(b))
        });
    }
    Ok(out)
}

/// The policy's view of one consent. A row whose stored text does not parse grants nothing
/// (None), rather than being guessed at.
pub fn to_facts(
    c: &consent::Model,
    details: &HashMap<String, (Vec<consent_category::Model>, Vec<consent_recipient::Model>)>,
) -> Option<ConsentFacts> {
    let (cats, recs) = details.get(&c.id)?;
    let categories = cats
        .iter()
        .map(|k| Category::parse(&k.category))
        .collect::<Option<_>>()?;
    let mut facts = ConsentFacts {
        id: c.id.clone(),
        categories,
        recipient_agencies: Default::default(),
        recipient_kinds: Default::default(),
        purpose: Purpose::parse(&c.purpose)?,
        valid_from: c.valid_from,
        valid_until: c.valid_until,
        withdrawn_at: c.withdrawn_at,
        by_proxy: c.given_by == "PROXY",
    };
    for r in recs {
        match r.recipient_type.as_str() {
            "AGENCY" => {
                facts.recipient_agencies.insert(r.recipient_value.clone());
            }
            "AGENCY_KIND" => {
                facts
                    .recipient_kinds
                    .insert(AgencyKind::parse(&r.recipient_value)?);
            }
            _ => return None,
        }
    }
    Some(facts)
}
