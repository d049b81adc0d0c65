//! 名寄せ candidates (`personMatches`): persons looked up by the indexed reading key
//! (`idx_person_kana_key`) and birth date (`idx_person_birth_date`), never by reading the
//! table into Rust. Each lookup is bounded; the policy then decides every row again.

use chrono::NaiveDate;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::visibility::{self, Own};
use crate::policy::ListScope;
use entity::person;

/// Rows read per lookup (by key, by birth date). A search that reaches it may miss a
/// candidate, never shows one it should not: the caller narrows with more attributes.
pub const LOOKUP_LIMIT: u64 = 200;

/// Persons the scope may know (the visibility index, the same as `persons`) whose reading
/// key is `kana_key` or whose birth date is `birth_date`, each lookup in id order and
/// bounded by [`LOOKUP_LIMIT`]; duplicates removed. Only candidates: the caller decides each
/// one again on the primary's facts.
pub async fn visible_candidates<C: ConnectionTrait>(
    db: &C,
    scope: &ListScope,
    kana_key: &str,
    birth_date: Option<NaiveDate>,
) -> Result<Vec<person::Model>, DbErr> {
    let known = || person::Column::Id.in_subquery(visibility::subjects(scope, Own::Include));
    let mut rows = person::Entity::find()
        .filter(known())
        .filter(person::Column::KanaKey.eq(kana_key))
        .order_by_asc(person::Column::Id)
        .limit(LOOKUP_LIMIT)
        .all(db)
        .await?;
    if let Some(d) = birth_date {
        rows.extend(
            person::Entity::find()
                .filter(known())
                .filter(person::Column::BirthDate.eq(d))
                .order_by_asc(person::Column::Id)
                .limit(LOOKUP_LIMIT)
                .all(db)
                .await?,
        );
    }
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    rows.dedup_by(|a, b| a.id == b.id);
    Ok(rows)
}

/// Ids of persons the scope may not know (by the index) with exactly this reading key and
/// birth date and no address-suppression measure: the only persons that may raise the
/// "probable match elsewhere" hint (`policy::matching`). None at all when any record with
/// this key and birth date, known or not, carries the measure (the same person registered
/// again elsewhere without it must not raise the hint for them). At most `limit`; the caller
/// decides each again.
pub async fn strong_elsewhere<C: ConnectionTrait>(
    db: &C,
    scope: &ListScope,
    kana_key: &str,
    birth_date: NaiveDate,
    limit: u64,
) -> Result<Vec<String>, DbErr> {
    let protected = person::Entity::find()
        .select_only()
        .column(person::Column::Id)
        .filter(person::Column::KanaKey.eq(kana_key))
        .filter(person::Column::BirthDate.eq(birth_date))
        .filter(person::Column::AddressConfidential.eq(true))
        .limit(1)
        .into_tuple::<String>()
        .one(db)
        .await?;
    if protected.is_some() {
        return Ok(Vec::new());
    }
    person::Entity::find()
        .select_only()
        .column(person::Column::Id)
        .filter(person::Column::KanaKey.eq(kana_key))
        .filter(person::Column::BirthDate.eq(birth_date))
        .filter(person::Column::AddressConfidential.eq(false))
        .filter(person::Column::Id.not_in_subquery(visibility::subjects(scope, Own::Include)))
        .order_by_asc(person::Column::Id)
        .limit(limit)
        .into_tuple::<String>()
        .all(db)
        .await
}
