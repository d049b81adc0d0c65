//! The one write path. Every insert, update and transaction of the hub goes through here:
//!
//! - [`write`] runs the rows of one change in a transaction and appends the change's ledger
//!   entries in that same transaction, so a change is stored with its ledger rows or not at
//!   all (a failed ledger append rolls the rows back).
//! - [`update`] writes a changed record under its optimistic guard ([`Versioned`]): only if
//!   the row is still at the version the caller read and the client sent; CONFLICT with the
//!   current version otherwise, and nothing is written.
//! - [`guarded`] is the same for a row without a version whose change is guarded by its state
//!   (a grant still open, a membership not yet ended).
//! - [`create`] and [`change`] are a whole write of one versioned record (a new row, or a
//!   changed one under its guard) with its ledger entries, taking the `policy::Permit` for
//!   that record.
//!
//! The domain modules of `store` build their writes from these; the GraphQL layer never
//! writes. A store write function takes the `policy::Permit` that allowed it.

use sea_orm::sea_query::IntoCondition;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, FromQueryResult, IntoActiveModel, ModelTrait, QueryFilter,
};
use std::future::Future;
use std::pin::Pin;

use crate::audit::{self, Entry};
use crate::error::{ApiError, ApiResult};
use crate::policy::Permit;

pub use super::handle::Handle;

/// The connection a write's rows run on.
pub type Txn = DatabaseTransaction;

/// What a write's closure returns: its rows' future, borrowing the transaction.
pub type Rows<'t, T> = Pin<Box<dyn Future<Output = ApiResult<T>> + Send + 't>>;

/// Run `rows` in one transaction, append `entries` to the ledger in it, commit. An error
/// from `rows` or from the ledger rolls everything back. Inside a request transaction
/// ([`Handle::request`]) the transaction is a SAVEPOINT and the entries go to the request,
/// which appends them just before its own commit (`store::handle`).
///
/// ```ignore
/// store::write(db, entries, |txn| Box::pin(async move {
///     person::ActiveModel::from(model).insert(txn).await?;
///     Ok(())
/// })).await?;
/// ```
pub async fn write<T, F>(db: &impl Handle, entries: Vec<Entry>, rows: F) -> ApiResult<T>
where
    T: Send,
    F: for<'t> FnOnce(&'t Txn) -> Rows<'t, T> + Send,
{
    let txn = db.begin().await?;
    let out = rows(&txn).await?;
    // An upsert's reference, under its unique index: a concurrent upsert of the same
    // reference fails here (CONFLICT) and the whole write rolls back.
    super::external_refs::insert_for(&txn, &entries).await?;
    let deferred = match db.request() {
        Some(request) => Some((request, entries)),
        None => {
            audit::append(&txn, entries).await?;
            None
        }
    };
    // Subscribers of every hub process are woken by the commit (docs/design.md §4.15).
    super::wake::announce(&txn).await?;
    // From here on the request may have written: it is never shed as "nothing done".
    crate::shed::note_commit();
    txn.commit().await?;
    super::wake::committed(db);
    if let Some((request, entries)) = deferred {
        request.defer(entries);
    }
    Ok(out)
}

/// Insert a new row (inside [`write`]).
pub async fn insert<M>(txn: &Txn, model: M) -> ApiResult<M>
where
    M: ModelTrait + IntoActiveModel<<M::Entity as EntityTrait>::ActiveModel>,
    M::Entity: EntityTrait<Model = M>,
    <M::Entity as EntityTrait>::ActiveModel: ActiveModelBehavior + Send,
{
    Ok(model.into_active_model().insert(txn).await?)
}

/// A record under optimistic concurrency: it carries a `version` that every change bumps.
pub trait Versioned:
    ModelTrait + IntoActiveModel<<Self::Entity as EntityTrait>::ActiveModel> + Clone + Send + Sync
{
    fn id_column() -> <Self::Entity as EntityTrait>::Column;
    fn version_column() -> <Self::Entity as EntityTrait>::Column;
    fn id(&self) -> &str;
    fn version(&self) -> i32;
    fn set_version(&mut self, version: i32);
}

macro_rules! versioned {
    ($($m:ident),* $(,)?) => {$(
        impl Versioned for entity::$m::Model {
            fn id_column() -> entity::$m::Column {
                entity::$m::Column::Id
            }
            fn version_column() -> entity::$m::Column {
                entity::$m::Column::Version
            }
            fn id(&self) -> &str {
                &self.id
            }
            fn version(&self) -> i32 {
                self.version
            }
            fn set_version(&mut self, version: i32) {
                self.version = version;
            }
        }
    )*};
}

versioned!(
    account,
    agency,
    case_involvement,
    community_resource,
    consent,
    consultation,
    household,
    meeting,
    participation_placement,
    person,
    person_link,
    referral,
    service_client,
    support_case,
);

/// The version a guarded update writes after the client's `version`. Saturating: a client's
/// i32::MAX (never a stored version) must not overflow (a panic in debug builds); the
/// guarded update then matches no row and answers CONFLICT.
pub fn next_version(version: i32) -> i32 {
    version.saturating_add(1)
}

/// Write `changed` (the record as read, with the caller's changes) over the row, inside
/// [`write`], only if the client sent the version that was read and the row is still at it.
/// The version is bumped; every column of `changed` is written, which the guard makes safe:
/// the row is exactly as read. A stale version is CONFLICT naming the current version.
pub async fn update<M>(txn: &Txn, read: &M, client_version: i32, mut changed: M) -> ApiResult<M>
where
    M: Versioned,
    M::Entity: EntityTrait<Model = M>,
{
    if changed.id() != read.id() {
        // A changed copy of another record: a bug in the caller, never a rename.
        return Err(ApiError::internal(
            "store update",
            format!("{} written over {}", changed.id(), read.id()),
        ));
    }
    if client_version != read.version() {
        return Err(ApiError::stale(read.version()));
    }
    changed.set_version(next_version(read.version()));
    let res = M::Entity::update_many()
        .set(changed.clone().into_active_model().reset_all())
        .filter(M::id_column().eq(read.id()))
        .filter(M::version_column().eq(read.version()))
        .exec(txn)
        .await?;
    if res.rows_affected == 0 {
        let current = M::Entity::find()
            .filter(M::id_column().eq(read.id()))
            .one(txn)
            .await?
            .map_or(read.version(), |m| m.version());
        return Err(ApiError::stale(current));
    }
    Ok(changed)
}

/// An UPDATE of rows without a version, guarded by `guard` on the row as read (a grant that
/// is still open, a membership not yet ended): CONFLICT with `message` when no row matched,
/// because someone changed it meanwhile.
pub async fn guarded<E: EntityTrait>(
    txn: &Txn,
    change: E::ActiveModel,
    guard: impl IntoCondition,
    message: &'static str,
) -> ApiResult<()>
where
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    let res = E::update_many().set(change).filter(guard).exec(txn).await?;
    if res.rows_affected == 0 {
        return Err(ApiError::conflict(message));
    }
    Ok(())
}

/// A versioned entity model as the whole-record writes below take it (every [`Versioned`]
/// model is one), so that their callers need no SeaORM bounds.
pub trait Record: Versioned + 'static {
    /// The record `id`, as read before a change.
    fn find<'a, C: ConnectionTrait>(db: &'a C, id: &'a str) -> Rows<'a, Option<Self>>;
    /// [`insert`] it.
    fn insert_in(self, txn: &Txn) -> Rows<'_, Self>;
    /// [`update`] the record as `read` to this, its changed copy.
    fn update_in(self, txn: &Txn, read: Self, client_version: i32) -> Rows<'_, Self>;
}

impl<M> Record for M
where
    M: Versioned + FromQueryResult + 'static,
    M::Entity: EntityTrait<Model = M>,
    <M::Entity as EntityTrait>::ActiveModel: ActiveModelBehavior + Send,
{
    fn find<'a, C: ConnectionTrait>(db: &'a C, id: &'a str) -> Rows<'a, Option<M>> {
        Box::pin(async move {
            Ok(M::Entity::find()
                .filter(M::id_column().eq(id))
                .one(db)
                .await?)
        })
    }

    fn insert_in(self, txn: &Txn) -> Rows<'_, M> {
        Box::pin(insert(txn, self))
    }

    fn update_in(self, txn: &Txn, read: M, client_version: i32) -> Rows<'_, M> {
        Box::pin(async move { update(txn, &read, client_version, self).await })
    }
}

/// A record by id, as read before a change.
pub async fn read<M: Record>(db: &impl ConnectionTrait, id: &str) -> ApiResult<Option<M>> {
    M::find(db, id).await
}

/// Store a new record with its ledger entries, as the policy's `permit` (granted for the
/// new record's id) allows.
pub async fn create<W, M: Record>(
    db: &impl Handle,
    permit: Permit<W>,
    model: M,
    entries: Vec<Entry>,
) -> ApiResult<M> {
    permitted(&permit, model.id())?;
    write(db, entries, move |txn| model.insert_in(txn)).await
}

/// Write `changed` over the record as `read`, with its ledger entries, as the policy's
/// `permit` allows: [`update`] in its own [`write`]. Returns the record as stored.
pub async fn change<W, M: Record>(
    db: &impl Handle,
    permit: Permit<W>,
    read: &M,
    client_version: i32,
    changed: M,
    entries: Vec<Entry>,
) -> ApiResult<M> {
    change_checked(
        db,
        permit,
        (read, client_version),
        changed,
        entries,
        no_check,
    )
    .await
}

/// The check of a change that depends on nothing else ([`change_checked`]).
pub fn no_check(_: &Txn) -> Rows<'_, ()> {
    Box::pin(async { Ok(()) })
}

/// A check for [`change_checked`] from a closure (names the closure's higher-ranked type).
pub fn txn_check<C>(check: C) -> C
where
    C: for<'t> FnOnce(&'t Txn) -> Rows<'t, ()> + Send + 'static,
{
    check
}

/// [`change`], with `check` run first in the same transaction: for a rule that depends on
/// other rows (the hub keeps an active admin), decided again where no concurrent change can
/// come between the check and the write. An error from `check` writes nothing.
pub async fn change_checked<W, M: Record, C>(
    db: &impl Handle,
    permit: Permit<W>,
    (read, client_version): (&M, i32),
    changed: M,
    entries: Vec<Entry>,
    check: C,
) -> ApiResult<M>
where
    C: for<'t> FnOnce(&'t Txn) -> Rows<'t, ()> + Send + 'static,
{
    permitted(&permit, read.id())?;
    let read = read.clone();
    write(db, entries, move |txn| {
        Box::pin(async move {
            check(txn).await?;
            changed.update_in(txn, read, client_version).await
        })
    })
    .await
}

/// A permit is for one record: writing another with it is a bug, refused.
fn permitted<W>(permit: &Permit<W>, id: &str) -> ApiResult<()> {
    if permit.id() == id {
        Ok(())
    } else {
        Err(ApiError::internal(
            "store write",
            format!("permit for {} used on {id}", permit.id()),
        ))
    }
}
