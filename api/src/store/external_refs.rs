//! External references: an agency's own id `(system, external id)` for a hub record. A
//! reference belongs to the agency that wrote it and is read only by that agency (another
//! agency's references would tell who is whose client).
//!
//! A reference is stored by [`insert_for`] inside the write that creates or changes its
//! record ([`super::write::write`], from the WRITE entry's `external_ref`), so a record and
//! its reference are stored together or not at all; the unique index `ux_external_ref_key`
//! makes two concurrent upserts of one reference one record (the second's insert fails and
//! its whole write rolls back).

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

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

/// Store the references the write's entries carry (a WRITE entry with `external_ref` names
/// its record and the writing agency), unless the agency already holds that exact reference
/// for that record. A reference the agency holds for another record of the type is CONFLICT
/// (found here, or by the unique index when stored concurrently), and the write rolls back.
pub async fn insert_for(txn: &Txn, entries: &[Entry]) -> ApiResult<()> {
    for e in entries {
        let (Some(r), Some(record_id), Some(agency_id), Some(account_id)) = (
            e.external_ref.as_ref(),
            e.record_id.as_ref(),
            e.agency_id.as_ref(),
            e.account_id.as_ref(),
        ) else {
            continue;
        };
        let record_type = e.record_type.to_uppercase();
        if let Some(held) = find(txn, agency_id, &record_type, &r.system, &r.external_id).await? {
            if &held.record_id == record_id {
                continue;
            }
            // Held for another record (committed before this write began): the same answer
            // as the unique index gives a reference stored concurrently, with a plainer
            // message. The whole write rolls back.
            return Err(ApiError::conflict(
                "この参照は自機関の別の記録に使われています / the reference already names another record of the agency",
            ));
        }
        super::write::insert(
            txn,
            external_ref::Model {
                id: super::new_id(),
                agency_id: agency_id.clone(),
                record_type,
                record_id: record_id.clone(),
                system: r.system.clone(),
                external_id: r.external_id.clone(),
                input_hash: r.input_hash.clone(),
                created_by: account_id.clone(),
                created_at: crate::audit::now_micros(),
            },
        )
        .await?;
    }
    Ok(())
}
