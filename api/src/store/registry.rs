//! Agencies and accounts: the hub's registry.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr,
    EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};

use super::batch::{Part, Union};
use crate::policy::Role;
use entity::{account, agency, service_client};

pub async fn agencies<C: ConnectionTrait>(db: &C) -> Result<Vec<agency::Model>, DbErr> {
    agency::Entity::find()
        .order_by_asc(agency::Column::Code)
        .all(db)
        .await
}

pub async fn agency<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<agency::Model>, DbErr> {
    agency::Entity::find_by_id(id.to_owned()).one(db).await
}

pub async fn agencies_by_ids<C: ConnectionTrait>(
    db: &C,
    ids: Vec<String>,
) -> Result<Vec<agency::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    agency::Entity::find()
        .filter(agency::Column::Id.is_in(ids))
        .all(db)
        .await
}

pub async fn agency_by_code<C: ConnectionTrait>(
    db: &C,
    code: &str,
) -> Result<Option<agency::Model>, DbErr> {
    agency::Entity::find()
        .filter(agency::Column::Code.eq(code))
        .one(db)
        .await
}

pub async fn accounts<C: ConnectionTrait>(
    db: &C,
    agency_id: Option<&str>,
) -> Result<Vec<account::Model>, DbErr> {
    let mut q = account::Entity::find();
    if let Some(a) = agency_id {
        q = q.filter(account::Column::AgencyId.eq(a));
    }
    q.order_by_asc(account::Column::Login).all(db).await
}

pub async fn account<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<account::Model>, DbErr> {
    account::Entity::find_by_id(id.to_owned()).one(db).await
}

pub async fn account_by_login<C: ConnectionTrait>(
    db: &C,
    login: &str,
) -> Result<Option<account::Model>, DbErr> {
    account::Entity::find()
        .filter(account::Column::Login.eq(login))
        .one(db)
        .await
}

/// What authentication reads about the caller: the account, its agency, and the service
/// client a client token names (when it names one).
pub struct Caller {
    pub account: account::Model,
    pub agency: Option<agency::Model>,
    pub client: Option<service_client::Model>,
}

/// The account `account_id` with its agency and, if `client_id` is given, that service
/// client (whoever it belongs to: the caller checks): one statement. None: no such account.
pub async fn caller<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    client_id: Option<&str>,
) -> Result<Option<Caller>, DbErr> {
    let account = Part::of::<account::Entity>("a_")?;
    let agency = Part::of::<agency::Entity>("g_")?;
    let client = Part::of::<service_client::Entity>("s_")?;
    let mut u = Union::new(db.get_database_backend(), &[&account, &agency, &client]);
    let (join, sources) = match client_id {
        Some(id) => (
            format!(
                "LEFT JOIN \"service_client\" s ON s.\"id\" = {}",
                u.param(id)
            ),
            vec![(&account, "a"), (&agency, "g"), (&client, "s")],
        ),
        None => (String::new(), vec![(&account, "a"), (&agency, "g")]),
    };
    let id = u.param(account_id);
    u.branch(
        "a",
        &sources,
        &format!(
            "FROM \"account\" a LEFT JOIN \"agency\" g ON g.\"id\" = a.\"agency_id\" {join} \
             WHERE a.\"id\" = {id}"
        ),
    );
    let Some(row) = u.all(db).await?.into_iter().next() else {
        return Ok(None);
    };
    Ok(Some(Caller {
        account: account.decode(&row)?,
        agency: agency.decode_joined(&row)?,
        client: client.decode_joined(&row)?,
    }))
}

/// The accounts that can administer the hub now: active, holding the admin role, of an
/// active agency (sign-in refuses the accounts of an inactive one).
pub async fn active_admins<C: ConnectionTrait>(db: &C) -> Result<Vec<account::Model>, DbErr> {
    let active_agencies: std::collections::HashSet<String> = agency::Entity::find()
        .filter(agency::Column::Active.eq(true))
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect();
    let accounts = account::Entity::find()
        .filter(account::Column::Active.eq(true))
        .all(db)
        .await?;
    Ok(accounts
        .into_iter()
        .filter(|a| active_agencies.contains(&a.agency_id))
        .filter(|a| Role::parse_set(&a.roles).contains(&Role::Admin))
        .collect())
}

/// The PostgreSQL advisory lock key of changes that may take an admin away.
pub const PG_ADMIN_LOCK: i64 = 32_778_045_498_681_195;

/// Take turns, inside the writing transaction, with every other change that may take an
/// admin away (two admins deactivating each other at once must not both succeed). SQLite's
/// one writer already takes turns.
pub async fn serialize_admin_changes(txn: &DatabaseTransaction) -> Result<(), DbErr> {
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({PG_ADMIN_LOCK})"))
            .await?;
    }
    Ok(())
}

/// Why [`bootstrap`] did nothing.
#[derive(Debug)]
pub enum NotBootstrapped {
    /// An active admin exists (their login).
    AdminExists(String),
    /// The agency code or the login is taken.
    Taken(&'static str),
    Db(DbErr),
}

impl From<DbErr> for NotBootstrapped {
    fn from(e: DbErr) -> Self {
        NotBootstrapped::Db(e)
    }
}

/// The first run of a real installation: the city office `agency` and its first
/// administrator `admin`, in one transaction with their ledger row, only while no active
/// admin exists (so it can also recover a hub whose admins were all deactivated). Under the
/// start lock, so two runs at once make one.
pub async fn bootstrap(
    db: &DatabaseConnection,
    agency: agency::Model,
    admin: account::Model,
) -> Result<(), NotBootstrapped> {
    let lock = super::StartLock::take(db).await?;
    let done = async {
        // The checks read in the writing transaction (on SQLite, a second writer then fails
        // rather than adding a second admin; on PostgreSQL the start lock serialises).
        let txn = db.begin().await?;
        if let Some(a) = active_admins(&txn).await?.into_iter().next() {
            return Err(NotBootstrapped::AdminExists(a.login));
        }
        if agency_by_code(&txn, &agency.code).await?.is_some() {
            return Err(NotBootstrapped::Taken("agency-code"));
        }
        if account_by_login(&txn, &admin.login).await?.is_some() {
            return Err(NotBootstrapped::Taken("login"));
        }
        let entry = crate::audit::Entry {
            account_id: Some(admin.id.clone()),
            agency_id: Some(agency.id.clone()),
            roles: admin.roles.clone(),
            action: "WRITE",
            operation: "bootstrapAdmin".to_owned(),
            record_type: "account".to_owned(),
            record_id: Some(admin.id.clone()),
            detail: serde_json::json!({ "agency": agency.id, "via": "tsunagi admin bootstrap" }),
            ..crate::audit::Entry::default()
        };
        agency::ActiveModel::from(agency).insert(&txn).await?;
        account::ActiveModel::from(admin).insert(&txn).await?;
        crate::audit::append(&txn, vec![entry]).await?;
        txn.commit().await?;
        Ok(())
    }
    .await;
    lock.release().await;
    done
}
