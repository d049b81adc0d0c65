//! Consents (同意): recorded by the agency that registered the person, never deleted;
//! withdrawal is a stamp that ends that consent from the next request on. And
//! `explainAccess`, answered from the same decision code.

use std::collections::BTreeSet;

use super::scalars::DateTime;
use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, TransactionTrait};

use super::context::{db, req};
use super::enums::{
    AgencyKind, Category as GqlCategory, ConsentMethod, GivenBy, Purpose as GqlPurpose,
};
use super::loaders::{forget_person, load_persons};
use super::person::Person;
use super::registry::{agency_by_id, Account, Agency};
use super::validate;
use crate::audit::{self, Entry};
use crate::auth::parse_roles;
use crate::error::{ApiError, ApiResult};
use crate::policy::{self, Action, Category, Item, Lapse, Principal};
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

#[Object]
impl Consent {
    async fn id(&self) -> ID {
        ID(self.model.id.clone())
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
        for r in self
            .recipients
            .iter()
            .filter(|r| r.recipient_type == "AGENCY")
        {
            out.push(agency_by_id(ctx, &r.recipient_value).await?);
        }
        Ok(out)
    }
    /// 提供先の機関種別 / recipient agency kinds
    async fn recipient_agency_kinds(&self) -> Vec<AgencyKind> {
        self.recipients
            .iter()
            .filter(|r| r.recipient_type == "AGENCY_KIND")
            .filter_map(|r| policy::AgencyKind::parse(&r.recipient_value))
            .map(Into::into)
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

async fn with_details(ctx: &Context<'_>, models: Vec<consent::Model>) -> ApiResult<Vec<Consent>> {
    let mut details = store::facts::consent_details(db(ctx)?, &models).await?;
    Ok(models
        .into_iter()
        .map(|model| {
            let (categories, recipients) = details.remove(&model.id).unwrap_or_default();
            Consent {
                model,
                categories,
                recipients,
            }
        })
        .collect())
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
        for c in &mut consents {
            c.recipients
                .retain(|rec| match rec.recipient_type.as_str() {
                    "AGENCY" => rec.recipient_value == r.principal.agency_id,
                    "AGENCY_KIND" => rec.recipient_value == r.principal.agency_kind.as_str(),
                    _ => false,
                });
        }
    }
    r.note_read(
        "consent",
        Some(person_id),
        serde_json::json!({ "field": "consents", "consents": consents.len(), "all": all }),
    );
    Ok(consents)
}

/// Load, in one query, the agencies the consents of these persons name or were recorded by
/// (public registry rows), before `Person.consents` under a list resolves them one by one.
pub async fn prefetch_agencies(ctx: &Context<'_>, person_ids: &[String]) -> ApiResult<()> {
    let mut agencies = Vec::new();
    for l in load_persons(ctx, person_ids).await? {
        for c in l.consents.iter() {
            agencies.push(c.model.recorded_agency_id.clone());
            agencies.extend(
                c.recipients
                    .iter()
                    .filter(|r| r.recipient_type == "AGENCY")
                    .map(|r| r.recipient_value.clone()),
            );
        }
    }
    super::loaders::load_agencies(ctx, &agencies).await
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
    /// Whether this consent names the principal's agency or its kind.
    fn names(&self, p: &Principal) -> bool {
        self.recipients
            .iter()
            .any(|rec| match rec.recipient_type.as_str() {
                "AGENCY" => rec.recipient_value == p.agency_id,
                "AGENCY_KIND" => rec.recipient_value == p.agency_kind.as_str(),
                _ => false,
            })
    }
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
        of_person(ctx, "personId", &person_id).await
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
                        parse_roles(&account.roles)
                    } else {
                        BTreeSet::new()
                    },
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
            let e = policy::explain(
                &principal,
                &subject.facts,
                &subject.facts.owner_agency_id,
                item,
                r.purpose,
                r.now,
            );
            // Saying "ADDRESS_CONFIDENTIAL" would tell the caller the person is under a
            // support measure (CHILD_PROTECTION): only those who may see that are told.
            let sees_protection = policy::decide(
                &principal,
                &subject.facts,
                &subject.facts.owner_agency_id,
                Item::of(Category::ChildProtection),
                r.purpose,
                r.now,
            )
            .is_ok();
            let e = match e.decision {
                Err(policy::Denial::AddressConfidential) if !sees_protection => {
                    policy::Explanation {
                        decision: Err(policy::Denial::NoBasis),
                        ..e
                    }
                }
                _ => e,
            };
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

#[derive(InputObject)]
pub struct RecordConsentInput {
    pub person_id: ID,
    pub given_by: GivenBy,
    pub proxy_name: Option<String>,
    pub proxy_relationship: Option<String>,
    pub categories: Vec<GqlCategory>,
    #[graphql(default)]
    pub recipient_agency_ids: Vec<ID>,
    #[graphql(default)]
    pub recipient_agency_kinds: Vec<AgencyKind>,
    pub purpose: GqlPurpose,
    /// 効力の開始。日付のみ (YYYY-MM-DD) は日本時間のその日 0:00 / start; a date alone
    /// (YYYY-MM-DD) means 00:00 Asia/Tokyo that day
    pub valid_from: DateTime,
    /// 効力の終了 (この時点で失効)。省略時は撤回まで (終結まで等は運用で)。日付のみは日本時間の
    /// その日 0:00 (その日の始まりに失効) / end (the consent lapses at this instant);
    /// open-ended when omitted; a date alone means 00:00 Asia/Tokyo that day, so the consent
    /// lapses as that day begins
    pub valid_until: Option<DateTime>,
    pub method: ConsentMethod,
    pub evidence_ref: Option<String>,
    pub explanation_version: Option<String>,
}

#[derive(Default)]
pub struct ConsentMutation;

#[Object]
impl ConsentMutation {
    /// 同意を記録 (本人を登録した機関のみ) / record a consent (the person's registering agency)
    async fn record_consent(
        &self,
        ctx: &Context<'_>,
        input: RecordConsentInput,
    ) -> ApiResult<Consent> {
        let r = req(ctx)?;
        r.require(Action::RecordConsent, "recordConsent")?;
        // Every invalid value is reported at once; the person and the recipient agencies are
        // looked up after, and nothing is written unless all are valid.
        let mut invalid = validate::Invalid::default();
        let person_id = invalid.check(validate::id("input.personId", &input.person_id));
        let categories: BTreeSet<Category> = input
            .categories
            .iter()
            .map(|c| Category::from(*c))
            .collect();
        if categories.is_empty() {
            invalid.push(ApiError::bad_input(
                "input.categories",
                "1 つ以上必要です / at least one category",
            ));
        }
        if input.recipient_agency_ids.is_empty() && input.recipient_agency_kinds.is_empty() {
            invalid.push(ApiError::bad_input(
                "input.recipientAgencyIds",
                "提供先が必要です / at least one recipient agency or kind",
            ));
        }
        let recipients: Vec<(String, String)> = input
            .recipient_agency_ids
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                let field = format!("input.recipientAgencyIds.{i}");
                invalid
                    .check(validate::id(&field, a).map(Some))
                    .map(|a| (field, a))
            })
            .collect();
        let kinds: BTreeSet<policy::AgencyKind> = input
            .recipient_agency_kinds
            .iter()
            .map(|k| (*k).into())
            .collect();
        // A date alone means 00:00 Asia/Tokyo that day (README §5).
        let valid_from = input
            .valid_from
            .get_or_date("input.validFrom")
            .map_err(|e| invalid.push(e))
            .ok();
        let valid_until = input
            .valid_until
            .as_ref()
            .map(|u| u.get_or_date("input.validUntil"))
            .transpose()
            .map_err(|e| invalid.push(e))
            .ok()
            .flatten();
        if let (Some(from), Some(until)) = (valid_from, valid_until) {
            if until <= from {
                invalid.push(ApiError::bad_input(
                    "input.validUntil",
                    "validFrom より後にしてください / must be after validFrom",
                ));
            }
        }
        let (proxy_name, proxy_relationship) = match input.given_by {
            GivenBy::Proxy => {
                let required = "代理人の場合は必須 / required for a proxy";
                let n = invalid.check(
                    validate::optional_line("input.proxyName", input.proxy_name.as_ref(), 100)
                        .and_then(|n| {
                            n.map(Some)
                                .ok_or_else(|| ApiError::bad_input("input.proxyName", required))
                        }),
                );
                let rel = invalid.check(
                    validate::optional(
                        "input.proxyRelationship",
                        input.proxy_relationship.as_ref(),
                        100,
                    )
                    .and_then(|r| {
                        r.map(Some)
                            .ok_or_else(|| ApiError::bad_input("input.proxyRelationship", required))
                    }),
                );
                (n, rel)
            }
            GivenBy::SelfGiven => {
                if input.proxy_name.is_some() || input.proxy_relationship.is_some() {
                    invalid.push(ApiError::bad_input("input.proxyName", "本人の同意に代理人は指定できません / no proxy for the person's own consent"));
                }
                (None, None)
            }
        };
        let evidence_ref = invalid.check(validate::optional(
            "input.evidenceRef",
            input.evidence_ref.as_ref(),
            200,
        ));
        let explanation_version = invalid.check(validate::optional(
            "input.explanationVersion",
            input.explanation_version.as_ref(),
            50,
        ));
        invalid.finish(ctx)?;
        let Some(valid_from) = valid_from else {
            return Err(ApiError::internal("recordConsent", "validFrom unchecked"));
        };
        let person = Person::find(ctx, "input.personId", &person_id).await?;
        if person.owner_agency_id() != r.principal.agency_id {
            return Err(ApiError::forbidden("本人を登録した機関のみ記録できます / only the agency that registered the person may record consent"));
        }
        let db = db(ctx)?;
        let mut agencies = BTreeSet::new();
        for (field, a) in recipients {
            if store::registry::agency(db, &a).await?.is_none() {
                return Err(ApiError::not_found(field));
            }
            agencies.insert(a);
        }
        let id = store::new_id();
        let model = consent::Model {
            id: id.clone(),
            subject_person_id: person_id.clone(),
            given_by: input.given_by.as_str().to_owned(),
            proxy_name,
            proxy_relationship,
            purpose: policy::Purpose::from(input.purpose).as_str().to_owned(),
            valid_from,
            valid_until,
            method: input.method.as_str().to_owned(),
            evidence_ref,
            explanation_version,
            recorded_by: r.principal.account_id.clone(),
            recorded_agency_id: r.principal.agency_id.clone(),
            recorded_at: r.now,
            withdrawn_at: None,
            withdrawn_by: None,
            withdrawal_reason: None,
            version: 1,
        };
        let txn = db.begin().await?;
        consent::ActiveModel::from(model).insert(&txn).await?;
        for c in &categories {
            consent_category::ActiveModel::from(consent_category::Model {
                consent_id: id.clone(),
                category: c.as_str().to_owned(),
            })
            .insert(&txn)
            .await?;
        }
        let recipients = agencies
            .iter()
            .map(|a| ("AGENCY", a.clone()))
            .chain(kinds.iter().map(|k| ("AGENCY_KIND", k.as_str().to_owned())));
        for (t, v) in recipients {
            consent_recipient::ActiveModel::from(consent_recipient::Model {
                consent_id: id.clone(),
                recipient_type: t.to_owned(),
                recipient_value: v,
            })
            .insert(&txn)
            .await?;
        }
        audit::append(
            &txn,
            vec![Entry::write(
                &r.principal,
                "recordConsent",
                "consent",
                &id,
                Some(&person_id),
                serde_json::json!({
                    "categories": categories.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                    "recipientAgencies": agencies,
                    "recipientKinds": kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
                }),
            )],
        )
        .await?;
        txn.commit().await?;
        // The person's cached facts and consent records are stale now.
        forget_person(ctx, &person_id)?;
        let saved = store::consents::get(db, &id)
            .await?
            .ok_or_else(|| ApiError::internal("recordConsent", "vanished"))?;
        Ok(with_details(ctx, vec![saved]).await?.remove(0))
    }

    /// 同意を撤回 (削除はしない; 次のリクエストから効力) / withdraw a consent (never deleted)
    async fn withdraw_consent(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        reason: Option<String>,
    ) -> ApiResult<Consent> {
        let r = req(ctx)?;
        r.require(Action::RecordConsent, "withdrawConsent")?;
        let id = validate::id("id", &id)?;
        let db = db(ctx)?;
        let current = store::consents::get(db, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("id"))?;
        let Some(person) = Person::visible(ctx, std::slice::from_ref(&current.subject_person_id))
            .await?
            .pop()
        else {
            return Err(ApiError::not_found("id"));
        };
        // A consent the caller may not list is, to it, one that does not exist.
        let listed = load_persons(ctx, std::slice::from_ref(&current.subject_person_id))
            .await?
            .pop()
            .and_then(|l| l.consents.iter().find(|c| c.model.id == id).cloned())
            .map(Consent::from);
        let known = listed.is_some_and(|c| {
            policy::may_know_consent(
                &r.principal,
                person.owner_agency_id(),
                c.names(&r.principal),
                &current.recorded_agency_id,
            )
        });
        if !known {
            return Err(ApiError::not_found("id"));
        }
        if person.owner_agency_id() != r.principal.agency_id
            && current.recorded_agency_id != r.principal.agency_id
        {
            return Err(ApiError::forbidden("本人を登録した機関のみ撤回を記録できます / only the registering agency may record a withdrawal"));
        }
        if current.withdrawn_at.is_some() {
            return Err(ApiError::conflict(
                "既に撤回されています / already withdrawn",
            ));
        }
        let mut am: consent::ActiveModel = current.clone().into();
        am.withdrawn_at = Set(Some(r.now));
        am.withdrawn_by = Set(Some(r.principal.account_id.clone()));
        am.withdrawal_reason = Set(validate::optional("reason", reason.as_ref(), 500)?);
        am.version = Set(store::next_version(version));
        store::versioned_update::<consent::Entity>(
            db,
            am,
            consent::Column::Id,
            consent::Column::Version,
            &id,
            version,
            current.version,
            vec![Entry::write(
                &r.principal,
                "withdrawConsent",
                "consent",
                &id,
                Some(&current.subject_person_id),
                serde_json::json!({"fields": ["withdrawnAt"]}),
            )],
        )
        .await?;
        forget_person(ctx, &current.subject_person_id)?;
        let saved = store::consents::get(db, &id)
            .await?
            .ok_or_else(|| ApiError::internal("withdrawConsent", "vanished"))?;
        Ok(with_details(ctx, vec![saved]).await?.remove(0))
    }
}
