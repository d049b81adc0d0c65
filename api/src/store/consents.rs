//! Consent records (never deleted; withdrawal is a stamp). A person's consents are read
//! with the person's policy facts (`facts::for_persons`).

use sea_orm::{ConnectionTrait, DbErr, EntityTrait};

use super::facts::ConsentRecord;
use super::write::{self, insert, write};
use crate::audit::Entry;
use crate::error::ApiResult;
use crate::policy::write::consent::{RecordConsent, WithdrawConsent};
use crate::policy::Permit;
use entity::consent;

pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<consent::Model>, DbErr> {
    consent::Entity::find_by_id(id.to_owned()).one(db).await
}

/// Store a new consent with its categories and recipients, and its ledger entries, in one
/// transaction. The permit is for the person it is recorded under.
pub async fn record(
    db: &impl super::Handle,
    permit: Permit<RecordConsent>,
    record: ConsentRecord,
    entries: Vec<Entry>,
) -> ApiResult<()> {
    debug_assert_eq!(permit.id(), record.model.subject_person_id);
    let subject = [record.model.subject_person_id.clone()];
    write(db, entries, move |txn| {
        Box::pin(async move {
            insert(txn, record.model).await?;
            for c in record.categories {
                insert(txn, c).await?;
            }
            for r in record.recipients {
                insert(txn, r).await?;
            }
            super::visibility::refresh(txn, &subject).await?;
            Ok(())
        })
    })
    .await
}

/// Stamp a consent withdrawn: `withdrawn` is the consent as read with the withdrawal's
/// columns set, written only if the consent is still at the version the client sent
/// (CONFLICT otherwise).
pub async fn withdraw(
    db: &impl super::Handle,
    permit: Permit<WithdrawConsent>,
    read: consent::Model,
    client_version: i32,
    withdrawn: consent::Model,
    entries: Vec<Entry>,
) -> ApiResult<consent::Model> {
    debug_assert_eq!(permit.id(), read.id);
    write(db, entries, move |txn| {
        Box::pin(async move {
            let subject = [read.subject_person_id.clone()];
            let out = write::update(txn, &read, client_version, withdrawn).await?;
            super::visibility::refresh(txn, &subject).await?;
            Ok(out)
        })
    })
    .await
}
