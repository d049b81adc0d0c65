//! Household writes: registering a household with its members, adding a member and ending a
//! membership (the registering agency only). Only a person the caller knows by its own record
//! or a consent is put into a household.

use async_graphql::{Context, InputObject, Object, ID};

use super::context::{db, req};
use super::household::{find, Household, HouseholdMember};
use super::loaders::{forget_person, forget_rows, known_facts, load_persons};
use super::scalars::Date;
use super::upsert::Via;
use super::validate;
use crate::audit::Entry;
use crate::error::{ApiError, ApiResult};
use crate::policy::write::household::{
    end_fault, may_change_household, may_create_household, may_end_membership, may_enrol, Enrol,
};
use crate::policy::{Action, Permit};
use crate::store;
use entity::{household, household_member};

#[derive(InputObject)]
pub struct MemberInput {
    pub person_id: ID,
    /// 続柄 (本人, 妻, 長男 …)
    pub relationship: String,
    #[graphql(default)]
    pub is_head: bool,
    pub joined_on: Option<Date>,
}

#[derive(Default)]
pub struct HouseholdMutation;

/// A member input's own values (remembering each invalid one in `invalid`).
fn member_row(
    invalid: &mut validate::Invalid,
    field: &str,
    household_id: &str,
    m: &MemberInput,
    now: chrono::DateTime<chrono::Utc>,
) -> household_member::Model {
    household_member::Model {
        id: store::new_id(),
        household_id: household_id.to_owned(),
        person_id: invalid.check(validate::id(&format!("{field}.personId"), &m.person_id)),
        relationship: invalid.check(validate::required(
            &format!("{field}.relationship"),
            &m.relationship,
            50,
        )),
        is_head: m.is_head,
        joined_on: m
            .joined_on
            .as_ref()
            .and_then(|d| invalid.check(d.get(&format!("{field}.joinedOn")).map(Some))),
        left_on: None,
        created_at: now,
    }
}

/// The policy's permit to put this person into a household: NOT_FOUND at `{field}.personId`
/// for a person the caller may not know, FORBIDDEN for one known otherwise than by its own
/// record or a consent.
async fn enrol(ctx: &Context<'_>, field: &str, person_id: &str) -> ApiResult<Permit<Enrol>> {
    let r = req(ctx)?;
    let known = known_facts(ctx, &[person_id.to_owned()]).await?;
    let facts = known.get(person_id).map(AsRef::as_ref);
    may_enrol(&r.principal, person_id, facts, r.purpose, r.now)
        .map_err(|e| ApiError::refused(e, &format!("{field}.personId")))
}

#[Object]
impl HouseholdMutation {
    /// 世帯を登録 / create a household with its members
    async fn create_household(
        &self,
        ctx: &Context<'_>,
        members: Vec<MemberInput>,
    ) -> ApiResult<Household> {
        create(ctx, members, Via::plain("createHousehold")).await
    }

    /// 構成員を追加 (登録機関のみ) / add a member (owning agency only)
    async fn add_household_member(
        &self,
        ctx: &Context<'_>,
        household_id: ID,
        member: MemberInput,
    ) -> ApiResult<HouseholdMember> {
        let r = req(ctx)?;
        r.require(Action::RecordPerson, "addHouseholdMember")?;
        let hid = validate::id("householdId", &household_id)?;
        let h = find(ctx, "householdId", &hid).await?;
        let permit = may_change_household(&r.principal, &hid, &h.0.owner_agency_id)
            .map_err(|e| ApiError::refused(e, "householdId"))?;
        let mut invalid = validate::Invalid::default();
        let row = member_row(&mut invalid, "member", &hid, &member, r.now);
        invalid.finish(ctx)?;
        let enrolled = enrol(ctx, "member", &row.person_id).await?;
        let db = db(ctx)?;
        let existing = store::households::members_of(db, vec![hid.clone()]).await?;
        if existing
            .iter()
            .any(|m| m.person_id == row.person_id && m.left_on.is_none())
        {
            return Err(ApiError::bad_input(
                "member.personId",
                "既にこの世帯の構成員です / already a member of this household",
            ));
        }
        if row.is_head && existing.iter().any(|m| m.is_head && m.left_on.is_none()) {
            return Err(ApiError::bad_input(
                "member.isHead",
                "世帯主は既にいます / the household already has a head",
            ));
        }
        let entries = vec![Entry::write(
            &r.principal,
            "addHouseholdMember",
            "household_member",
            &row.id,
            Some(&row.person_id),
            serde_json::json!({"householdId": hid}),
        )];
        let saved = store::households::add_member(db, permit, enrolled, row, entries).await?;
        forget_rows(ctx)?;
        // The person's facts include the 支援会議 of the household they belong to now.
        forget_person(ctx, &saved.person_id)?;
        Ok(HouseholdMember { model: saved })
    }

    /// 構成員の離脱 / end a membership (owning agency only)
    async fn end_household_membership(
        &self,
        ctx: &Context<'_>,
        member_id: ID,
        left_on: Date,
    ) -> ApiResult<HouseholdMember> {
        let r = req(ctx)?;
        r.require(Action::RecordPerson, "endHouseholdMembership")?;
        let mid = validate::id("memberId", &member_id)?;
        let left_on = left_on.get("leftOn")?;
        let db = db(ctx)?;
        let Some(m) = store::households::member(db, &mid).await? else {
            return Err(ApiError::not_found("memberId"));
        };
        let h = find(ctx, "memberId", &m.household_id).await?;
        let member = load_persons(ctx, std::slice::from_ref(&m.person_id)).await?;
        let facts = member.first().map(|l| l.facts.as_ref());
        let permit = may_end_membership(
            &r.principal,
            &mid,
            &h.0.owner_agency_id,
            facts,
            r.purpose,
            r.now,
        )
        .map_err(|e| ApiError::refused(e, "memberId"))?;
        if let Some(fault) = end_fault(m.joined_on, m.left_on, left_on) {
            return Err(ApiError::bad_input(fault.field(), fault.message()));
        }
        let entries = vec![Entry::write(
            &r.principal,
            "endHouseholdMembership",
            "household_member",
            &m.id,
            Some(&m.person_id),
            serde_json::json!({"fields": ["leftOn"]}),
        )];
        let saved = store::households::end_membership(db, permit, &m, left_on, entries).await?;
        forget_rows(ctx)?;
        // The person's facts include the 支援会議 of the household they belong to now.
        forget_person(ctx, &saved.person_id)?;
        Ok(HouseholdMember { model: saved })
    }
}

/// The body of `createHousehold`, shared with its upsert: `via` names the operation ledgered and
/// carries the external reference stored with the record.
pub(super) async fn create(
    ctx: &Context<'_>,
    members: Vec<MemberInput>,
    via: Via,
) -> ApiResult<Household> {
    let r = req(ctx)?;
    r.require(Action::RecordPerson, "createHousehold")?;
    // Every invalid value is reported at once; the persons are looked up after.
    let mut invalid = validate::Invalid::default();
    if members.is_empty() {
        invalid.push(ApiError::bad_input(
            "members",
            "1 人以上必要です / at least one member",
        ));
    }
    let id = store::new_id();
    let mut rows = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let row = member_row(&mut invalid, &format!("members.{i}"), &id, m, r.now);
        if !row.person_id.is_empty()
            && rows
                .iter()
                .any(|x: &household_member::Model| x.person_id == row.person_id)
        {
            invalid.push(ApiError::bad_input(
                format!("members.{i}.personId"),
                "同じ人が重複しています / the same person twice",
            ));
        }
        rows.push(row);
    }
    if rows.iter().filter(|m| m.is_head).count() > 1 {
        invalid.push(ApiError::bad_input(
            "members",
            "世帯主は 1 人まで / at most one head",
        ));
    }
    invalid.finish(ctx)?;
    let permit =
        may_create_household(&r.principal, &id).map_err(|e| ApiError::refused(e, "members"))?;
    let mut enrolled = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        enrolled.push((
            enrol(ctx, &format!("members.{i}"), &row.person_id).await?,
            row,
        ));
    }
    let model = household::Model {
        id: id.clone(),
        owner_agency_id: r.principal.agency_id.clone(),
        version: 1,
        created_by: r.principal.account_id.clone(),
        created_at: r.now,
        updated_at: r.now,
    };
    let mut entries = vec![Entry::write(
        &r.principal,
        via.op,
        "household",
        &id,
        None,
        serde_json::json!({"members": enrolled.len()}),
    )];
    for (_, m) in &enrolled {
        entries.push(Entry::write(
            &r.principal,
            via.op,
            "household_member",
            &m.id,
            Some(&m.person_id),
            serde_json::json!({"householdId": id}),
        ));
    }
    via.mark(&mut entries, "household");
    store::households::create(db(ctx)?, permit, model, enrolled, entries).await?;
    forget_rows(ctx)?;
    find(ctx, "id", &id).await
}
