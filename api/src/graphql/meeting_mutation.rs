//! Meeting writes: convening a meeting (the convener is the caller's agency and always a
//! member) and its minutes. Each write is ledgered once per current household member.

use std::collections::BTreeSet;

use async_graphql::{Context, InputObject, Object, ID};

use super::context::{db, req};
use super::enums::Category as GqlCategory;
use super::household;
use super::loaders::{household_subjects, load_persons};
use super::meeting::{find, Meeting, MeetingKind, MAX_SUPPORT_MEETING_DAYS};
use super::scalars::DateTime;
use super::validate;
use crate::audit::Entry;
use crate::error::{ApiError, ApiResult};
use crate::policy::write::case::may_coordinate;
use crate::policy::write::meeting::{self as rule, ChangeMinutes};
use crate::policy::{Action, AgencyKind, Category, SubjectFacts};
use crate::store::{self, meetings::MeetingRow};
use entity::meeting;

#[derive(InputObject)]
pub struct CreateMeetingInput {
    pub kind: MeetingKind,
    pub household_id: ID,
    pub case_id: Option<ID>,
    /// 開催日時 / held at
    pub held_at: DateTime,
    /// 参加機関 (招集機関は自動的に含まれる) / participating agencies (the convener is added)
    pub participant_agency_ids: Vec<ID>,
    /// 支援会議: 構成員が見られる区分; 重層的支援会議: 共有予定の区分 / categories
    pub categories: Vec<GqlCategory>,
    /// 支援会議のみ必須。日付のみ (YYYY-MM-DD) は日本時間のその日 0:00 / required for a
    /// SUPPORT_MEETING only; a date alone means 00:00 Asia/Tokyo that day
    pub period_from: Option<DateTime>,
    /// 支援会議のみ必須 (開始より後, 366 日以内)。日付のみは日本時間のその日 0:00 (その日の
    /// 始まりに終わる) / required for a SUPPORT_MEETING; after periodFrom; a date alone means
    /// 00:00 Asia/Tokyo that day (the period ends as that day begins)
    pub period_until: Option<DateTime>,
}

#[derive(Default)]
pub struct MeetingMutation;

/// The participants' ids (remembering each invalid or repeated one in `invalid`). The agencies are checked by [`participant_agencies`] after.
fn participant_ids(
    invalid: &mut validate::Invalid,
    input: &CreateMeetingInput,
) -> Vec<(String, String)> {
    if input.participant_agency_ids.is_empty() {
        invalid.push(ApiError::bad_input(
            "input.participantAgencyIds",
            "1 機関以上必要です / at least one agency",
        ));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (i, a) in input.participant_agency_ids.iter().enumerate() {
        let field = format!("input.participantAgencyIds.{i}");
        let Some(id) = invalid.check(validate::id(&field, a).map(Some)) else {
            continue;
        };
        if !seen.insert(id.clone()) {
            invalid.push(ApiError::bad_input(field, "重複しています / duplicate"));
            continue;
        }
        out.push((field, id));
    }
    out
}

/// The participants: active agencies, none a third party for a 支援会議 (a basis without
/// consent is for the 関係機関 the city constitutes it with), with the convener.
async fn participant_agencies(
    ctx: &Context<'_>,
    kind: MeetingKind,
    ids: Vec<(String, String)>,
) -> ApiResult<BTreeSet<String>> {
    let db = db(ctx)?;
    let mut out = BTreeSet::new();
    out.insert(req(ctx)?.principal.agency_id.clone());
    for (field, id) in ids {
        let agency = match store::registry::agency(db, &id).await? {
            Some(a) if a.active => a,
            _ => return Err(ApiError::not_found(field)),
        };
        let support_meeting = kind == MeetingKind::SupportMeeting;
        if AgencyKind::parse(&agency.kind).is_some_and(|k| !rule::may_take_part(support_meeting, k))
        {
            return Err(ApiError::bad_input(
                field,
                "第三者は支援会議の構成員になれません / a third party cannot be a member",
            ));
        }
        out.insert(id);
    }
    Ok(out)
}

#[Object]
impl MeetingMutation {
    /// 会議を登録 (自機関が招集機関) / create a meeting convened by the caller's agency
    async fn create_meeting(
        &self,
        ctx: &Context<'_>,
        input: CreateMeetingInput,
    ) -> ApiResult<Meeting> {
        let r = req(ctx)?;
        r.require(Action::CoordinateCases, "createMeeting")?;
        // Every invalid value is reported at once; the records named are looked up after.
        let mut invalid = validate::Invalid::default();
        let household_id = invalid.check(validate::id("input.householdId", &input.household_id));
        let case_id = input
            .case_id
            .as_ref()
            .and_then(|c| invalid.check(validate::id("input.caseId", c).map(Some)));
        let held_at = invalid.check(input.held_at.get("input.heldAt"));
        let participant_ids = participant_ids(&mut invalid, &input);
        let mut categories = BTreeSet::new();
        for (i, c) in input.categories.iter().enumerate() {
            if !categories.insert(Category::from(*c)) {
                invalid.push(ApiError::bad_input(
                    format!("input.categories.{i}"),
                    "重複しています / duplicate",
                ));
            }
        }
        let from = input
            .period_from
            .as_ref()
            .and_then(|d| invalid.check(d.get_or_date("input.periodFrom").map(Some)));
        let until = input
            .period_until
            .as_ref()
            .and_then(|d| invalid.check(d.get_or_date("input.periodUntil").map(Some)));
        if input.kind == MeetingKind::SupportMeeting {
            let required = "支援会議には期間が必要です / required for a SUPPORT_MEETING";
            if input.period_from.is_none() {
                invalid.push(ApiError::bad_input("input.periodFrom", required));
            }
            if input.period_until.is_none() {
                invalid.push(ApiError::bad_input("input.periodUntil", required));
            }
            if let (Some(from), Some(until)) = (from, until) {
                if until <= from {
                    invalid.push(ApiError::bad_input(
                        "input.periodUntil",
                        "periodFrom より後にしてください / must be after periodFrom",
                    ));
                } else if until - from > chrono::Duration::days(MAX_SUPPORT_MEETING_DAYS) {
                    invalid.push(ApiError::bad_input(
                        "input.periodUntil",
                        format!("期間は {MAX_SUPPORT_MEETING_DAYS} 日以内 / at most {MAX_SUPPORT_MEETING_DAYS} days"),
                    ));
                }
            }
            if categories.is_empty() {
                invalid.push(ApiError::bad_input(
                    "input.categories",
                    "1 区分以上必要です / at least one category",
                ));
            }
        } else if input.period_from.is_some() || input.period_until.is_some() {
            let field = if input.period_from.is_some() {
                "input.periodFrom"
            } else {
                "input.periodUntil"
            };
            invalid.push(ApiError::bad_input(
                field,
                "期間は支援会議のみ / a period is for a SUPPORT_MEETING only",
            ));
        }
        invalid.finish(ctx)?;
        household::find(ctx, "input.householdId", &household_id).await?;
        let db = db(ctx)?;
        let support_meeting = input.kind == MeetingKind::SupportMeeting;
        let members = if support_meeting {
            household_subjects(ctx, &household_id).await?
        } else {
            Vec::new()
        };
        let members: Vec<&SubjectFacts> = members.iter().map(|m| m.as_ref()).collect();
        let support_meeting = support_meeting.then_some(&members[..]);
        let permit = rule::may_convene(
            &r.principal,
            &household_id,
            support_meeting,
            r.purpose,
            r.now,
        )
        .map_err(|e| ApiError::refused(e, "input.householdId"))?;
        if let Some(c) = &case_id {
            // Only a case the caller may know (else it is, to it, one that does not exist),
            // of this household.
            let known = super::case::visible_by_id(ctx, std::slice::from_ref(c)).await?;
            match known.get(c) {
                Some(sc) if sc.model.household_id == household_id => {}
                _ => return Err(ApiError::not_found("input.caseId")),
            }
        }
        let members = participant_agencies(ctx, input.kind, participant_ids).await?;
        let id = store::new_id();
        let subjects = current_members(ctx, &household_id).await?;
        let cats: Vec<String> = categories.iter().map(|c| c.as_str().to_owned()).collect();
        // A 支援会議 opens data without consent: admins are alerted, as for break-glass.
        let alert =
            (input.kind == MeetingKind::SupportMeeting).then_some("SUPPORT_MEETING_CONSTITUTED");
        let entries = subjects
            .iter()
            .map(|p| {
                Entry::write(
                    &r.principal,
                    "createMeeting",
                    "meeting",
                    &id,
                    Some(p),
                    serde_json::json!({
                        "householdId": household_id,
                        "fields": ["kind", "heldAt", "participants", "categories", "period"],
                        "alert": alert,
                    }),
                )
            })
            .collect();
        let row = MeetingRow {
            model: meeting::Model {
                id: id.clone(),
                kind: input.kind.as_str().to_owned(),
                household_id,
                case_id,
                owner_agency_id: r.principal.agency_id.clone(),
                held_at,
                minutes: None,
                period_from: from,
                period_until: until,
                version: 1,
                created_by: r.principal.account_id.clone(),
                created_at: r.now,
                updated_at: r.now,
            },
            members: members.into_iter().collect(),
            categories: cats,
        };
        store::meetings::create(db, permit, row, entries).await?;
        // The household's facts changed (a new 支援会議 may be a basis): reload them.
        for p in &subjects {
            super::loaders::forget_person(ctx, p)?;
        }
        find(ctx, "id", &id).await
    }

    /// 会議録を更新 (招集機関のみ、version が一致すること) / update the minutes (convener; current version)
    async fn update_meeting_minutes(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        minutes: String,
    ) -> ApiResult<Meeting> {
        let r = req(ctx)?;
        r.require(Action::CoordinateCases, "updateMeetingMinutes")?;
        let id = validate::id("id", &id)?;
        let current = find(ctx, "id", &id).await?;
        let read = &current.0.model;
        let op = "updateMeetingMinutes";
        let permit = may_coordinate::<ChangeMinutes>(&r.principal, op, &id, &read.owner_agency_id)
            .map_err(|e| ApiError::refused(e, "id"))?;
        let minutes = validate::required("minutes", &minutes, 20_000)?;
        let changed = meeting::Model {
            minutes: Some(minutes),
            updated_at: r.now,
            ..read.clone()
        };
        let entries = current_members(ctx, &current.0.model.household_id)
            .await?
            .iter()
            .map(|p| {
                Entry::write(
                    &r.principal,
                    "updateMeetingMinutes",
                    "meeting",
                    &id,
                    Some(p),
                    serde_json::json!({ "fields": ["minutes"] }),
                )
            })
            .collect();
        store::cases::update_record(db(ctx)?, permit, read, version, changed, entries).await?;
        find(ctx, "id", &id).await
    }
}

/// Ids of the household's current members (the subjects of a meeting's ledger rows).
async fn current_members(ctx: &Context<'_>, household_id: &str) -> ApiResult<Vec<String>> {
    let r = req(ctx)?;
    let members = store::households::members_of(db(ctx)?, vec![household_id.to_owned()]).await?;
    let ids: Vec<String> = members
        .into_iter()
        .filter(|m| r.current(m))
        .map(|m| m.person_id)
        .collect();
    // Warm the cache for the resolvers that follow.
    load_persons(ctx, &ids).await?;
    Ok(ids)
}
