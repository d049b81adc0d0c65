//! デモデータ: the seed city's agencies, staff accounts for each role, a few households with
//! Japanese names and kana, consultations, referrals, consents, and the 山田 household's
//! 多機関協働 workflow. Loaded once (`tsunagi serve --demo`).
//!
//! Apart from the bootstrap (the city office and its first admin, which no API call can
//! create), every record is written through the API itself: each step is a GraphQL
//! mutation executed in-process as the demo account that would make it, so the demo's
//! values pass exactly the validation, normalisation and store functions that a client's
//! input passes, and each write has its own WRITE row in the ledger. A value the API would
//! refuse (or could not read back) stops the load with the step that failed.
//!
//! The steps: [`registry`] (agencies and accounts), [`records`] (persons, households,
//! consultations, consents, referrals), [`workflow`] (the 山田 household's case).

mod records;
mod registry;
mod workflow;

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{anyhow, bail};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use sea_orm::{DatabaseConnection, DbErr, TransactionTrait};
use serde_json::Value;

use crate::audit;
use crate::config::Limits;
use crate::graphql::context::RequestCtx;
use crate::graphql::{self, TsunagiSchema};
use crate::policy::{AgencyKind, Principal, Role};
use crate::store;
use registry::ACCOUNTS;

/// Whether the demo set is already there.
pub async fn loaded(db: &DatabaseConnection) -> Result<bool, DbErr> {
    Ok(store::registry::agency_by_code(db, "houkatsu-chuo")
        .await?
        .is_some())
}

/// The demo's requests, each executed in-process through the schema as one demo account
/// (the same path as `POST /graphql` after authentication: request context, resolvers,
/// read ledger rows appended afterwards).
struct Loader<'a> {
    db: &'a DatabaseConnection,
    schema: TsunagiSchema,
    principals: HashMap<String, Principal>,
    agencies: HashMap<String, String>,
}

impl Loader<'_> {
    /// The principal of a demo account, as authentication would resolve it.
    async fn principal(&mut self, login: &str) -> anyhow::Result<Principal> {
        if let Some(p) = self.principals.get(login) {
            return Ok(p.clone());
        }
        let account = store::registry::account_by_login(self.db, login)
            .await?
            .ok_or_else(|| anyhow!("demo account {login} missing"))?;
        let agency = store::registry::agency(self.db, &account.agency_id)
            .await?
            .ok_or_else(|| anyhow!("agency of {login} missing"))?;
        let p = Principal {
            account_id: account.id,
            agency_id: agency.id,
            agency_kind: AgencyKind::parse(&agency.kind)
                .ok_or_else(|| anyhow!("agency kind {:?}", agency.kind))?,
            roles: Role::parse_set(&account.roles),
            client_id: None,
        };
        self.principals.insert(login.to_owned(), p.clone());
        Ok(p)
    }

    /// Run one GraphQL request as `login`; any error stops the load.
    async fn run(&mut self, login: &str, query: &str, variables: Value) -> anyhow::Result<Value> {
        let principal = self.principal(login).await?;
        let operation = crate::limits::inspect(query, None).operation;
        let ctx = Arc::new(RequestCtx::new(principal.clone(), audit::now_micros(), 4));
        let request = async_graphql::Request::new(query)
            .variables(async_graphql::Variables::from_json(variables))
            .data(ctx.clone());
        let response = self.schema.execute(request).await;
        if !response.errors.is_empty() {
            let errors: Vec<String> = response
                .errors
                .iter()
                .map(|e| format!("{} {:?}", e.message, e.path))
                .collect();
            bail!(
                "デモデータの投入に失敗 / demo step {operation} as {login} failed: {}",
                errors.join("; ")
            );
        }
        let entries = ctx
            .recorder
            .entries(&principal, &operation)
            .ok_or_else(|| anyhow!("ledger entries of {operation}"))?;
        if !entries.is_empty() {
            let txn = self.db.begin().await?;
            audit::append(&txn, entries).await?;
            txn.commit().await?;
        }
        Ok(response.data.into_json()?)
    }

    /// Run a mutation and return the id of the record it answers with (`{ field { id } }`).
    async fn create(
        &mut self,
        login: &str,
        query: &str,
        field: &str,
        variables: Value,
    ) -> anyhow::Result<String> {
        let data = self.run(login, query, variables).await?;
        data[field]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("{field} returned no id"))
    }

    /// [`Loader::create`] once for each `(login, variables)`, in order: the ids.
    async fn create_each<const N: usize>(
        &mut self,
        query: &str,
        field: &str,
        steps: [(&str, Value); N],
    ) -> anyhow::Result<[String; N]> {
        let mut ids = Vec::with_capacity(N);
        for (login, variables) in steps {
            ids.push(self.create(login, query, field, variables).await?);
        }
        ids.try_into()
            .map_err(|_| anyhow!("{field}: one id for each step"))
    }

    fn agency(&self, code: &str) -> anyhow::Result<String> {
        self.agencies
            .get(code)
            .cloned()
            .ok_or_else(|| anyhow!("demo agency {code} missing"))
    }
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn date_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Load the demo data set unless it is there already.
pub async fn load(db: &DatabaseConnection) -> anyhow::Result<()> {
    // Two `serve --demo` started together: the second waits here, then finds it loaded.
    let lock = store::StartLock::take(db).await?;
    let done = load_unlocked(db).await;
    lock.release().await;
    done
}

async fn load_unlocked(db: &DatabaseConnection) -> anyhow::Result<()> {
    if loaded(db).await? {
        tracing::info!("demo data already loaded");
        return Ok(());
    }
    let mut l = Loader {
        db,
        schema: graphql::schema(Some(db.clone()), &Limits::default()),
        principals: HashMap::new(),
        agencies: HashMap::new(),
    };
    registry::bootstrap(&mut l).await?;
    registry::registry(&mut l).await?;
    let son = records::cases_and_records(&mut l).await?;
    workflow::workflow(&mut l, &son).await?;
    tracing::info!("demo data loaded");
    Ok(())
}

/// Print the demo accounts and how to get a token for each.
pub async fn print_accounts(db: &DatabaseConnection) -> Result<(), DbErr> {
    eprintln!("\nデモアカウント / demo accounts — get a token with:");
    for (login, display, code, _, roles) in ACCOUNTS {
        if store::registry::account_by_login(db, login)
            .await?
            .is_some()
        {
            eprintln!(
                "  cargo run -q -p tsunagi-api -- token --account {login:<16} # {display} ({code}, {roles})"
            );
        }
    }
    eprintln!();
    Ok(())
}
