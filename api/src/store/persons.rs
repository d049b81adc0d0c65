//! Persons: scoped lists, lookups and writes.

use sea_orm::sea_query::{BinOper, Expr, ExprTrait, Func};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::visibility::{self, Own};
use super::{write, Page};
use crate::audit::Entry;
use crate::error::ApiResult;
use crate::policy::write::person::{ChangePerson, CreatePerson};
use crate::policy::{ListScope, Permit};
use entity::person;

#[derive(Clone, Debug, Default)]
pub struct PersonFilter {
    /// Filter by district, among persons whose location the `location` scope may see.
    pub district: Option<String>,
    /// The caller's CONTACT scope (None when its roles may not see CONTACT at all).
    pub location: Option<ListScope>,
    /// A normalised kana match key prefix (名寄せ key).
    pub kana_key_prefix: Option<String>,
    /// A prefix of the name's 名寄せ key (`kana::name_key`: family name then given name,
    /// spaces removed, 異体字 folded), compared exactly (case-sensitive, on both backends)
    /// with the stored names folded the same way in SQL.
    pub name_prefix: Option<String>,
}

/// Persons the scope may know exist (own agency's or consenting for IDENTITY), in id order,
/// one more than the page so the caller knows whether there is a next page.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    scope: &ListScope,
    filter: &PersonFilter,
    page: &Page,
) -> Result<Vec<person::Model>, DbErr> {
    let mut q = person::Entity::find()
        .filter(person::Column::Id.in_subquery(visibility::subjects(scope, Own::Include)));
    if let Some(d) = &filter.district {
        // Filtering on a location must not reveal a location the caller may not see: the same
        // rule as the policy's (OWN; any basis for CONTACT; for an address_confidential person
        // only a consent naming the agency itself).
        let Some(loc) = &filter.location else {
            return Ok(Vec::new());
        };
        q = q.filter(person::Column::District.eq(d.as_str())).filter(
            Condition::any()
                .add(person::Column::OwnerAgencyId.eq(loc.agency_id.as_str()))
                .add(
                    Condition::all()
                        .add(person::Column::AddressConfidential.eq(false))
                        .add(
                            person::Column::Id.in_subquery(visibility::subjects(loc, Own::Exclude)),
                        ),
                )
                .add(person::Column::Id.in_subquery(visibility::naming_agency(loc))),
        );
    }
    if let Some(k) = &filter.kana_key_prefix {
        q = q.filter(person::Column::KanaKey.starts_with(k.as_str()));
    }
    if let Some(n) = &filter.name_prefix {
        // substr(replace(family_name || given_name, ' ', ''), 1, len) = n: the same on SQLite
        // and PostgreSQL (characters, not bytes; no LIKE wildcards or case folding).
        let len = i32::try_from(n.chars().count()).unwrap_or(i32::MAX);
        let full = Expr::col(person::Column::FamilyName)
            .binary(BinOper::Custom("||"), Expr::col(person::Column::GivenName));
        let mut compact: Expr = Func::cust("replace").arg(full).arg(" ").arg("").into();
        // The stored names are kept as written: fold, in SQL, each spelling of a character
        // the key holds to that character (髙 → 高 for a key with 高). One character for one,
        // so positions and lengths agree; a spelling of a character not in the key cannot
        // equal the key there either way.
        let mut usual: Vec<char> = n.chars().collect();
        usual.sort_unstable();
        usual.dedup();
        for k in usual {
            for s in crate::kana::spellings_of(k) {
                compact = Func::cust("replace")
                    .arg(compact)
                    .arg(s.to_string())
                    .arg(k.to_string())
                    .into();
            }
        }
        q = q.filter(
            Expr::expr(Func::cust("substr").arg(compact).arg(1i32).arg(len)).eq(n.as_str()),
        );
    }
    if let Some(after) = &page.after {
        q = q.filter(person::Column::Id.gt(after.as_str()));
    }
    q.order_by_asc(person::Column::Id)
        .limit(page.first + 1)
        .all(db)
        .await
}

pub async fn by_ids<C: ConnectionTrait>(
    db: &C,
    ids: Vec<String>,
) -> Result<Vec<person::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    person::Entity::find()
        .filter(person::Column::Id.is_in(ids))
        .order_by_asc(person::Column::Id)
        .all(db)
        .await
}

/// Register a new person, with its ledger entries.
pub async fn create(
    db: &impl super::Handle,
    permit: Permit<CreatePerson>,
    model: person::Model,
    entries: Vec<Entry>,
) -> ApiResult<person::Model> {
    debug_assert_eq!(permit.id(), model.id);
    write(db, entries, move |txn| {
        Box::pin(async move {
            let person = [model.id.clone()];
            let out = super::write::insert(txn, model).await?;
            visibility::refresh(txn, &person).await?;
            Ok(out)
        })
    })
    .await
}

/// Write a changed person record over the one read (optimistic: CONFLICT if it changed
/// since), with its ledger entries.
pub async fn update(
    db: &impl super::Handle,
    permit: Permit<ChangePerson>,
    read: &person::Model,
    client_version: i32,
    changed: person::Model,
    entries: Vec<Entry>,
) -> ApiResult<person::Model> {
    debug_assert_eq!(permit.id(), read.id);
    let read = read.clone();
    write(db, entries, move |txn| {
        Box::pin(async move {
            let person = [read.id.clone()];
            let out = super::write::update(txn, &read, client_version, changed).await?;
            // The registering agency is a basis (OWN).
            visibility::refresh(txn, &person).await?;
            Ok(out)
        })
    })
    .await
}

/// A person a bulk import writes: a new one under its permit, or a changed one over the
/// record read (optimistic: CONFLICT if it changed since).
pub enum Imported {
    Create(Permit<CreatePerson>, Box<person::Model>),
    Update(Permit<ChangePerson>, Box<(person::Model, person::Model)>),
}

/// Rows per multi-row INSERT of persons (20 columns: under SQLite's 32,766 bound parameters).
const IMPORT_CHUNK: usize = 1000;

/// Write a batch of imported persons in one write with its ledger entries (the entries carry
/// the external references, stored in the same transaction): new persons with multi-row
/// INSERTs, changed ones each under its guard, and the visibility index refreshed once for
/// all of them. Inside a request transaction (`Handle::request`) this is a savepoint and the
/// entries go to the request, which appends them at its commit.
pub async fn import(
    db: &impl super::Handle,
    persons: Vec<Imported>,
    entries: Vec<Entry>,
) -> ApiResult<usize> {
    write(db, entries, move |txn| {
        Box::pin(async move {
            let mut ids = Vec::with_capacity(persons.len());
            let mut new = Vec::new();
            for p in persons {
                match p {
                    Imported::Create(permit, model) => {
                        let model = *model;
                        debug_assert_eq!(permit.id(), model.id);
                        ids.push(model.id.clone());
                        new.push(person::ActiveModel::from(model));
                    }
                    Imported::Update(permit, models) => {
                        let (read, changed) = *models;
                        debug_assert_eq!(permit.id(), read.id);
                        ids.push(read.id.clone());
                        super::write::update(txn, &read, read.version, changed).await?;
                    }
                }
            }
            let mut new = new.into_iter().peekable();
            while new.peek().is_some() {
                let batch: Vec<_> = new.by_ref().take(IMPORT_CHUNK).collect();
                person::Entity::insert_many(batch)
                    .exec_without_returning(txn)
                    .await?;
            }
            visibility::refresh(txn, &ids).await?;
            Ok(ids.len())
        })
    })
    .await
}
