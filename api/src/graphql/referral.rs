//! Referrals (つなぎ): PROPOSED → ACCEPTED or DECLINED; ACCEPTED → COMPLETED. Visible to the
//! two agencies party to them. The reason is NARRATIVE of the person, held by the sender.

use super::scalars::DateTime;
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, InputObject, Object, ID};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, TransactionTrait};

use super::consultation::{self, Consultation};
use super::context::{db, req};
use super::enums::ReferralStatus;
use super::gate::{nullable, reveal, RecordRef};
use super::loaders::load_persons;
use super::person::Person;
use super::registry::{agency_by_id, Agency};
use super::validate;
use crate::audit::{self, Entry};
use crate::error::{ApiError, ApiResult};
use crate::policy::{self, Action, Category, Item, Link};
use crate::store::{self, referrals::ReferralFilter};
use entity::referral;

/// つなぎ / a referral
pub struct Referral(referral::Model);

/// A referral the caller's agency is party to, with a role that handles person-level data.
async fn find(ctx: &Context<'_>, field: &str, id: &str) -> ApiResult<Referral> {
    let r = req(ctx)?;
    match store::referrals::get(db(ctx)?, id).await? {
        Some(m) if party(r, &m) => Ok(Referral(m)),
        _ => Err(ApiError::not_found(field)),
    }
}

fn party(r: &super::context::RequestCtx, m: &referral::Model) -> bool {
    policy::is_party(
        &r.principal,
        [m.from_agency_id.as_str(), m.to_agency_id.as_str()],
    )
}

impl Referral {
    /// NARRATIVE text of the referral written by `owner` (the sender's reason, the receiver's
    /// decline reason).
    async fn narrative(
        &self,
        ctx: &Context<'_>,
        owner: &str,
        value: Option<String>,
    ) -> ApiResult<Option<String>> {
        let loaded = load_persons(ctx, std::slice::from_ref(&self.0.person_id)).await?;
        let Some(subject) = loaded.first() else {
            return Err(ApiError::internal("referral", "person vanished"));
        };
        let record = RecordRef {
            kind: "referral",
            id: &self.0.id,
            owner,
            link: Link::Person,
        };
        nullable(
            ctx,
            reveal(
                ctx,
                &subject.facts,
                record,
                Item::of(Category::Narrative),
                || value,
            ),
        )
    }
}

#[Object]
impl Referral {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// つなぎ元 / referring agency
    async fn from_agency(&self, ctx: &Context<'_>) -> ApiResult<Agency> {
        agency_by_id(ctx, &self.0.from_agency_id).await
    }
    /// つなぎ先 / receiving agency
    async fn to_agency(&self, ctx: &Context<'_>) -> ApiResult<Agency> {
        agency_by_id(ctx, &self.0.to_agency_id).await
    }
    async fn status(&self) -> ApiResult<ReferralStatus> {
        ReferralStatus::from_db(&self.0.status)
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    async fn decided_at(&self) -> Option<DateTime> {
        self.0.decided_at.map(Into::into)
    }
    async fn completed_at(&self) -> Option<DateTime> {
        self.0.completed_at.map(Into::into)
    }
    /// 本人 (IDENTITY の根拠がなければ null) / the person, if the caller may know them
    async fn person(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        Person::referenced(ctx, &self.0.person_id).await
    }
    /// つなぎの理由 (NARRATIVE) / reason
    async fn reason(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        self.narrative(ctx, &self.0.from_agency_id, Some(self.0.reason.clone()))
            .await
    }
    /// 辞退理由 (NARRATIVE) / why it was declined
    async fn decline_reason(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        self.narrative(ctx, &self.0.to_agency_id, self.0.decline_reason.clone())
            .await
    }
    /// 元の相談 (根拠がある場合) / the originating consultation, if the caller may see it
    async fn consultation(&self, ctx: &Context<'_>) -> ApiResult<Option<Consultation>> {
        match &self.0.consultation_id {
            None => Ok(None),
            Some(c) => match consultation::find(ctx, "consultation", c).await {
                Ok(c) => Ok(Some(c)),
                Err(ApiError::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            },
        }
    }
}

#[derive(Default)]
pub struct ReferralQuery;

#[Object]
impl ReferralQuery {
    /// つなぎ / a referral by id (sender or receiver only)
    async fn referral(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Referral> {
        let id = validate::id("id", &id)?;
        find(ctx, "id", &id).await
    }

    /// つなぎ一覧 / referrals sent or received by the caller's agency
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity")]
    async fn referrals(
        &self,
        ctx: &Context<'_>,
        status: Option<ReferralStatus>,
        #[graphql(desc = "true: 受けたもの / received; false: 送ったもの / sent")] incoming: Option<
            bool,
        >,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, Referral>> {
        let r = req(ctx)?;
        let page = validate::page(first, after, store::CursorKind::Id)?;
        if policy::visible_scope(&r.principal, Category::Identity, r.purpose, r.now).is_none() {
            return Ok(Connection::new(false, false));
        }
        let filter = ReferralFilter {
            status: status.map(|s| s.as_str().to_owned()),
            incoming,
        };
        let rows = store::referrals::list(db(ctx)?, &r.principal.agency_id, &filter, &page).await?;
        let has_next = rows.len() as u64 > page.first;
        let mut conn = Connection::new(page.after.is_some(), has_next);
        for m in rows.into_iter().take(page.first as usize) {
            conn.edges
                .push(Edge::new(store::encode_cursor(&m.id), Referral(m)));
        }
        Ok(conn)
    }
}

#[derive(InputObject)]
pub struct ProposeReferralInput {
    pub person_id: ID,
    pub to_agency_id: ID,
    pub consultation_id: Option<ID>,
    /// 理由 / reason
    pub reason: String,
}

#[derive(Default)]
pub struct ReferralMutation;

#[Object]
impl ReferralMutation {
    /// つなぎを提案 (本人の同意 IDENTITY・CONTACT が必要) / propose a referral; needs consent
    async fn propose_referral(
        &self,
        ctx: &Context<'_>,
        input: ProposeReferralInput,
    ) -> ApiResult<Referral> {
        let r = req(ctx)?;
        r.require(Action::Refer, "proposeReferral")?;
        // Every invalid value is reported at once; the records named are looked up after.
        let mut invalid = validate::Invalid::default();
        let person_id = invalid.check(validate::id("input.personId", &input.person_id));
        let to = invalid.check(validate::id("input.toAgencyId", &input.to_agency_id));
        if to == r.principal.agency_id {
            invalid.push(ApiError::bad_input(
                "input.toAgencyId",
                "自機関へはつなげません / cannot refer to one's own agency",
            ));
        }
        let consultation_id = input
            .consultation_id
            .as_ref()
            .and_then(|c| invalid.check(validate::id("input.consultationId", c).map(Some)));
        let reason = invalid.check(validate::required("input.reason", &input.reason, 4000));
        invalid.finish(ctx)?;
        let db = db(ctx)?;
        let to_agency = match store::registry::agency(db, &to).await? {
            Some(a) if a.active => a,
            _ => return Err(ApiError::not_found("input.toAgencyId")),
        };
        let Some(to_kind) = policy::AgencyKind::parse(&to_agency.kind) else {
            return Err(ApiError::internal("agency.kind", &to_agency.kind));
        };
        let person = Person::find(ctx, "input.personId", &person_id).await?;
        if let Some(c) = &consultation_id {
            consultation::find(ctx, "input.consultationId", c).await?;
        }
        if let Some(missing) =
            policy::referral_missing(person.facts(), &to, to_kind, r.purpose, r.now).first()
        {
            return Err(ApiError::ConsentRequired {
                category: *missing,
                subject_id: Some(person_id),
                reason: "REFERRAL_NEEDS_CONSENT",
            });
        }
        let model = referral::Model {
            id: store::new_id(),
            from_agency_id: r.principal.agency_id.clone(),
            to_agency_id: to,
            person_id: person_id.clone(),
            consultation_id,
            reason,
            status: ReferralStatus::Proposed.as_str().to_owned(),
            decline_reason: None,
            version: 1,
            created_by: r.principal.account_id.clone(),
            created_at: r.now,
            updated_at: r.now,
            decided_at: None,
            completed_at: None,
        };
        let txn = db.begin().await?;
        let saved = referral::ActiveModel::from(model).insert(&txn).await?;
        audit::append(
            &txn,
            vec![Entry::write(
                &r.principal,
                "proposeReferral",
                "referral",
                &saved.id,
                Some(&person_id),
                serde_json::json!({"fields": ["toAgencyId", "reason", "consultationId"]}),
            )],
        )
        .await?;
        txn.commit().await?;
        Ok(Referral(saved))
    }

    /// つなぎを受ける (つなぎ先) / accept (receiving agency)
    async fn accept_referral(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
    ) -> ApiResult<Referral> {
        transition(
            ctx,
            "acceptReferral",
            id,
            version,
            ReferralStatus::Accepted,
            None,
        )
        .await
    }

    /// つなぎを辞退 (つなぎ先) / decline (receiving agency)
    async fn decline_referral(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        reason: String,
    ) -> ApiResult<Referral> {
        let reason = validate::required("reason", &reason, 4000)?;
        transition(
            ctx,
            "declineReferral",
            id,
            version,
            ReferralStatus::Declined,
            Some(reason),
        )
        .await
    }

    /// つなぎ完了 (つなぎ先) / complete (receiving agency)
    async fn complete_referral(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
    ) -> ApiResult<Referral> {
        transition(
            ctx,
            "completeReferral",
            id,
            version,
            ReferralStatus::Completed,
            None,
        )
        .await
    }
}

async fn transition(
    ctx: &Context<'_>,
    operation: &str,
    id: ID,
    version: i32,
    to: ReferralStatus,
    decline_reason: Option<String>,
) -> ApiResult<Referral> {
    let r = req(ctx)?;
    r.require(Action::Refer, operation)?;
    let id = validate::id("id", &id)?;
    let current = find(ctx, "id", &id).await?.0;
    if current.to_agency_id != r.principal.agency_id {
        return Err(ApiError::forbidden(
            "つなぎ先のみ操作できます / only the receiving agency may do this",
        ));
    }
    let from = ReferralStatus::from_db(&current.status)?;
    let legal = matches!(
        (from, to),
        (ReferralStatus::Proposed, ReferralStatus::Accepted)
            | (ReferralStatus::Proposed, ReferralStatus::Declined)
            | (ReferralStatus::Accepted, ReferralStatus::Completed)
    );
    if current.version != version {
        return Err(ApiError::stale(current.version));
    }
    if !legal {
        return Err(ApiError::bad_input(
            "id",
            format!(
                "{} から {} へは変更できません / cannot go from {} to {}",
                from.as_str(),
                to.as_str(),
                from.as_str(),
                to.as_str()
            ),
        ));
    }
    // Accepting needs the consent still to hold: a withdrawal since the proposal ends it.
    if to == ReferralStatus::Accepted {
        let loaded = load_persons(ctx, std::slice::from_ref(&current.person_id)).await?;
        let subject = loaded
            .first()
            .ok_or_else(|| ApiError::internal("referral", "person vanished"))?;
        if let Some(missing) = policy::referral_missing(
            &subject.facts,
            &r.principal.agency_id,
            r.principal.agency_kind,
            r.purpose,
            r.now,
        )
        .first()
        {
            return Err(ApiError::ConsentRequired {
                category: *missing,
                // The receiver may no longer know the person (the consent that let it is gone).
                subject_id: r
                    .may_name(&subject.facts, Link::Person)
                    .then(|| current.person_id.clone()),
                reason: "REFERRAL_NEEDS_CONSENT",
            });
        }
    }
    let mut am: referral::ActiveModel = current.clone().into();
    am.status = Set(to.as_str().to_owned());
    am.version = Set(store::next_version(version));
    am.updated_at = Set(r.now);
    match to {
        ReferralStatus::Completed => am.completed_at = Set(Some(r.now)),
        _ => am.decided_at = Set(Some(r.now)),
    }
    if decline_reason.is_some() {
        am.decline_reason = Set(decline_reason);
    }
    store::versioned_update::<referral::Entity>(
        db(ctx)?,
        am,
        referral::Column::Id,
        referral::Column::Version,
        &id,
        version,
        current.version,
        vec![Entry::write(
            &r.principal,
            operation,
            "referral",
            &id,
            Some(&current.person_id),
            serde_json::json!({"status": to.as_str()}),
        )],
    )
    .await?;
    find(ctx, "id", &id).await
}
