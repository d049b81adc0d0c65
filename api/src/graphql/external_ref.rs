//! External references on records (`externalRefs`) and lookups by them (`personByRef` and
//! the like). A reference is the caller's agency's own id for a record, `(system,
//! externalId)`; only the caller's agency's references are ever shown or looked up (another
//! agency's would tell who is whose client): the rule is `policy::refs`, and this module reads
//! references only through it. A lookup answers exactly as reading the record by id does:
//! NOT_FOUND when there is no such reference or the caller may not know the record,
//! byte-identical in both cases.
//!
//! `externalRefs` under a list is read for the whole page in one statement: the lists load
//! the page's references ahead ([`prefetch`]) into the request's rows
//! (`loaders::Rows::external_refs`), and each field then reads them from there.

use std::collections::HashMap;

use async_graphql::{Context, InputObject, Object, SimpleObject};

use super::activity::Activity;
use super::consent::Consent;
use super::consultation::Consultation;
use super::context::{db, req};
use super::household::Household;
use super::loaders::{group, Wants};
use super::person::Person;
use super::referral::Referral;
use super::scalars::DateTime;
use super::validate;
use crate::audit::{Entry, RefEntry};
use crate::error::{ApiError, ApiResult};
use crate::policy::refs;
use crate::store;
use entity::external_ref;

/// 外部参照 (自機関のシステムの ID) / the caller's agency's own id for this record
#[derive(SimpleObject, Clone)]
pub struct ExternalRef {
    /// システム名 / the agency system the id belongs to (e.g. `kaigo-v3`)
    pub system: String,
    /// そのシステムでの ID / the id in that system
    pub external_id: String,
    pub created_at: DateTime,
}

/// 外部参照の指定 / an external reference: the caller's agency's system and its id there
#[derive(InputObject, Clone)]
pub struct ExternalRefInput {
    /// 1〜64 文字: 英数字と `.` `_` `-` `:` `/` / 1–64 characters: letters, digits, `.` `_` `-` `:` `/`
    pub system: String,
    /// 1〜255 文字、制御文字なし / 1–255 characters, no control characters
    pub external_id: String,
}

/// A checked reference: `(system, external id)`.
pub type RefKey = (String, String);

/// The system name: 1–64 ASCII letters, digits and `._-:/`.
pub fn system(field: &str, value: &str) -> ApiResult<String> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-:/".contains(&b));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(ApiError::bad_input(
            field,
            "1〜64 文字の英数字と . _ - : / で指定してください / 1–64 ASCII letters, digits, . _ - : /",
        ))
    }
}

/// The external id: 1–255 characters, no control characters, not only spaces; kept as given
/// (an agency's id is compared exactly).
pub fn external_id(field: &str, value: &str) -> ApiResult<String> {
    let n = value.chars().count();
    if n == 0 || n > 255 || value.trim().is_empty() || value.chars().any(char::is_control) {
        return Err(ApiError::bad_input(
            field,
            "1〜255 文字、制御文字なしで指定してください / 1–255 characters, no control characters",
        ));
    }
    Ok(value.to_owned())
}

impl ExternalRefInput {
    /// Both parts checked, each invalid one remembered in `invalid` under `field.system` /
    /// `field.externalId`.
    pub fn check(&self, field: &str, invalid: &mut validate::Invalid) -> RefKey {
        (
            invalid.check(system(&format!("{field}.system"), &self.system)),
            invalid.check(external_id(
                &format!("{field}.externalId"),
                &self.external_id,
            )),
        )
    }
}

/// The caller's agency's references to these records (of any type: ids are unique across
/// tables), keyed by record, each record's in system order; one statement for the records
/// not read yet in this request. Not personal data: the agency's own ids.
pub async fn refs_of(
    ctx: &Context<'_>,
    record_ids: &[String],
) -> ApiResult<HashMap<String, Vec<external_ref::Model>>> {
    let r = req(ctx)?;
    let db = db(ctx)?;
    r.rows
        .external_refs
        .get(record_ids, |missing| async move {
            let rows = store::external_refs::of_records(db, refs::agency_of(&r.principal), missing)
                .await?
                .into_iter()
                .filter(|m| refs::visible_to(&r.principal, &m.agency_id))
                .collect();
            Ok(group(rows, |m| &m.record_id))
        })
        .await
}

/// Load ahead the caller's agency's references to a list's records when its items ask for
/// `externalRefs` (`wants`: under each item), so the page costs one statement.
pub async fn prefetch(
    ctx: &Context<'_>,
    record_ids: &[String],
    wants: &Wants<'_>,
) -> ApiResult<()> {
    if wants.field("externalRefs").exists() {
        refs_of(ctx, record_ids).await?;
    }
    Ok(())
}

/// The caller's agency's references to one record (from the request's rows when a list
/// loaded them ahead), in system order.
pub async fn of_record(ctx: &Context<'_>, record_id: &str) -> ApiResult<Vec<ExternalRef>> {
    Ok(refs_of(ctx, &[record_id.to_owned()])
        .await?
        .remove(record_id)
        .unwrap_or_default()
        .into_iter()
        .map(|m| ExternalRef {
            system: m.system,
            external_id: m.external_id,
            created_at: m.created_at.into(),
        })
        .collect())
}

/// An optional `ref` argument of a create (`proposeReferral`, `recordActivity`): checked
/// into `invalid` at `ref.system` / `ref.externalId`, with the create's other input.
pub fn optional(
    reference: Option<&ExternalRefInput>,
    invalid: &mut validate::Invalid,
) -> Option<RefKey> {
    reference.map(|r| r.check("ref", invalid))
}

/// Put the reference on the create's WRITE entry: `store::write` stores it in the record's
/// own transaction under the unique index (`store::external_refs::insert_for`), so the same
/// reference already naming another record of the type is CONFLICT and nothing is written.
pub fn carry(entry: &mut Entry, key: Option<RefKey>) {
    entry.external_ref = key.map(|(system, external_id)| RefEntry {
        system,
        external_id,
        input_hash: None,
    });
}

/// The record the caller's agency's reference names, if any (else NOT_FOUND at `field`).
pub async fn record_id(
    ctx: &Context<'_>,
    record_type: &str,
    (system, external_id): &RefKey,
) -> ApiResult<Option<String>> {
    let r = req(ctx)?;
    Ok(store::external_refs::find(
        db(ctx)?,
        refs::agency_of(&r.principal),
        record_type,
        system,
        external_id,
    )
    .await?
    .map(|m| m.record_id))
}

/// A consent by id, known exactly as in `consents(personId:)`: the person first, then the
/// consent among those the caller may know (NOT_FOUND at `field` otherwise).
pub async fn consent(ctx: &Context<'_>, field: &str, id: &str) -> ApiResult<Consent> {
    let consent = store::consents::get(db(ctx)?, id)
        .await?
        .ok_or_else(|| ApiError::not_found(field))?;
    super::consent::of_person(ctx, field, &consent.subject_person_id)
        .await?
        .into_iter()
        .find(|c| c.record_id() == id)
        .ok_or_else(|| ApiError::not_found(field))
}

async fn lookup(
    ctx: &Context<'_>,
    record_type: &str,
    system_name: &str,
    id: &str,
) -> ApiResult<String> {
    let mut invalid = validate::Invalid::default();
    let key = (
        invalid.check(self::system("system", system_name)),
        invalid.check(external_id("externalId", id)),
    );
    invalid.finish(ctx)?;
    record_id(ctx, record_type, &key)
        .await?
        .ok_or_else(|| ApiError::not_found("externalId"))
}

#[derive(Default)]
pub struct ExternalRefQuery;

#[Object]
impl ExternalRefQuery {
    /// 自機関の外部参照で個人を引く / a person by the caller's agency's reference
    async fn person_by_ref(
        &self,
        ctx: &Context<'_>,
        system: String,
        external_id: String,
    ) -> ApiResult<Person> {
        let id = lookup(ctx, "PERSON", &system, &external_id).await?;
        Person::find(ctx, "externalId", &id).await
    }

    /// 自機関の外部参照で世帯を引く / a household by the caller's agency's reference
    async fn household_by_ref(
        &self,
        ctx: &Context<'_>,
        system: String,
        external_id: String,
    ) -> ApiResult<Household> {
        let id = lookup(ctx, "HOUSEHOLD", &system, &external_id).await?;
        super::household::find(ctx, "externalId", &id).await
    }

    /// 自機関の外部参照で相談を引く / a consultation by the caller's agency's reference
    async fn consultation_by_ref(
        &self,
        ctx: &Context<'_>,
        system: String,
        external_id: String,
    ) -> ApiResult<Consultation> {
        let id = lookup(ctx, "CONSULTATION", &system, &external_id).await?;
        super::consultation::find(ctx, "externalId", &id).await
    }

    /// 自機関の外部参照で同意を引く / a consent by the caller's agency's reference
    async fn consent_by_ref(
        &self,
        ctx: &Context<'_>,
        system: String,
        external_id: String,
    ) -> ApiResult<Consent> {
        let id = lookup(ctx, "CONSENT", &system, &external_id).await?;
        consent(ctx, "externalId", &id).await
    }

    /// 自機関の外部参照でつなぎを引く / a referral by the caller's agency's reference
    async fn referral_by_ref(
        &self,
        ctx: &Context<'_>,
        system: String,
        external_id: String,
    ) -> ApiResult<Referral> {
        let id = lookup(ctx, "REFERRAL", &system, &external_id).await?;
        super::referral::find(ctx, "externalId", &id).await
    }

    /// 自機関の外部参照で活動記録を引く (activities(personId:) で見えるものだけ) / an
    /// activity by the caller's agency's reference, as activities(personId:) shows it
    async fn activity_by_ref(
        &self,
        ctx: &Context<'_>,
        system: String,
        external_id: String,
    ) -> ApiResult<Activity> {
        let id = lookup(ctx, "ACTIVITY", &system, &external_id).await?;
        super::activity::find(ctx, "externalId", &id).await
    }
}
