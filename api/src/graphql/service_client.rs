//! Service clients (admin): OAuth 2.0 client credentials for SERVICE accounts. A secret is
//! returned once, by `createServiceClient` or `rotateServiceClientSecret`, and is stored only
//! as an argon2id hash; no query returns the secret or its hash, and the ledger records
//! which fields changed, never their values. Agency software exchanges the credentials for
//! short-lived tokens at POST /oauth/token (see [`crate::oauth`]).

use std::collections::BTreeSet;

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};

use super::context::{db, req};
use super::enums::Role;
use super::registry::{change_registered, create_record, refused, Account, Registered};
use super::scalars::DateTime;
use super::validate;
use crate::error::{ApiError, ApiResult};
use crate::oauth::{grantable, secret};
use crate::policy::write::registry::{
    may_change_client, may_issue_client, ChangeClient, ClientAccount, Unfit,
};
use crate::policy::{self, Action, Principal, Ruling};
use crate::store;
use entity::service_client;

/// サービスクライアント (連携システムの認証情報) / a service client (credentials of agency
/// software); the secret is never shown again after it is issued
pub struct ServiceClient(pub service_client::Model);

#[Object]
impl ServiceClient {
    /// クライアントID (POST /oauth/token の client_id) / the client_id for POST /oauth/token
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// 名称 / name
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// 付与できるスコープ (ロール) / scopes the client may be granted (roles)
    async fn scopes(&self) -> Vec<Role> {
        policy::Role::parse_set(&self.0.scopes)
            .into_iter()
            .map(Into::into)
            .collect()
    }
    /// 有効 (失効していない) / active (not revoked)
    async fn active(&self) -> bool {
        self.0.revoked_at.is_none()
    }
    /// 現在のシークレットの設定日時 / when the current secret was set
    async fn secret_rotated_at(&self) -> DateTime {
        self.0.secret_rotated_at.into()
    }
    /// 失効日時 / when it was revoked
    async fn revoked_at(&self) -> Option<DateTime> {
        self.0.revoked_at.map(Into::into)
    }
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// 紐づくサービスアカウント / the SERVICE account it acts as
    async fn account(&self, ctx: &Context<'_>) -> ApiResult<Account> {
        store::registry::account(db(ctx)?, &self.0.account_id)
            .await?
            .map(Account)
            .ok_or_else(|| ApiError::internal("serviceClient.account", "account vanished"))
    }
}

/// 発行されたクライアントとシークレット (一度だけ表示) / a client with its secret, shown once
#[derive(SimpleObject)]
pub struct IssuedServiceClient {
    client: ServiceClient,
    /// クライアントシークレット。再表示できません / the client secret; it cannot be shown again
    client_secret: String,
}

#[derive(InputObject)]
pub struct CreateServiceClientInput {
    /// SERVICE 種別・有効・INTEGRATION ロールを持つアカウント / an active SERVICE account
    /// holding the INTEGRATION role
    pub account_id: ID,
    pub name: String,
    /// アカウントのロールの部分集合 (ADMIN 不可) / a subset of the account's roles (not ADMIN)
    pub scopes: Vec<Role>,
}

#[derive(Default)]
pub struct ServiceClientQuery;

#[Object]
impl ServiceClientQuery {
    /// サービスクライアント一覧 (管理者); シークレットは含まない / service clients (admin);
    /// never their secrets
    async fn service_clients(
        &self,
        ctx: &Context<'_>,
        account_id: Option<ID>,
    ) -> ApiResult<Vec<ServiceClient>> {
        req(ctx)?.require(Action::ManageRegistry, "serviceClients")?;
        let account_id = account_id
            .map(|a| validate::id("accountId", &a))
            .transpose()?;
        Ok(
            store::service_clients::list(db(ctx)?, account_id.as_deref())
                .await?
                .into_iter()
                .map(ServiceClient)
                .collect(),
        )
    }
}

/// A new secret and its hash (hashing is slow by design: off the async workers).
async fn new_secret() -> ApiResult<(String, String)> {
    tokio::task::spawn_blocking(|| {
        let secret = secret::generate();
        secret::hash(&secret).map(|h| (secret, h))
    })
    .await
    .map_err(|e| ApiError::internal("secret hash", e))?
    .map_err(|e| ApiError::internal("secret hash", e))
}

#[derive(Default)]
pub struct ServiceClientMutation;

#[Object]
impl ServiceClientMutation {
    /// サービスクライアントを発行 (管理者); シークレットはこの応答でのみ表示 / issue a service
    /// client (admin); the secret is in this response only
    async fn create_service_client(
        &self,
        ctx: &Context<'_>,
        input: CreateServiceClientInput,
    ) -> ApiResult<IssuedServiceClient> {
        let r = req(ctx)?;
        r.require(Action::ManageRegistry, "createServiceClient")?;
        // Every invalid value is reported at once; the account is looked up after.
        let mut invalid = validate::Invalid::default();
        let account_id = invalid.check(validate::id("input.accountId", &input.account_id));
        let name = invalid.check(validate::required("input.name", &input.name, 100));
        let scopes: BTreeSet<policy::Role> = input.scopes.iter().copied().map(Into::into).collect();
        if scopes.is_empty() {
            invalid.push(ApiError::bad_input("input.scopes", "必須です / required"));
        }
        if let Some(admin) = scopes.iter().find(|r| !grantable(**r)) {
            invalid.push(ApiError::bad_input(
                "input.scopes",
                format!(
                    "{admin} はクライアントに付与できません / {admin} cannot be given to a client"
                ),
            ));
        }
        invalid.finish(ctx)?;
        let account = store::registry::account(db(ctx)?, &account_id)
            .await?
            .ok_or_else(|| ApiError::not_found("input.accountId"))?;
        let id = store::new_id();
        let roles = policy::Role::parse_set(&account.roles);
        let fit = ClientAccount {
            kind: &account.kind,
            active: account.active,
            roles: &roles,
        };
        let permit = may_issue_client(&r.principal, &id, &fit, &scopes)
            .map_err(unfit)?
            .map_err(refused)?;
        let (secret, hash) = new_secret().await?;
        let model = service_client::Model {
            id,
            account_id,
            name,
            secret_hash: hash,
            scopes: policy::Role::format_set(&scopes),
            secret_rotated_at: r.now,
            revoked_at: None,
            revoked_by: None,
            version: 1,
            created_by: r.principal.account_id.clone(),
            created_at: r.now,
            updated_at: r.now,
        };
        let detail = serde_json::json!({
            "accountId": model.account_id,
            "scopes": model.scopes,
            "fields": ["name", "scopes", "secret"],
        });
        let op = ("createServiceClient", service_client::Model::RECORD_TYPE);
        let saved = create_record(ctx, op, permit, model, (None, detail)).await?;
        Ok(IssuedServiceClient {
            client: ServiceClient(saved),
            client_secret: secret,
        })
    }

    /// シークレットを更新 (管理者); 旧シークレットと、それで取得したトークンは直ちに無効 /
    /// rotate the secret (admin); the old secret and the tokens obtained with it stop working
    /// at once
    async fn rotate_service_client_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
    ) -> ApiResult<IssuedServiceClient> {
        let r = req(ctx)?;
        let op = "rotateServiceClientSecret";
        // Checked before the (deliberately slow) hashing, and again with the update.
        r.require(Action::ManageRegistry, op)?;
        let (secret, hash) = new_secret().await?;
        let now = r.now;
        let client = change_registered(ctx, op, (id, version), |c: &mut service_client::Model| {
            c.secret_hash = hash;
            c.secret_rotated_at = now;
            serde_json::json!({ "fields": ["secret", "secretRotatedAt"] })
        })
        .await?;
        Ok(IssuedServiceClient {
            client: ServiceClient(client),
            client_secret: secret,
        })
    }

    /// クライアントを失効 (管理者); 発行済みトークンも次のリクエストから拒否 / revoke a client
    /// (admin); its tokens are refused from their next request
    async fn revoke_service_client(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
    ) -> ApiResult<ServiceClient> {
        let r = req(ctx)?;
        let (now, by) = (r.now, r.principal.account_id.clone());
        change_registered(
            ctx,
            "revokeServiceClient",
            (id, version),
            |c: &mut service_client::Model| {
                c.revoked_at = Some(now);
                c.revoked_by = Some(by);
                serde_json::json!({ "fields": ["revokedAt"] })
            },
        )
        .await
        .map(ServiceClient)
    }
}

/// A client is changed by an administrator until it is revoked (CONFLICT after).
impl Registered for service_client::Model {
    type Change = ChangeClient;
    const RECORD_TYPE: &'static str = "service_client";
    fn may_change(&self, p: &Principal, operation: &'static str) -> Ruling<ChangeClient> {
        may_change_client(p, operation, &self.id, self.revoked_at.is_some())
    }
}

/// Why the account cannot have the client asked for.
fn unfit(u: Unfit) -> ApiError {
    let (field, message) = match u {
        Unfit::NotService => (
            "input.accountId",
            "SERVICE 種別のアカウントではありません / not a SERVICE account".to_owned(),
        ),
        Unfit::Deactivated => (
            "input.accountId",
            "アカウントは無効化されています / the account is deactivated".to_owned(),
        ),
        Unfit::NoIntegration => (
            "input.accountId",
            "INTEGRATION ロールを持つアカウントが必要です / the account must hold the INTEGRATION role".to_owned(),
        ),
        Unfit::Beyond(roles) => {
            let beyond = roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
            (
                "input.scopes",
                format!("アカウントのロールにありません: {beyond} / not among the account's roles: {beyond}"),
            )
        }
    };
    ApiError::bad_input(field, message)
}
