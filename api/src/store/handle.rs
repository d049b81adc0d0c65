//! The database handle resolvers read and write through ([`Db`]): the pool, or the one
//! transaction a whole request runs in (a mutation sent with an `Idempotency-Key`, see
//! [`crate::http::idempotency`]).
//!
//! Inside a request transaction `store::write` begins a SAVEPOINT, so each mutation field's
//! write still rolls back alone on error, and hands its WRITE ledger entries to the request
//! ([`RequestTxn::defer`]) instead of appending them at once: they are appended with the
//! request's reads just before its COMMIT. So the ledger's lock (PostgreSQL) is taken once,
//! at the end, and held only for the append and the commit, not while the rest of the
//! request resolves. Every read of the request goes through the same transaction: it reads
//! its own writes, and on SQLite (one connection, which the transaction holds) nothing waits
//! for a second connection.
//!
//! The store's write functions take any [`Handle`]: a [`Db`] from a resolver, or a plain
//! `DatabaseConnection` (commands, the demo, the seed).

use std::sync::{Arc, Mutex};

use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseExecutor, DatabaseTransaction,
    DbBackend, DbErr, ExecResult, IsolationLevel, QueryResult, SqliteTransactionMode, Statement,
    TransactionError, TransactionOptions, TransactionTrait,
};
use std::future::Future;
use std::pin::Pin;

use crate::audit::Entry;

/// What the store's write functions run on: a connection pool, a transaction, or a [`Db`].
pub trait Handle:
    ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction> + Send + Sync
{
    /// The request transaction this handle is, if it is one: a write inside it defers its
    /// ledger entries to it ([`RequestTxn::defer`]).
    fn request(&self) -> Option<&RequestTxn> {
        None
    }
}

impl Handle for DatabaseConnection {}
impl Handle for DatabaseTransaction {}

/// The database handle of a request (`graphql::context::db`). Cloning is cheap.
#[derive(Clone)]
pub enum Db {
    /// The pool: each statement on a pooled connection, each write its own transaction.
    Pool(DatabaseConnection),
    /// The request's one transaction ([`RequestTxn`]).
    Txn(Arc<RequestTxn>),
}

impl Db {
    fn executor(&self) -> DatabaseExecutor<'_> {
        match self {
            Db::Pool(conn) => DatabaseExecutor::Connection(conn),
            Db::Txn(request) => DatabaseExecutor::Transaction(&request.txn),
        }
    }
}

impl Handle for Db {
    fn request(&self) -> Option<&RequestTxn> {
        match self {
            Db::Pool(_) => None,
            Db::Txn(request) => Some(request),
        }
    }
}

/// One transaction for a whole request, with the WRITE ledger entries of its writes, which
/// are appended just before its commit. Dropped without [`RequestTxn::finish`], it rolls
/// back (as a crash does: nothing of the request stays).
pub struct RequestTxn {
    txn: DatabaseTransaction,
    deferred: Mutex<Vec<Entry>>,
}

impl RequestTxn {
    /// BEGIN on a pooled connection, held until the request ends. On SQLite `BEGIN
    /// IMMEDIATE`: the request will write, and a transaction that has read cannot wait for
    /// the write lock later (SQLite answers SQLITE_BUSY at once rather than risk a deadlock),
    /// while BEGIN IMMEDIATE waits for it (the busy timeout) should another process write.
    pub async fn begin(db: &DatabaseConnection) -> Result<Arc<RequestTxn>, DbErr> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        Ok(Arc::new(RequestTxn {
            txn: db.begin_with_options(options).await?,
            deferred: Mutex::new(Vec::new()),
        }))
    }

    /// The transaction, for the statements of the request's own edge (its key, its answer).
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Keep the ledger entries of a write that committed to its savepoint.
    pub fn defer(&self, entries: Vec<Entry>) {
        // A poisoned lock (a panic mid-request) fails the request at finish.
        if let Ok(mut deferred) = self.deferred.lock() {
            deferred.extend(entries);
        }
    }

    /// The transaction and the deferred entries, for the commit. None while another handle
    /// to it is alive (the request's execution still holds one), or after a panic.
    pub fn finish(this: Arc<RequestTxn>) -> Option<(DatabaseTransaction, Vec<Entry>)> {
        let RequestTxn { txn, deferred } = Arc::try_unwrap(this).ok()?;
        Some((txn, deferred.into_inner().ok()?))
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        self.executor().get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.executor().execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.executor().execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.executor().query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.executor().query_all_raw(stmt).await
    }
}

/// A transaction begun on a [`Db::Txn`] is a SAVEPOINT inside the request's transaction.
#[async_trait::async_trait]
impl TransactionTrait for Db {
    type Transaction = DatabaseTransaction;

    async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        self.executor().begin().await
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<DatabaseTransaction, DbErr> {
        self.executor()
            .begin_with_config(isolation_level, access_mode)
            .await
    }

    async fn begin_with_options(
        &self,
        options: TransactionOptions,
    ) -> Result<DatabaseTransaction, DbErr> {
        self.executor().begin_with_options(options).await
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        self.executor().transaction(callback).await
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        self.executor()
            .transaction_with_config(callback, isolation_level, access_mode)
            .await
    }
}
