//! Households (世帯) and memberships (続柄, 世帯主, 加入・離脱). Membership is HOUSEHOLD data
//! of the member, held in the household's owning agency's record.

use std::collections::HashMap;

use super::scalars::Date;
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, InputObject, Object, ID};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, TransactionTrait};

use super::context::{db, req};
use super::gate::{admit, nullable, reveal_all, RecordRef};
use super::loaders::{
    forget_person, forget_rows, household_subjects, households, known_facts, members_of,
    memberships_of, Wants,
};
use super::person::Person;
use super::registry::{agency_by_id, Agency};
use super::validate;
use crate::audit::{self, Entry};
use crate::error::{ApiError, ApiResult};
use crate::policy::{Action, Category, Item, Link};
use crate::store;
use entity::{household, household_member};

const HOUSEHOLD: Item = Item::of(Category::Household);

/// 世帯 / a household
pub struct Household(household::Model);

/// 世帯構成員 / a household membership
pub struct HouseholdMember {
    model: household_member::Model,
}

/// Memberships of these households that the caller may see (ledgered either way).
async fn visible_members(
    ctx: &Context<'_>,
    households: &[household::Model],
) -> ApiResult<Vec<household_member::Model>> {
    let ids: Vec<String> = households.iter().map(|h| h.id.clone()).collect();
    let mut by_household = members_of(ctx, &ids).await?;
    let members: Vec<household_member::Model> = households
        .iter()
        .flat_map(|h| by_household.remove(&h.id).unwrap_or_default())
        .collect();
    let owners: HashMap<&str, &str> = households
        .iter()
        .map(|h| (h.id.as_str(), h.owner_agency_id.as_str()))
        .collect();
    let ids: Vec<String> = members.iter().map(|m| m.person_id.clone()).collect();
    let facts = super::loaders::load_persons(ctx, &ids).await?;
    let facts: HashMap<&str, _> = facts
        .iter()
        .map(|l| (l.model.id.as_str(), &l.facts))
        .collect();
    let mut out = Vec::new();
    for m in members {
        let (Some(f), Some(owner)) = (
            facts.get(m.person_id.as_str()),
            owners.get(m.household_id.as_str()),
        ) else {
            continue;
        };
        let record = RecordRef {
            kind: "household",
            id: &m.household_id,
            owner,
            link: Link::Data {
                category: Category::Household,
                holder: owner,
            },
        };
        if admit(ctx, f, record, HOUSEHOLD)? {
            out.push(m);
        }
    }
    Ok(out)
}

/// The households among `rows` the caller may know exist (order kept): its agency owns
/// them, or it may see the membership of at least one member. Not ledgered (no personal
/// field is shown by it). The members and their facts are loaded for all rows at once.
async fn visible_households(
    ctx: &Context<'_>,
    rows: Vec<household::Model>,
) -> ApiResult<Vec<household::Model>> {
    let r = req(ctx)?;
    if !crate::policy::ceiling::ceiling_allows(&r.principal, Category::Household) {
        return Ok(Vec::new());
    }
    let others: Vec<String> = rows
        .iter()
        .filter(|h| h.owner_agency_id != r.principal.agency_id)
        .map(|h| h.id.clone())
        .collect();
    let members = members_of(ctx, &others).await?;
    let ids: Vec<String> = members
        .values()
        .flatten()
        .map(|m| m.person_id.clone())
        .collect();
    let loaded = super::loaders::load_persons(ctx, &ids).await?;
    let facts: HashMap<&str, _> = loaded
        .iter()
        .map(|l| (l.model.id.as_str(), &l.facts))
        .collect();
    Ok(rows
        .into_iter()
        .filter(|h| {
            h.owner_agency_id == r.principal.agency_id
                || members.get(&h.id).into_iter().flatten().any(|m| {
                    facts
                        .get(m.person_id.as_str())
                        .is_some_and(|f| r.decide(f, &h.owner_agency_id, HOUSEHOLD).is_ok())
                })
        })
        .collect())
}

pub async fn find(ctx: &Context<'_>, field: &str, id: &str) -> ApiResult<Household> {
    let row = households(ctx, &[id.to_owned()])
        .await?
        .remove(id)
        .flatten();
    visible_households(ctx, row.into_iter().collect())
        .await?
        .pop()
        .map(Household)
        .ok_or_else(|| ApiError::not_found(field))
}

/// Load ahead, for a list of households the caller may know, what `wants` asks of them:
/// members (with their persons and facts), the owning agencies, and the members' own
/// memberships and consultations. Rows only: every field is still decided on its own.
pub async fn prefetch(
    ctx: &Context<'_>,
    list: &[household::Model],
    wants: &Wants<'_>,
) -> ApiResult<()> {
    let members = wants.field("members");
    if !members.exists() && !wants.field("ownerAgency").exists() {
        return Ok(());
    }
    let ids: Vec<String> = list.iter().map(|h| h.id.clone()).collect();
    let persons: Vec<String> = members_of(ctx, &ids)
        .await?
        .into_values()
        .flatten()
        .map(|m| m.person_id)
        .collect();
    super::loaders::load_persons(ctx, &persons).await?;
    if wants.field("ownerAgency").exists() {
        let owners: Vec<String> = list.iter().map(|h| h.owner_agency_id.clone()).collect();
        super::loaders::load_agencies(ctx, &owners).await?;
    }
    let person = members.field("person");
    super::person::prefetch(ctx, &persons, &person).await?;
    let consultations = person.field("consultations");
    if consultations.exists() {
        let issues = consultations.field("issues").exists();
        super::consultation::prefetch_about(ctx, &persons, issues).await?;
    }
    Ok(())
}

/// Like [`prefetch`] for households named by id (a list's records' households), with the
/// rows and what tells whether the caller may know each household.
pub async fn prefetch_by_id(ctx: &Context<'_>, ids: &[String], wants: &Wants<'_>) -> ApiResult<()> {
    let rows: Vec<household::Model> = households(ctx, ids)
        .await?
        .into_values()
        .flatten()
        .collect();
    let list = visible_households(ctx, rows).await?;
    prefetch(ctx, &list, wants).await
}

/// Load ahead the memberships of these persons and their households (for `Person.households`
/// under a list).
pub async fn prefetch_memberships(ctx: &Context<'_>, person_ids: &[String]) -> ApiResult<()> {
    let ids: Vec<String> = memberships_of(ctx, person_ids)
        .await?
        .into_values()
        .flatten()
        .map(|m| m.household_id)
        .collect();
    households(ctx, &ids).await?;
    Ok(())
}

/// The person's memberships the caller may see.
pub async fn memberships_of_person(
    ctx: &Context<'_>,
    p: &Person,
) -> ApiResult<Vec<HouseholdMember>> {
    let memberships = memberships_of(ctx, &[p.person_id().to_owned()])
        .await?
        .remove(p.person_id())
        .unwrap_or_default();
    let ids: Vec<String> = memberships.iter().map(|m| m.household_id.clone()).collect();
    let households = households(ctx, &ids).await?;
    let owners: HashMap<&str, &str> = households
        .values()
        .flatten()
        .map(|h| (h.id.as_str(), h.owner_agency_id.as_str()))
        .collect();
    let mut out = Vec::new();
    for m in memberships {
        let Some(owner) = owners.get(m.household_id.as_str()) else {
            continue;
        };
        let record = RecordRef {
            kind: "household",
            id: &m.household_id,
            owner,
            link: Link::Data {
                category: Category::Household,
                holder: owner,
            },
        };
        if admit(ctx, p.facts(), record, HOUSEHOLD)? {
            out.push(HouseholdMember { model: m });
        }
    }
    Ok(out)
}

#[Object]
impl Household {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// 登録機関 (NARRATIVE: 全構成員について根拠が必要) / owning agency — which agency
    /// holds the household is NARRATIVE of every current member
    async fn owner_agency(&self, ctx: &Context<'_>) -> ApiResult<Option<Agency>> {
        let subjects = household_subjects(ctx, &self.0.id).await?;
        let record = RecordRef {
            kind: "household",
            id: &self.0.id,
            owner: &self.0.owner_agency_id,
            link: Link::Data {
                category: Category::Household,
                holder: &self.0.owner_agency_id,
            },
        };
        let owner = reveal_all(
            ctx,
            &subjects,
            record,
            Item::of(Category::Narrative),
            || Some(self.0.owner_agency_id.clone()),
        );
        match nullable(ctx, owner)? {
            Some(id) => Ok(Some(agency_by_id(ctx, &id).await?)),
            None => Ok(None),
        }
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// 構成員 (HOUSEHOLD; 根拠のある構成員のみ) / members the caller may see
    async fn members(&self, ctx: &Context<'_>) -> ApiResult<Vec<HouseholdMember>> {
        let members = visible_members(ctx, std::slice::from_ref(&self.0)).await?;
        let ids: Vec<String> = members.iter().map(|m| m.person_id.clone()).collect();
        // The agencies of each member's consents (their records come with the persons).
        let consents = ctx.look_ahead().field("person").field("consents");
        if consents.field("recipientAgencies").exists() || consents.field("recordedAgency").exists()
        {
            super::consent::prefetch_agencies(ctx, &ids).await?;
        }
        // Each member's consultations, if asked for, in one batch for all of them.
        let wanted = ctx.look_ahead().field("person").field("consultations");
        if wanted.exists() {
            super::consultation::prefetch_about(ctx, &ids, wanted.field("issues").exists()).await?;
        }
        Ok(members
            .into_iter()
            .map(|model| HouseholdMember { model })
            .collect())
    }
}

#[Object]
impl HouseholdMember {
    async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }
    async fn household_id(&self) -> ID {
        ID(self.model.household_id.clone())
    }
    /// 続柄 / relationship to the head
    async fn relationship(&self) -> &str {
        &self.model.relationship
    }
    /// 世帯主 / head of household
    async fn is_head(&self) -> bool {
        self.model.is_head
    }
    async fn joined_on(&self) -> Option<Date> {
        self.model.joined_on.map(Into::into)
    }
    async fn left_on(&self) -> Option<Date> {
        self.model.left_on.map(Into::into)
    }
    /// 本人 (IDENTITY の根拠がなければ null) / the member, if the caller may know them
    async fn person(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        Person::referenced(ctx, &self.model.person_id).await
    }
}

#[derive(Default)]
pub struct HouseholdQuery;

#[Object]
impl HouseholdQuery {
    /// 世帯 / a household by id
    async fn household(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Household> {
        let id = validate::id("id", &id)?;
        find(ctx, "id", &id).await
    }

    /// 世帯一覧 / households the caller may know exist
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity")]
    async fn households(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, Household>> {
        let r = req(ctx)?;
        let page = validate::page(first, after, store::CursorKind::Id)?;
        let Some(scope) =
            crate::policy::visible_scope(&r.principal, Category::Household, r.purpose, r.now)
        else {
            return Ok(Connection::new(false, false));
        };
        let rows = store::households::list(db(ctx)?, &scope, &page).await?;
        let has_next = rows.len() as u64 > page.first;
        let mut conn = Connection::new(page.after.is_some(), has_next);
        let rows: Vec<_> = rows.into_iter().take(page.first as usize).collect();
        let list = visible_households(ctx, rows).await?;
        prefetch(ctx, &list, &Wants::connection(ctx)).await?;
        for h in list {
            conn.edges
                .push(Edge::new(store::encode_cursor(&h.id), Household(h)));
        }
        Ok(conn)
    }
}

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

/// A member must be a person the caller may know by own record or consent.
async fn member_known(ctx: &Context<'_>, field: &str, person_id: &str) -> ApiResult<()> {
    let r = req(ctx)?;
    let known = known_facts(ctx, &[person_id.to_owned()]).await?;
    let Some(facts) = known.get(person_id) else {
        return Err(ApiError::not_found(format!("{field}.personId")));
    };
    // Only a person known by own record or consent may be put into a household: a grant or
    // a 支援会議 must not become a household membership (and so a basis for more).
    if !crate::policy::knows_by_own_or_consent(
        &r.principal,
        facts,
        Category::Identity,
        r.purpose,
        r.now,
    ) {
        return Err(ApiError::forbidden(
            "自機関の記録か同意で把握している人のみ / only a person known by own record or consent",
        ));
    }
    Ok(())
}

#[Object]
impl HouseholdMutation {
    /// 世帯を登録 / create a household with its members
    async fn create_household(
        &self,
        ctx: &Context<'_>,
        members: Vec<MemberInput>,
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
        for (i, row) in rows.iter().enumerate() {
            member_known(ctx, &format!("members.{i}"), &row.person_id).await?;
        }
        let model = household::Model {
            id: id.clone(),
            owner_agency_id: r.principal.agency_id.clone(),
            version: 1,
            created_by: r.principal.account_id.clone(),
            created_at: r.now,
            updated_at: r.now,
        };
        let txn = db(ctx)?.begin().await?;
        household::ActiveModel::from(model).insert(&txn).await?;
        let mut entries = vec![Entry::write(
            &r.principal,
            "createHousehold",
            "household",
            &id,
            None,
            serde_json::json!({"members": rows.len()}),
        )];
        for m in rows {
            entries.push(Entry::write(
                &r.principal,
                "createHousehold",
                "household_member",
                &m.id,
                Some(&m.person_id),
                serde_json::json!({"householdId": id}),
            ));
            household_member::ActiveModel::from(m).insert(&txn).await?;
        }
        audit::append(&txn, entries).await?;
        txn.commit().await?;
        forget_rows(ctx)?;
        find(ctx, "id", &id).await
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
        if h.0.owner_agency_id != r.principal.agency_id {
            return Err(ApiError::forbidden(
                "登録機関のみ変更できます / only the owning agency may change it",
            ));
        }
        let mut invalid = validate::Invalid::default();
        let row = member_row(&mut invalid, "member", &hid, &member, r.now);
        invalid.finish(ctx)?;
        member_known(ctx, "member", &row.person_id).await?;
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
        let txn = db.begin().await?;
        let saved = household_member::ActiveModel::from(row)
            .insert(&txn)
            .await?;
        audit::append(
            &txn,
            vec![Entry::write(
                &r.principal,
                "addHouseholdMember",
                "household_member",
                &saved.id,
                Some(&saved.person_id),
                serde_json::json!({"householdId": hid}),
            )],
        )
        .await?;
        txn.commit().await?;
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
        // A membership the caller may not see (the member's HOUSEHOLD data) is, to it, one
        // that does not exist: the same decision as `Household.members`.
        let member = super::loaders::load_persons(ctx, std::slice::from_ref(&m.person_id)).await?;
        let sees = member
            .first()
            .is_some_and(|p| r.decide(&p.facts, &h.0.owner_agency_id, HOUSEHOLD).is_ok());
        if !sees {
            return Err(ApiError::not_found("memberId"));
        }
        if h.0.owner_agency_id != r.principal.agency_id {
            return Err(ApiError::forbidden(
                "登録機関のみ変更できます / only the owning agency may change it",
            ));
        }
        if m.left_on.is_some() {
            return Err(ApiError::bad_input(
                "memberId",
                "既に離脱しています / already left",
            ));
        }
        if m.joined_on.is_some_and(|j| left_on < j) {
            return Err(ApiError::bad_input(
                "leftOn",
                "加入日より前です / before the join date",
            ));
        }
        let mut am: household_member::ActiveModel = m.into();
        am.left_on = Set(Some(left_on));
        let txn = db.begin().await?;
        let saved = am.update(&txn).await?;
        audit::append(
            &txn,
            vec![Entry::write(
                &r.principal,
                "endHouseholdMembership",
                "household_member",
                &saved.id,
                Some(&saved.person_id),
                serde_json::json!({"fields": ["leftOn"]}),
            )],
        )
        .await?;
        txn.commit().await?;
        forget_rows(ctx)?;
        // The person's facts include the 支援会議 of the household they belong to now.
        forget_person(ctx, &saved.person_id)?;
        Ok(HouseholdMember { model: saved })
    }
}
