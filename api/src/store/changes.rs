//! The change feed's reads (`Query.changes`, docs/design.md §4.13): the ledger's WRITE rows
//! in `seq` order, through the partial index `idx_audit_event_writes` (`WHERE action =
//! 'WRITE'`), and the few columns of referrals and activities that decide who may know them.
//! Always on the primary: the feed's order rests on what the primary has committed.
//!
//! A read is bounded by ledger positions (`after < seq <= upto`, `upto` at most the ledger's
//! end as read before: every row up to it is committed) and offers only *candidates*: rows
//! the caller's agency wrote, rows of the record types decided whatever their person, rows
//! about a person the visibility index lets the caller know for a category an event needs, a
//! household's rows by its agency or a member so known, a referral's by its parties
//! ([`FeedScope`]). Each is checked row by row through an index (`EXISTS … OFFSET 0`), so a
//! statement's cost follows the rows it reads, not the number of persons the caller knows. The index only narrows what is read; every candidate is decided
//! again on the facts of now, so a divergence could only drop an event, never show one (as
//! for lists, ADR 0002; `tsunagi visibility verify` checks the index).
//!
//! The predicate `action = 'WRITE'` is written as a literal, not bound: a planner can use a
//! partial index only when it can prove the query's WHERE implies the index's, which neither
//! PostgreSQL (for a generic plan of a prepared statement) nor SQLite does for a parameter.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect,
};

use super::visibility;
use crate::policy::ListScope;
use entity::{activity, audit_event, household, household_member, referral};

/// Which WRITE rows are candidates of one caller's feed (see the module's documentation).
pub struct FeedScope {
    /// Rows its agency wrote.
    pub agency_id: String,
    /// Record types whose rows are candidates whatever person they name.
    pub unscoped: Vec<&'static str>,
    /// Rows about a person the index lets it know in one of these scopes.
    pub scopes: Vec<ListScope>,
}

impl FeedScope {
    /// Each row is checked against the index by its person (one probe per row, however many
    /// persons the caller may know: `visibility::knows_any`), not the other way round.
    fn condition(&self, backend: DatabaseBackend) -> Condition {
        use audit_event::Column as A;
        let mut any = Condition::any().add(A::AgencyId.eq(self.agency_id.as_str()));
        if !self.unscoped.is_empty() {
            any = any.add(A::RecordType.is_in(self.unscoped.iter().copied()));
        }
        let person = (audit_event::Entity, A::SubjectPersonId);
        if let Some(known) = visibility::knows_any(&self.scopes, person, backend) {
            any = any.add(known);
        }
        any.add(self.household_rows(backend))
            .add(self.referral_rows(backend))
    }

    /// A household's own rows (they name no person): its agency registered it, or a member
    /// (current or past) the index lets the caller know (`knows_household`, which needs
    /// HOUSEHOLD).
    fn household_rows(&self, backend: DatabaseBackend) -> Condition {
        use audit_event::Column as A;
        use household_member::Column as M;
        let owned = Query::select()
            .expr(Expr::val(1))
            .from(household::Entity)
            .and_where(
                Expr::col((household::Entity, household::Column::Id))
                    .equals((audit_event::Entity, A::RecordId)),
            )
            .and_where(household::Column::OwnerAgencyId.eq(self.agency_id.as_str()))
            .to_owned();
        let mut by_member = Query::select();
        by_member
            .expr(Expr::val(1))
            .from(household_member::Entity)
            .and_where(
                Expr::col((household_member::Entity, M::HouseholdId))
                    .equals((audit_event::Entity, A::RecordId)),
            );
        // Every candidate scope, not HOUSEHOLD's alone: wider (the rows are decided again),
        // and one probe by person through `idx_visibility_probe` serves them all.
        let member = (household_member::Entity, M::PersonId);
        let by_member = match visibility::knows_any(&self.scopes, member, backend) {
            Some(known) => {
                by_member.and_where(known);
                probe(by_member, backend)
            }
            None => Expr::val(false),
        };
        Condition::all()
            .add(A::RecordType.eq("household"))
            .add(Condition::any().add(probe(owned, backend)).add(by_member))
    }

    /// A referral's rows: the caller's agency is one of its parties (`is_party`).
    fn referral_rows(&self, backend: DatabaseBackend) -> Condition {
        use referral::Column as R;
        let q = Query::select()
            .expr(Expr::val(1))
            .from(referral::Entity)
            .and_where(
                Expr::col((referral::Entity, R::Id))
                    .equals((audit_event::Entity, audit_event::Column::RecordId)),
            )
            .cond_where(
                Condition::any()
                    .add(R::FromAgencyId.eq(self.agency_id.as_str()))
                    .add(R::ToAgencyId.eq(self.agency_id.as_str())),
            )
            .to_owned();
        Condition::all()
            .add(audit_event::Column::RecordType.eq("referral"))
            .add(probe(q, backend))
    }
}

/// `EXISTS (q)` checked row by row (see `visibility::knows_any` for the `OFFSET 0`).
fn probe(mut q: SelectStatement, backend: DatabaseBackend) -> SimpleExpr {
    if backend == DatabaseBackend::Postgres {
        q.offset(0);
    }
    Expr::exists(q)
}

/// The ledger's last position (0 when empty). Every row up to it is committed.
pub async fn tail<C: ConnectionTrait>(db: &C) -> Result<i64, DbErr> {
    let last: Option<i64> = audit_event::Entity::find()
        .select_only()
        .column(audit_event::Column::Seq)
        .order_by_desc(audit_event::Column::Seq)
        .into_tuple()
        .one(db)
        .await?;
    Ok(last.unwrap_or(0))
}

/// One WRITE row as the feed reads it (never its bases, hash or roles).
#[derive(Clone, Debug, FromQueryResult)]
pub struct WriteRow {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub agency_id: Option<String>,
    pub operation: String,
    pub record_type: String,
    pub record_id: Option<String>,
    pub subject_person_id: Option<String>,
    pub detail: String,
}

/// Up to `limit` candidate WRITE rows in `after < seq <= upto` whose record type is one of
/// `record_types`, in `seq` order. Every row a statement sees was committed before it
/// started, and, because appends hold the chain lock until they commit, so was every row
/// with a lower `seq`: what one statement sees is a prefix of the ledger (docs/design.md
/// §4.13).
pub async fn writes_in<C: ConnectionTrait>(
    db: &C,
    (after, upto): (i64, i64),
    record_types: &[&str],
    scope: &FeedScope,
    limit: u64,
) -> Result<Vec<WriteRow>, DbErr> {
    use audit_event::Column as A;
    if record_types.is_empty() {
        return Ok(Vec::new());
    }
    audit_event::Entity::find()
        .select_only()
        .columns([
            A::Seq,
            A::At,
            A::AgencyId,
            A::Operation,
            A::RecordType,
            A::RecordId,
            A::SubjectPersonId,
            A::Detail,
        ])
        // A literal, so that the partial index applies (see the module's documentation).
        .filter(Expr::cust("\"audit_event\".\"action\" = 'WRITE'"))
        .filter(A::Seq.gt(after))
        .filter(A::Seq.lte(upto))
        .filter(A::RecordType.is_in(record_types.iter().copied()))
        .filter(scope.condition(db.get_database_backend()))
        .order_by_asc(A::Seq)
        .limit(limit)
        .into_model::<WriteRow>()
        .all(db)
        .await
}

/// A referral's parties and person: (id, sender, receiver, person).
pub type Parties = (String, String, String, String);

/// The parties of these referrals (those that exist).
pub async fn referral_parties<C: ConnectionTrait>(
    db: &C,
    ids: Vec<String>,
) -> Result<Vec<Parties>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    use referral::Column as R;
    referral::Entity::find()
        .select_only()
        .columns([R::Id, R::FromAgencyId, R::ToAgencyId, R::PersonId])
        .filter(R::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await
}

/// The recording agency and person of these activities (those that exist): (id, agency,
/// person).
pub async fn activity_holders<C: ConnectionTrait>(
    db: &C,
    ids: Vec<String>,
) -> Result<Vec<(String, String, String)>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    use activity::Column as Act;
    activity::Entity::find()
        .select_only()
        .columns([Act::Id, Act::AgencyId, Act::PersonId])
        .filter(Act::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await
}
