//! The visibility index (table `visibility`): which persons a reader may know, kept in the
//! same transaction as every write that changes a basis, read by every list and search.
//!
//! - [`subjects`] / [`naming_agency`]: the SQL a list uses to offer candidates; each offered
//!   row is then decided again by `policy::decide` (the index only narrows, it never grants).
//! - [`refresh`]: rewrite the entries of some persons from their records, inside a write's
//!   transaction. Every store write that changes a basis calls it (consents, 支援会議,
//!   memberships, emergency grants, a person's registering agency).
//! - [`rebuild`]: the whole index again (recovery; after a bulk load; an upgrade).
//! - [`verify`]: compare the index with `decide` for every agency, person, category and
//!   purpose at one instant, and report each difference.
//!
//! The entries themselves are `policy::index::index_entries`: the rule lives in the policy.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

use super::facts;
use crate::policy::index::{self, EntryBasis, IndexEntry};
use crate::policy::{AgencyKind, Category, ListScope, Purpose};
use entity::{agency, emergency_grant, person, visibility};

/// The stored form of "every category / every purpose".
const ANY: &str = "*";

/// Whether a list counts the person's registering agency (OWN of the person record) as a
/// basis: the person list does; lists of records another agency holds (consultations,
/// households, activities) do not, since there OWN is the record's holder, not the person's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Own {
    Include,
    Exclude,
}

/// The persons the index lets the scope know, now: an entry of the scope's agency, its kind
/// or its account, for its category (or every one) and purpose (or every one), open at the
/// scope's `now`. The SQL twin of `policy::index::entries_allow`.
pub fn subjects(scope: &ListScope, own: Own) -> SelectStatement {
    let grantees: Vec<String> = index::grantees(scope).iter().map(|g| g.key()).collect();
    let mut q = Query::select();
    q.column(visibility::Column::PersonId)
        .from(visibility::Entity)
        .and_where(visibility::Column::Grantee.is_in(grantees))
        .and_where(visibility::Column::Category.is_in([scope.category.as_str(), ANY]))
        .and_where(visibility::Column::Purpose.is_in([scope.purpose.as_str(), ANY]));
    if own == Own::Exclude {
        q.and_where(visibility::Column::Basis.ne(EntryBasis::Own.as_str()));
    }
    open_at(&mut q, scope.now);
    q
}

/// Whether the index lets any of `scopes` know the person in `person` (a column of the outer
/// query), now: [`subjects`] for several scopes at once, as a correlated `EXISTS` that probes
/// the index by person (the covering `idx_visibility_probe`) for each outer row. This is
/// for a statement that reads a narrow range of rows, each naming a person (the change feed
/// reads the ledger in windows of positions): an `IN (subjects)` per scope makes the
/// database hash every person the scope may know — tens of thousands at city scale, read
/// again by every statement — before it looks at one row. On PostgreSQL the subquery carries
/// `OFFSET 0`, which keeps the planner from turning the `EXISTS` into that same hash. None
/// when there is no scope (nothing is known through the index).
pub fn knows_any(
    scopes: &[ListScope],
    person: (impl sea_orm::Iden + 'static, impl sea_orm::Iden + 'static),
    backend: DatabaseBackend,
) -> Option<sea_orm::sea_query::SimpleExpr> {
    let first = scopes.first()?;
    let mut q = Query::select();
    q.expr(Expr::val(1))
        .from(visibility::Entity)
        .and_where(Expr::col((visibility::Entity, visibility::Column::PersonId)).equals(person));
    let mut any = sea_orm::Condition::any();
    for scope in scopes {
        let grantees: Vec<String> = index::grantees(scope).iter().map(|g| g.key()).collect();
        any = any.add(
            sea_orm::Condition::all()
                .add(visibility::Column::Grantee.is_in(grantees))
                .add(visibility::Column::Category.is_in([scope.category.as_str(), ANY]))
                .add(visibility::Column::Purpose.is_in([scope.purpose.as_str(), ANY])),
        );
    }
    q.cond_where(any);
    open_at(&mut q, first.now);
    if backend == DatabaseBackend::Postgres {
        q.offset(0);
    }
    Some(Expr::exists(q))
}

/// The persons with a consent naming the scope's agency itself (not its kind) for its
/// category and purpose, now: what an address_confidential location needs. The SQL twin of
/// `policy::index::entries_name_agency`.
pub fn naming_agency(scope: &ListScope) -> SelectStatement {
    let agency = index::Grantee::Agency(scope.agency_id.clone()).key();
    let mut q = Query::select();
    q.column(visibility::Column::PersonId)
        .from(visibility::Entity)
        .and_where(visibility::Column::Grantee.eq(agency))
        .and_where(visibility::Column::Category.eq(scope.category.as_str()))
        .and_where(visibility::Column::Purpose.eq(scope.purpose.as_str()))
        .and_where(visibility::Column::Basis.eq(EntryBasis::Consent.as_str()));
    open_at(&mut q, scope.now);
    q
}

fn open_at(q: &mut SelectStatement, now: DateTime<Utc>) {
    q.and_where(
        Expr::col(visibility::Column::ValidFrom)
            .is_null()
            .or(Expr::col(visibility::Column::ValidFrom).lte(now)),
    )
    .and_where(
        Expr::col(visibility::Column::ValidUntil)
            .is_null()
            .or(Expr::col(visibility::Column::ValidUntil).gt(now)),
    );
}

fn to_row(e: IndexEntry) -> visibility::Model {
    visibility::Model {
        person_id: e.person_id,
        grantee: e.grantee.key(),
        category: e.category.map_or(ANY, Category::as_str).to_owned(),
        purpose: e.purpose.map_or(ANY, Purpose::as_str).to_owned(),
        basis: e.basis.as_str().to_owned(),
        source_id: e.source_id,
        valid_from: e.from,
        valid_until: e.until,
    }
}

/// Rows per INSERT: 8 columns each, well under SQLite's 32,766 bound parameters.
const INSERT_CHUNK: usize = 1000;

/// Rewrite the index entries of `person_ids` from their records (consents, 支援会議 of their
/// households, open grants, the registering agency), on `db` — inside the transaction of the
/// write that changed them, so the index and the records commit together. Persons that do not
/// exist keep no entries.
pub async fn refresh<C: ConnectionTrait>(db: &C, person_ids: &[String]) -> Result<(), DbErr> {
    let ids: BTreeSet<&String> = person_ids.iter().collect();
    if ids.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = ids.into_iter().cloned().collect();
    for chunk in ids.chunks(INSERT_CHUNK) {
        // Two writes about one person (two consents recorded at once) must not refresh its
        // entries side by side: each would read the records without the other's, and the
        // second to insert would collide with the first's rows (a CONFLICT answer for a write
        // that conflicts with nothing) or, worse, leave the index without the first's
        // entries. On PostgreSQL the person rows are locked first, in id order (no deadlock
        // between refreshes); the second waits for the first to commit and then, under READ
        // COMMITTED, reads its records. SQLite has one writer.
        if db.get_database_backend() == DatabaseBackend::Postgres {
            person::Entity::find()
                .select_only()
                .column(person::Column::Id)
                .filter(person::Column::Id.is_in(chunk.to_vec()))
                .order_by_asc(person::Column::Id)
                .lock_exclusive()
                .into_tuple::<String>()
                .all(db)
                .await?;
        }
        visibility::Entity::delete_many()
            .filter(visibility::Column::PersonId.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
        let persons = super::persons::by_ids(db, chunk.to_vec()).await?;
        insert_entries(db, &persons).await?;
    }
    Ok(())
}

async fn insert_entries<C: ConnectionTrait>(
    db: &C,
    persons: &[person::Model],
) -> Result<(), DbErr> {
    let refs: Vec<&person::Model> = persons.iter().collect();
    let facts = facts::for_persons(db, &refs).await?;
    let mut rows: Vec<visibility::Model> = Vec::new();
    for p in persons {
        if let Some(f) = facts.get(&p.id) {
            rows.extend(index::index_entries(&f.facts).into_iter().map(to_row));
        }
    }
    for chunk in rows.chunks(INSERT_CHUNK) {
        let models = chunk
            .iter()
            .cloned()
            .map(sea_orm::IntoActiveModel::into_active_model);
        visibility::Entity::insert_many(models).exec(db).await?;
    }
    Ok(())
}

/// Persons read per step of a rebuild or a verify.
const STEP: u64 = 2000;

/// Make the whole index again from the records, in one transaction (readers see the old index
/// until it commits). Returns the number of entries written.
pub async fn rebuild(db: &DatabaseConnection) -> Result<u64, DbErr> {
    let txn = db.begin().await?;
    visibility::Entity::delete_many().exec(&txn).await?;
    let mut after: Option<String> = None;
    loop {
        let mut q = person::Entity::find().order_by_asc(person::Column::Id);
        if let Some(a) = &after {
            q = q.filter(person::Column::Id.gt(a.as_str()));
        }
        let persons = q.limit(STEP).all(&txn).await?;
        let Some(last) = persons.last() else { break };
        after = Some(last.id.clone());
        insert_entries(&txn, &persons).await?;
    }
    let n = visibility::Entity::find().count(&txn).await?;
    txn.commit().await?;
    Ok(n)
}

/// Fill the index when it is empty while persons exist (a database from before the index):
/// run at start-up after the migrations, so an upgrade needs no step of its own.
pub async fn fill_if_empty(db: &DatabaseConnection) -> Result<Option<u64>, DbErr> {
    if visibility::Entity::find().one(db).await?.is_some()
        || person::Entity::find().one(db).await?.is_none()
    {
        return Ok(None);
    }
    rebuild(db).await.map(Some)
}

/// One disagreement between the index and `decide`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Difference {
    pub person_id: String,
    /// `AGENCY:<id>` or `ACCOUNT:<id>` (an account with a break-glass grant).
    pub reader: String,
    pub category: Category,
    pub purpose: Purpose,
    /// Which list rule: "known" (with OWN), "shared" (without OWN), "names-agency".
    pub rule: &'static str,
    /// What `decide` says (the index says the opposite).
    pub decide: bool,
}

/// The result of [`verify`].
#[derive(Debug, Default)]
pub struct Verification {
    pub persons: u64,
    /// (reader, person, category, purpose, rule) combinations compared.
    pub compared: u64,
    pub differences: Vec<Difference>,
}

/// Compare the index with `decide` at `now`: for every agency (as itself, by its kind) and
/// every account holding a break-glass grant, every person, category and purpose, whether the
/// list SQL ([`subjects`] with and without OWN, [`naming_agency`]) offers the person exactly
/// when the policy's oracle (`policy::index::knows`, `consent_names_agency`: `decide` itself)
/// says the reader may know them.
pub async fn verify(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<Verification, DbErr> {
    let mut readers: Vec<(String, String, AgencyKind)> = Vec::new();
    let agencies = agency::Entity::find().all(db).await?;
    let kind_of: HashMap<String, AgencyKind> = agencies
        .iter()
        .filter_map(|a| AgencyKind::parse(&a.kind).map(|k| (a.id.clone(), k)))
        .collect();
    for (id, kind) in &kind_of {
        // No account: the agency's own and consent/meeting bases only.
        readers.push((String::new(), id.clone(), *kind));
    }
    let grants = emergency_grant::Entity::find().all(db).await?;
    let accounts: BTreeSet<(String, String)> = grants
        .into_iter()
        .map(|g| (g.account_id, g.agency_id))
        .collect();
    for (account, agency_id) in accounts {
        if let Some(kind) = kind_of.get(&agency_id) {
            readers.push((account, agency_id, *kind));
        }
    }
    readers.sort();

    // Every person's facts, read once.
    let mut all: Vec<(String, crate::policy::SubjectFacts)> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut q = person::Entity::find().order_by_asc(person::Column::Id);
        if let Some(a) = &after {
            q = q.filter(person::Column::Id.gt(a.as_str()));
        }
        let persons = q.limit(STEP).all(db).await?;
        let Some(last) = persons.last() else { break };
        after = Some(last.id.clone());
        let refs: Vec<&person::Model> = persons.iter().collect();
        let mut facts = facts::for_persons(db, &refs).await?;
        for p in &persons {
            if let Some(f) = facts.remove(&p.id) {
                all.push((p.id.clone(), f.facts));
            }
        }
    }
    let mut out = Verification {
        persons: all.len() as u64,
        ..Verification::default()
    };
    for (account, agency_id, kind) in &readers {
        for category in Category::ALL {
            for purpose in Purpose::ALL {
                let scope = ListScope {
                    account_id: account.clone(),
                    agency_id: agency_id.clone(),
                    agency_kind: *kind,
                    category: *category,
                    purpose: *purpose,
                    now,
                };
                let known = person_set(db, subjects(&scope, Own::Include)).await?;
                let shared = person_set(db, subjects(&scope, Own::Exclude)).await?;
                let named = person_set(db, naming_agency(&scope)).await?;
                let reader = if account.is_empty() {
                    format!("AGENCY:{agency_id}")
                } else {
                    format!("ACCOUNT:{account}")
                };
                for (id, facts) in &all {
                    let checks = [
                        ("known", index::knows(facts, &scope, true), &known),
                        ("shared", index::knows(facts, &scope, false), &shared),
                        (
                            "names-agency",
                            index::consent_names_agency(facts, &scope),
                            &named,
                        ),
                    ];
                    for (rule, decide, set) in checks {
                        out.compared += 1;
                        if decide != set.contains(id) {
                            out.differences.push(Difference {
                                person_id: id.clone(),
                                reader: reader.clone(),
                                category: *category,
                                purpose: *purpose,
                                rule,
                                decide,
                            });
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

async fn person_set(
    db: &DatabaseConnection,
    q: SelectStatement,
) -> Result<BTreeSet<String>, DbErr> {
    let rows = db.query_all(&q).await?;
    rows.iter()
        .map(|r| r.try_get_by_index::<String>(0))
        .collect()
}
