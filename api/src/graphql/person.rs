//! Persons: every personal field goes through [`reveal`] with its category.

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, ID};

use super::scalars::Date;
use super::validate;

use super::consent::Consent;
use super::consultation::{self, Consultation};
use super::context::{replica_db, req};
use super::enums::Sex;
use super::gate::{admit, nullable, reveal, RecordRef};
use super::household::{self, HouseholdMember};
use super::loaders::{load_listed_persons, load_persons, Loaded, Wants};
use super::registry::{agency_by_id, Agency};
use crate::error::{ApiError, ApiResult};
use crate::kana;
use crate::policy::{Category, Item, Link};
use crate::store::{self, persons::PersonFilter};
use entity::person;

/// 個人 / a person. Only built for persons the caller may know exist.
pub struct Person {
    model: Arc<person::Model>,
    facts: Arc<crate::policy::SubjectFacts>,
}

impl Person {
    /// Persons by id that the caller may know exist, in the given order.
    pub async fn visible(ctx: &Context<'_>, ids: &[String]) -> ApiResult<Vec<Person>> {
        let r = req(ctx)?;
        Ok(load_persons(ctx, ids)
            .await?
            .into_iter()
            .filter(|l| r.knows_person(&l.facts))
            .map(|Loaded { model, facts, .. }| Person { model, facts })
            .collect())
    }

    /// The persons a list offered (`candidates`, possibly from the read replica) that the
    /// caller may know exist, decided on the primary's facts ([`load_listed_persons`]).
    async fn listed(ctx: &Context<'_>, candidates: Vec<person::Model>) -> ApiResult<Vec<Person>> {
        let r = req(ctx)?;
        Ok(load_listed_persons(ctx, candidates)
            .await?
            .into_iter()
            .filter(|l| r.knows_person(&l.facts))
            .map(|Loaded { model, facts, .. }| Person { model, facts })
            .collect())
    }

    /// One person, or NOT_FOUND (for a missing id and an invisible one alike).
    pub async fn find(ctx: &Context<'_>, field: &str, id: &str) -> ApiResult<Person> {
        Person::visible(ctx, &[id.to_owned()])
            .await?
            .pop()
            .ok_or_else(|| ApiError::not_found(field))
    }

    /// A person referenced from another record (a referral, a membership): the person if
    /// the caller may know them, else null with CONSENT_REQUIRED for IDENTITY, ledgered as
    /// withheld.
    pub async fn referenced(ctx: &Context<'_>, id: &str) -> ApiResult<Option<Person>> {
        let r = req(ctx)?;
        let Some(Loaded { model, facts, .. }) = load_persons(ctx, &[id.to_owned()]).await?.pop()
        else {
            return Err(ApiError::internal("person reference", "dangling person id"));
        };
        let record = RecordRef {
            kind: "person",
            id: &model.id,
            owner: &model.owner_agency_id,
            link: Link::Person,
        };
        if r.knows_person(&facts) {
            return Ok(Some(Person { model, facts }));
        }
        // Withheld, and without naming the person: the caller may not know them.
        let withheld = match reveal(ctx, &facts, record, IDENTITY, || None) {
            Err(ApiError::ConsentRequired {
                category, reason, ..
            }) => Err(ApiError::ConsentRequired {
                category,
                subject_id: None,
                reason,
            }),
            other => other,
        };
        nullable(ctx, withheld)
    }

    pub fn person_id(&self) -> &str {
        &self.model.id
    }

    /// The person's record as read.
    pub(super) fn model(&self) -> &person::Model {
        &self.model
    }

    pub fn owner_agency_id(&self) -> &str {
        &self.model.owner_agency_id
    }

    pub fn facts(&self) -> &Arc<crate::policy::SubjectFacts> {
        &self.facts
    }

    /// The one way a person's field leaves: decided, ledgered, null with an error if denied.
    fn show<T>(
        &self,
        ctx: &Context<'_>,
        item: Item,
        value: impl FnOnce(&person::Model) -> Option<T>,
    ) -> ApiResult<Option<T>> {
        let record = RecordRef {
            kind: "person",
            id: &self.model.id,
            owner: &self.model.owner_agency_id,
            link: Link::Person,
        };
        nullable(
            ctx,
            reveal(ctx, &self.facts, record, item, || value(&self.model)),
        )
    }
}

const IDENTITY: Item = Item::of(Category::Identity);

/// Load ahead, for a list of persons, the rows that `wants` asks of each: their memberships
/// (with the households), the agencies holding them and the caller's references to them.
/// Rows only: every field is still decided on its own.
pub async fn prefetch(ctx: &Context<'_>, ids: &[String], wants: &Wants<'_>) -> ApiResult<()> {
    super::external_ref::prefetch(ctx, ids, wants).await?;
    if wants.field("households").exists() {
        household::prefetch_memberships(ctx, ids).await?;
    }
    if wants.field("ownerAgency").exists() {
        let owners: Vec<String> = load_persons(ctx, ids)
            .await?
            .iter()
            .map(|l| l.model.owner_agency_id.clone())
            .collect();
        super::loaders::load_agencies(ctx, &owners).await?;
    }
    Ok(())
}

#[Object]
impl Person {
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
    /// 登録機関 (NARRATIVE: どの機関が記録を持つか自体が機微情報) / the agency that registered
    /// the person — which agency holds a record is itself sensitive (a child-family centre,
    /// say), so it is NARRATIVE
    async fn owner_agency(&self, ctx: &Context<'_>) -> ApiResult<Option<Agency>> {
        match self.show(ctx, Item::of(Category::Narrative), |m| {
            Some(m.owner_agency_id.clone())
        })? {
            Some(id) => Ok(Some(agency_by_id(ctx, &id).await?)),
            None => Ok(None),
        }
    }
    /// 氏 (IDENTITY)
    async fn family_name(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        self.show(ctx, IDENTITY, |m| Some(m.family_name.clone()))
    }
    /// 名 (IDENTITY)
    async fn given_name(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        self.show(ctx, IDENTITY, |m| Some(m.given_name.clone()))
    }
    /// 氏 (カナ) (IDENTITY)
    async fn family_name_kana(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        self.show(ctx, IDENTITY, |m| Some(m.family_name_kana.clone()))
    }
    /// 名 (カナ) (IDENTITY)
    async fn given_name_kana(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        self.show(ctx, IDENTITY, |m| Some(m.given_name_kana.clone()))
    }
    /// 生年月日 (IDENTITY)
    async fn birth_date(&self, ctx: &Context<'_>) -> ApiResult<Option<Date>> {
        self.show(ctx, IDENTITY, |m| m.birth_date.map(Into::into))
    }
    /// 性別 (IDENTITY)
    async fn sex(&self, ctx: &Context<'_>) -> ApiResult<Option<Sex>> {
        self.show(ctx, IDENTITY, |m| Some(m.sex.clone()))?
            .map(|s| Sex::from_db(&s))
            .transpose()
    }
    /// 住所 (CONTACT; 支援措置対象者は登録機関か本機関を名指しした同意のみ)
    async fn address(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        self.show(ctx, Item::location(), |m| m.address.clone())
    }
    /// 日常生活圏域 (CONTACT; 住所と同じ扱い) / district
    async fn district(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        self.show(ctx, Item::location(), |m| m.district.clone())
    }
    /// 電話番号 (CONTACT)
    async fn phone(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        self.show(ctx, Item::of(Category::Contact), |m| m.phone.clone())
    }
    /// DV等支援措置の対象か (CHILD_PROTECTION) / address suppressed under a support measure
    async fn address_confidential(&self, ctx: &Context<'_>) -> ApiResult<Option<bool>> {
        self.show(ctx, Item::of(Category::ChildProtection), |m| {
            Some(m.address_confidential)
        })
    }
    /// 要介護度 (HEALTH, 要配慮) / care level
    async fn care_level(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        self.show(ctx, Item::of(Category::Health), |m| m.care_level.clone())
    }
    /// 障害者手帳 (HEALTH, 要配慮) / disability certificate
    async fn disability_certificate(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        self.show(ctx, Item::of(Category::Health), |m| {
            m.disability_certificate.clone()
        })
    }
    /// 生活保護受給 (LIVELIHOOD) / receives public assistance
    async fn public_assistance(&self, ctx: &Context<'_>) -> ApiResult<Option<bool>> {
        self.show(ctx, Item::of(Category::Livelihood), |m| m.public_assistance)
    }
    /// 版 / version for optimistic concurrency
    async fn version(&self) -> i32 {
        self.model.version
    }
    /// 世帯の所属 (HOUSEHOLD; 根拠のない所属は含まれない) / household memberships the caller may see
    async fn households(&self, ctx: &Context<'_>) -> ApiResult<Vec<HouseholdMember>> {
        household::memberships_of_person(ctx, self).await
    }
    /// この人の相談 (NARRATIVE; 根拠のある相談のみ、新しい順。first 指定時は見られる相談の
    /// うち新しい順に first 件) / consultations the caller may see, newest first; with
    /// `first`, the `first` newest of those the caller may see
    async fn consultations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> ApiResult<Vec<Consultation>> {
        // Checked like every list's `first` (1..=100), before anything is read.
        let limit = first
            .map(|f| validate::page(Some(f), None, store::CursorKind::Id))
            .transpose()?
            .map(|p| p.first as usize);
        let mut list = consultation::about_person(ctx, &self.model.id).await?;
        // After the policy filter: a consultation the caller may not see never takes a place.
        if let Some(n) = limit {
            list.truncate(n);
        }
        Ok(list)
    }
    /// 同意 (ルート consents(personId:) と同じ規則: 登録機関には全件、他機関には自機関・種別を
    /// 名指しした同意のみ) / the person's consents the caller may see, exactly as
    /// `consents(personId:)` answers
    async fn consents(&self, ctx: &Context<'_>) -> ApiResult<Vec<Consent>> {
        super::consent::of_person(ctx, "consents", &self.model.id).await
    }
}

#[derive(Default)]
pub struct PersonQuery;

#[Object]
impl PersonQuery {
    /// 個人 (根拠のない ID は NOT_FOUND) / a person by id
    async fn person(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Person> {
        let id = validate::id("id", &id)?;
        Person::find(ctx, "id", &id).await
    }

    /// 個人一覧 (自機関の登録者と同意のある人のみ) / persons the caller may know exist
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity")]
    async fn persons(
        &self,
        ctx: &Context<'_>,
        district: Option<String>,
        #[graphql(desc = "カナ前方一致 (名寄せキー) / kana prefix")] kana: Option<String>,
        #[graphql(
            desc = "氏名の前方一致。氏名の入力と同じ正規化をし、空白を除き異体字を寄せて (髙→高、﨑→崎、邊→辺 など) 「氏+名」と比べる (例 \"山田\"、\"山田 健一\") / prefix of the name (family name then given name, spaces ignored, folded like name input, common variant kanji folded: 髙→高, 﨑→崎, 邊→辺 …), e.g. \"山田\" or \"山田 健一\""
        )]
        name: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, Person>> {
        let r = req(ctx)?;
        let page = validate::page(first, after, store::CursorKind::Id)?;
        let filter = PersonFilter {
            // Checked like the stored value (a NUL reached PostgreSQL as INTERNAL).
            district: validate::optional_line("district", district.as_ref(), 100)?,
            location: crate::policy::visible_scope(
                &r.principal,
                Category::Contact,
                r.purpose,
                r.now,
            ),
            kana_key_prefix: kana
                .map(|k| {
                    kana::match_key(&k).map_err(|e| ApiError::bad_input("kana", e.to_string()))
                })
                .transpose()?,
            // The same key as 名寄せ (異体字 folded: 髙橋 finds 高橋 and 高橋 finds 髙橋).
            name_prefix: validate::optional_line("name", name.as_ref(), 201)?
                .map(|n| kana::name_key(&n)),
        };
        let Some(scope) =
            crate::policy::visible_scope(&r.principal, Category::Identity, r.purpose, r.now)
        else {
            return Ok(Connection::new(false, false));
        };
        // Candidates and their content from the read replica (README §12); whether each is
        // shown, and every field, is decided on the primary's facts (`Person::listed`).
        let rows = store::persons::list(replica_db(ctx)?, &scope, &filter, &page).await?;
        let has_next = rows.len() as u64 > page.first;
        let candidates: Vec<person::Model> = rows.into_iter().take(page.first as usize).collect();
        let mut conn = Connection::new(page.after.is_some(), has_next);
        let list = Person::listed(ctx, candidates).await?;
        let shown: Vec<String> = list.iter().map(|p| p.model.id.clone()).collect();
        prefetch(ctx, &shown, &Wants::connection(ctx)).await?;
        for p in list {
            // A filter reads what it matches: ledger it, and never match what the caller may
            // not see (a district of a person whose location is hidden).
            let record = RecordRef {
                kind: "person",
                id: &p.model.id,
                owner: &p.model.owner_agency_id,
                link: Link::Person,
            };
            if filter.district.is_some() && !admit(ctx, &p.facts, record, Item::location())? {
                continue;
            }
            let by_name = filter.kana_key_prefix.is_some() || filter.name_prefix.is_some();
            if by_name && !admit(ctx, &p.facts, record, IDENTITY)? {
                continue;
            }
            conn.edges
                .push(Edge::new(store::encode_cursor(p.person_id()), p));
        }
        Ok(conn)
    }
}
