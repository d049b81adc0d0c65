//! Consents (同意): recorded by the agency that registered the person, never deleted;
//! withdrawal is a stamp that ends that consent from the next request on. And
//! `explainAccess`, answered from the same decision code.

use std::collections::BTreeSet;

use super::scalars::DateTime;
use async_graphql::{Context, Object, SimpleObject, ID};

use super::context::{db, req};
use super::enums::{
    AgencyKind, Category as GqlCategory, ConsentMethod, GivenBy, Purpose as GqlPurpose,
};
use super::loaders::load_persons;
use super::person::Person;
use super::registry::{agency_by_id, Account, Agency};
use super::validate;
use crate::error::{ApiError, ApiResult};
use crate::policy::{self, Action, Category, Item, Lapse, Principal, Recipient, Role};
use crate::store;
use entity::{consent, consent_category, consent_recipient};

/// 同意 / a consent record
pub struct Consent {
    model: consent::Model,
    categories: Vec<consent_category::Model>,
    recipients: Vec<consent_recipient::Model>,
}

/// 同意の状態 / state of a consent at the time of the request
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
pub enum ConsentState {
    Active,
    Withdrawn,
    Expired,
    NotYetValid,
}

impl Consent {
    /// The consent's id.
    pub fn record_id(&self) -> &str {
        &self.model.id
    }
}

#[Object]
impl Consent {
    async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }
    /// 自機関の外部参照 (他機関のものは見えない) / the caller's agency's own references to this
    /// consent (another agency's are never shown)
    async fn external_refs(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<super::external_ref::ExternalRef>> {
        super::external_ref::of_record(ctx, &self.model.id).await
    }
    async fn person_id(&self) -> ID {
        ID(self.model.subject_person_id.clone())
    }
    async fn given_by(&self) -> ApiResult<GivenBy> {
        GivenBy::from_db(&self.model.given_by)
    }
    /// 代理人氏名 / proxy's name
    async fn proxy_name(&self) -> Option<&str> {
        self.model.proxy_name.as_deref()
    }
    /// 代理人の続柄・資格 (親権者, 成年後見人 …) / proxy's relationship
    async fn proxy_relationship(&self) -> Option<&str> {
        self.model.proxy_relationship.as_deref()
    }
    async fn categories(&self) -> Vec<GqlCategory> {
        self.categories
            .iter()
            .filter_map(|c| Category::parse(&c.category))
            .map(Into::into)
            .collect()
    }
    /// 提供先機関 / recipient agencies named
    async fn recipient_agencies(&self, ctx: &Context<'_>) -> ApiResult<Vec<Agency>> {
        let mut out = Vec::new();
        for r in self.named() {
            if let Recipient::Agency(a) = r {
                out.push(agency_by_id(ctx, a).await?);
            }
        }
        Ok(out)
    }
    /// 提供先の機関種別 / recipient agency kinds
    async fn recipient_agency_kinds(&self) -> Vec<AgencyKind> {
        self.named()
            .filter_map(|r| match r {
                Recipient::Kind(k) => Some(k.into()),
                Recipient::Agency(_) => None,
            })
            .collect()
    }
    async fn purpose(&self) -> ApiResult<GqlPurpose> {
        policy::Purpose::parse(&self.model.purpose)
            .map(Into::into)
            .ok_or_else(|| ApiError::internal("consent.purpose", &self.model.purpose))
    }
    async fn valid_from(&self) -> DateTime {
        self.model.valid_from.into()
    }
    async fn valid_until(&self) -> Option<DateTime> {
        self.model.valid_until.map(Into::into)
    }
    async fn method(&self) -> ApiResult<ConsentMethod> {
        ConsentMethod::from_db(&self.model.method)
    }
    /// 同意書等の参照 / evidence reference
    async fn evidence_ref(&self) -> Option<&str> {
        self.model.evidence_ref.as_deref()
    }
    /// 説明文書の版 / version of the explanation given
    async fn explanation_version(&self) -> Option<&str> {
        self.model.explanation_version.as_deref()
    }
    async fn recorded_by(&self) -> ID {
        ID(self.model.recorded_by.clone())
    }
    async fn recorded_agency(&self, ctx: &Context<'_>) -> ApiResult<Agency> {
        agency_by_id(ctx, &self.model.recorded_agency_id).await
    }
    async fn recorded_at(&self) -> DateTime {
        self.model.recorded_at.into()
    }
    async fn withdrawn_at(&self) -> Option<DateTime> {
        self.model.withdrawn_at.map(Into::into)
    }
    async fn withdrawn_by(&self) -> Option<ID> {
        self.model.withdrawn_by.clone().map(ID)
    }
    async fn withdrawal_reason(&self) -> Option<&str> {
        self.model.withdrawal_reason.as_deref()
    }
    async fn version(&self) -> i32 {
        self.model.version
    }
    /// 現時点の状態 / state now
    async fn state(&self, ctx: &Context<'_>) -> ApiResult<ConsentState> {
        let now = req(ctx)?.now;
        let m = &self.model;
        let lapse = Lapse::at(m.withdrawn_at, m.valid_from, m.valid_until, now);
        Ok(match lapse {
            None => ConsentState::Active,
            Some(Lapse::Withdrawn) => ConsentState::Withdrawn,
            Some(Lapse::Expired) => ConsentState::Expired,
            Some(Lapse::NotYetValid) => ConsentState::NotYetValid,
        })
    }
}

impl From<store::facts::ConsentRecord> for Consent {
    fn from(r: store::facts::ConsentRecord) -> Self {
        Consent {
            model: r.model,
            categories: r.categories,
            recipients: r.recipients,
        }
    }
}

/// A person's consents as the caller may see them: the one rule behind the root query
/// `consents(personId:)` and `Person.consents`. NOT_FOUND (at `field`) for a person the
/// caller may not know, unless it oversees the hub; every consent, with its history, to the
/// registering agency and to overseers; to another agency only the consents naming it or
/// its kind, with only itself among their recipients. The records come with the person's
/// policy facts (loaded in one batch for every person of the response), so this runs no
/// query of its own for a person already loaded. Ledgered once per person asked about.
pub async fn of_person(ctx: &Context<'_>, field: &str, person_id: &str) -> ApiResult<Vec<Consent>> {
    if !may_see_consents(ctx, person_id).await? {
        return Err(ApiError::not_found(field));
    }
    let r = req(ctx)?;
    let Some(loaded) = load_persons(ctx, &[person_id.to_owned()]).await?.pop() else {
        return Err(ApiError::not_found(field));
    };
    let all = policy::sees_all_consents(&r.principal, &loaded.model.owner_agency_id);
    let mut consents: Vec<Consent> = loaded.consents.iter().cloned().map(Consent::from).collect();
    if !all {
        // Another agency sees only the consents that name it (or that it recorded): which
        // other agencies a person consented to is itself sensitive (a こども家庭センター, say).
        // The same rule makes an unlisted consent NOT_FOUND to `withdrawConsent`.
        let owner = &loaded.model.owner_agency_id;
        consents.retain(|c| {
            policy::may_know_consent(
                &r.principal,
                owner,
                c.names(&r.principal),
                &c.model.recorded_agency_id,
            )
        });
        // … and of those, only its own agency and kind among the recipients.
        let p = &r.principal;
        for c in &mut consents {
            c.recipients
                .retain(|rec| policy::consent_names(recipient(rec), &p.agency_id, p.agency_kind));
        }
    }
    r.note_read(
        "consent",
        Some(person_id),
        serde_json::json!({ "field": "consents", "consents": consents.len(), "all": all }),
    );
    Ok(consents)
}

/// The agencies the consents of these persons name or were recorded by (to load them with
/// other rows).
pub async fn agencies_named(ctx: &Context<'_>, person_ids: &[String]) -> ApiResult<Vec<String>> {
    let mut agencies = Vec::new();
    for l in load_persons(ctx, person_ids).await? {
        for c in l.consents.iter() {
            agencies.push(c.model.recorded_agency_id.clone());
            agencies.extend(c.recipients.iter().filter_map(|r| match recipient(r) {
                Some(Recipient::Agency(a)) => Some(a.to_owned()),
                _ => None,
            }));
        }
    }
    Ok(agencies)
}

/// Whether the caller may look at this person's consents: it may know the person exists, or
/// it oversees the hub.
async fn may_see_consents(ctx: &Context<'_>, person_id: &str) -> ApiResult<bool> {
    let r = req(ctx)?;
    if policy::may(&r.principal, Action::Oversee) {
        return Ok(!load_persons(ctx, &[person_id.to_owned()]).await?.is_empty());
    }
    Ok(!Person::visible(ctx, &[person_id.to_owned()])
        .await?
        .is_empty())
}

/// Whether the caller sees every consent of the person (its agency registered the person, or
/// it oversees the hub), rather than only those naming it.
async fn sees_all_consents(ctx: &Context<'_>, person_id: &str) -> ApiResult<bool> {
    let r = req(ctx)?;
    let loaded = load_persons(ctx, &[person_id.to_owned()]).await?;
    Ok(loaded
        .first()
        .is_some_and(|l| policy::sees_all_consents(&r.principal, &l.model.owner_agency_id)))
}

impl Consent {
    /// The recipients the consent names (as far as shown to the caller).
    fn named(&self) -> impl Iterator<Item = Recipient<'_>> {
        self.recipients.iter().filter_map(recipient)
    }

    /// Whether this consent names the principal's agency or its kind (the policy's one
    /// recipient rule).
    fn names(&self, p: &Principal) -> bool {
        policy::consent_names(self.named(), &p.agency_id, p.agency_kind)
    }
}

/// A stored recipient row as the policy reads it (None: text that names no one).
pub(super) fn recipient(row: &consent_recipient::Model) -> Option<Recipient<'_>> {
    Recipient::parse(&row.recipient_type, &row.recipient_value)
}

/// 区分ごとのアクセス可否 / access to one category, explained
#[derive(SimpleObject)]
pub struct AccessExplanation {
    pub category: GqlCategory,
    /// 住所・圏域 (支援措置の対象となる項目) か / whether this is the location item
    pub location: bool,
    pub allowed: bool,
    /// OWN / CONSENT / SUPPORT_MEETING / EMERGENCY
    pub basis: Option<String>,
    /// 根拠の参照 (同意 ID 等) / basis reference (consent id …)
    pub basis_reference: Option<String>,
    /// ROLE_CEILING / ADDRESS_CONFIDENTIAL / NO_BASIS
    pub denial: Option<String>,
    /// 不足しているもの (機関はコードと名称で示す) / what is missing, in words (agencies by
    /// code and name, e.g. "nikokoro (障害者相談支援センターにこころ)")
    pub missing: Option<String>,
    /// 失効した同意 (撤回・期限切れ等) / lapsed consents that would otherwise cover it
    pub lapsed_consent_ids: Vec<ID>,
    /// 他の提供先のみを対象とする有効な同意 / active consents naming other recipients only
    pub other_recipient_consent_ids: Vec<ID>,
}

/// アクセスの説明 / explanation of one account's access to one person
#[derive(SimpleObject)]
pub struct AccessReport {
    pub account: Account,
    pub person_id: ID,
    pub items: Vec<AccessExplanation>,
}

#[derive(Default)]
pub struct ConsentQuery;

#[Object]
impl ConsentQuery {
    /// 本人の同意 (撤回済みを含む履歴) / a person's consents with their history
    async fn consents(&self, ctx: &Context<'_>, person_id: ID) -> ApiResult<Vec<Consent>> {
        let person_id = validate::id("personId", &person_id)?;
        let list = of_person(ctx, "personId", &person_id).await?;
        let ids: Vec<String> = list.iter().map(|c| c.record_id().to_owned()).collect();
        let wants = super::loaders::Wants::list(ctx);
        super::external_ref::prefetch(ctx, &ids, &wants).await?;
        Ok(list)
    }

    /// 区分ごとに見られるか・根拠・不足を説明 (管理者・監査担当は他アカウントについても可)
    /// / explain, per category, whether the caller (or, for admins and auditors, another
    /// account) may see this person's data, on what basis, or what is missing
    async fn explain_access(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
        account_id: Option<ID>,
    ) -> ApiResult<AccessReport> {
        let r = req(ctx)?;
        let person_id = validate::id("personId", &person_id)?;
        let db = db(ctx)?;
        let (account, principal) = match account_id {
            None => {
                let account = store::registry::account(db, &r.principal.account_id)
                    .await?
                    .ok_or_else(|| ApiError::internal("explainAccess", "account vanished"))?;
                (account, r.principal.clone())
            }
            Some(a) => {
                r.require(Action::Oversee, "explainAccess for another account")?;
                let a = validate::id("accountId", &a)?;
                let account = store::registry::account(db, &a)
                    .await?
                    .ok_or_else(|| ApiError::not_found("accountId"))?;
                let agency = store::registry::agency(db, &account.agency_id)
                    .await?
                    .ok_or_else(|| ApiError::internal("explainAccess", "agency vanished"))?;
                let kind = policy::AgencyKind::parse(&agency.kind)
                    .ok_or_else(|| ApiError::internal("agency.kind", &agency.kind))?;
                let principal = Principal {
                    account_id: account.id.clone(),
                    agency_id: agency.id,
                    agency_kind: kind,
                    roles: if account.active {
                        Role::parse_set(&account.roles)
                    } else {
                        BTreeSet::new()
                    },
                    client_id: None,
                };
                (account, principal)
            }
        };
        if !may_see_consents(ctx, &person_id).await? {
            return Err(ApiError::not_found("personId"));
        }
        // `missing` names the account's agency by code and name, as staff know it.
        let agency = store::registry::agency(db, &principal.agency_id)
            .await?
            .ok_or_else(|| ApiError::internal("explainAccess", "agency vanished"))?;
        let agency_label = format!("{} ({})", agency.code, agency.name);
        let loaded = load_persons(ctx, std::slice::from_ref(&person_id)).await?;
        let subject = loaded
            .first()
            .ok_or_else(|| ApiError::not_found("personId"))?;
        // Consents naming other agencies are listed only to those who see every consent.
        let sees_all = sees_all_consents(ctx, &person_id).await?;
        let mut items = Vec::new();
        let all: Vec<Item> = Category::ALL
            .iter()
            .map(|c| Item::of(*c))
            .chain([Item::location()])
            .collect();
        for item in all {
            let e = policy::explain_to_caller(
                &principal,
                &subject.facts,
                &subject.facts.owner_agency_id,
                item,
                r.purpose,
                r.now,
            );
            let (basis, basis_reference, denial) = match &e.decision {
                Ok(b) => (
                    Some(b.kind().to_owned()),
                    b.reference().map(str::to_owned),
                    None,
                ),
                Err(d) => (None, None, Some(d.kind().to_owned())),
            };
            let missing = match &e.decision {
                Ok(_) => None,
                Err(policy::Denial::RoleCeiling) => Some(format!(
                    "ロールの上限により {0} は見られません / no role of this account may see {0}",
                    item.category
                )),
                Err(policy::Denial::AddressConfidential) => Some(format!(
                    "支援措置対象者の住所: 本人 (または代理人) が機関 {0} を名指しした CONTACT の同意が必要 / the person's (or proxy's) consent to CONTACT naming agency {0} itself",
                    agency_label
                )),
                Err(policy::Denial::NoBasis) if item.location => Some(format!(
                    "本人 (または代理人) の同意: 区分 {0}、提供先 機関 {1} (機関自体の名指しが必要な場合があります)、目的 {2} / the person's (or proxy's) consent to {0} naming agency {1} (some records need the agency itself to be named), purpose {2}",
                    item.category, agency_label, r.purpose
                )),
                Err(policy::Denial::NoBasis) => Some(format!(
                    "本人 (または代理人) の同意: 区分 {0}、提供先 機関 {1} または種別 {2}、目的 {3} / the person's (or proxy's) consent to {0} naming agency {1} or kind {2}, purpose {3}",
                    item.category, agency_label, principal.agency_kind, r.purpose
                )),
            };
            items.push(AccessExplanation {
                category: item.category.into(),
                location: item.location,
                allowed: e.decision.is_ok(),
                basis,
                basis_reference,
                denial,
                missing,
                lapsed_consent_ids: e.lapsed.into_iter().map(|(id, _)| ID(id)).collect(),
                other_recipient_consent_ids: if sees_all {
                    e.other_recipients.into_iter().map(ID).collect()
                } else {
                    Vec::new()
                },
            });
        }
        r.note_read(
            "access_explanation",
            Some(&person_id),
            serde_json::json!({ "field": "explainAccess", "forAccount": account.id }),
        );
        Ok(AccessReport {
            account: Account(account),
            person_id: ID(person_id),
            items,
        })
    }
}
