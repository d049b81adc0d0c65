//! 社会資源 (community resources: 通いの場, サロン, 子ども食堂, 就労体験先, 居場所 …) and
//! participation placements (参加支援). Resources hold no personal data and every role may
//! read them; 生活支援コーディネーター (and coordinators) maintain them. A placement links a
//! person to a resource: PLAN data of the person, held by the agency that recorded it.

use async_graphql::{Context, InputObject, Object, ID};

use super::context::{db, req};
use super::enums::text_enum;
use super::gate::{admit, RecordRef};
use super::loaders::load_persons;
use super::person::Person;
use super::registry::{agency_by_id, change_record, create_record, refused, Agency, Stamped};
use super::scalars::Date;
use super::validate;
use crate::audit::Entry;
use crate::error::{ApiError, ApiResult};
use crate::policy::write::resource::{
    may_change_placement, may_change_resource, may_create_resource, may_know_placement,
    may_start_placement, placement_end, PlacementEnd,
};
use crate::policy::{Action, Category, Item, Link};
use crate::store;
use entity::{community_resource, participation_placement};

const PLAN: Item = Item::of(Category::Plan);

text_enum! {
    /// 社会資源の種類 / kind of community resource
    ResourceKind {
        /// 通いの場 / community gathering place
        GatheringPlace = "GATHERING_PLACE",
        /// サロン / salon
        Salon = "SALON",
        /// 子ども食堂 / children's cafeteria
        ChildrensCafeteria = "CHILDRENS_CAFETERIA",
        /// 就労体験先 / work-experience placement
        WorkExperience = "WORK_EXPERIENCE",
        /// 居場所 / a place to be
        Ibasho = "IBASHO",
        /// ボランティア団体 / volunteer group
        VolunteerGroup = "VOLUNTEER_GROUP",
        Other = "OTHER",
    }
}

text_enum! {
    /// 参加支援の状態 / placement status
    PlacementStatus { Active = "ACTIVE", Paused = "PAUSED", Ended = "ENDED" }
}

/// 社会資源 / a community resource
pub struct CommunityResource(community_resource::Model);

#[Object]
impl CommunityResource {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn kind(&self) -> ApiResult<ResourceKind> {
        ResourceKind::from_db(&self.0.kind)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// 日常生活圏域 / district
    async fn district(&self) -> Option<&str> {
        self.0.district.as_deref()
    }
    /// 開催日時 / schedule
    async fn schedule(&self) -> Option<&str> {
        self.0.schedule.as_deref()
    }
    /// 対象 / who it is for
    async fn target_groups(&self) -> Option<&str> {
        self.0.target_groups.as_deref()
    }
    /// 定員 / capacity
    async fn capacity(&self) -> Option<i32> {
        self.0.capacity
    }
    /// 連絡先 (団体の) / the organisation's contact
    async fn contact(&self) -> Option<&str> {
        self.0.contact.as_deref()
    }
    /// 登録機関 / maintaining agency
    async fn agency(&self, ctx: &Context<'_>) -> ApiResult<Agency> {
        agency_by_id(ctx, &self.0.agency_id).await
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// 参加支援 (社会資源へのつなぎ) / a participation placement
pub struct Placement {
    model: participation_placement::Model,
}

#[Object]
impl Placement {
    async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }
    async fn person(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        Person::referenced(ctx, &self.model.person_id).await
    }
    async fn resource(&self, ctx: &Context<'_>) -> ApiResult<CommunityResource> {
        store::resources::get(db(ctx)?, &self.model.resource_id)
            .await?
            .map(CommunityResource)
            .ok_or_else(|| ApiError::internal("placement", "resource vanished"))
    }
    /// 記録機関 / recording agency
    async fn agency(&self, ctx: &Context<'_>) -> ApiResult<Agency> {
        agency_by_id(ctx, &self.model.agency_id).await
    }
    async fn started_on(&self) -> Date {
        self.model.started_on.into()
    }
    async fn ended_on(&self) -> Option<Date> {
        self.model.ended_on.map(Into::into)
    }
    async fn status(&self) -> ApiResult<PlacementStatus> {
        PlacementStatus::from_db(&self.model.status)
    }
    async fn version(&self) -> i32 {
        self.model.version
    }
}

/// The placements of a person the caller may see (PLAN, per recording agency), ledgered.
async fn visible_placements(ctx: &Context<'_>, person_id: &str) -> ApiResult<Vec<Placement>> {
    let loaded = load_persons(ctx, &[person_id.to_owned()]).await?;
    let Some(subject) = loaded.first() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for model in store::resources::placements_of(db(ctx)?, person_id).await? {
        let record = RecordRef {
            kind: "placement",
            id: &model.id,
            owner: &model.agency_id,
            link: Link::Data {
                category: Category::Plan,
                holder: &model.agency_id,
            },
        };
        if admit(ctx, &subject.facts, record, PLAN)? {
            out.push(Placement { model });
        }
    }
    Ok(out)
}

/// Whether the caller may know the placement `id` (PLAN of its person, held by the agency
/// that recorded it): what an id pointing at it needs.
pub async fn knows_placement(ctx: &Context<'_>, id: &str) -> ApiResult<bool> {
    match store::resources::placement(db(ctx)?, id).await? {
        Some(model) => sees_placement(ctx, &model).await,
        None => Ok(false),
    }
}

/// Whether the caller may see this placement (PLAN of its person, held by the recording
/// agency). Decided without the ledger: used where nothing of it is shown.
async fn sees_placement(
    ctx: &Context<'_>,
    model: &participation_placement::Model,
) -> ApiResult<bool> {
    let loaded = load_persons(ctx, std::slice::from_ref(&model.person_id)).await?;
    let r = req(ctx)?;
    let facts = loaded.first().map(|p| &*p.facts);
    Ok(may_know_placement(
        &r.principal,
        facts,
        &model.agency_id,
        r.purpose,
        r.now,
    ))
}

#[derive(Default)]
pub struct ResourceQuery;

#[Object]
impl ResourceQuery {
    /// 社会資源一覧 (全ロール可) / community resources (every role)
    async fn community_resources(
        &self,
        ctx: &Context<'_>,
        kind: Option<ResourceKind>,
        district: Option<String>,
        #[graphql(default = true)] active_only: bool,
    ) -> ApiResult<Vec<CommunityResource>> {
        // Checked like the stored value (a NUL reached PostgreSQL as INTERNAL).
        let district = validate::optional_line("district", district.as_ref(), 100)?;
        Ok(store::resources::list(
            db(ctx)?,
            kind.map(|k| k.as_str()),
            district.as_deref(),
            active_only,
        )
        .await?
        .into_iter()
        .map(CommunityResource)
        .collect())
    }

    async fn community_resource(&self, ctx: &Context<'_>, id: ID) -> ApiResult<CommunityResource> {
        let id = validate::id("id", &id)?;
        store::resources::get(db(ctx)?, &id)
            .await?
            .map(CommunityResource)
            .ok_or_else(|| ApiError::not_found("id"))
    }

    /// この人の参加支援 (PLAN; 根拠のあるもののみ) / a person's placements the caller may see
    async fn placements(&self, ctx: &Context<'_>, person_id: ID) -> ApiResult<Vec<Placement>> {
        let person_id = validate::id("personId", &person_id)?;
        Person::find(ctx, "personId", &person_id).await?;
        visible_placements(ctx, &person_id).await
    }
}

#[derive(InputObject)]
pub struct ResourceInput {
    pub kind: ResourceKind,
    pub name: String,
    pub district: Option<String>,
    pub schedule: Option<String>,
    pub target_groups: Option<String>,
    pub capacity: Option<i32>,
    pub contact: Option<String>,
}

fn capacity(c: Option<i32>) -> ApiResult<Option<i32>> {
    match c {
        Some(n) if !(0..=100_000).contains(&n) => Err(ApiError::bad_input(
            "input.capacity",
            "0〜100000 / between 0 and 100000",
        )),
        other => Ok(other),
    }
}

/// A resource input's checked values (the name and district folded as typed, README §5).
#[derive(Default)]
struct Checked {
    name: String,
    district: Option<String>,
    schedule: Option<String>,
    target_groups: Option<String>,
    capacity: Option<i32>,
    contact: Option<String>,
}

/// Checks every field of a resource input, reporting every invalid one at once.
fn checked(ctx: &Context<'_>, input: &ResourceInput) -> ApiResult<Checked> {
    let mut invalid = validate::Invalid::default();
    let c = Checked {
        name: invalid.check(validate::line("input.name", &input.name, 200)),
        district: invalid.check(validate::optional_line(
            "input.district",
            input.district.as_ref(),
            100,
        )),
        schedule: invalid.check(validate::optional(
            "input.schedule",
            input.schedule.as_ref(),
            500,
        )),
        target_groups: invalid.check(validate::optional(
            "input.targetGroups",
            input.target_groups.as_ref(),
            500,
        )),
        capacity: invalid.check(capacity(input.capacity)),
        contact: invalid.check(validate::optional(
            "input.contact",
            input.contact.as_ref(),
            300,
        )),
    };
    invalid.finish(ctx)?;
    Ok(c)
}

#[derive(Default)]
pub struct ResourceMutation;

#[Object]
impl ResourceMutation {
    /// 社会資源を登録 (生活支援コーディネーター等) / register a community resource
    async fn create_community_resource(
        &self,
        ctx: &Context<'_>,
        input: ResourceInput,
    ) -> ApiResult<CommunityResource> {
        let r = req(ctx)?;
        r.require(Action::ManageResources, "createCommunityResource")?;
        let c = checked(ctx, &input)?;
        let id = store::new_id();
        let permit = may_create_resource(&r.principal, &id).map_err(refused)?;
        let model = community_resource::Model {
            id,
            kind: input.kind.as_str().to_owned(),
            name: c.name,
            district: c.district,
            schedule: c.schedule,
            target_groups: c.target_groups,
            capacity: c.capacity,
            contact: c.contact,
            agency_id: r.principal.agency_id.clone(),
            active: true,
            version: 1,
            created_at: r.now,
            updated_at: r.now,
        };
        let op = ("createCommunityResource", "community_resource");
        create_record(ctx, op, permit, model, (None, serde_json::json!({})))
            .await
            .map(CommunityResource)
    }

    /// 社会資源を更新 (登録機関のみ) / update a resource (maintaining agency)
    async fn update_community_resource(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: ResourceInput,
        active: Option<bool>,
    ) -> ApiResult<CommunityResource> {
        let r = req(ctx)?;
        r.require(Action::ManageResources, "updateCommunityResource")?;
        let id = validate::id("id", &id)?;
        let rule = |p: &_, current: &community_resource::Model| {
            may_change_resource(p, &current.id, &current.agency_id)
        };
        let op = ("updateCommunityResource", "community_resource");
        // The resource's owner is checked before its new values.
        change_record(ctx, op, &id, version, rule, |res| {
            let c = checked(ctx, &input)?;
            res.kind = input.kind.as_str().to_owned();
            res.name = c.name;
            res.district = c.district;
            res.schedule = c.schedule;
            res.target_groups = c.target_groups;
            res.capacity = c.capacity;
            res.contact = c.contact;
            if let Some(a) = active {
                res.active = a;
            }
            Ok(serde_json::json!({}))
        })
        .await
        .map(CommunityResource)
    }

    /// 参加支援を開始 (社会資源につなぐ) / place a person with a resource
    async fn start_placement(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
        resource_id: ID,
        started_on: Date,
    ) -> ApiResult<Placement> {
        let r = req(ctx)?;
        r.require(Action::RecordActivity, "startPlacement")?;
        let person_id = validate::id("personId", &person_id)?;
        let resource_id = validate::id("resourceId", &resource_id)?;
        let started_on = started_on.get("startedOn")?;
        Person::find(ctx, "personId", &person_id).await?;
        let resource = store::resources::get(db(ctx)?, &resource_id).await?;
        let id = store::new_id();
        // An inactive resource is as unknown as a missing one; the caller records PLAN data
        // of the person, so its roles must allow PLAN.
        let permit = may_start_placement(&r.principal, &id, resource.is_some_and(|r| r.active))
            .map_err(|e| ApiError::refused(e, "resourceId"))?;
        let model = participation_placement::Model {
            id,
            person_id: person_id.clone(),
            resource_id,
            agency_id: r.principal.agency_id.clone(),
            started_on,
            ended_on: None,
            status: PlacementStatus::Active.as_str().to_owned(),
            version: 1,
            created_by: r.principal.account_id.clone(),
            created_at: r.now,
            updated_at: r.now,
        };
        let detail = serde_json::json!({"fields": ["resourceId", "startedOn"]});
        let op = ("startPlacement", "placement");
        create_record(ctx, op, permit, model, (Some(&person_id), detail))
            .await
            .map(|model| Placement { model })
    }

    /// 参加支援の状態を変更 (記録機関のみ) / change a placement's status (recording agency)
    async fn set_placement_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        status: PlacementStatus,
        ended_on: Option<Date>,
    ) -> ApiResult<Placement> {
        let r = req(ctx)?;
        r.require(Action::RecordActivity, "setPlacementStatus")?;
        let id = validate::id("id", &id)?;
        let db = db(ctx)?;
        let Some(current) = store::resources::placement(db, &id).await? else {
            return Err(ApiError::not_found("id"));
        };
        // Another agency's placement exists for the caller only if it may see it. Decided
        // without the ledger: nothing is shown, so no read may be recorded (a refused write
        // leaves no row, and R must not appear to have read PLAN data).
        let subject = load_persons(ctx, std::slice::from_ref(&current.person_id)).await?;
        let facts = subject.first().map(|s| &*s.facts);
        let permit = may_change_placement(
            &r.principal,
            &id,
            &current.agency_id,
            facts,
            r.purpose,
            r.now,
        )
        .map_err(refused)?;
        let ended_on = ended_on.map(|d| d.get("endedOn")).transpose()?;
        let ended = status == PlacementStatus::Ended;
        placement_end(ended, ended_on, current.started_on).map_err(|e| {
            let message = match e {
                PlacementEnd::Missing => "終了日が必要です / required when ENDED",
                PlacementEnd::BeforeStart => "開始日より前です / before the start",
                PlacementEnd::NotEnded => "終了時のみ / only when ENDED",
            };
            ApiError::bad_input("endedOn", message)
        })?;
        let mut changed = current.clone();
        changed.status = status.as_str().to_owned();
        changed.ended_on = ended_on;
        changed.stamp(r.now);
        let entry = Entry::write(
            &r.principal,
            "setPlacementStatus",
            "placement",
            &id,
            Some(&current.person_id),
            serde_json::json!({"fields": ["status", "endedOn"]}),
        );
        let model =
            store::write::change(db, permit, &current, version, changed, vec![entry]).await?;
        Ok(Placement { model })
    }
}
