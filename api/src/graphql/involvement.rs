//! Involvements (関与): each agency's own role (主担当 or supporting), start and end in a
//! case, apart from the case's own status. At most one open LEAD per case; an involvement
//! may be ended after the case closed (the coordinator view lists those still open).

use async_graphql::{Context, InputObject, Object, ID};
use sea_orm::ActiveValue::Set;

use super::case::{CaseInvolvement, InvolvementRole};
use super::case_write::{bump, entries, owned};
use super::context::{db, req};
use super::scalars::Date;
use super::validate;
use crate::error::{ApiError, ApiResult};
use crate::policy::Action;
use crate::store::{self, cases::Row};
use entity::case_involvement;

#[derive(InputObject)]
pub struct InvolvementInput {
    pub agency_id: ID,
    pub role: InvolvementRole,
    /// 開始日 / started on
    pub started_on: Date,
}

#[derive(Default)]
pub struct InvolvementMutation;

#[Object]
impl InvolvementMutation {
    /// 関与を追加 (主担当は同時に 1 機関) / add an agency's involvement; one open LEAD at most
    async fn add_involvement(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        input: InvolvementInput,
    ) -> ApiResult<CaseInvolvement> {
        let op = "addInvolvement";
        let r = req(ctx)?;
        let c = owned(ctx, op, "caseId", &case_id).await?;
        if !c.current_status()?.is_open() {
            return Err(ApiError::bad_input(
                "caseId",
                "終結したケースです / the case is closed",
            ));
        }
        // Every invalid value is reported at once; the agency is looked up after.
        let mut invalid = validate::Invalid::default();
        let agency_id = invalid.check(validate::id("input.agencyId", &input.agency_id));
        let started_on = invalid.check(input.started_on.get("input.startedOn"));
        invalid.finish(ctx)?;
        let db = db(ctx)?;
        match store::registry::agency(db, &agency_id).await? {
            Some(a) if a.active => {}
            _ => return Err(ApiError::not_found("input.agencyId")),
        }
        let open: Vec<_> = store::cases::involvements_of(db, &c.model.id)
            .await?
            .into_iter()
            .filter(|i| i.ended_on.is_none())
            .collect();
        if open.iter().any(|i| i.agency_id == agency_id) {
            return Err(ApiError::bad_input(
                "input.agencyId",
                "この機関は既に関与中です / the agency is already involved",
            ));
        }
        if input.role == InvolvementRole::Lead
            && open
                .iter()
                .any(|i| i.role == InvolvementRole::Lead.as_str())
        {
            return Err(ApiError::bad_input(
                "input.role",
                "主担当は既にいます (先に終了してください) / there is already an open lead; end it first",
            ));
        }
        let model = case_involvement::Model {
            id: store::new_id(),
            case_id: c.model.id.clone(),
            agency_id,
            role: input.role.as_str().to_owned(),
            started_on,
            ended_on: None,
            version: 1,
            created_at: r.now,
            updated_at: r.now,
        };
        let id = model.id.clone();
        let detail = serde_json::json!({
            "caseId": c.model.id,
            "fields": ["agencyId", "role", "startedOn"],
        });
        let change = bump(r, c.model.version);
        store::cases::write_guarded(
            db,
            Some((change, &c.model.id, c.model.version)),
            vec![Row::Involvement(model)],
            entries(r, op, "case_involvement", &id, &c, detail),
        )
        .await?;
        super::loaders::forget_rows(ctx)?;
        store::cases::involvement(db, &id)
            .await?
            .map(CaseInvolvement)
            .ok_or_else(|| ApiError::internal("case_involvement", "vanished after insert"))
    }

    /// 関与を終了 / end an agency's involvement
    async fn end_involvement(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        ended_on: Date,
    ) -> ApiResult<CaseInvolvement> {
        let op = "endInvolvement";
        let r = req(ctx)?;
        r.require(Action::CoordinateCases, op)?;
        let iid = validate::id("id", &id)?;
        let db = db(ctx)?;
        let Some(inv) = store::cases::involvement(db, &iid).await? else {
            return Err(ApiError::not_found("id"));
        };
        // Involvements are PLAN of every current member (`SupportCase.involvements`): one the
        // caller may not list is, to it, one that does not exist, even in a case it knows.
        let known = super::case::find(ctx, "id", &inv.case_id).await?;
        if !known.scope.sees_all(r, super::case::PLAN) {
            return Err(ApiError::not_found("id"));
        }
        let c = owned(ctx, op, "id", &ID(inv.case_id.clone())).await?;
        if inv.version != version {
            return Err(ApiError::stale(inv.version));
        }
        let ended_on = ended_on.get("endedOn")?;
        if inv.ended_on.is_some() {
            return Err(ApiError::bad_input(
                "id",
                "既に終了しています / already ended",
            ));
        }
        if ended_on < inv.started_on {
            return Err(ApiError::bad_input(
                "endedOn",
                "開始日より前です / before the start date",
            ));
        }
        let mut am: case_involvement::ActiveModel = inv.clone().into();
        am.ended_on = Set(Some(ended_on));
        am.version = Set(store::next_version(version));
        am.updated_at = Set(r.now);
        let detail = serde_json::json!({ "caseId": c.model.id, "fields": ["endedOn"] });
        store::versioned_update::<case_involvement::Entity>(
            db,
            am,
            case_involvement::Column::Id,
            case_involvement::Column::Version,
            &iid,
            version,
            inv.version,
            entries(r, op, "case_involvement", &iid, &c, detail),
        )
        .await?;
        super::loaders::forget_rows(ctx)?;
        store::cases::involvement(db, &iid)
            .await?
            .map(CaseInvolvement)
            .ok_or_else(|| ApiError::internal("case_involvement", "vanished after update"))
    }
}
