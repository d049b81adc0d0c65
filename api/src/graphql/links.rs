//! 名寄せの結びつき / links between records of one person (README §6.1): proposed by staff who
//! may know both records, confirmed by another coordinator, revocable, kept with their
//! history. A link is a statement and nothing more: nothing is merged, and the access policy
//! never reads links, so a confirmed link opens no field of either record to anyone.
//!
//! A link is shown only to a caller who may know both of its records (the same IDENTITY
//! decision as `persons`): to anyone else it would tell that another record of the person
//! exists — the "known elsewhere" that `personMatches` guards. For them a link is NOT_FOUND,
//! exactly as an id that does not exist.
//!
//! Even to a caller who may know both records, an actor of the link (who proposed, confirmed
//! or revoked it) is named only when it is the caller's own agency or registers one of the
//! records (`policy::matching::link_actor_shown`): a third agency that handled the person is
//! the person's circumstance. A note is NARRATIVE of both records, decided and ledgered as
//! such (its writer's agency always sees it).

use std::sync::Arc;

use async_graphql::{Context, Enum, Object, ID};

use super::context::{db, req};
use super::gate::{nullable, reveal_all, RecordRef};
use super::loaders::load_persons;
use super::person::Person;
use super::registry::{agency_by_id, Agency};
use super::scalars::DateTime;
use super::validate;
use crate::audit::Entry;
use crate::error::{ApiError, ApiResult};
use crate::policy::matching::link_actor_shown;
use crate::policy::write::link::{
    may_confirm_link, may_propose_link, may_revoke_link, LinkFacts, LinkState,
};
use crate::policy::{Action, Category, Item, Link, SubjectFacts};
use crate::store;
use entity::{person_link, person_link_event};

/// 結びつきの状態 / the state of a link
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "LinkState")]
pub enum PersonLinkStatus {
    /// 提案中 / proposed, awaiting a coordinator
    Proposed,
    /// 確認済み (同じ人) / confirmed: one person
    Confirmed,
    /// 取り消し・却下・撤回 / revoked, rejected or withdrawn
    Revoked,
}

/// 履歴の出来事 / an event of a link's history
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum PersonLinkAction {
    /// 提案 / proposed
    Proposed,
    /// 確認 / confirmed
    Confirmed,
    /// 提案の却下 (調整担当) / a proposal rejected by a coordinator
    Rejected,
    /// 提案の撤回 (提案者) / a proposal withdrawn by its proposer
    Withdrawn,
    /// 確認済みの取り消し / a confirmed link revoked
    Revoked,
}

impl PersonLinkAction {
    fn as_str(self) -> &'static str {
        match self {
            PersonLinkAction::Proposed => "PROPOSED",
            PersonLinkAction::Confirmed => "CONFIRMED",
            PersonLinkAction::Rejected => "REJECTED",
            PersonLinkAction::Withdrawn => "WITHDRAWN",
            PersonLinkAction::Revoked => "REVOKED",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            PersonLinkAction::Proposed,
            PersonLinkAction::Confirmed,
            PersonLinkAction::Rejected,
            PersonLinkAction::Withdrawn,
            PersonLinkAction::Revoked,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// 名寄せの結びつき (同じ人の 2 つの記録) / a link between two records of one person
pub struct PersonLink(person_link::Model);

/// 結びつきの履歴の 1 件 / one event of a link's history
pub struct PersonLinkEvent {
    model: person_link_event::Model,
    /// Whether its agency and account are shown ([`link_actor_shown`]).
    actor_shown: bool,
    /// The two records' facts: the note is NARRATIVE of both.
    subjects: Vec<Arc<SubjectFacts>>,
}

/// The two records of a link as loaded: their registering agencies and facts.
async fn pair(
    ctx: &Context<'_>,
    link: &person_link::Model,
) -> ApiResult<([String; 2], Vec<Arc<SubjectFacts>>)> {
    let loaded = load_persons(ctx, &[link.person_a_id.clone(), link.person_b_id.clone()]).await?;
    let owner = |id: &str| {
        loaded
            .iter()
            .find(|l| l.model.id == id)
            .map(|l| l.model.owner_agency_id.clone())
            .ok_or_else(|| ApiError::internal("person link", "a linked record vanished"))
    };
    let owners = [owner(&link.person_a_id)?, owner(&link.person_b_id)?];
    Ok((owners, loaded.iter().map(|l| l.facts.clone()).collect()))
}

/// Whether `agency` (an actor of the link) is shown to the caller.
async fn actor_shown(
    ctx: &Context<'_>,
    link: &person_link::Model,
    agency: &str,
) -> ApiResult<bool> {
    let (owners, _) = pair(ctx, link).await?;
    Ok(link_actor_shown(
        &req(ctx)?.principal,
        agency,
        [&owners[0], &owners[1]],
    ))
}

fn state(m: &person_link::Model) -> ApiResult<LinkState> {
    LinkState::parse(&m.status)
        .ok_or_else(|| ApiError::internal("person link", format!("status {:?}", m.status)))
}

#[Object]
impl PersonLink {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn status(&self) -> ApiResult<PersonLinkStatus> {
        Ok(state(&self.0)?.into())
    }
    /// 2 つの記録 (各項目は通常どおり判定・記録。結びつきで見える範囲は広がりません)
    /// / the two records: every field decided and ledgered as anywhere; a link widens nothing
    async fn persons(&self, ctx: &Context<'_>) -> ApiResult<Vec<Person>> {
        Person::visible(
            ctx,
            &[self.0.person_a_id.clone(), self.0.person_b_id.clone()],
        )
        .await
    }
    async fn proposed_at(&self) -> DateTime {
        self.0.proposed_at.into()
    }
    /// 提案したアカウント (自機関か、2 つの記録の登録機関のときだけ) / the account that
    /// proposed it: only when of the caller's agency or of an agency registering one of the records
    async fn proposed_by(&self, ctx: &Context<'_>) -> ApiResult<Option<ID>> {
        let shown = actor_shown(ctx, &self.0, &self.0.proposed_agency_id).await?;
        Ok(shown.then(|| ID(self.0.proposed_by.clone())))
    }
    /// 提案した機関 (同上) / the agency that proposed it (as above)
    async fn proposed_by_agency(&self, ctx: &Context<'_>) -> ApiResult<Option<Agency>> {
        if actor_shown(ctx, &self.0, &self.0.proposed_agency_id).await? {
            Ok(Some(agency_by_id(ctx, &self.0.proposed_agency_id).await?))
        } else {
            Ok(None)
        }
    }
    /// 確認・取り消しの日時 (最後のもの) / when it was last confirmed or revoked
    async fn decided_at(&self) -> Option<DateTime> {
        self.0.decided_at.map(Into::into)
    }
    /// 最後に確認・取り消したアカウント (同上) / who last confirmed or revoked it (as above)
    async fn decided_by(&self, ctx: &Context<'_>) -> ApiResult<Option<ID>> {
        let (Some(by), Some(agency)) = (&self.0.decided_by, &self.0.decided_agency_id) else {
            return Ok(None);
        };
        Ok(actor_shown(ctx, &self.0, agency)
            .await?
            .then(|| ID(by.clone())))
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// 履歴 (古い順) / the history, oldest first
    async fn history(&self, ctx: &Context<'_>) -> ApiResult<Vec<PersonLinkEvent>> {
        let (owners, subjects) = pair(ctx, &self.0).await?;
        let principal = &req(ctx)?.principal;
        Ok(store::links::events(db(ctx)?, &self.0.id)
            .await?
            .into_iter()
            .map(|model| PersonLinkEvent {
                actor_shown: link_actor_shown(
                    principal,
                    &model.agency_id,
                    [&owners[0], &owners[1]],
                ),
                model,
                subjects: subjects.clone(),
            })
            .collect())
    }
}

#[Object]
impl PersonLinkEvent {
    async fn action(&self) -> ApiResult<PersonLinkAction> {
        PersonLinkAction::parse(&self.model.action)
            .ok_or_else(|| ApiError::internal("person link event", self.model.action.clone()))
    }
    async fn at(&self) -> DateTime {
        self.model.at.into()
    }
    /// 操作したアカウント (自機関か、2 つの記録の登録機関のときだけ) / who: only when of the
    /// caller's agency or of an agency registering one of the records
    async fn account_id(&self) -> Option<ID> {
        self.actor_shown.then(|| ID(self.model.account_id.clone()))
    }
    /// 操作した機関 (同上) / the agency (as above)
    async fn agency(&self, ctx: &Context<'_>) -> ApiResult<Option<Agency>> {
        if self.actor_shown {
            Ok(Some(agency_by_id(ctx, &self.model.agency_id).await?))
        } else {
            Ok(None)
        }
    }
    /// 理由・メモ (両方の記録の NARRATIVE として判定。書いた機関には常に見える)
    /// / the reason or note: NARRATIVE of both records (its writer's agency always sees it)
    async fn note(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        if self.model.note.is_none() {
            // No note was written: nothing to decide or ledger.
            return Ok(None);
        }
        let record = RecordRef {
            kind: "person_link",
            id: &self.model.link_id,
            owner: &self.model.agency_id,
            link: Link::Person,
        };
        let note = self.model.note.clone();
        nullable(
            ctx,
            reveal_all(
                ctx,
                &self.subjects,
                record,
                Item::of(Category::Narrative),
                || note,
            ),
        )
    }
}

/// A link as its rules read it.
fn facts(m: &person_link::Model) -> ApiResult<LinkFacts<'_>> {
    Ok(LinkFacts {
        id: &m.id,
        state: state(m)?,
        proposed_by: &m.proposed_by,
    })
}

/// The link `id` if the caller may know both of its records; NOT_FOUND at `id` otherwise,
/// as for an id that does not exist.
async fn find_known(ctx: &Context<'_>, id: &str) -> ApiResult<person_link::Model> {
    let link = store::links::get(db(ctx)?, id)
        .await?
        .ok_or_else(|| ApiError::not_found("id"))?;
    let known = Person::visible(ctx, &[link.person_a_id.clone(), link.person_b_id.clone()])
        .await?
        .len();
    if known == 2 {
        Ok(link)
    } else {
        Err(ApiError::not_found("id"))
    }
}

/// One WRITE row per record of the pair (each person's ledger shows the link).
fn entries(
    r: &super::context::RequestCtx,
    operation: &str,
    link: &person_link::Model,
    action: PersonLinkAction,
) -> Vec<Entry> {
    let status = &link.status;
    let action = action.as_str();
    [&link.person_a_id, &link.person_b_id]
        .into_iter()
        .map(|p| {
            Entry::write(
                &r.principal,
                operation,
                "person_link",
                &link.id,
                Some(p),
                serde_json::json!({ "fields": ["status"], "status": status, "action": action }),
            )
        })
        .collect()
}

fn event(
    r: &super::context::RequestCtx,
    link_id: &str,
    action: PersonLinkAction,
    note: Option<String>,
) -> person_link_event::Model {
    person_link_event::Model {
        id: store::new_id(),
        link_id: link_id.to_owned(),
        action: action.as_str().to_owned(),
        account_id: r.principal.account_id.clone(),
        agency_id: r.principal.agency_id.clone(),
        at: r.now,
        note,
    }
}

#[derive(Default)]
pub struct LinkQuery;

#[Object]
impl LinkQuery {
    /// 記録の結びつき (提案中・確認済み・取り消し済み。相手の記録も見てよいものだけ)
    /// / the links of a person's record (any state), those whose other record the caller may know too
    async fn person_links(&self, ctx: &Context<'_>, person_id: ID) -> ApiResult<Vec<PersonLink>> {
        let r = req(ctx)?;
        r.require(Action::LinkRecords, "personLinks")?;
        let person_id = validate::id("personId", &person_id)?;
        Person::find(ctx, "personId", &person_id).await?;
        let links = store::links::of_person(db(ctx)?, &person_id).await?;
        let others: Vec<String> = links
            .iter()
            .map(|l| store::links::other(l, &person_id).to_owned())
            .collect();
        let known: std::collections::BTreeSet<String> = Person::visible(ctx, &others)
            .await?
            .iter()
            .map(|p| p.person_id().to_owned())
            .collect();
        let shown: Vec<PersonLink> = links
            .into_iter()
            .zip(others)
            .filter(|(_, other)| known.contains(other))
            .map(|(l, _)| PersonLink(l))
            .collect();
        r.note_read(
            "person_link",
            Some(&person_id),
            serde_json::json!({ "field": "personLinks", "links": shown.len() }),
        );
        Ok(shown)
    }
}

#[derive(Default)]
pub struct LinkMutation;

#[Object]
impl LinkMutation {
    /// 2 つの記録を同じ人として結びつける提案 (両方を見てよい職員。統合はしません)
    /// / propose that two records are one person (staff who may know both); nothing is merged
    async fn propose_person_link(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
        other_person_id: ID,
        note: Option<String>,
    ) -> ApiResult<PersonLink> {
        let r = req(ctx)?;
        r.require(Action::LinkRecords, "proposePersonLink")?;
        let mut invalid = validate::Invalid::default();
        let person_id = invalid.check(validate::id("personId", &person_id));
        let other_id = invalid.check(validate::id("otherPersonId", &other_person_id));
        let note = invalid.check(validate::optional("note", note.as_ref(), 1000));
        invalid.finish(ctx)?;
        Person::find(ctx, "personId", &person_id).await?;
        Person::find(ctx, "otherPersonId", &other_id).await?;
        let db = db(ctx)?;
        let existing = store::links::of_pair(db, &person_id, &other_id).await?;
        let permit = may_propose_link(
            &r.principal,
            &person_id,
            &other_id,
            existing.as_ref().map(facts).transpose()?,
        )
        .map_err(|e| ApiError::refused(e, "otherPersonId"))?;
        let (a, b) = store::links::ordered(&person_id, &other_id);
        let link = person_link::Model {
            id: existing
                .as_ref()
                .map_or_else(store::new_id, |l| l.id.clone()),
            person_a_id: a.to_owned(),
            person_b_id: b.to_owned(),
            status: LinkState::Proposed.as_str().to_owned(),
            proposed_by: r.principal.account_id.clone(),
            proposed_agency_id: r.principal.agency_id.clone(),
            proposed_at: r.now,
            decided_by: None,
            decided_agency_id: None,
            decided_at: None,
            version: existing.as_ref().map_or(1, |l| l.version),
            updated_at: r.now,
        };
        let entries = entries(r, "proposePersonLink", &link, PersonLinkAction::Proposed);
        let event = event(r, &link.id, PersonLinkAction::Proposed, note);
        let saved = store::links::propose(db, permit, link, existing, event, entries).await?;
        Ok(PersonLink(saved))
    }

    /// 提案を確認する (提案者以外の調整担当) / confirm a proposal (a coordinator other than the proposer)
    async fn confirm_person_link(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        note: Option<String>,
    ) -> ApiResult<PersonLink> {
        let r = req(ctx)?;
        r.require(Action::ConfirmLinks, "confirmPersonLink")?;
        let id = validate::id("id", &id)?;
        let note = validate::optional("note", note.as_ref(), 1000)?;
        let read = find_known(ctx, &id).await?;
        let permit = may_confirm_link(&r.principal, facts(&read)?)
            .map_err(|e| ApiError::refused(e, "id"))?;
        let changed = person_link::Model {
            status: LinkState::Confirmed.as_str().to_owned(),
            decided_by: Some(r.principal.account_id.clone()),
            decided_agency_id: Some(r.principal.agency_id.clone()),
            decided_at: Some(r.now),
            updated_at: r.now,
            ..read.clone()
        };
        let entries = entries(
            r,
            "confirmPersonLink",
            &changed,
            PersonLinkAction::Confirmed,
        );
        let event = event(r, &id, PersonLinkAction::Confirmed, note);
        let saved =
            store::links::confirm(db(ctx)?, permit, (&read, version), changed, event, entries)
                .await?;
        Ok(PersonLink(saved))
    }

    /// 取り消す (確認済みは調整担当、提案中は調整担当が却下または提案者が撤回。理由必須)
    /// / revoke a link (coordinators), reject a proposal (coordinators) or withdraw one's own; a reason is required
    async fn revoke_person_link(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        reason: String,
    ) -> ApiResult<PersonLink> {
        let r = req(ctx)?;
        r.require(Action::LinkRecords, "revokePersonLink")?;
        let id = validate::id("id", &id)?;
        let reason = validate::required("reason", &reason, 1000)?;
        let read = find_known(ctx, &id).await?;
        let was = state(&read)?;
        let permit =
            may_revoke_link(&r.principal, facts(&read)?).map_err(|e| ApiError::refused(e, "id"))?;
        let action = match was {
            LinkState::Confirmed => PersonLinkAction::Revoked,
            _ if read.proposed_by == r.principal.account_id => PersonLinkAction::Withdrawn,
            _ => PersonLinkAction::Rejected,
        };
        let changed = person_link::Model {
            status: LinkState::Revoked.as_str().to_owned(),
            decided_by: Some(r.principal.account_id.clone()),
            decided_agency_id: Some(r.principal.agency_id.clone()),
            decided_at: Some(r.now),
            updated_at: r.now,
            ..read.clone()
        };
        let entries = entries(r, "revokePersonLink", &changed, action);
        let event = event(r, &id, action, Some(reason));
        let saved =
            store::links::revoke(db(ctx)?, permit, (&read, version), changed, event, entries)
                .await?;
        Ok(PersonLink(saved))
    }
}
