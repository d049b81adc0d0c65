//! Agencies, accounts and the caller (`viewer`); admin mutations over the registry.

use std::collections::BTreeSet;

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, TransactionTrait};

use super::context::{db, req};
use super::enums::{AccountKind, AgencyKind, LegalRegime, Role};
use super::validate;
use crate::audit::{self, Entry};
use crate::auth::{format_roles, parse_roles};
use crate::error::{ApiError, ApiResult};
use crate::policy::{self, Action};
use crate::store;
use entity::{account, agency};

/// 機関 / an agency (no personal data)
pub struct Agency(pub agency::Model);

#[Object]
impl Agency {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// 機関コード / agency code
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// 名称 / name
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn kind(&self) -> ApiResult<AgencyKind> {
        policy::AgencyKind::parse(&self.0.kind)
            .map(Into::into)
            .ok_or_else(|| ApiError::internal("agency.kind", &self.0.kind))
    }
    async fn legal_regime(&self) -> ApiResult<LegalRegime> {
        LegalRegime::from_db(&self.0.legal_regime)
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// アカウント / an account (staff member or service client)
pub struct Account(pub account::Model);

#[Object]
impl Account {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// ログイン名 / login name
    async fn login(&self) -> &str {
        &self.0.login
    }
    /// 表示名 / display name
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    async fn kind(&self) -> ApiResult<AccountKind> {
        AccountKind::from_db(&self.0.kind)
    }
    /// 登録上のロール / roles in the registry
    async fn roles(&self) -> Vec<Role> {
        parse_roles(&self.0.roles)
            .into_iter()
            .map(Into::into)
            .collect()
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn agency(&self, ctx: &Context<'_>) -> ApiResult<Agency> {
        agency_by_id(ctx, &self.0.agency_id).await
    }
}

pub async fn agency_by_id(ctx: &Context<'_>, id: &str) -> ApiResult<Agency> {
    super::loaders::agency(ctx, id)
        .await?
        .map(Agency)
        .ok_or_else(|| ApiError::internal("agency lookup", format!("missing agency {id}")))
}

/// 呼び出し元 / the caller
#[derive(SimpleObject)]
pub struct Viewer {
    account: Account,
    agency: Agency,
    /// 今回のリクエストで有効なロール / roles in effect for this request
    effective_roles: Vec<Role>,
}

#[derive(Default)]
pub struct RegistryQuery;

#[Object]
impl RegistryQuery {
    /// 呼び出し元のアカウント・機関・有効ロール / the caller's account, agency and roles
    async fn viewer(&self, ctx: &Context<'_>) -> ApiResult<Viewer> {
        let r = req(ctx)?;
        let db = db(ctx)?;
        let account = store::registry::account(db, &r.principal.account_id)
            .await?
            .ok_or_else(|| ApiError::internal("viewer", "account vanished"))?;
        Ok(Viewer {
            account: Account(account),
            agency: agency_by_id(ctx, &r.principal.agency_id).await?,
            effective_roles: r.principal.roles.iter().copied().map(Into::into).collect(),
        })
    }

    /// 機関一覧 (公開情報) / all agencies (public directory)
    async fn agencies(&self, ctx: &Context<'_>) -> ApiResult<Vec<Agency>> {
        Ok(store::registry::agencies(db(ctx)?)
            .await?
            .into_iter()
            .map(Agency)
            .collect())
    }

    /// アカウント一覧 (管理者) / accounts (admin only)
    async fn accounts(&self, ctx: &Context<'_>, agency_id: Option<ID>) -> ApiResult<Vec<Account>> {
        req(ctx)?.require(Action::ManageRegistry, "accounts")?;
        let agency_id = agency_id
            .map(|a| validate::id("agencyId", &a))
            .transpose()?;
        Ok(store::registry::accounts(db(ctx)?, agency_id.as_deref())
            .await?
            .into_iter()
            .map(Account)
            .collect())
    }
}

#[derive(InputObject)]
pub struct CreateAgencyInput {
    pub code: String,
    pub name: String,
    pub kind: AgencyKind,
    pub legal_regime: LegalRegime,
}

#[derive(InputObject)]
pub struct UpdateAgencyInput {
    pub name: Option<String>,
    pub kind: Option<AgencyKind>,
    pub legal_regime: Option<LegalRegime>,
    pub active: Option<bool>,
}

#[derive(InputObject)]
pub struct CreateAccountInput {
    pub login: String,
    pub display_name: String,
    pub agency_id: ID,
    pub kind: AccountKind,
    pub roles: Vec<Role>,
}

#[derive(InputObject)]
pub struct UpdateAccountInput {
    pub display_name: Option<String>,
    pub agency_id: Option<ID>,
}

fn login_name(field: &str, value: &str) -> ApiResult<String> {
    let v = validate::required(field, value, 64)?;
    if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(ApiError::bad_input(
            field,
            "英数字と - _ . のみ / letters, digits, - _ . only",
        ));
    }
    Ok(v)
}

fn roles_text(roles: &[Role]) -> String {
    let set: BTreeSet<policy::Role> = roles.iter().copied().map(Into::into).collect();
    format_roles(&set)
}

#[derive(Default)]
pub struct RegistryMutation;

#[Object]
impl RegistryMutation {
    /// 機関を登録 (管理者) / create an agency (admin)
    async fn create_agency(
        &self,
        ctx: &Context<'_>,
        input: CreateAgencyInput,
    ) -> ApiResult<Agency> {
        let r = req(ctx)?;
        r.require(Action::ManageRegistry, "createAgency")?;
        // Every invalid value is reported at once; uniqueness is checked after.
        let mut invalid = validate::Invalid::default();
        let code = invalid.check(login_name("input.code", &input.code));
        let name = invalid.check(validate::required("input.name", &input.name, 200));
        invalid.finish(ctx)?;
        let db = db(ctx)?;
        if store::registry::agency_by_code(db, &code).await?.is_some() {
            return Err(ApiError::bad_input(
                "input.code",
                "既に使われています / already in use",
            ));
        }
        let model = agency::Model {
            id: store::new_id(),
            code,
            name,
            kind: policy::AgencyKind::from(input.kind).as_str().to_owned(),
            legal_regime: input.legal_regime.as_str().to_owned(),
            active: true,
            version: 1,
            created_at: r.now,
            updated_at: r.now,
        };
        let txn = db.begin().await?;
        let saved = agency::ActiveModel::from(model).insert(&txn).await?;
        audit::append(
            &txn,
            vec![Entry::write(
                &r.principal,
                "createAgency",
                "agency",
                &saved.id,
                None,
                serde_json::json!({"fields": ["code", "name", "kind", "legalRegime"]}),
            )],
        )
        .await?;
        txn.commit().await?;
        Ok(Agency(saved))
    }

    /// 機関を更新 (管理者) / update an agency (admin); `version` must be current
    async fn update_agency(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: UpdateAgencyInput,
    ) -> ApiResult<Agency> {
        let r = req(ctx)?;
        r.require(Action::ManageRegistry, "updateAgency")?;
        // Every invalid value is reported at once; the agency is looked up after.
        let mut invalid = validate::Invalid::default();
        let id = invalid.check(validate::id("id", &id));
        let name = input
            .name
            .as_ref()
            .and_then(|n| invalid.check(validate::required("input.name", n, 200).map(Some)));
        invalid.finish(ctx)?;
        let db = db(ctx)?;
        let current = store::registry::agency(db, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("id"))?;
        let mut am: agency::ActiveModel = current.clone().into();
        let mut fields = Vec::new();
        if let Some(name) = name {
            am.name = Set(name);
            fields.push("name");
        }
        if let Some(kind) = input.kind {
            am.kind = Set(policy::AgencyKind::from(kind).as_str().to_owned());
            fields.push("kind");
        }
        if let Some(regime) = input.legal_regime {
            am.legal_regime = Set(regime.as_str().to_owned());
            fields.push("legalRegime");
        }
        if let Some(active) = input.active {
            am.active = Set(active);
            fields.push("active");
        }
        am.version = Set(store::next_version(version));
        am.updated_at = Set(r.now);
        store::versioned_update::<agency::Entity>(
            db,
            am,
            agency::Column::Id,
            agency::Column::Version,
            &id,
            version,
            current.version,
            vec![Entry::write(
                &r.principal,
                "updateAgency",
                "agency",
                &id,
                None,
                serde_json::json!({"fields": fields}),
            )],
        )
        .await?;
        // Read afresh: the request's agency cache may hold the version before this update.
        store::registry::agency(db, &id)
            .await?
            .map(Agency)
            .ok_or_else(|| ApiError::internal("updateAgency", "vanished"))
    }

    /// アカウントを作成 (管理者) / create an account (admin)
    async fn create_account(
        &self,
        ctx: &Context<'_>,
        input: CreateAccountInput,
    ) -> ApiResult<Account> {
        let r = req(ctx)?;
        r.require(Action::ManageRegistry, "createAccount")?;
        // Every invalid value is reported at once; the agency and the login are looked up after.
        let mut invalid = validate::Invalid::default();
        let login = invalid.check(login_name("input.login", &input.login));
        let display_name = invalid.check(validate::required(
            "input.displayName",
            &input.display_name,
            100,
        ));
        let agency_id = invalid.check(validate::id("input.agencyId", &input.agency_id));
        invalid.finish(ctx)?;
        let db = db(ctx)?;
        if store::registry::agency(db, &agency_id).await?.is_none() {
            return Err(ApiError::not_found("input.agencyId"));
        }
        if store::registry::account_by_login(db, &login)
            .await?
            .is_some()
        {
            return Err(ApiError::bad_input(
                "input.login",
                "既に使われています / already in use",
            ));
        }
        let model = account::Model {
            id: store::new_id(),
            login,
            display_name,
            agency_id,
            kind: input.kind.as_str().to_owned(),
            roles: roles_text(&input.roles),
            active: true,
            version: 1,
            created_at: r.now,
            updated_at: r.now,
        };
        let txn = db.begin().await?;
        let saved = account::ActiveModel::from(model).insert(&txn).await?;
        audit::append(
            &txn,
            vec![Entry::write(
                &r.principal,
                "createAccount",
                "account",
                &saved.id,
                None,
                serde_json::json!({"roles": saved.roles}),
            )],
        )
        .await?;
        txn.commit().await?;
        Ok(Account(saved))
    }

    /// アカウントを更新 (管理者) / update an account (admin)
    async fn update_account(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: UpdateAccountInput,
    ) -> ApiResult<Account> {
        let mut fields = Vec::new();
        // Every invalid value is reported at once; the agency is looked up after.
        let mut invalid = validate::Invalid::default();
        let display_name = input.display_name.and_then(|d| {
            invalid.check(validate::required("input.displayName", &d, 100).map(Some))
        });
        let agency_id = input
            .agency_id
            .and_then(|a| invalid.check(validate::id("input.agencyId", &a).map(Some)));
        invalid.finish(ctx)?;
        if let Some(a) = &agency_id {
            if store::registry::agency(db(ctx)?, a).await?.is_none() {
                return Err(ApiError::not_found("input.agencyId"));
            }
        }
        change_account(ctx, "updateAccount", id, version, |am| {
            if let Some(d) = display_name {
                am.display_name = Set(d);
                fields.push("displayName");
            }
            if let Some(a) = agency_id {
                am.agency_id = Set(a);
                fields.push("agencyId");
            }
            serde_json::json!({ "fields": fields })
        })
        .await
    }

    /// ロールを設定 (管理者) / set an account's roles (admin); effective on the next request
    async fn set_account_roles(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        roles: Vec<Role>,
    ) -> ApiResult<Account> {
        let text = roles_text(&roles);
        change_account(ctx, "setAccountRoles", id, version, |am| {
            am.roles = Set(text.clone());
            serde_json::json!({ "roles": text })
        })
        .await
    }

    /// アカウントを無効化 (管理者) / deactivate an account (admin); refused from its next request
    async fn deactivate_account(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
    ) -> ApiResult<Account> {
        change_account(ctx, "deactivateAccount", id, version, |am| {
            am.active = Set(false);
            serde_json::json!({ "fields": ["active"] })
        })
        .await
    }
}

/// Optimistic update of one account, ledgered in the same transaction.
async fn change_account(
    ctx: &Context<'_>,
    operation: &str,
    id: ID,
    version: i32,
    change: impl FnOnce(&mut account::ActiveModel) -> serde_json::Value,
) -> ApiResult<Account> {
    let r = req(ctx)?;
    r.require(Action::ManageRegistry, operation)?;
    let id = validate::id("id", &id)?;
    let db = db(ctx)?;
    let current = store::registry::account(db, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("id"))?;
    let mut am: account::ActiveModel = current.clone().into();
    let detail = change(&mut am);
    am.version = Set(store::next_version(version));
    am.updated_at = Set(r.now);
    store::versioned_update::<account::Entity>(
        db,
        am,
        account::Column::Id,
        account::Column::Version,
        &id,
        version,
        current.version,
        vec![Entry::write(
            &r.principal,
            operation,
            "account",
            &id,
            None,
            detail,
        )],
    )
    .await?;
    store::registry::account(db, &id)
        .await?
        .map(Account)
        .ok_or_else(|| ApiError::internal(operation, "account vanished"))
}
