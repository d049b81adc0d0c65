//! Meetings: 重層的支援会議 (sharing needs the person's consent), 支援会議 under Art. 106-6
//! (its member agencies share the declared categories without consent within its period,
//! through the policy's SUPPORT_MEETING basis) and case conferences.
//!
//! A meeting exists for the agencies that convened it or take part in it (with roles that
//! handle person-level data); for anyone else it is NOT_FOUND. Its minutes are NARRATIVE of
//! every current household member, held by the convener; with no current member left they
//! are the convener's alone. Either way they leave through the gate and are ledgered. Who
//! convenes, writes the minutes and asks consent gaps is `policy::write::meeting`.

use std::collections::{BTreeSet, HashMap};

use async_graphql::{Context, Object, SimpleObject, ID};

use super::context::{db, req};
use super::enums::{text_enum, Category as GqlCategory};
use super::gate::{nullable, reveal_all, RecordRef};
use super::household::{self, Household};
use super::loaders::{
    household_subjects, households, known_facts, load_agencies, load_persons, members_of, Wants,
};
use super::registry::{agency_by_id, Agency};
use super::scalars::{Date, DateTime};
use super::validate;
use crate::error::{ApiError, ApiResult};
use crate::policy::write::case::may_coordinate;
use crate::policy::write::meeting::{self as rule, AskConsentGaps};
use crate::policy::{self, Action, AgencyKind, Category, Item, Link, SubjectFacts};
use crate::store::{self, meetings::MeetingRow};
use entity::case_decision;

text_enum! {
    /// 会議の種別 / kind of meeting
    MeetingKind {
        /// 重層的支援会議 (共有には本人の同意が必要) / multi-agency meeting; sharing needs consent
        MultiAgencyMeeting = "MULTI_AGENCY_MEETING",
        /// 支援会議 (社会福祉法 第106条の6; 構成員は期間中、宣言された区分を同意なく共有) /
        /// support meeting under Art. 106-6; members share the declared categories without
        /// consent during its period
        SupportMeeting = "SUPPORT_MEETING",
        /// ケース会議 / case conference
        CaseConference = "CASE_CONFERENCE",
    }
}

/// The longest period a 支援会議 may be constituted for: a basis without consent must end.
pub(super) const MAX_SUPPORT_MEETING_DAYS: i64 = 366;

const NARRATIVE: Item = Item::of(Category::Narrative);

/// 会議 / a meeting. Built only for its convener and its participants.
pub struct Meeting(pub(super) MeetingRow);

/// The meeting, if the caller's agency convened it or takes part in it and its roles may see
/// person-level data; NOT_FOUND otherwise (for a missing id alike).
pub async fn find(ctx: &Context<'_>, field: &str, id: &str) -> ApiResult<Meeting> {
    let r = req(ctx)?;
    match store::meetings::get(db(ctx)?, id).await? {
        Some(row) if party(r, &row) => Ok(Meeting(row)),
        _ => Err(ApiError::not_found(field)),
    }
}

/// Whether the caller may know the meeting `id` (what an id pointing at it needs).
pub async fn knows(ctx: &Context<'_>, id: &str) -> ApiResult<bool> {
    Ok(find(ctx, "meetingId", id).await.is_ok())
}

fn party(r: &super::context::RequestCtx, row: &MeetingRow) -> bool {
    let parties = std::iter::once(row.model.owner_agency_id.as_str())
        .chain(row.members.iter().map(String::as_str));
    policy::is_party(&r.principal, parties)
}

impl Meeting {
    /// The meeting as a record; its subjects are tied to it through their membership of the
    /// household, which `household_owner` (the household's registering agency) holds.
    fn record<'a>(&'a self, household_owner: &'a str) -> RecordRef<'a> {
        RecordRef {
            kind: "meeting",
            id: &self.0.model.id,
            owner: &self.0.model.owner_agency_id,
            link: Link::Data {
                category: Category::Household,
                holder: household_owner,
            },
        }
    }

    /// The registering agency of the meeting's household (it holds the members' tie to it).
    async fn household_owner(&self, ctx: &Context<'_>) -> ApiResult<String> {
        let hid = &self.0.model.household_id;
        households(ctx, std::slice::from_ref(hid))
            .await?
            .remove(hid)
            .flatten()
            .map(|h| h.owner_agency_id)
            .ok_or_else(|| ApiError::internal("meeting.household", "missing household"))
    }

    /// NARRATIVE of the meeting (minutes): shown only if allowed for every current household
    /// member. With no current member, only the convener sees it, its own record (OWN),
    /// revealed for the household's former members (and so ledgered); anyone else gets null.
    async fn narrative(
        &self,
        ctx: &Context<'_>,
        value: Option<String>,
    ) -> ApiResult<Option<String>> {
        let hid = &self.0.model.household_id;
        let mut subjects = household_subjects(ctx, hid).await?;
        if subjects.is_empty() {
            if !rule::holds_minutes(&req(ctx)?.principal, &self.0.model.owner_agency_id) {
                return Ok(None);
            }
            let former: Vec<String> = members_of(ctx, std::slice::from_ref(hid))
                .await?
                .into_values()
                .flatten()
                .map(|m| m.person_id)
                .collect();
            subjects = load_persons(ctx, &former)
                .await?
                .into_iter()
                .map(|l| l.facts)
                .collect();
        }
        let owner = self.household_owner(ctx).await?;
        nullable(
            ctx,
            reveal_all(ctx, &subjects, self.record(&owner), NARRATIVE, || value),
        )
    }
}

/// 会議での決定 (支援決定・終結・中断等; 記録はケース側) / a case decision taken at the
/// meeting. Listed only for cases the caller may see; its reason is PLAN of the case.
pub struct MeetingDecision {
    model: case_decision::Model,
    scope: super::case::Scope,
}

#[Object]
impl MeetingDecision {
    async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }
    /// 決定の種別 / kind of decision
    async fn kind(&self) -> &str {
        &self.model.kind
    }
    /// 決定日 / decided on
    async fn decided_on(&self) -> Date {
        self.model.decided_on.into()
    }
    /// 理由 (ケースの PLAN) / reason, PLAN of the case
    async fn reason(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        let v = self.model.reason.clone();
        self.scope.reveal(
            ctx,
            "case_decision",
            &self.model.id,
            Item::of(Category::Plan),
            || v,
        )
    }
}

#[Object]
impl Meeting {
    async fn id(&self) -> ID {
        ID(self.0.model.id.clone())
    }
    async fn kind(&self) -> ApiResult<MeetingKind> {
        MeetingKind::from_db(&self.0.model.kind)
    }
    /// 開催日時 / held at
    async fn held_at(&self) -> DateTime {
        self.0.model.held_at.into()
    }
    /// 招集機関 / convening agency
    async fn convener(&self, ctx: &Context<'_>) -> ApiResult<Agency> {
        agency_by_id(ctx, &self.0.model.owner_agency_id).await
    }
    /// 参加機関 (支援会議では構成員; 招集機関を含む) / participating agencies (members), convener included
    async fn participants(&self, ctx: &Context<'_>) -> ApiResult<Vec<Agency>> {
        let mut out = Vec::new();
        for a in &self.0.members {
            out.push(agency_by_id(ctx, a).await?);
        }
        Ok(out)
    }
    /// 区分 (支援会議: 共有できる区分; 重層的支援会議: 共有予定の区分) / categories: shared under
    /// a 支援会議, to be shared (with consent) at a 重層的支援会議
    async fn categories(&self) -> ApiResult<Vec<GqlCategory>> {
        self.0
            .categories
            .iter()
            .map(|c| {
                Category::parse(c)
                    .map(Into::into)
                    .ok_or_else(|| ApiError::internal("meeting_category", c))
            })
            .collect()
    }
    /// 支援会議の期間 (開始) / start of a 支援会議's period
    async fn period_from(&self) -> Option<DateTime> {
        self.0.model.period_from.map(Into::into)
    }
    /// 支援会議の期間 (終了; この時点で終わる) / end of the period (exclusive)
    async fn period_until(&self) -> Option<DateTime> {
        self.0.model.period_until.map(Into::into)
    }
    /// 支援会議が現在有効か / whether a 支援会議 is in its period now
    async fn in_effect(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        let now = req(ctx)?.now;
        let m = &self.0.model;
        Ok(m.kind == store::facts::SUPPORT_MEETING_KIND
            && m.period_from.is_some_and(|f| f <= now)
            && m.period_until.is_some_and(|u| now < u))
    }
    /// 会議録 (NARRATIVE; 世帯の全構成員について根拠が必要) / minutes
    async fn minutes(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        self.narrative(ctx, self.0.model.minutes.clone()).await
    }
    /// この会議での決定 (見られるケースのもののみ) / decisions taken at this meeting, on
    /// cases the caller may see
    async fn decisions(&self, ctx: &Context<'_>) -> ApiResult<Vec<MeetingDecision>> {
        let id = &self.0.model.id;
        let rows = decisions_at(ctx, std::slice::from_ref(id))
            .await?
            .remove(id)
            .unwrap_or_default();
        let case_ids: Vec<String> = rows.iter().map(|d| d.case_id.clone()).collect();
        let cases = super::case::visible_by_id(ctx, &case_ids).await?;
        Ok(rows
            .into_iter()
            .filter_map(|model| {
                let scope = cases.get(&model.case_id)?.scope.clone();
                Some(MeetingDecision { model, scope })
            })
            .collect())
    }
    /// 支援ケース ID (そのケースを知る根拠がある場合; なければ null) / the support case,
    /// if the caller may know it (null otherwise, as when there is none)
    async fn case_id(&self, ctx: &Context<'_>) -> ApiResult<Option<ID>> {
        match &self.0.model.case_id {
            Some(id) if super::case::knows(ctx, id).await? => Ok(Some(ID(id.clone()))),
            _ => Ok(None),
        }
    }
    /// 世帯 (根拠がある場合) / the household, if the caller may know it
    async fn household(&self, ctx: &Context<'_>) -> ApiResult<Option<Household>> {
        match household::find(ctx, "household", &self.0.model.household_id).await {
            Ok(h) => Ok(Some(h)),
            Err(ApiError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
    async fn version(&self) -> i32 {
        self.0.model.version
    }
}

/// 同意の不足 / a participant agency without consent for a category of a member
#[derive(SimpleObject)]
pub struct ConsentGap {
    pub agency: Agency,
    pub person_id: ID,
    pub category: GqlCategory,
}

/// 重層的支援会議の前に確認する同意の不足 / consent gaps before a 重層的支援会議
#[derive(SimpleObject)]
pub struct ConsentGaps {
    /// (機関, 構成員, 区分) の順 / sorted by agency, person, category
    pub gaps: Vec<ConsentGap>,
    /// 根拠がなく確認できない構成員の数 (氏名・ID は示さない) / members the caller may not
    /// know, counted, never named
    pub unknown_members: i32,
}

/// Case decisions taken at these meetings, keyed by meeting, oldest first.
async fn decisions_at(
    ctx: &Context<'_>,
    meeting_ids: &[String],
) -> ApiResult<HashMap<String, Vec<case_decision::Model>>> {
    let query = store::meetings::decisions_of_meetings;
    let key: fn(&case_decision::Model) -> &str = |d| d.meeting_id.as_deref().unwrap_or_default();
    super::case::rows_of(ctx, |r| &r.meeting_decisions, meeting_ids, query, key).await
}

/// Load ahead, for a list of meetings, the rows that `wants` asks of each: the agencies,
/// the decisions with their cases, the households. Rows only: every field is still decided
/// on its own.
async fn prefetch(ctx: &Context<'_>, list: &[Meeting], wants: &Wants<'_>) -> ApiResult<()> {
    if wants.field("convener").exists() || wants.field("participants").exists() {
        let agencies: Vec<String> = list
            .iter()
            .flat_map(|m| std::iter::once(&m.0.model.owner_agency_id).chain(&m.0.members))
            .cloned()
            .collect();
        load_agencies(ctx, &agencies).await?;
    }
    let mut cases: Vec<String> = Vec::new();
    if wants.field("decisions").exists() {
        let ids: Vec<String> = list.iter().map(|m| m.0.model.id.clone()).collect();
        cases.extend(
            decisions_at(ctx, &ids)
                .await?
                .into_values()
                .flatten()
                .map(|d| d.case_id),
        );
    }
    if wants.field("caseId").exists() {
        cases.extend(list.iter().filter_map(|m| m.0.model.case_id.clone()));
    }
    if !cases.is_empty() {
        super::case::visible_by_id(ctx, &cases).await?;
    }
    let households = wants.field("household");
    if households.exists() {
        let ids: Vec<String> = list
            .iter()
            .map(|m| m.0.model.household_id.clone())
            .collect();
        household::prefetch_by_id(ctx, &ids, &households).await?;
    }
    Ok(())
}

#[derive(Default)]
pub struct MeetingQuery;

#[Object]
impl MeetingQuery {
    /// 会議 (招集機関・参加機関のみ) / a meeting by id (convener and participants only)
    async fn meeting(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Meeting> {
        let id = validate::id("id", &id)?;
        find(ctx, "id", &id).await
    }

    /// 世帯の会議 (自機関が招集・参加したもの、新しい順) / meetings about a household that the
    /// caller's agency convened or takes part in, newest first
    async fn meetings(&self, ctx: &Context<'_>, household_id: ID) -> ApiResult<Vec<Meeting>> {
        let r = req(ctx)?;
        let household_id = validate::id("householdId", &household_id)?;
        let rows = store::meetings::of_household_for_agency(
            db(ctx)?,
            &household_id,
            &r.principal.agency_id,
        )
        .await?;
        let list: Vec<Meeting> = rows
            .into_iter()
            .filter(|row| party(r, row))
            .map(Meeting)
            .collect();
        prefetch(ctx, &list, &Wants::list(ctx)).await?;
        Ok(list)
    }

    /// 重層的支援会議の同意の不足 (招集機関のみ): 招集機関以外の参加機関 × 構成員 × 区分で、
    /// 有効な同意がないもの / consent gaps of a 重層的支援会議 (convener only): for each
    /// participant other than the convener, each current member and each declared category,
    /// where no active consent covers it
    async fn consent_gaps(&self, ctx: &Context<'_>, meeting_id: ID) -> ApiResult<ConsentGaps> {
        let r = req(ctx)?;
        r.require(Action::CoordinateCases, "consentGaps")?;
        let id = validate::id("meetingId", &meeting_id)?;
        let m = find(ctx, "meetingId", &id).await?;
        let convener = &m.0.model.owner_agency_id;
        may_coordinate::<AskConsentGaps>(&r.principal, "consentGaps", &id, convener)
            .map(drop)
            .map_err(|e| ApiError::refused(e, "meetingId"))?;
        if m.0.model.kind != MeetingKind::MultiAgencyMeeting.as_str() {
            return Err(ApiError::bad_input(
                "meetingId",
                "重層的支援会議のみ / only for a MULTI_AGENCY_MEETING",
            ));
        }
        let db = db(ctx)?;
        let hid = m.0.model.household_id.clone();
        let household_owner = m.household_owner(ctx).await?;
        let members: Vec<String> = store::households::members_of(db, vec![hid])
            .await?
            .into_iter()
            .filter(|hm| r.current(hm))
            .map(|hm| hm.person_id)
            .collect();
        // A member is named only where the convener may know the person and see that they
        // belong to the household (the same decision as `Household.members`); others are
        // only counted.
        let link = Link::Data {
            category: Category::Household,
            holder: &household_owner,
        };
        let known: HashMap<String, std::sync::Arc<SubjectFacts>> = known_facts(ctx, &members)
            .await?
            .into_iter()
            .filter(|(_, f)| r.may_name(f, link))
            .collect();
        let unknown = members.iter().filter(|p| !known.contains_key(*p)).count();
        let mut agencies = Vec::new();
        for a in
            m.0.members
                .iter()
                .filter(|a| **a != m.0.model.owner_agency_id)
        {
            let model = store::registry::agency(db, a)
                .await?
                .ok_or_else(|| ApiError::internal("consentGaps", "agency vanished"))?;
            let kind = AgencyKind::parse(&model.kind)
                .ok_or_else(|| ApiError::internal("agency.kind", &model.kind))?;
            agencies.push((a.clone(), kind));
        }
        let categories: BTreeSet<Category> =
            m.0.categories
                .iter()
                .filter_map(|c| Category::parse(c))
                .collect();
        let mut keys = Vec::new();
        for (agency, kind) in &agencies {
            for person in members.iter().filter(|p| known.contains_key(*p)) {
                let facts: &SubjectFacts = &known[person];
                for &cat in &categories {
                    if !policy::consent_covers(facts, agency, *kind, cat, r.purpose, r.now) {
                        keys.push((agency.clone(), person.clone(), cat));
                    }
                }
            }
        }
        keys.sort();
        for person in members.iter().filter(|p| known.contains_key(*p)) {
            r.note_read(
                "consent",
                Some(person),
                serde_json::json!({ "field": "consentGaps", "meetingId": id }),
            );
        }
        let mut gaps = Vec::new();
        for (agency, person, cat) in keys {
            gaps.push(ConsentGap {
                agency: agency_by_id(ctx, &agency).await?,
                person_id: ID(person),
                category: cat.into(),
            });
        }
        Ok(ConsentGaps {
            gaps,
            unknown_members: i32::try_from(unknown).unwrap_or(i32::MAX),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::MeetingKind;

    #[test]
    fn support_meeting_is_stored_as_the_kind_the_policy_loads() {
        assert_eq!(
            MeetingKind::SupportMeeting.as_str(),
            crate::store::facts::SUPPORT_MEETING_KIND
        );
    }
}
