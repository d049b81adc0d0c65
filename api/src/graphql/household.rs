//! Households (世帯) and memberships (続柄, 世帯主, 加入・離脱). Membership is HOUSEHOLD data
//! of the member, held in the household's owning agency's record.

use std::collections::HashMap;

use super::scalars::Date;
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, ID};

use super::context::{reads_replica, replica_db, req};
use super::gate::{admit, nullable, reveal_all, RecordRef};
use super::loaders::{household_subjects, households, members_of, memberships_of, Wants};
use super::person::Person;
use super::registry::{agency_by_id, Agency};
use super::validate;
use crate::error::{ApiError, ApiResult};
use crate::policy::write::household::{household_existence, knows_household, Existence};
use crate::policy::{Category, Item, Link, SubjectFacts};
use crate::store;
use entity::{household, household_member};

const HOUSEHOLD: Item = Item::of(Category::Household);

/// 世帯 / a household
pub struct Household(pub(super) household::Model);

/// 世帯構成員 / a household membership
pub struct HouseholdMember {
    pub(super) model: household_member::Model,
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
        let record = household_record(&m.household_id, owner);
        if admit(ctx, f, record, HOUSEHOLD)? {
            out.push(m);
        }
    }
    Ok(out)
}

/// The households among `rows` the caller may know exist (order kept; the rule is
/// [`knows_household`]). Not ledgered (no personal field is shown by it). The members and
/// their facts are loaded at once for all rows that need them.
async fn visible_households(
    ctx: &Context<'_>,
    rows: Vec<household::Model>,
) -> ApiResult<Vec<household::Model>> {
    let r = req(ctx)?;
    let p = &r.principal;
    let by_members: Vec<String> = rows
        .iter()
        .filter(|h| household_existence(p, &h.owner_agency_id) == Existence::ByMembers)
        .map(|h| h.id.clone())
        .collect();
    let members = members_of(ctx, &by_members).await?;
    let ids: Vec<String> = members
        .values()
        .flatten()
        .map(|m| m.person_id.clone())
        .collect();
    let loaded = super::loaders::load_persons(ctx, &ids).await?;
    let facts: HashMap<&str, &SubjectFacts> = loaded
        .iter()
        .map(|l| (l.model.id.as_str(), l.facts.as_ref()))
        .collect();
    Ok(rows
        .into_iter()
        .filter(|h| {
            let of_members = members
                .get(&h.id)
                .into_iter()
                .flatten()
                .filter_map(|m| facts.get(m.person_id.as_str()).copied());
            knows_household(p, &h.owner_agency_id, of_members, r.purpose, r.now)
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
/// members (with their persons and facts), the owning agencies, the caller's references to
/// them, and the members' own memberships and consultations. Rows only: every field is
/// still decided on its own.
pub async fn prefetch(
    ctx: &Context<'_>,
    list: &[household::Model],
    wants: &Wants<'_>,
) -> ApiResult<()> {
    let ids: Vec<String> = list.iter().map(|h| h.id.clone()).collect();
    super::external_ref::prefetch(ctx, &ids, wants).await?;
    let members = wants.field("members");
    if !members.exists() && !wants.field("ownerAgency").exists() {
        return Ok(());
    }
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
        super::consultation::prefetch_about(ctx, &persons, issues, &[]).await?;
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
        let record = household_record(&m.household_id, owner);
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
    /// 自機関の外部参照 (他機関のものは見えない) / the caller's agency's own references to this
    /// record (another agency's are never shown)
    async fn external_refs(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<super::external_ref::ExternalRef>> {
        super::external_ref::of_record(ctx, &self.0.id).await
    }
    /// 登録機関 (NARRATIVE: 全構成員について根拠が必要) / owning agency — which agency
    /// holds the household is NARRATIVE of every current member
    async fn owner_agency(&self, ctx: &Context<'_>) -> ApiResult<Option<Agency>> {
        let subjects = household_subjects(ctx, &self.0.id).await?;
        let record = household_record(&self.0.id, &self.0.owner_agency_id);
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
        // The agencies of each member's consents (their records come with the persons), and
        // each member's consultations if asked for: one statement for all of them.
        let consents = ctx.look_ahead().field("person").field("consents");
        let agencies = if consents.field("recipientAgencies").exists()
            || consents.field("recordedAgency").exists()
        {
            super::consent::agencies_named(ctx, &ids).await?
        } else {
            Vec::new()
        };
        let wanted = ctx.look_ahead().field("person").field("consultations");
        if wanted.exists() {
            let issues = wanted.field("issues").exists();
            super::consultation::prefetch_about(ctx, &ids, issues, &agencies).await?;
        } else {
            super::loaders::load_agencies(ctx, &agencies).await?;
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
        // Candidates from the read replica (README §12); the rows themselves, whose holder
        // the decision rests on, are read again on the primary (when they came from a
        // replica), and decided there.
        let candidates = store::households::list(replica_db(ctx)?, &scope, &page).await?;
        let has_next = candidates.len() as u64 > page.first;
        let mut conn = Connection::new(page.after.is_some(), has_next);
        let candidates = candidates.into_iter().take(page.first as usize);
        let rows: Vec<_> = if reads_replica(ctx)? {
            let ids: Vec<String> = candidates.map(|row| row.id).collect();
            let mut by_id = households(ctx, &ids).await?;
            ids.iter()
                .filter_map(|id| by_id.remove(id).flatten())
                .collect()
        } else {
            candidates.collect()
        };
        let list = visible_households(ctx, rows).await?;
        prefetch(ctx, &list, &Wants::connection(ctx)).await?;
        for h in list {
            conn.edges
                .push(Edge::new(store::encode_cursor(&h.id), Household(h)));
        }
        Ok(conn)
    }
}

/// A household as the record a revealed field belongs to: held by `owner`, its members tied
/// to it by their HOUSEHOLD data held there.
fn household_record<'a>(id: &'a str, owner: &'a str) -> RecordRef<'a> {
    RecordRef {
        kind: "household",
        id,
        owner,
        link: Link::Data {
            category: Category::Household,
            holder: owner,
        },
    }
}
