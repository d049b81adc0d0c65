//! Referrals (つなぎ): PROPOSED → ACCEPTED or DECLINED; ACCEPTED → COMPLETED. Visible to the
//! two agencies party to them. The reason is NARRATIVE of the person, held by the sender.

use super::scalars::DateTime;
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, InputObject, Object, ID};

use super::consultation::{self, Consultation};
use super::context::{db, req};
use super::enums::ReferralStatus as GqlReferralStatus;
use super::external_ref::ExternalRefInput;
use super::gate::{nullable, reveal, RecordRef};
use super::loaders::{load_persons, Wants};
use super::person::Person;
use super::registry::{agency_by_id, Agency};
use super::validate;
use crate::audit::Entry;
use crate::error::{ApiError, ApiResult};
use crate::policy::write::referral::{self as rules, Blocked, ReferralStatus};
use crate::policy::{self, Action, Category, Item, Link};
use crate::store::{self, referrals::ReferralFilter};
use entity::referral;

/// つなぎ / a referral
pub struct Referral(referral::Model);

/// A referral the caller's agency is party to, with a role that handles person-level data
/// (`referral(id:)`, and `referralByRef`).
pub async fn find(ctx: &Context<'_>, field: &str, id: &str) -> ApiResult<Referral> {
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
    /// 自機関の外部参照 (他機関のもの、つなぎ元の参照もつなぎ先には見えない) / the caller's
    /// agency's own references to this referral (another agency's, the sender's included,
    /// are never shown)
    async fn external_refs(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<super::external_ref::ExternalRef>> {
        super::external_ref::of_record(ctx, &self.0.id).await
    }
    /// つなぎ元 / referring agency
    async fn from_agency(&self, ctx: &Context<'_>) -> ApiResult<Agency> {
        agency_by_id(ctx, &self.0.from_agency_id).await
    }
    /// つなぎ先 / receiving agency
    async fn to_agency(&self, ctx: &Context<'_>) -> ApiResult<Agency> {
        agency_by_id(ctx, &self.0.to_agency_id).await
    }
    async fn status(&self) -> ApiResult<GqlReferralStatus> {
        GqlReferralStatus::from_db(&self.0.status)
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
        status: Option<GqlReferralStatus>,
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
        let rows: Vec<referral::Model> = rows.into_iter().take(page.first as usize).collect();
        let ids: Vec<String> = rows.iter().map(|m| m.id.clone()).collect();
        super::external_ref::prefetch(ctx, &ids, &Wants::connection(ctx)).await?;
        for m in rows {
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
    /// つなぎを提案 (本人の同意 IDENTITY・CONTACT が必要)。`ref` は自機関の外部参照で、
    /// 自機関が別のつなぎに使っていれば CONFLICT / propose a referral; needs consent. `ref`:
    /// the caller's agency's own reference for it (CONFLICT if it already names another of
    /// the agency's referrals)
    async fn propose_referral(
        &self,
        ctx: &Context<'_>,
        input: ProposeReferralInput,
        #[graphql(name = "ref")] reference: Option<ExternalRefInput>,
    ) -> ApiResult<Referral> {
        let r = req(ctx)?;
        r.require(Action::Refer, "proposeReferral")?;
        // Every invalid value is reported at once; the records named are looked up after.
        let mut invalid = validate::Invalid::default();
        let person_id = invalid.check(validate::id("input.personId", &input.person_id));
        let to = invalid.check(validate::id("input.toAgencyId", &input.to_agency_id));
        if let Err(message) = rules::referral_target(&r.principal, &to) {
            invalid.push(ApiError::bad_input("input.toAgencyId", message));
        }
        let consultation_id = input
            .consultation_id
            .as_ref()
            .and_then(|c| invalid.check(validate::id("input.consultationId", c).map(Some)));
        let reason = invalid.check(validate::required("input.reason", &input.reason, 4000));
        let key = super::external_ref::optional(reference.as_ref(), &mut invalid);
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
        let permit = rules::may_propose_referral(
            &r.principal,
            person.facts(),
            &to,
            to_kind,
            r.purpose,
            r.now,
        )
        .map_err(|b| blocked(b, "input.toAgencyId", Some(person_id.clone())))?;
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
        let mut entry = Entry::write(
            &r.principal,
            "proposeReferral",
            "referral",
            &model.id,
            Some(&person_id),
            serde_json::json!({"fields": ["toAgencyId", "reason", "consultationId"]}),
        );
        super::external_ref::carry(&mut entry, key);
        let entries = vec![entry];
        let saved = store::referrals::create(db, permit, model, entries).await?;
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

/// Move a referral to `to`, as its rule allows (`policy::write::referral`).
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
    let status = ReferralStatus::parse(&current.status)
        .ok_or_else(|| ApiError::internal("ReferralStatus", &current.status))?;
    // Accepting needs the consent still to hold: the person's facts are read for it.
    let loaded = match to {
        ReferralStatus::Accepted => load_persons(ctx, std::slice::from_ref(&current.person_id))
            .await?
            .pop()
            .ok_or_else(|| ApiError::internal("referral", "person vanished"))
            .map(Some)?,
        _ => None,
    };
    let facts = rules::ReferralFacts {
        id: &current.id,
        from_agency_id: &current.from_agency_id,
        to_agency_id: &current.to_agency_id,
        status,
        version: current.version,
        subject: loaded.as_ref().map(|l| &*l.facts),
    };
    let permit = rules::referral_transition(&r.principal, &facts, version, to, r.purpose, r.now)
        .map_err(|b| {
            // The receiver may no longer know the person (the consent that let it is gone).
            let named = loaded
                .as_ref()
                .filter(|l| r.may_name(&l.facts, Link::Person))
                .map(|_| current.person_id.clone());
            blocked(b, "id", named)
        })?;
    let mut moved = referral::Model {
        status: to.as_str().to_owned(),
        updated_at: r.now,
        ..current.clone()
    };
    match to {
        ReferralStatus::Completed => moved.completed_at = Some(r.now),
        _ => moved.decided_at = Some(r.now),
    }
    if decline_reason.is_some() {
        moved.decline_reason = decline_reason;
    }
    let entries = vec![Entry::write(
        &r.principal,
        operation,
        "referral",
        &id,
        Some(&current.person_id),
        serde_json::json!({"status": to.as_str()}),
    )];
    store::referrals::update(db(ctx)?, permit, current, version, moved, entries).await?;
    find(ctx, "id", &id).await
}

/// The error for a referral write its rule refused; `field` names the referral (or, for a
/// proposal, the receiving agency), `subject` is the person when the caller may know them.
fn blocked(b: Blocked, field: &str, subject: Option<String>) -> ApiError {
    match b {
        Blocked::Refused(refusal) => ApiError::refused(refusal, field),
        Blocked::Target(message) => ApiError::bad_input(field, message),
        Blocked::Stale(current) => ApiError::stale(current),
        Blocked::Illegal { from, to } => ApiError::bad_input(
            field,
            format!("{from} から {to} へは変更できません / cannot go from {from} to {to}"),
        ),
        Blocked::NeedsConsent(category) => ApiError::ConsentRequired {
            category,
            subject_id: subject,
            reason: "REFERRAL_NEEDS_CONSENT",
        },
    }
}
