//! Consultation writes: recording a consultation (received by the caller's agency) with
//! its subjects and issues, and changing its status (the receiving agency only). Each write
//! is ledgered once per subject.

use std::collections::HashSet;

use async_graphql::{Context, InputObject, Object, ID};

use super::consultation::{find, Consultation};
use super::context::{db, req};
use super::enums::{Channel, ConsultationStatus, Urgency};
use super::household;
use super::loaders::{forget_consultations, known_facts};
use super::scalars::DateTime;
use super::upsert::Via;
use super::validate;
use crate::audit::Entry;
use crate::error::{ApiError, ApiResult};
use crate::policy::write::consultation::{may_change_consultation, may_record_consultation};
use crate::policy::Action;
use crate::store;
use entity::consultation;

#[derive(InputObject)]
pub struct IssueInput {
    /// 課題分類コード / issue category code
    pub code: String,
    /// 主課題 (◎) / main issue
    #[graphql(default)]
    pub main: bool,
}

#[derive(InputObject)]
pub struct RecordConsultationInput {
    pub received_at: DateTime,
    pub channel: Channel,
    pub subject_person_ids: Vec<ID>,
    pub household_id: Option<ID>,
    pub issues: Vec<IssueInput>,
    pub summary: String,
    pub urgency: Urgency,
}

#[derive(Default)]
pub struct ConsultationMutation;

#[Object]
impl ConsultationMutation {
    /// 相談を受け付ける (自機関が受付機関) / record a consultation received by the caller's agency
    async fn record_consultation(
        &self,
        ctx: &Context<'_>,
        input: RecordConsultationInput,
    ) -> ApiResult<Consultation> {
        record(ctx, input, Via::plain("recordConsultation")).await
    }

    /// 相談の状態を変更 (受付機関のみ) / change a consultation's status (receiving agency)
    async fn set_consultation_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        status: ConsultationStatus,
    ) -> ApiResult<Consultation> {
        let r = req(ctx)?;
        r.require(Action::RecordConsultation, "setConsultationStatus")?;
        let id = validate::id("id", &id)?;
        let current = find(ctx, "id", &id).await?;
        let permit = may_change_consultation(&r.principal, &id, &current.model.receiving_agency_id)
            .map_err(|e| ApiError::refused(e, "id"))?;
        let entries = current
            .subject_ids
            .iter()
            .map(|p| {
                Entry::write(
                    &r.principal,
                    "setConsultationStatus",
                    "consultation",
                    &id,
                    Some(p),
                    serde_json::json!({"status": status.as_str()}),
                )
            })
            .collect();
        store::consultations::set_status(
            db(ctx)?,
            permit,
            &current.model,
            version,
            status.as_str(),
            r.now,
            entries,
        )
        .await?;
        forget_consultations(ctx)?;
        find(ctx, "id", &id).await
    }
}

/// The body of `recordConsultation`, shared with its upsert: `via` names the operation ledgered and
/// carries the external reference stored with the record.
pub(super) async fn record(
    ctx: &Context<'_>,
    input: RecordConsultationInput,
    via: Via,
) -> ApiResult<Consultation> {
    let r = req(ctx)?;
    r.require(Action::RecordConsultation, "recordConsultation")?;
    // Every invalid value is reported at once (the issue codes too, a fixed list); the
    // persons and the household are looked up after, and nothing is written unless all
    // are valid.
    let mut invalid = validate::Invalid::default();
    if input.subject_person_ids.is_empty() {
        invalid.push(ApiError::bad_input(
            "input.subjectPersonIds",
            "1 人以上必要です / at least one person",
        ));
    }
    let mut subjects: Vec<(String, String)> = Vec::new();
    for (i, id) in input.subject_person_ids.iter().enumerate() {
        let field = format!("input.subjectPersonIds.{i}");
        let Some(id) = invalid.check(validate::id(&field, id).map(Some)) else {
            continue;
        };
        if subjects.iter().any(|(_, s)| *s == id) {
            invalid.push(ApiError::bad_input(
                field,
                "同じ人が重複しています / the same person twice",
            ));
            continue;
        }
        subjects.push((field, id));
    }
    let household_id = input
        .household_id
        .as_ref()
        .and_then(|h| invalid.check(validate::id("input.householdId", h).map(Some)));
    let received_at = invalid.check(input.received_at.get("input.receivedAt").map(Some));
    if received_at.is_some_and(|at| at > r.now + chrono::Duration::minutes(5)) {
        invalid.push(ApiError::bad_input(
            "input.receivedAt",
            "未来の日時です / in the future",
        ));
    }
    let summary = invalid.check(validate::required("input.summary", &input.summary, 10_000));
    let db = db(ctx)?;
    let known: HashSet<String> = store::consultations::issue_categories(db)
        .await?
        .into_iter()
        .map(|c| c.code)
        .collect();
    let mut codes = HashSet::new();
    for (i, issue) in input.issues.iter().enumerate() {
        if !known.contains(&issue.code) {
            invalid.push(ApiError::bad_input(
                format!("input.issues.{i}.code"),
                format!(
                    "不明な課題分類です / unknown issue category {:?}",
                    issue.code
                ),
            ));
        } else if !codes.insert(issue.code.clone()) {
            invalid.push(ApiError::bad_input(
                format!("input.issues.{i}.code"),
                "重複しています / duplicate",
            ));
        }
    }
    if !input.issues.is_empty() && input.issues.iter().filter(|i| i.main).count() != 1 {
        invalid.push(ApiError::bad_input(
            "input.issues",
            "主課題 (main) はちょうど 1 つ / exactly one main issue",
        ));
    }
    invalid.finish(ctx)?;
    let Some(received_at) = received_at else {
        return Err(ApiError::internal(via.op, "receivedAt unchecked"));
    };
    for (field, id) in &subjects {
        if known_facts(ctx, std::slice::from_ref(id)).await?.is_empty() {
            return Err(ApiError::not_found(field.as_str()));
        }
    }
    let subjects: Vec<String> = subjects.into_iter().map(|(_, id)| id).collect();
    if let Some(h) = &household_id {
        household::find(ctx, "input.householdId", h).await?;
    }
    let id = store::new_id();
    let permit =
        may_record_consultation(&r.principal, &id).map_err(|e| ApiError::refused(e, "input"))?;
    let model = consultation::Model {
        id: id.clone(),
        receiving_agency_id: r.principal.agency_id.clone(),
        received_at,
        channel: input.channel.as_str().to_owned(),
        household_id,
        summary,
        urgency: input.urgency.as_str().to_owned(),
        status: ConsultationStatus::Open.as_str().to_owned(),
        version: 1,
        created_by: r.principal.account_id.clone(),
        created_at: r.now,
        updated_at: r.now,
    };
    let entries = subjects
        .iter()
        .map(|p| {
            Entry::write(
                &r.principal,
                via.op,
                "consultation",
                &id,
                Some(p),
                serde_json::json!({"fields": ["receivedAt", "channel", "summary", "issues", "urgency"]}),
            )
        })
        .collect();
    let issues = input.issues.into_iter().map(|i| (i.code, i.main)).collect();
    let mut entries: Vec<Entry> = entries;
    via.mark(&mut entries, "consultation");
    store::consultations::record(db, permit, model, subjects, issues, entries).await?;
    forget_consultations(ctx)?;
    find(ctx, "id", &id).await
}
