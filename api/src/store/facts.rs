//! Loading what the policy needs about persons, for all subjects of a response at once.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use crate::policy::{AgencyKind, Category, ConsentFacts, Purpose, SubjectFacts};
use entity::{consent, consent_category, consent_recipient, person};

/// Policy facts for the given persons (consents with their categories and recipients):
/// three queries, whatever the number of persons.
pub async fn for_persons<C: ConnectionTrait>(
    db: &C,
    persons: &[&person::Model],
) -> Result<HashMap<String, SubjectFacts>, DbErr> {
    let ids: Vec<String> = persons.iter().map(|p| p.id.clone()).collect();
    let consents = if ids.is_empty() {
        Vec::new()
    } else {
        consent::Entity::find()
            .filter(consent::Column::SubjectPersonId.is_in(ids))
            .all(db)
            .await?
    };
    let by_consent = consent_details(db, &consents).await?;
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
    for c in consents {
        let Some(facts) = out.get_mut(&c.subject_person_id) else {
            continue;
        };
        if let Some(f) = to_facts(&c, &by_consent) {
            facts.consents.push(f);
        }
    }
    Ok(out)
}

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
