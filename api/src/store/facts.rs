//! Loading what the policy needs about persons (consents, 支援会議 covering their household,
//! open emergency grants), for all subjects of a response at once, in one statement.

use std::collections::{BTreeSet, HashMap};

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::batch::{self, Part, Union};
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

/// Policy facts for the given persons (consents with their categories and recipients, the
/// 支援会議 covering their households, open emergency grants): one statement, whatever the
/// number of persons.
pub async fn for_persons<C: ConnectionTrait>(
    db: &C,
    persons: &[&person::Model],
) -> Result<HashMap<String, PersonFacts>, DbErr> {
    let ids: Vec<String> = persons.iter().map(|p| p.id.clone()).collect();
    let rows = read(db, &ids, false).await?;
    Ok(assemble(persons, rows))
}

/// The persons with these ids (ordered by id) and their policy facts, as [`for_persons`]
/// gives them: one statement for both.
pub async fn persons_with_facts<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
) -> Result<Vec<(person::Model, PersonFacts)>, DbErr> {
    let mut rows = read(db, ids, true).await?;
    let mut persons = std::mem::take(&mut rows.persons);
    persons.sort_by(|a, b| a.id.cmp(&b.id));
    let refs: Vec<&person::Model> = persons.iter().collect();
    let mut facts = assemble(&refs, rows);
    Ok(persons
        .into_iter()
        .filter_map(|p| {
            let f = facts.remove(&p.id)?;
            Some((p, f))
        })
        .collect())
}

/// The rows the policy facts are made of, for a set of persons.
#[derive(Default)]
struct Rows {
    persons: Vec<person::Model>,
    consents: Vec<consent::Model>,
    categories: Vec<consent_category::Model>,
    recipients: Vec<consent_recipient::Model>,
    memberships: Vec<household_member::Model>,
    meetings: Vec<meeting::Model>,
    meeting_members: Vec<meeting_member::Model>,
    meeting_categories: Vec<meeting_category::Model>,
    emergencies: Vec<emergency_grant::Model>,
}

/// Read, in one statement ([`batch::Union`]), every row the facts of these persons are made
/// of (and the persons themselves if `with_persons`): their consents with categories and
/// recipients; their memberships, current or not; the 支援会議 of those households with
/// their member agencies and categories; their open emergency grants.
async fn read<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
    with_persons: bool,
) -> Result<Rows, DbErr> {
    let mut out = Rows::default();
    if ids.is_empty() {
        return Ok(out);
    }
    // Each branch reads one table, so every part shares the slots of one prefix.
    let person = Part::of::<person::Entity>("f_")?;
    let consent = Part::of::<consent::Entity>("f_")?;
    let category = Part::of::<consent_category::Entity>("f_")?;
    let recipient = Part::of::<consent_recipient::Entity>("f_")?;
    let membership = Part::of::<household_member::Entity>("f_")?;
    let meeting = Part::of::<meeting::Entity>("f_")?;
    let member = Part::of::<meeting_member::Entity>("f_")?;
    let meeting_cat = Part::of::<meeting_category::Entity>("f_")?;
    let emergency = Part::of::<emergency_grant::Entity>("f_")?;
    let mut parts = vec![
        &consent,
        &category,
        &recipient,
        &membership,
        &meeting,
        &member,
        &meeting_cat,
        &emergency,
    ];
    if with_persons {
        parts.insert(0, &person);
    }
    let mut u = Union::new(db.get_database_backend(), &parts);
    // What several branches read is computed once: the persons, their consents, the 支援会議
    // of their households (each was a subquery repeated per branch).
    let persons = u.id_set("f_ids", ids);
    u.with(
        "f_consents",
        &format!("SELECT \"id\" FROM \"consent\" WHERE \"subject_person_id\" IN {persons}"),
    );
    let kind = u.param(SUPPORT_MEETING_KIND);
    u.with(
        "f_meetings",
        &format!(
            "SELECT \"id\" FROM \"meeting\" WHERE \"kind\" = {kind} AND \"household_id\" IN \
             (SELECT \"household_id\" FROM \"household_member\" WHERE \"person_id\" IN {persons})"
        ),
    );
    if with_persons {
        u.branch(
            "p",
            &[(&person, "t")],
            &format!("FROM \"person\" t WHERE t.\"id\" IN {persons}"),
        );
    }
    u.branch(
        "c",
        &[(&consent, "t")],
        &format!("FROM \"consent\" t WHERE t.\"subject_person_id\" IN {persons}"),
    );
    // A consent's categories, and its recipients, come as one row per consent, the values
    // joined with control characters no stored value holds (a consent has several of each;
    // a row apiece was two thirds of the statement's rows): split again in [`split_details`].
    let categories = u.joined("\"category\"", UNIT);
    u.branch(
        "cc",
        &[(&category, "t")],
        &format!(
            "FROM (SELECT \"consent_id\", {categories} AS \"category\" FROM \"consent_category\" \
             WHERE \"consent_id\" IN (SELECT \"id\" FROM f_consents) GROUP BY \"consent_id\") t"
        ),
    );
    let pair = u.concat("\"recipient_type\"", RECORD, "\"recipient_value\"");
    let recipients = u.joined(&pair, UNIT);
    u.branch(
        "cr",
        &[(&recipient, "t")],
        &format!(
            "FROM (SELECT \"consent_id\", {recipients} AS \"recipient_type\", '' AS \"recipient_value\" \
             FROM \"consent_recipient\" WHERE \"consent_id\" IN (SELECT \"id\" FROM f_consents) \
             GROUP BY \"consent_id\") t"
        ),
    );
    u.branch(
        "hm",
        &[(&membership, "t")],
        &format!("FROM \"household_member\" t WHERE t.\"person_id\" IN {persons}"),
    );
    u.branch(
        "m",
        &[(&meeting, "t")],
        "FROM \"meeting\" t WHERE t.\"id\" IN (SELECT \"id\" FROM f_meetings)",
    );
    for (kind, part, table) in [
        ("mm", &member, "meeting_member"),
        ("mc", &meeting_cat, "meeting_category"),
    ] {
        u.branch(
            kind,
            &[(part, "t")],
            &format!(
                "FROM \"{table}\" t WHERE t.\"meeting_id\" IN (SELECT \"id\" FROM f_meetings)"
            ),
        );
    }
    u.branch(
        "e",
        &[(&emergency, "t")],
        &format!(
            "FROM \"emergency_grant\" t WHERE t.\"person_id\" IN {persons} AND t.\"closed_at\" IS NULL"
        ),
    );
    for row in u.all(db).await? {
        match batch::kind(&row)?.as_str() {
            "p" => out.persons.push(person.decode(&row)?),
            "c" => out.consents.push(consent.decode(&row)?),
            "cc" => out
                .categories
                .extend(split_categories(category.decode(&row)?)),
            "cr" => out
                .recipients
                .extend(split_recipients(recipient.decode(&row)?)?),
            "hm" => out.memberships.push(membership.decode(&row)?),
            "m" => out.meetings.push(meeting.decode(&row)?),
            "mm" => out.meeting_members.push(member.decode(&row)?),
            "mc" => out.meeting_categories.push(meeting_cat.decode(&row)?),
            "e" => out.emergencies.push(emergency.decode(&row)?),
            other => {
                return Err(DbErr::Custom(format!(
                    "facts: unexpected row kind {other:?}"
                )));
            }
        }
    }
    Ok(out)
}

/// Separates the values a consent's row of categories or recipients joins (ASCII US).
const UNIT: u8 = 0x1f;
/// Separates a recipient's type from its value (ASCII RS).
const RECORD: u8 = 0x1e;

/// A consent's categories, read joined as one row, as rows again.
fn split_categories(joined: consent_category::Model) -> Vec<consent_category::Model> {
    joined
        .category
        .split(char::from(UNIT))
        .map(|c| consent_category::Model {
            consent_id: joined.consent_id.clone(),
            category: c.to_owned(),
        })
        .collect()
}

/// A consent's recipients, read joined as one row (`type RS value`, joined by US), as rows
/// again. A part without exactly one separator is refused, not guessed at.
fn split_recipients(
    joined: consent_recipient::Model,
) -> Result<Vec<consent_recipient::Model>, DbErr> {
    joined
        .recipient_type
        .split(char::from(UNIT))
        .map(|pair| {
            let mut parts = pair.split(char::from(RECORD));
            match (parts.next(), parts.next(), parts.next()) {
                (Some(t), Some(v), None) => Ok(consent_recipient::Model {
                    consent_id: joined.consent_id.clone(),
                    recipient_type: t.to_owned(),
                    recipient_value: v.to_owned(),
                }),
                _ => Err(DbErr::Custom(format!(
                    "facts: a recipient of consent {} does not split",
                    joined.consent_id
                ))),
            }
        })
        .collect()
}

/// The facts of `persons` out of the rows read for them, each list in a fixed order
/// (whatever order the rows came in).
fn assemble(persons: &[&person::Model], mut rows: Rows) -> HashMap<String, PersonFacts> {
    let mut by_consent = details(
        std::mem::take(&mut rows.categories),
        std::mem::take(&mut rows.recipients),
    );
    let mut out: HashMap<String, SubjectFacts> = persons
        .iter()
        .map(|p| {
            (
                p.id.clone(),
                SubjectFacts {
                    person_id: p.id.clone(),
                    owner_agency_id: p.owner_agency_id.clone(),
                    address_confidential: p.address_confidential,
                    ..SubjectFacts::default()
                },
            )
        })
        .collect();
    let mut consents = std::mem::take(&mut rows.consents);
    consents.sort_by(consent_order);
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
    for (person_id, m) in support_meetings(&mut rows) {
        if let Some(facts) = out.get_mut(&person_id) {
            facts.meetings.push(m);
        }
    }
    rows.emergencies.sort_by(|a, b| a.id.cmp(&b.id));
    for g in rows.emergencies {
        if let Some(facts) = out.get_mut(&g.person_id) {
            facts.emergencies.push(EmergencyFacts {
                id: g.id,
                account_id: g.account_id,
                from: g.granted_at,
                until: g.expires_at,
            });
        }
    }
    out.into_iter()
        .map(|(id, facts)| {
            let consents = records.remove(&id).unwrap_or_default();
            (id, PersonFacts { facts, consents })
        })
        .collect()
}

/// 支援会議 (Art. 106-6) constituted for the households the persons belong to (or did, or
/// will): (person id, meeting facts with the person's membership dates) pairs. Whether the
/// membership is current is the policy's to decide (a member who has not joined yet, or has
/// left, is not a subject of the 支援会議).
fn support_meetings(rows: &mut Rows) -> Vec<(String, MeetingFacts)> {
    let mut members: HashMap<String, BTreeSet<String>> = HashMap::new();
    for m in std::mem::take(&mut rows.meeting_members) {
        members.entry(m.meeting_id).or_default().insert(m.agency_id);
    }
    let mut categories: HashMap<String, BTreeSet<Category>> = HashMap::new();
    for c in std::mem::take(&mut rows.meeting_categories) {
        if let Some(cat) = Category::parse(&c.category) {
            categories.entry(c.meeting_id).or_default().insert(cat);
        }
    }
    rows.meetings.sort_by(|a, b| a.id.cmp(&b.id));
    rows.memberships.sort_by(|a, b| a.id.cmp(&b.id));
    let mut out = Vec::new();
    for m in &rows.meetings {
        if m.kind != SUPPORT_MEETING_KIND {
            continue;
        }
        let (Some(from), Some(until)) = (m.period_from, m.period_until) else {
            continue;
        };
        for hm in rows
            .memberships
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
    out
}

/// The stored kind of a 支援会議 under Art. 106-6 (the only meeting that is a basis).
pub const SUPPORT_MEETING_KIND: &str = "SUPPORT_MEETING";

/// A consent's categories and recipients, keyed by consent id.
pub type Details = HashMap<String, (Vec<consent_category::Model>, Vec<consent_recipient::Model>)>;

/// Categories and recipients of the given consents, keyed by consent id: two queries.
pub async fn consent_details<C: ConnectionTrait>(
    db: &C,
    consents: &[consent::Model],
) -> Result<Details, DbErr> {
    let ids: Vec<String> = consents.iter().map(|c| c.id.clone()).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let categories = consent_category::Entity::find()
        .filter(consent_category::Column::ConsentId.is_in(ids.clone()))
        .all(db)
        .await?;
    let recipients = consent_recipient::Entity::find()
        .filter(consent_recipient::Column::ConsentId.is_in(ids))
        .all(db)
        .await?;
    Ok(details(categories, recipients))
}

/// Categories and recipients keyed by consent id, in a fixed order whatever order the rows
/// came in (which differs with the set of consents asked for): as they were recorded (in
/// their sets' order).
fn details(
    categories: Vec<consent_category::Model>,
    recipients: Vec<consent_recipient::Model>,
) -> Details {
    let mut out: Details = HashMap::new();
    for cat in categories {
        out.entry(cat.consent_id.clone()).or_default().0.push(cat);
    }
    for rec in recipients {
        out.entry(rec.consent_id.clone()).or_default().1.push(rec);
    }
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
    out
}

/// The policy's view of one consent. A row whose stored text does not parse grants nothing
/// (None), rather than being guessed at.
pub fn to_facts(c: &consent::Model, details: &Details) -> Option<ConsentFacts> {
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

/// Policy facts for persons by id, the person columns the decision rests on
/// (`owner_agency_id`, `address_confidential`) included, all read on `db`: for person rows
/// that came from elsewhere (a read replica, whose copy of those columns may be stale). An id
/// with no person has no entry.
pub async fn for_person_ids<C: ConnectionTrait>(
    db: &C,
    ids: Vec<String>,
) -> Result<HashMap<String, PersonFacts>, DbErr> {
    Ok(persons_with_facts(db, &ids)
        .await?
        .into_iter()
        .map(|(p, f)| (p.id, f))
        .collect())
}
