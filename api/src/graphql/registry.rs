//! Agencies, accounts and the caller (`viewer`); admin mutations over the registry.

use std::collections::BTreeSet;

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};

use super::context::{db, req};
use super::enums::{AccountKind, AgencyKind, LegalRegime, Role};
use super::validate;
use crate::error::{ApiError, ApiResult};
use crate::policy::write::registry::{
    may_administer, may_change_admin, may_change_agency, AdminChange, ChangeAccount, CreateAccount,
    CreateAgency,
};
use crate::policy::{self, Action, Principal};
use crate::store;
use entity::{account, agency};

mod write;
pub(super) use write::{
    change_record, change_record_checked, change_registered, create_record, refused, Registered,
    Stamped,
};

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
        policy::Role::parse_set(&self.0.roles)
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

/// An agency code or a login: 1 to 64 of ASCII letters, digits, `-`, `_`, `.` (also what
/// `tsunagi admin bootstrap` accepts).
pub(crate) fn login_name(field: &str, value: &str) -> ApiResult<String> {
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
    policy::Role::format_set(&set)
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
        if store::registry::agency_by_code(db(ctx)?, &code)
            .await?
            .is_some()
        {
            return Err(ApiError::bad_input(
                "input.code",
                "既に使われています / already in use",
            ));
        }
        let id = store::new_id();
        let permit =
            may_administer::<CreateAgency>(&r.principal, "createAgency", &id).map_err(refused)?;
        let model = agency::Model {
            id,
            code,
            name,
            kind: policy::AgencyKind::from(input.kind).as_str().to_owned(),
            legal_regime: input.legal_regime.as_str().to_owned(),
            active: true,
            version: 1,
            created_at: r.now,
            updated_at: r.now,
        };
        let detail = serde_json::json!({"fields": ["code", "name", "kind", "legalRegime"]});
        let op = ("createAgency", "agency");
        create_record(ctx, op, permit, model, (None, detail))
            .await
            .map(Agency)
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
        let deactivating = input.active == Some(false);
        let admins = if deactivating {
            let all = store::registry::active_admins(db(ctx)?).await?;
            let inside = all.iter().filter(|a| a.agency_id == id).count();
            (inside, all.len() - inside)
        } else {
            (0, 0)
        };
        let rule = |p: &Principal, a: &agency::Model| {
            may_change_agency(p, &a.id, deactivating && a.active, admins)
        };
        // The agency as stored, not the request's agency cache (which may hold the version
        // before this update).
        change_record(ctx, ("updateAgency", "agency"), &id, version, rule, |rec| {
            let mut fields = Vec::new();
            if let Some(name) = name {
                rec.name = name;
                fields.push("name");
            }
            if let Some(kind) = input.kind {
                rec.kind = policy::AgencyKind::from(kind).as_str().to_owned();
                fields.push("kind");
            }
            if let Some(regime) = input.legal_regime {
                rec.legal_regime = regime.as_str().to_owned();
                fields.push("legalRegime");
            }
            if let Some(active) = input.active {
                rec.active = active;
                fields.push("active");
            }
            Ok(serde_json::json!({"fields": fields}))
        })
        .await
        .map(Agency)
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
        let id = store::new_id();
        let permit =
            may_administer::<CreateAccount>(&r.principal, "createAccount", &id).map_err(refused)?;
        let roles = roles_text(&input.roles);
        let detail = serde_json::json!({ "roles": roles });
        let model = account::Model {
            id,
            login,
            display_name,
            agency_id,
            kind: input.kind.as_str().to_owned(),
            roles,
            active: true,
            version: 1,
            created_at: r.now,
            updated_at: r.now,
        };
        create_record(
            ctx,
            ("createAccount", "account"),
            permit,
            model,
            (None, detail),
        )
        .await
        .map(Account)
    }

    /// アカウントを更新 (管理者) / update an account (admin)
    async fn update_account(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: UpdateAccountInput,
    ) -> ApiResult<Account> {
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
            match store::registry::agency(db(ctx)?, a).await? {
                None => return Err(ApiError::not_found("input.agencyId")),
                // Its accounts are refused at sign-in: a move there is a deactivation that
                // the admin rules would not see.
                Some(agency) if !agency.active => {
                    return Err(ApiError::conflict(
                        "無効化された機関には移せません / an account cannot move to a deactivated agency",
                    ))
                }
                Some(_) => {}
            }
        }
        change_registered(
            ctx,
            "updateAccount",
            (id, version),
            |rec: &mut account::Model| {
                let mut fields = Vec::new();
                if let Some(d) = display_name {
                    rec.display_name = d;
                    fields.push("displayName");
                }
                if let Some(a) = agency_id {
                    rec.agency_id = a;
                    fields.push("agencyId");
                }
                serde_json::json!({ "fields": fields })
            },
        )
        .await
        .map(Account)
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
        let keeps_admin = roles.contains(&Role::Admin);
        change_admin(
            ctx,
            "setAccountRoles",
            (id, version),
            keeps_admin,
            false,
            |rec| {
                rec.roles = text.clone();
                serde_json::json!({ "roles": text })
            },
        )
        .await
        .map(Account)
    }

    /// アカウントを無効化 (管理者) / deactivate an account (admin); refused from its next request
    async fn deactivate_account(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
    ) -> ApiResult<Account> {
        change_admin(
            ctx,
            "deactivateAccount",
            (id, version),
            false,
            true,
            |rec| {
                rec.active = false;
                serde_json::json!({ "fields": ["active"] })
            },
        )
        .await
        .map(Account)
    }

    /// アカウントを再び有効にする (管理者) / reactivate a deactivated account (admin); its
    /// tokens work again from the next request
    async fn reactivate_account(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
    ) -> ApiResult<Account> {
        change_registered(
            ctx,
            "reactivateAccount",
            (id, version),
            |rec: &mut account::Model| {
                rec.active = true;
                serde_json::json!({ "fields": ["active"] })
            },
        )
        .await
        .map(Account)
    }
}

/// A change that may take an account out of administration (`deactivating` it, or its
/// roles without admin unless `keeps_admin`): the other active admins are counted first, and
/// the policy refuses self-deactivation and the loss of the last active admin.
async fn change_admin(
    ctx: &Context<'_>,
    operation: &'static str,
    (id, version): (ID, i32),
    keeps_admin: bool,
    deactivating: bool,
    change: impl FnOnce(&mut account::Model) -> serde_json::Value,
) -> ApiResult<account::Model> {
    req(ctx)?.require(Action::ManageRegistry, operation)?;
    let id = validate::id("id", &id)?;
    // Decided inside the writing transaction, after taking turns with every other change
    // that may take an admin away (two admins deactivating each other at once); before it,
    // only the role is checked for the permit.
    let rule =
        |p: &Principal, m: &account::Model| may_administer::<ChangeAccount>(p, operation, &m.id);
    let principal = req(ctx)?.principal.clone();
    let target = id.clone();
    let check = store::write::txn_check(move |txn| {
        Box::pin(async move {
            store::registry::serialize_admin_changes(txn).await?;
            let admins = store::registry::active_admins(txn).await?;
            let admin_now = admins.iter().any(|a| a.id == target);
            let change = AdminChange {
                account_id: &target,
                admin_now,
                admin_after: admin_now && keeps_admin && !deactivating,
                other_active_admins: admins.iter().filter(|a| a.id != target).count(),
            };
            // The permit for the write came from the rule above; this decides the rest.
            let _decided =
                may_change_admin(&principal, operation, &change, deactivating).map_err(refused)?;
            Ok(())
        })
    });
    change_record_checked(
        ctx,
        (operation, "account"),
        (&id, version),
        (rule, |m: &mut account::Model| Ok(change(m))),
        check,
    )
    .await
}
