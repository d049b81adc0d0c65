//! Activities: outreach visits (アウトリーチ: result and relationship stage 接触前 → 接触 →
//! 関係構築 → つなぎ完了), participation activities (参加支援) and monitoring notes. An activity
//! is NARRATIVE of its person, held by the recording agency. `noContact` lists the people an
//! agency follows (under its outreach, or in its open support cases) with no recent contact.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, InputObject, Object, ID};
use chrono::{Duration, NaiveDate};

use super::context::{db, req};
use super::enums::text_enum;
use super::gate::{admit, nullable, reveal, RecordRef};
use super::loaders::known_facts;
use super::person::Person;
use super::registry::{agency_by_id, Agency};
use super::scalars::Date;
use super::validate;
use crate::audit::Entry;
use crate::error::{ApiError, ApiResult};
use crate::policy::write::activity::may_record_activity;
use crate::policy::{self, Action, Category, Item, Link, SubjectFacts};
use crate::store::{self, activities::Followed};
use entity::activity;

text_enum! {
    /// 活動の種別 / kind of activity
    ActivityKind {
        /// アウトリーチ訪問 / outreach visit
        OutreachVisit = "OUTREACH_VISIT",
        /// 参加支援の活動 / participation support activity
        Participation = "PARTICIPATION",
        /// モニタリング / monitoring note
        Monitoring = "MONITORING",
    }
}

text_enum! {
    /// 訪問の結果 / result of an outreach visit
    OutreachResult {
        /// 会えた / met
        Met = "MET",
        /// 会えなかった / not met
        NotMet = "NOT_MET",
        /// 拒否 / refused
        Refused = "REFUSED",
    }
}

text_enum! {
    /// 関係の段階 (接触前 → 接触 → 関係構築 → つなぎ完了) / relationship stage
    OutreachStage {
        /// 接触前 / before contact
        PreContact = "PRE_CONTACT",
        /// 接触 / contact made
        Contact = "CONTACT",
        /// 関係構築 / building a relationship
        Relationship = "RELATIONSHIP",
        /// つなぎ完了 / connected to support
        Connected = "CONNECTED",
    }
}

text_enum! {
    /// 追跡の理由 / why the agency follows the person
    NoContactReason {
        /// アウトリーチ中 (つなぎ未完了) / under outreach, not yet connected
        Outreach = "OUTREACH",
        /// 自機関の支援ケース (終結前) の世帯員 / member of an open support case of the agency
        Case = "CASE",
    }
}

const NARRATIVE: Item = Item::of(Category::Narrative);

/// 活動記録 / an activity. Built only when the caller may see it.
pub struct Activity {
    model: activity::Model,
    facts: Arc<SubjectFacts>,
}

/// An activity by id, exactly as `activities(personId:)` would list it (the same person
/// check, the same scope, the same ledgered gate); NOT_FOUND at `field` otherwise.
pub async fn find(ctx: &Context<'_>, field: &str, id: &str) -> ApiResult<Activity> {
    let r = req(ctx)?;
    let Some(scope) = policy::visible_scope(&r.principal, Category::Narrative, r.purpose, r.now)
    else {
        return Err(ApiError::not_found(field));
    };
    let Some(model) = store::activities::get_in_scope(db(ctx)?, id, &scope).await? else {
        return Err(ApiError::not_found(field));
    };
    let known = known_facts(ctx, std::slice::from_ref(&model.person_id)).await?;
    let Some(facts) = known.get(&model.person_id).cloned() else {
        return Err(ApiError::not_found(field));
    };
    let a = Activity { model, facts };
    if admit(ctx, &a.facts, a.record(), NARRATIVE)? {
        Ok(a)
    } else {
        Err(ApiError::not_found(field))
    }
}

impl Activity {
    fn record(&self) -> RecordRef<'_> {
        RecordRef {
            kind: "activity",
            id: &self.model.id,
            owner: &self.model.agency_id,
            link: Link::Data {
                category: Category::Narrative,
                holder: &self.model.agency_id,
            },
        }
    }
}

#[Object]
impl Activity {
    async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }
    /// 自機関の外部参照 (他機関のものは見えない) / the caller's agency's own references to this
    /// record (another agency's are never shown)
    async fn external_refs(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<super::external_ref::ExternalRef>> {
        super::external_ref::of_record(ctx, &self.model.id).await
    }
    async fn kind(&self) -> ApiResult<ActivityKind> {
        ActivityKind::from_db(&self.model.kind)
    }
    /// 実施日 / occurred on
    async fn occurred_on(&self) -> Date {
        self.model.occurred_on.into()
    }
    /// 訪問の結果 (アウトリーチ訪問のみ) / result (outreach visits only)
    async fn result(&self) -> ApiResult<Option<OutreachResult>> {
        self.model
            .result
            .as_deref()
            .map(OutreachResult::from_db)
            .transpose()
    }
    /// 関係の段階 (アウトリーチ訪問のみ) / relationship stage (outreach visits only)
    async fn stage(&self) -> ApiResult<Option<OutreachStage>> {
        self.model
            .stage
            .as_deref()
            .map(OutreachStage::from_db)
            .transpose()
    }
    /// 次回予定日 / next planned on
    async fn next_planned_on(&self) -> Option<Date> {
        self.model.next_planned_on.map(Into::into)
    }
    /// 記録機関 / recording agency
    async fn agency(&self, ctx: &Context<'_>) -> ApiResult<Agency> {
        agency_by_id(ctx, &self.model.agency_id).await
    }
    /// 記録 (NARRATIVE) / note
    async fn note(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        nullable(
            ctx,
            reveal(ctx, &self.facts, self.record(), NARRATIVE, || {
                Some(self.model.note.clone())
            }),
        )
    }
    /// 本人 (IDENTITY の根拠がなければ null) / the person, if the caller may know them
    async fn person(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        Person::referenced(ctx, &self.model.person_id).await
    }
    /// 支援ケース ID (そのケースを知る根拠がある場合; なければ null) / support case id, if the
    /// caller may know the case (null otherwise, as when there is none)
    async fn case_id(&self, ctx: &Context<'_>) -> ApiResult<Option<ID>> {
        match &self.model.case_id {
            Some(id) if super::case::knows(ctx, id).await? => Ok(Some(ID(id.clone()))),
            _ => Ok(None),
        }
    }
    /// 参加支援の利用 ID (PLAN の根拠がある場合; なければ null) / participation placement id,
    /// if the caller may know the placement (null otherwise)
    async fn placement_id(&self, ctx: &Context<'_>) -> ApiResult<Option<ID>> {
        match &self.model.placement_id {
            Some(id) if super::resource::knows_placement(ctx, id).await? => {
                Ok(Some(ID(id.clone())))
            }
            _ => Ok(None),
        }
    }
    async fn created_at(&self) -> super::scalars::DateTime {
        self.model.created_at.into()
    }
}

/// 連絡が途絶えている人 / a followed person with no recent contact
pub struct NoContact {
    person: Person,
    last_contact_on: Option<NaiveDate>,
    reason: NoContactReason,
}

#[Object]
impl NoContact {
    async fn person(&self) -> &Person {
        &self.person
    }
    /// 自機関の最後の活動日 (記録がなければ null) / the agency's latest activity, null if none
    async fn last_contact_on(&self) -> Option<Date> {
        self.last_contact_on.map(Into::into)
    }
    async fn reason(&self) -> NoContactReason {
        self.reason
    }
}

#[derive(Default)]
pub struct ActivityQuery;

#[Object]
impl ActivityQuery {
    /// 本人の活動記録 (見られるもののみ、新しい順) / a person's activities the caller may see,
    /// newest first
    async fn activities(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, Activity>> {
        let r = req(ctx)?;
        let person_id = validate::id("personId", &person_id)?;
        let page = validate::page(first, after, store::CursorKind::TimeAndId)?;
        let known = known_facts(ctx, std::slice::from_ref(&person_id)).await?;
        let Some(facts) = known.get(&person_id).cloned() else {
            return Err(ApiError::not_found("personId"));
        };
        let Some(scope) =
            policy::visible_scope(&r.principal, Category::Narrative, r.purpose, r.now)
        else {
            return Ok(Connection::new(false, false));
        };
        let rows = store::activities::of_person(db(ctx)?, &person_id, &scope, &page)
            .await?
            .ok_or_else(|| ApiError::bad_input("after", "不正なカーソルです / invalid cursor"))?;
        let has_next = rows.len() as u64 > page.first;
        // Whether the caller may know each linked case, and the caller's references, for the
        // whole page at once.
        let wants = super::loaders::Wants::connection(ctx);
        if wants.field("caseId").exists() {
            let cases: Vec<String> = rows.iter().filter_map(|a| a.case_id.clone()).collect();
            super::case::visible_by_id(ctx, &cases).await?;
        }
        let ids: Vec<String> = rows
            .iter()
            .take(page.first as usize)
            .map(|a| a.id.clone())
            .collect();
        super::external_ref::prefetch(ctx, &ids, &wants).await?;
        let mut conn = Connection::new(page.after.is_some(), has_next);
        for model in rows.into_iter().take(page.first as usize) {
            let a = Activity {
                model,
                facts: facts.clone(),
            };
            if admit(ctx, &a.facts, a.record(), NARRATIVE)? {
                let cursor = store::encode_cursor(&store::activities::cursor_key(&a.model));
                conn.edges.push(Edge::new(cursor, a));
            }
        }
        Ok(conn)
    }

    /// 連絡が途絶えている人: 自機関がアウトリーチ中 (つなぎ未完了) の人と、自機関の終結前の
    /// 支援ケースの世帯員のうち、自機関の最後の活動が `days` 日より前 (または記録なし) の人 /
    /// people the caller's agency follows (under its outreach, or members of its open support
    /// cases) whose latest activity recorded by the agency is older than `days` days, or absent
    async fn no_contact(&self, ctx: &Context<'_>, days: i32) -> ApiResult<Vec<NoContact>> {
        let r = req(ctx)?;
        r.require(Action::RecordActivity, "noContact")?;
        if !(1..=3650).contains(&days) {
            return Err(ApiError::bad_input(
                "days",
                "1 以上 3650 以下 / between 1 and 3650",
            ));
        }
        let threshold = policy::city_date(r.now) - Duration::days(i64::from(days));
        let followed =
            store::activities::followed_by(db(ctx)?, &r.principal.agency_id, r.now).await?;
        let stale: HashMap<String, (Followed, Option<NaiveDate>)> = followed
            .into_iter()
            .filter(|(_, (_, last))| last.is_none_or(|d| d < threshold))
            .collect();
        let ids: Vec<String> = stale.keys().cloned().collect();
        let mut out: Vec<NoContact> = Person::visible(ctx, &ids)
            .await?
            .into_iter()
            .filter_map(|person| {
                let (why, last) = stale.get(person.person_id())?;
                Some(NoContact {
                    last_contact_on: *last,
                    reason: match why {
                        Followed::Outreach => NoContactReason::Outreach,
                        Followed::Case => NoContactReason::Case,
                    },
                    person,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            (a.last_contact_on, a.person.person_id())
                .cmp(&(b.last_contact_on, b.person.person_id()))
        });
        Ok(out)
    }
}

#[derive(InputObject)]
pub struct RecordActivityInput {
    pub kind: ActivityKind,
    pub person_id: ID,
    pub case_id: Option<ID>,
    pub placement_id: Option<ID>,
    /// 実施日 (未来不可) / occurred on (not in the future)
    pub occurred_on: Date,
    /// アウトリーチ訪問のみ必須 / required for an outreach visit, rejected otherwise
    pub result: Option<OutreachResult>,
    /// アウトリーチ訪問のみ必須 / required for an outreach visit, rejected otherwise
    pub stage: Option<OutreachStage>,
    /// 次回予定日 (実施日以降) / next planned on (not before occurredOn)
    pub next_planned_on: Option<Date>,
    /// 記録 (NARRATIVE) / note
    pub note: String,
}

#[derive(Default)]
pub struct ActivityMutation;

#[Object]
impl ActivityMutation {
    /// 活動を記録 (自機関が記録機関)。`ref` は自機関の外部参照で、自機関が別の活動記録に
    /// 使っていれば CONFLICT / record an activity; the caller's agency holds it. `ref`: the
    /// caller's agency's own reference for it (CONFLICT if it already names another of the
    /// agency's activities)
    async fn record_activity(
        &self,
        ctx: &Context<'_>,
        input: RecordActivityInput,
        #[graphql(name = "ref")] reference: Option<super::external_ref::ExternalRefInput>,
    ) -> ApiResult<Activity> {
        let r = req(ctx)?;
        r.require(Action::RecordActivity, "recordActivity")?;
        // Every invalid value is reported at once; the records named are looked up after.
        let mut invalid = validate::Invalid::default();
        let person_id = invalid.check(validate::id("input.personId", &input.person_id));
        let occurred_on = invalid.check(input.occurred_on.get("input.occurredOn").map(Some));
        if occurred_on.is_some_and(|o| o > policy::city_date(r.now)) {
            invalid.push(ApiError::bad_input(
                "input.occurredOn",
                "未来の日付です / in the future",
            ));
        }
        let outreach = input.kind == ActivityKind::OutreachVisit;
        for (field, present) in [
            ("input.result", input.result.is_some()),
            ("input.stage", input.stage.is_some()),
        ] {
            if outreach && !present {
                invalid.push(ApiError::bad_input(
                    field,
                    "アウトリーチ訪問には必須です / required for an OUTREACH_VISIT",
                ));
            }
            if !outreach && present {
                invalid.push(ApiError::bad_input(
                    field,
                    "アウトリーチ訪問のみ / only for an OUTREACH_VISIT",
                ));
            }
        }
        let next_planned_on = input
            .next_planned_on
            .as_ref()
            .and_then(|d| invalid.check(d.get("input.nextPlannedOn").map(Some)));
        if let (Some(n), Some(o)) = (next_planned_on, occurred_on) {
            if n < o {
                invalid.push(ApiError::bad_input(
                    "input.nextPlannedOn",
                    "実施日より前です / before occurredOn",
                ));
            }
        }
        let case_id = input
            .case_id
            .as_ref()
            .and_then(|c| invalid.check(validate::id("input.caseId", c).map(Some)));
        let placement_id = input
            .placement_id
            .as_ref()
            .and_then(|p| invalid.check(validate::id("input.placementId", p).map(Some)));
        let note = invalid.check(validate::required("input.note", &input.note, 10_000));
        let key = super::external_ref::optional(reference.as_ref(), &mut invalid);
        invalid.finish(ctx)?;
        let Some(occurred_on) = occurred_on else {
            return Err(ApiError::internal("recordActivity", "occurredOn unchecked"));
        };
        let known = known_facts(ctx, std::slice::from_ref(&person_id)).await?;
        let Some(facts) = known.get(&person_id).cloned() else {
            return Err(ApiError::not_found("input.personId"));
        };
        let db = db(ctx)?;
        if let Some(c) = &case_id {
            // Only a case the caller may see, of a household the person belongs to now.
            match super::case::find(ctx, "input.caseId", c).await {
                Ok(_) => {}
                Err(ApiError::NotFound { .. }) => return Err(ApiError::not_found("input.caseId")),
                Err(e) => return Err(e),
            }
            match store::cases::get(db, c).await? {
                Some(sc)
                    if store::activities::is_member(db, &sc.household_id, &person_id, r.now)
                        .await? => {}
                _ => return Err(ApiError::not_found("input.caseId")),
            }
        }
        if let Some(p) = &placement_id {
            // Only a placement the caller may see (PLAN), of this person; decided without
            // the ledger (a refused write leaves no row).
            match store::resources::placement(db, p).await? {
                Some(pl)
                    if pl.person_id == person_id
                        && super::resource::knows_placement(ctx, p).await? => {}
                _ => return Err(ApiError::not_found("input.placementId")),
            }
        }
        let permit = may_record_activity(&r.principal, &person_id)
            .map_err(|e| ApiError::refused(e, "input.personId"))?;
        let model = activity::Model {
            id: store::new_id(),
            kind: input.kind.as_str().to_owned(),
            person_id: person_id.clone(),
            case_id,
            placement_id,
            agency_id: r.principal.agency_id.clone(),
            account_id: r.principal.account_id.clone(),
            occurred_on,
            result: input.result.map(|x| x.as_str().to_owned()),
            stage: input.stage.map(|x| x.as_str().to_owned()),
            next_planned_on,
            note,
            created_at: r.now,
        };
        let mut fields = vec!["kind", "occurredOn", "note"];
        for (name, present) in [
            ("result", model.result.is_some()),
            ("stage", model.stage.is_some()),
            ("nextPlannedOn", model.next_planned_on.is_some()),
            ("caseId", model.case_id.is_some()),
            ("placementId", model.placement_id.is_some()),
        ] {
            if present {
                fields.push(name);
            }
        }
        let mut entry = Entry::write(
            &r.principal,
            "recordActivity",
            "activity",
            &model.id,
            Some(&person_id),
            serde_json::json!({ "fields": fields }),
        );
        super::external_ref::carry(&mut entry, key);
        let model = store::activities::create(db, permit, model, entry).await?;
        Ok(Activity { model, facts })
    }
}
