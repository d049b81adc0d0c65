//! Involvements (関与): each agency's own role (主担当 or supporting), start and end in a
//! case, apart from the case's own status. At most one open LEAD per case; an involvement
//! may be ended after the case closed (the coordinator view lists those still open). Which
//! agencies work with a household is PLAN of its members (`SupportCase.involvements`).

use async_graphql::{Context, InputObject, Object, ID};

use super::case::{InvolvementRole, PLAN};
use super::case_mutation::{add_to_case, entries, owned};
use super::context::{db, req};
use super::registry::{agency_by_id, Agency};
use super::scalars::Date;
use super::validate;
use crate::error::{ApiError, ApiResult};
use crate::policy::write::case::{may_add_involvement, may_coordinate, Clash, EndInvolvement};
use crate::policy::Action;
use crate::store::{self, cases::Row};
use entity::case_involvement;

/// 関与 / an agency's involvement in a case, with its own role, start and end
pub struct CaseInvolvement(pub case_involvement::Model);

#[Object]
impl CaseInvolvement {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn case_id(&self) -> ID {
        ID(self.0.case_id.clone())
    }
    /// 機関 / the agency
    async fn agency(&self, ctx: &Context<'_>) -> ApiResult<Agency> {
        agency_by_id(ctx, &self.0.agency_id).await
    }
    async fn role(&self) -> ApiResult<InvolvementRole> {
        InvolvementRole::from_db(&self.0.role)
    }
    /// 開始日 / started on
    async fn started_on(&self) -> Date {
        self.0.started_on.into()
    }
    /// 終了日 / ended on
    async fn ended_on(&self) -> Option<Date> {
        self.0.ended_on.map(Into::into)
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
}

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
        let (c, permit) = owned(ctx, op, "caseId", &case_id).await?;
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
        let involvements = store::cases::involvements_of(db, &c.model.id).await?;
        let open: Vec<(&str, bool)> = involvements
            .iter()
            .filter(|i| i.ended_on.is_none())
            .map(|i| {
                (
                    i.agency_id.as_str(),
                    i.role == InvolvementRole::Lead.as_str(),
                )
            })
            .collect();
        let lead = input.role == InvolvementRole::Lead;
        match may_add_involvement(&open, &agency_id, lead) {
            Ok(()) => {}
            Err(Clash::AlreadyInvolved) => {
                return Err(ApiError::bad_input(
                    "input.agencyId",
                    "この機関は既に関与中です / the agency is already involved",
                ))
            }
            Err(Clash::LeadTaken) => {
                return Err(ApiError::bad_input(
                    "input.role",
                    "主担当は既にいます (先に終了してください) / there is already an open lead; end it first",
                ))
            }
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
        let entries = entries(r, op, "case_involvement", &id, &c, detail);
        add_to_case(ctx, permit, &c, vec![Row::Involvement(model)], entries).await?;
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
        if !known.scope.sees_all(r, PLAN) {
            return Err(ApiError::not_found("id"));
        }
        let owner = &known.model.owner_agency_id;
        let permit = may_coordinate::<EndInvolvement>(&r.principal, op, &iid, owner)
            .map_err(|e| ApiError::refused(e, "id"))?;
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
        let changed = case_involvement::Model {
            ended_on: Some(ended_on),
            updated_at: r.now,
            ..inv.clone()
        };
        let detail = serde_json::json!({ "caseId": known.model.id, "fields": ["endedOn"] });
        let entries = entries(r, op, "case_involvement", &iid, &known, detail);
        store::cases::update_record(db, permit, &inv, version, changed, entries).await?;
        super::loaders::forget_rows(ctx)?;
        store::cases::involvement(db, &iid)
            .await?
            .map(CaseInvolvement)
            .ok_or_else(|| ApiError::internal("case_involvement", "vanished after update"))
    }
}
