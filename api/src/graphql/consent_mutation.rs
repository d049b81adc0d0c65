//! Consent mutations: recordConsent (the person's registering agency) and withdrawConsent
//! (a stamp, never a deletion), each allowed by its rule in `policy::write::consent`.

use std::collections::BTreeSet;

use async_graphql::{Context, InputObject, Object, ID};

use super::consent::{recipient, Consent};
use super::context::{db, req};
use super::enums::{
    AgencyKind, Category as GqlCategory, ConsentMethod, GivenBy, Purpose as GqlPurpose,
};
use super::loaders::{forget_person, load_persons};
use super::person::Person;
use super::scalars::DateTime;
use super::upsert::Via;
use super::validate;
use crate::audit::Entry;
use crate::error::{ApiError, ApiResult};
use crate::policy::write::consent::{may_record_consent, may_withdraw_consent, ConsentOnRecord};
use crate::policy::{self, Action, Category, Recipient};
use crate::store::{self, facts::ConsentRecord};
use entity::{consent, consent_category, consent_recipient};

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
        record(ctx, input, Via::plain("recordConsent")).await
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
        let Some(listed) = load_persons(ctx, std::slice::from_ref(&current.subject_person_id))
            .await?
            .pop()
            .and_then(|l| l.consents.iter().find(|c| c.model.id == id).cloned())
        else {
            return Err(ApiError::not_found("id"));
        };
        let recipients: Vec<Recipient<'_>> =
            listed.recipients.iter().filter_map(recipient).collect();
        let on_record = ConsentOnRecord {
            id: &id,
            person_owner: person.owner_agency_id(),
            recorded_by: &current.recorded_agency_id,
            recipients: &recipients,
            withdrawn_at: current.withdrawn_at,
        };
        let permit = may_withdraw_consent(&r.principal, &on_record)
            .map_err(|e| ApiError::refused(e, "id"))?;
        let withdrawn = consent::Model {
            withdrawn_at: Some(r.now),
            withdrawn_by: Some(r.principal.account_id.clone()),
            withdrawal_reason: validate::optional("reason", reason.as_ref(), 500)?,
            ..current.clone()
        };
        let person_id = current.subject_person_id.clone();
        let entries = vec![Entry::write(
            &r.principal,
            "withdrawConsent",
            "consent",
            &id,
            Some(&person_id),
            serde_json::json!({"fields": ["withdrawnAt"]}),
        )];
        store::consents::withdraw(db, permit, current, version, withdrawn, entries).await?;
        forget_person(ctx, &person_id)?;
        saved(ctx, "withdrawConsent", &id).await
    }
}

/// The consent as stored now, with its categories and recipients.
async fn saved(ctx: &Context<'_>, operation: &str, id: &str) -> ApiResult<Consent> {
    let db = db(ctx)?;
    let model = store::consents::get(db, id)
        .await?
        .ok_or_else(|| ApiError::internal(operation, "vanished"))?;
    let (categories, recipients) = store::facts::consent_details(db, std::slice::from_ref(&model))
        .await?
        .remove(id)
        .unwrap_or_default();
    Ok(Consent::from(ConsentRecord {
        model,
        categories,
        recipients,
    }))
}

/// A withdrawal stamp to record with the consent: set only by the FHIR import (request data
/// of an internal request, [`crate::http::fhir`]), never by a GraphQL client, so that an
/// inactive `Consent` resource is recorded as withdrawn when and by whom it was.
#[derive(Clone, Debug)]
pub struct PresetWithdrawal(pub crate::fhir::consent_import::Withdrawal);

/// The body of `recordConsent`, shared with its upsert: `via` names the operation ledgered and
/// carries the external reference stored with the record.
pub(super) async fn record(
    ctx: &Context<'_>,
    input: RecordConsentInput,
    via: Via,
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
                invalid.push(ApiError::bad_input(
                    "input.proxyName",
                    "本人の同意に代理人は指定できません / no proxy for the person's own consent",
                ));
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
    let withdrawal = ctx.data_opt::<PresetWithdrawal>().map(|w| w.0.clone());
    if let Some(w) = &withdrawal {
        if w.at > r.now {
            invalid.push(ApiError::bad_input(
                "withdrawal.at",
                "撤回日時が未来です / the withdrawal time is in the future",
            ));
        }
        let _ = invalid.check(validate::id("withdrawal.by", &w.by));
        let _ = invalid.check(validate::optional(
            "withdrawal.reason",
            w.reason.as_ref(),
            500,
        ));
    }
    invalid.finish(ctx)?;
    let Some(valid_from) = valid_from else {
        return Err(ApiError::internal(via.op, "validFrom unchecked"));
    };
    let person = Person::find(ctx, "input.personId", &person_id).await?;
    let permit = may_record_consent(&r.principal, person.facts())
        .map_err(|e| ApiError::refused(e, "input.personId"))?;
    let db = db(ctx)?;
    // A withdrawal is stamped with the account that took it: one of the caller's agency,
    // as when `withdrawConsent` stamps the caller (a resource cannot name another
    // agency's staff, nor an account that does not exist).
    if let Some(w) = &withdrawal {
        let ours = store::registry::account(db, &w.by)
            .await?
            .is_some_and(|a| a.agency_id == r.principal.agency_id);
        if !ours {
            return Err(ApiError::bad_input(
                "withdrawal.by",
                "撤回者は自機関のアカウントで指定してください / the withdrawal must name an account of your agency",
            ));
        }
    }
    for (field, a) in &recipients {
        if store::registry::agency(db, a).await?.is_none() {
            return Err(ApiError::not_found(field.as_str()));
        }
    }
    let agencies: BTreeSet<String> = recipients.into_iter().map(|(_, a)| a).collect();
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
        withdrawn_at: withdrawal.as_ref().map(|w| w.at),
        withdrawn_by: withdrawal.as_ref().map(|w| w.by.clone()),
        withdrawal_reason: withdrawal.as_ref().and_then(|w| w.reason.clone()),
        version: 1,
    };
    let record = ConsentRecord {
        model,
        categories: categories
            .iter()
            .map(|c| consent_category::Model {
                consent_id: id.clone(),
                category: c.as_str().to_owned(),
            })
            .collect(),
        recipients: agencies
            .iter()
            .map(|a| Recipient::Agency(a))
            .chain(kinds.iter().map(|k| Recipient::Kind(*k)))
            .map(|to| consent_recipient::Model {
                consent_id: id.clone(),
                recipient_type: to.recipient_type().to_owned(),
                recipient_value: to.value().to_owned(),
            })
            .collect(),
    };
    let entries = vec![Entry::write(
        &r.principal,
        via.op,
        "consent",
        &id,
        Some(&person_id),
        serde_json::json!({
            "categories": categories.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
            "recipientAgencies": agencies,
            "recipientKinds": kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
            "withdrawnAt": withdrawal.as_ref().map(|w| w.at.to_rfc3339()),
        }),
    )];
    let mut entries = entries;
    via.mark(&mut entries, "consent");
    store::consents::record(db, permit, record, entries).await?;
    // The person's cached facts and consent records are stale now.
    forget_person(ctx, &person_id)?;
    saved(ctx, via.op, &id).await
}
