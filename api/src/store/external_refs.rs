//! External references: an agency's own id `(system, external id)` for a hub record. A
//! reference belongs to the agency that wrote it and is read only by that agency (another
//! agency's references would tell who is whose client).
//!
//! A reference is stored by [`insert_for`] inside the write that creates or changes its
//! record ([`super::write::write`], from the WRITE entry's `external_ref`), so a record and
//! its reference are stored together or not at all; the unique index `ux_external_ref_key`
//! makes two concurrent upserts of one reference one record (the second's insert fails and
//! its whole write rolls back).

use std::collections::{BTreeMap, HashMap};

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Statement,
};

use super::write::Txn;
use crate::audit::Entry;
use crate::error::{ApiError, ApiResult};
use entity::external_ref;

/// The record a reference names, if the agency holds it.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    agency_id: &str,
    record_type: &str,
    system: &str,
    external_id: &str,
) -> Result<Option<external_ref::Model>, DbErr> {
    external_ref::Entity::find()
        .filter(external_ref::Column::AgencyId.eq(agency_id))
        .filter(external_ref::Column::RecordType.eq(record_type))
        .filter(external_ref::Column::System.eq(system))
        .filter(external_ref::Column::ExternalId.eq(external_id))
        .one(db)
        .await
}

/// The agency's references to these records (ids are unique across record types), in
/// (record, system) order.
pub async fn of_records<C: ConnectionTrait>(
    db: &C,
    agency_id: &str,
    record_ids: Vec<String>,
) -> Result<Vec<external_ref::Model>, DbErr> {
    if record_ids.is_empty() {
        return Ok(Vec::new());
    }
    external_ref::Entity::find()
        .filter(external_ref::Column::AgencyId.eq(agency_id))
        .filter(external_ref::Column::RecordId.is_in(record_ids))
        .order_by_asc(external_ref::Column::RecordId)
        .order_by_asc(external_ref::Column::System)
        .all(db)
        .await
}

/// The records the agency's references `(system, external id)` of `record_type` name, by
/// external id (those it holds). The ids travel as one JSON array per statement, unnested by
/// the database and joined to the unique index `ux_external_ref_key`: a probe per id, so a
/// lookup's cost follows the ids asked, also in a table a bulk import is still filling
/// (whose statistics say it is empty: a list of placeholders was planned as a scan of the
/// whole table, comparing every row with every id).
pub async fn find_many<C: ConnectionTrait>(
    db: &C,
    agency_id: &str,
    record_type: &str,
    system: &str,
    external_ids: &[String],
) -> Result<HashMap<String, String>, DbErr> {
    let backend = db.get_database_backend();
    let unnest = match backend {
        // `OFFSET 0` keeps PostgreSQL from flattening the ids into a hash join over the table.
        DatabaseBackend::Postgres => {
            "SELECT jsonb_array_elements_text(CAST($4 AS jsonb)) AS k OFFSET 0"
        }
        _ => "SELECT value AS k FROM json_each($4)",
    };
    let sql = format!(
        "SELECT r.external_id, r.record_id FROM ({unnest}) AS ids \
         JOIN external_ref r ON r.agency_id = $1 AND r.record_type = $2 AND r.system = $3 \
         AND r.external_id = ids.k"
    );
    let mut out = HashMap::new();
    for chunk in external_ids.chunks(LOOKUP_CHUNK) {
        let ids = serde_json::to_string(chunk).unwrap_or_default();
        let stmt = Statement::from_sql_and_values(
            backend,
            sql.as_str(),
            [
                agency_id.into(),
                record_type.into(),
                system.into(),
                ids.into(),
            ],
        );
        for row in db.query_all_raw(stmt).await? {
            out.insert(
                row.try_get::<String>("", "external_id")?,
                row.try_get::<String>("", "record_id")?,
            );
        }
    }
    Ok(out)
}

/// Ids per lookup statement.
const LOOKUP_CHUNK: usize = 1000;

/// Store the references the write's entries carry (a WRITE entry with `external_ref` names
/// its record and the writing agency), unless the agency already holds that exact reference
/// for that record. A reference the agency holds for another record of the type is CONFLICT
/// (found here, or by the unique index when stored concurrently), and the write rolls back.
/// The references of a write are looked up and stored a few statements at a time, whatever
/// their number (a CSV import writes hundreds per transaction).
pub async fn insert_for(txn: &Txn, entries: &[Entry]) -> ApiResult<()> {
    // (agency, record type, system) → external id → (record, account, input hash)
    type Wanted<'e> = BTreeMap<
        (&'e str, String, &'e str),
        BTreeMap<&'e str, (&'e str, &'e str, &'e Option<String>)>,
    >;
    let mut wanted: Wanted<'_> = BTreeMap::new();
    for e in entries {
        let (Some(r), Some(record_id), Some(agency_id), Some(account_id)) = (
            e.external_ref.as_ref(),
            e.record_id.as_ref(),
            e.agency_id.as_ref(),
            e.account_id.as_ref(),
        ) else {
            continue;
        };
        let group = wanted
            .entry((agency_id, e.record_type.to_uppercase(), &r.system))
            .or_default();
        match group.get(r.external_id.as_str()) {
            Some((other, ..)) if *other != record_id.as_str() => return Err(held_elsewhere()),
            Some(_) => {}
            None => {
                group.insert(&r.external_id, (record_id, account_id, &r.input_hash));
            }
        }
    }
    let now = crate::audit::now_micros();
    for ((agency_id, record_type, system), refs) in wanted {
        let ids: Vec<String> = refs.keys().map(|k| (*k).to_owned()).collect();
        let held = find_many(txn, agency_id, &record_type, system, &ids).await?;
        let mut new = Vec::new();
        for (external_id, (record_id, account_id, input_hash)) in refs {
            match held.get(external_id) {
                Some(r) if r == record_id => continue,
                // Held for another record (committed before this write began): the same
                // answer as the unique index gives a reference stored concurrently, with a
                // plainer message. The whole write rolls back.
                Some(_) => return Err(held_elsewhere()),
                None => new.push(external_ref::ActiveModel::from(external_ref::Model {
                    id: super::new_id(),
                    agency_id: agency_id.to_owned(),
                    record_type: record_type.clone(),
                    record_id: record_id.to_owned(),
                    system: system.to_owned(),
                    external_id: external_id.to_owned(),
                    input_hash: input_hash.clone(),
                    created_by: account_id.to_owned(),
                    created_at: now,
                })),
            }
        }
        let mut new = new.into_iter().peekable();
        while new.peek().is_some() {
            let batch: Vec<_> = new.by_ref().take(INSERT_CHUNK).collect();
            external_ref::Entity::insert_many(batch)
                .exec_without_returning(txn)
                .await
                .map_err(ApiError::from)?;
        }
    }
    Ok(())
}

/// Rows per multi-row INSERT of references (10 columns: far under the bound parameters).
const INSERT_CHUNK: usize = 1000;

fn held_elsewhere() -> ApiError {
    ApiError::conflict(
        "この参照は自機関の別の記録に使われています / the reference already names another record of the agency",
    )
}
