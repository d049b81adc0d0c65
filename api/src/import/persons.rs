//! Writing a persons file (`tsunagi import --kind persons`, `POST /import/persons`): each row
//! becomes what `upsertPerson(ref:, input:)` would make of it, with the same permits
//! (`policy::write::person`), the same stored form (the cells were checked as createPerson
//! checks them, [`super::values`]) and the same ledger rows (one WRITE per person created or
//! changed, `created` and the changed `fields` as upsertPerson records them, under the
//! operation `importPersons`), but written a batch at a time so that a city's 100,000 persons
//! take seconds, not the hours of one request per person.
//!
//! A row is found again by its reference in the agency's system: the file's id column
//! (宛名番号), or, when the file has none, a key derived from the person's names, readings and
//! birth date ([`derived_key`]). So a re-run of the same file writes nothing, and a re-run
//! of a corrected file changes only the persons whose cells changed.

use std::collections::HashMap;

use sea_orm::ConnectionTrait;
use sha2::{Digest, Sha256};

use super::rows::PersonRow;
use super::RowError;
use crate::audit::{Entry, RefEntry};
use crate::error::ApiResult;
use crate::graphql::upsert::person_changes;
use crate::kana;
use crate::policy::write::person::{may_change_person, may_create_person};
use crate::policy::Principal;
use crate::store;
use crate::store::persons::Imported;
use entity::person;

/// What a row will do.
pub enum Planned {
    Create(Box<person::Model>),
    /// The record read, the record as the row makes it, and the names of the changed fields.
    Update(Box<(person::Model, person::Model)>, Vec<&'static str>),
    Unchanged,
}

/// A row's plan: its line, its reference and what it will do.
pub struct PlannedRow {
    pub line: u64,
    pub external_id: String,
    pub planned: Planned,
}

/// The categories a new person's record holds (as createPerson ledgers them).
const CATEGORIES: [&str; 5] = [
    "IDENTITY",
    "CONTACT",
    "HEALTH",
    "LIVELIHOOD",
    "CHILD_PROTECTION",
];

/// The reference of a row without an id column: `derived:` and the SHA-256 (hex, 40
/// characters) of the family and given names and readings as stored and the birth date.
/// The same person written the same way gets the same key; a person whose name changes in
/// the agency's system gets a new one (the file cannot say it is the same person: give the
/// id column for that).
pub fn derived_key(row: &PersonRow) -> String {
    let birth = row.birth_date.map(|d| d.to_string()).unwrap_or_default();
    let text = [
        row.family_name.as_str(),
        &row.given_name,
        &row.family_name_kana,
        &row.given_name_kana,
        &birth,
    ]
    .join("\u{1f}");
    let digest = hex::encode(Sha256::digest(text.as_bytes()));
    format!("derived:{}", &digest[..40])
}

/// The person a row registers for `principal`'s agency under `id`.
fn new_model(
    row: &PersonRow,
    principal: &Principal,
    id: String,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<person::Model, String> {
    let kana_key = kana::match_key(&format!("{}{}", row.family_name_kana, row.given_name_kana))
        .map_err(|e| e.to_string())?;
    Ok(person::Model {
        id,
        owner_agency_id: principal.agency_id.clone(),
        family_name: row.family_name.clone(),
        given_name: row.given_name.clone(),
        family_name_kana: row.family_name_kana.clone(),
        given_name_kana: row.given_name_kana.clone(),
        kana_key,
        birth_date: row.birth_date,
        sex: row.sex.as_str().to_owned(),
        address: row.address.clone(),
        phone: row.phone.clone(),
        district: row.district.clone(),
        address_confidential: false,
        care_level: None,
        disability_certificate: None,
        public_assistance: None,
        version: 1,
        created_by: principal.account_id.clone(),
        created_at: now,
        updated_at: now,
    })
}

/// The stored person as the row changes it: the names and readings always, the optional
/// fields only where the file has their column (a file without an address column leaves
/// the address), the rest (care level, the support-measure flag …) as stored.
fn changed_model(read: &person::Model, row: &PersonRow, kana_key: String) -> person::Model {
    let has = row.has;
    let mut changed = read.clone();
    changed.family_name.clone_from(&row.family_name);
    changed.given_name.clone_from(&row.given_name);
    changed.family_name_kana.clone_from(&row.family_name_kana);
    changed.given_name_kana.clone_from(&row.given_name_kana);
    changed.kana_key = kana_key;
    if has.birth_date {
        changed.birth_date = row.birth_date;
    }
    if has.sex {
        row.sex.as_str().clone_into(&mut changed.sex);
    }
    if has.address {
        changed.address.clone_from(&row.address);
    }
    if has.phone {
        changed.phone.clone_from(&row.phone);
    }
    if has.district {
        changed.district.clone_from(&row.district);
    }
    changed
}

/// What every row will do, read from the database (the agency's references under `system`
/// and the persons they name); a row that cannot be written is an error of its line (a
/// repeated derived key: the same person twice in the file; a reference naming a person the
/// agency may no longer change).
pub async fn plan<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    now: chrono::DateTime<chrono::Utc>,
    system: &str,
    rows: Vec<PersonRow>,
) -> ApiResult<(Vec<PlannedRow>, Vec<RowError>)> {
    let mut errors = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut keyed = Vec::with_capacity(rows.len());
    for row in rows {
        let key = match &row.external_id {
            Some(id) => id.clone(),
            None => derived_key(&row),
        };
        // Repeated ids were refused by the reader; a repeated derived key is the same
        // person written twice.
        if let Some(first) = seen.get(&key) {
            errors.push(RowError::new(
                row.line,
                None,
                format!(
                    "{first} 行目と同じ人です (氏名・読み・生年月日が同じ) / the same person as line {first} (same names, readings and birth date)"
                ),
            ));
            continue;
        }
        seen.insert(key.clone(), row.line);
        keyed.push((key, row));
    }
    let keys: Vec<String> = keyed.iter().map(|(k, _)| k.clone()).collect();
    let agency = crate::policy::refs::agency_of(principal);
    let held = store::external_refs::find_many(db, agency, "PERSON", system, &keys).await?;
    let ids: Vec<String> = held.values().cloned().collect();
    let mut current: HashMap<String, person::Model> = HashMap::new();
    for chunk in ids.chunks(500) {
        for p in store::persons::by_ids(db, chunk.to_vec()).await? {
            current.insert(p.id.clone(), p);
        }
    }
    let mut planned = Vec::with_capacity(keyed.len());
    for (key, row) in keyed {
        let line = row.line;
        let kana_key =
            match kana::match_key(&format!("{}{}", row.family_name_kana, row.given_name_kana)) {
                Ok(k) => k,
                Err(e) => {
                    errors.push(RowError::new(line, None, e.to_string()));
                    continue;
                }
            };
        let plan = match held.get(&key).and_then(|id| current.get(id)) {
            None => match new_model(&row, principal, store::new_id(), now) {
                Ok(model) => Planned::Create(Box::new(model)),
                Err(why) => {
                    errors.push(RowError::new(line, None, why));
                    continue;
                }
            },
            Some(read) => {
                if let Err(refused) = may_change_person(principal, &read.id, &read.owner_agency_id)
                {
                    let why = crate::error::ApiError::refused(refused, "ref").message();
                    errors.push(RowError::new(line, None, why));
                    continue;
                }
                let mut changed = changed_model(read, &row, kana_key);
                let fields = person_changes(read, &changed);
                if fields.is_empty() {
                    Planned::Unchanged
                } else {
                    changed.updated_at = now;
                    Planned::Update(Box::new((read.clone(), changed)), fields)
                }
            }
        };
        planned.push(PlannedRow {
            line,
            external_id: key,
            planned: plan,
        });
    }
    Ok((planned, errors))
}

/// Write planned rows (a batch: one savepoint of the import's transaction), each created or
/// changed person with its WRITE ledger row carrying its reference.
pub async fn write(
    db: &impl store::Handle,
    principal: &Principal,
    system: &str,
    import_id: &str,
    batch: Vec<PlannedRow>,
) -> ApiResult<usize> {
    let mut persons = Vec::with_capacity(batch.len());
    let mut entries = Vec::with_capacity(batch.len());
    for row in batch {
        let (id, detail) = match row.planned {
            Planned::Unchanged => continue,
            Planned::Create(model) => {
                let model = *model;
                let permit = may_create_person(principal, &model.id)
                    .map_err(|e| crate::error::ApiError::refused(e, "file"))?;
                let id = model.id.clone();
                persons.push(Imported::Create(permit, Box::new(model)));
                (
                    id,
                    serde_json::json!({"created": true, "categories": CATEGORIES, "import": import_id, "line": row.line}),
                )
            }
            Planned::Update(models, fields) => {
                let (read, changed) = *models;
                let permit = may_change_person(principal, &read.id, &read.owner_agency_id)
                    .map_err(|e| crate::error::ApiError::refused(e, "file"))?;
                let id = read.id.clone();
                persons.push(Imported::Update(permit, Box::new((read, changed))));
                (
                    id,
                    serde_json::json!({"created": false, "fields": fields, "import": import_id, "line": row.line}),
                )
            }
        };
        let mut e = Entry::write(principal, "importPersons", "person", &id, Some(&id), detail);
        e.external_ref = Some(RefEntry {
            system: system.to_owned(),
            external_id: row.external_id,
            input_hash: None,
        });
        entries.push(e);
    }
    if persons.is_empty() {
        return Ok(0);
    }
    store::persons::import(db, persons, entries).await
}
