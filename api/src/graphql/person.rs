//! Persons: every personal field goes through [`reveal`] with its category.

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, InputObject, Object, ID};
use chrono::NaiveDate;

use super::scalars::Date;
use super::validate;
use sea_orm::{ActiveModelTrait, TransactionTrait};

use super::consent::Consent;
use super::consultation::{self, Consultation};
use super::context::{db, req};
use super::enums::Sex;
use super::gate::{admit, nullable, reveal, RecordRef};
use super::household::{self, HouseholdMember};
use super::loaders::{forget_person, load_persons, Loaded, Wants};
use super::registry::{agency_by_id, Agency};
use crate::audit::{self, Entry};
use crate::error::{ApiError, ApiResult};
use crate::kana;
use crate::policy::{Action, Category, Item, Link};
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
/// (with the households) and the agencies holding them. Rows only: every field is still
/// decided on its own.
pub async fn prefetch(ctx: &Context<'_>, ids: &[String], wants: &Wants<'_>) -> ApiResult<()> {
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

#[derive(InputObject)]
pub struct CreatePersonInput {
    pub family_name: String,
    pub given_name: String,
    /// カナ (ひらがな・半角カナも可、全角カタカナに正規化) / kana, normalised to katakana
    pub family_name_kana: String,
    pub given_name_kana: String,
    pub birth_date: Option<Date>,
    pub sex: Sex,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub district: Option<String>,
    #[graphql(default)]
    pub address_confidential: bool,
    pub care_level: Option<String>,
    pub disability_certificate: Option<String>,
    pub public_assistance: Option<bool>,
}

/// Omitted fields are left unchanged.
#[derive(InputObject)]
pub struct UpdatePersonInput {
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name_kana: Option<String>,
    pub given_name_kana: Option<String>,
    pub birth_date: Option<Date>,
    pub sex: Option<Sex>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub district: Option<String>,
    pub address_confidential: Option<bool>,
    pub care_level: Option<String>,
    pub disability_certificate: Option<String>,
    pub public_assistance: Option<bool>,
}

fn kana_field(field: &str, value: &str) -> ApiResult<String> {
    kana::normalize_kana(value).map_err(|e| ApiError::bad_input(field, e.to_string()))
}

fn birth_date(field: &str, date: Option<&Date>, today: NaiveDate) -> ApiResult<Option<NaiveDate>> {
    let Some(date) = date else {
        return Ok(None);
    };
    let d = date.get(field)?;
    if d > today {
        return Err(ApiError::bad_input(field, "未来の日付です / in the future"));
    }
    if d < NaiveDate::from_ymd_opt(1880, 1, 1).unwrap_or(NaiveDate::MIN) {
        return Err(ApiError::bad_input(field, "日付が古すぎます / too early"));
    }
    Ok(Some(d))
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
            desc = "氏名 (表記どおり) の前方一致。氏名の入力と同じ正規化をし、空白を除いて「氏+名」と比べる (例 \"山田\"、\"山田 健一\") / prefix of the name as written (family name then given name, spaces ignored, folded like name input), e.g. \"山田\" or \"山田 健一\""
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
            name_prefix: validate::optional_line("name", name.as_ref(), 201)?
                .map(|n| n.replace(' ', "")),
        };
        let Some(scope) =
            crate::policy::visible_scope(&r.principal, Category::Identity, r.purpose, r.now)
        else {
            return Ok(Connection::new(false, false));
        };
        let rows = store::persons::list(db(ctx)?, &scope, &filter, &page).await?;
        let has_next = rows.len() as u64 > page.first;
        let ids: Vec<String> = rows
            .iter()
            .take(page.first as usize)
            .map(|p| p.id.clone())
            .collect();
        let mut conn = Connection::new(page.after.is_some(), has_next);
        let list = Person::visible(ctx, &ids).await?;
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

#[derive(Default)]
pub struct PersonMutation;

#[Object]
impl PersonMutation {
    /// 個人を登録 (自機関が登録機関になる) / register a person; the caller's agency owns the record
    async fn create_person(
        &self,
        ctx: &Context<'_>,
        input: CreatePersonInput,
    ) -> ApiResult<Person> {
        let r = req(ctx)?;
        r.require(Action::RecordPerson, "createPerson")?;
        let today = r.now.date_naive();
        // Every invalid field is reported at once; nothing is written unless all are valid.
        let mut invalid = validate::Invalid::default();
        let family_name =
            invalid.check(validate::line("input.familyName", &input.family_name, 100));
        let given_name = invalid.check(validate::line("input.givenName", &input.given_name, 100));
        let family_name_kana =
            invalid.check(kana_field("input.familyNameKana", &input.family_name_kana));
        let given_name_kana =
            invalid.check(kana_field("input.givenNameKana", &input.given_name_kana));
        let birth_date = invalid.check(birth_date(
            "input.birthDate",
            input.birth_date.as_ref(),
            today,
        ));
        let address = invalid.check(validate::optional_line(
            "input.address",
            input.address.as_ref(),
            300,
        ));
        let phone = invalid.check(validate::phone("input.phone", input.phone.as_ref()));
        let district = invalid.check(validate::optional_line(
            "input.district",
            input.district.as_ref(),
            100,
        ));
        let care_level = invalid.check(validate::optional(
            "input.careLevel",
            input.care_level.as_ref(),
            50,
        ));
        let disability_certificate = invalid.check(validate::optional(
            "input.disabilityCertificate",
            input.disability_certificate.as_ref(),
            100,
        ));
        invalid.finish(ctx)?;
        let kana_key = kana::match_key(&format!("{family_name_kana}{given_name_kana}"))
            .map_err(|e| ApiError::bad_input("input.familyNameKana", e.to_string()))?;
        let model = person::Model {
            id: store::new_id(),
            owner_agency_id: r.principal.agency_id.clone(),
            family_name,
            given_name,
            family_name_kana,
            given_name_kana,
            kana_key,
            birth_date,
            sex: input.sex.as_str().to_owned(),
            address,
            phone,
            district,
            address_confidential: input.address_confidential,
            care_level,
            disability_certificate,
            public_assistance: input.public_assistance,
            version: 1,
            created_by: r.principal.account_id.clone(),
            created_at: r.now,
            updated_at: r.now,
        };
        let id = model.id.clone();
        let txn = db(ctx)?.begin().await?;
        person::ActiveModel::from(model).insert(&txn).await?;
        audit::append(
            &txn,
            vec![Entry::write(&r.principal, "createPerson", "person", &id, Some(&id), serde_json::json!({"categories": ["IDENTITY", "CONTACT", "HEALTH", "LIVELIHOOD", "CHILD_PROTECTION"]}))],
        )
        .await?;
        txn.commit().await?;
        Person::find(ctx, "id", &id).await
    }

    /// 個人を更新 (登録機関のみ、version が一致すること) / update a person (owning agency; current version)
    async fn update_person(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: UpdatePersonInput,
    ) -> ApiResult<Person> {
        let r = req(ctx)?;
        r.require(Action::RecordPerson, "updatePerson")?;
        let id = validate::id("id", &id)?;
        let current = Person::find(ctx, "id", &id).await?;
        let permit = crate::policy::write::person::may_change_person(
            &r.principal,
            &id,
            current.owner_agency_id(),
        )
        .map_err(|e| ApiError::refused(e, "id"))?;
        let today = r.now.date_naive();
        let mut changed: person::Model = (*current.model).clone();
        let mut fields: Vec<&str> = Vec::new();
        macro_rules! set {
            ($col:ident, $name:literal, $value:expr) => {{
                changed.$col = $value;
                fields.push($name);
            }};
        }
        // Every invalid field is reported at once; nothing is written unless all are valid.
        let mut invalid = validate::Invalid::default();
        if let Some(v) = &input.family_name {
            set!(
                family_name,
                "familyName",
                invalid.check(validate::line("input.familyName", v, 100))
            );
        }
        if let Some(v) = &input.given_name {
            set!(
                given_name,
                "givenName",
                invalid.check(validate::line("input.givenName", v, 100))
            );
        }
        let fk = input
            .family_name_kana
            .as_ref()
            .and_then(|v| invalid.check(kana_field("input.familyNameKana", v).map(Some)));
        let gk = input
            .given_name_kana
            .as_ref()
            .and_then(|v| invalid.check(kana_field("input.givenNameKana", v).map(Some)));
        if let Some(v) = &fk {
            set!(family_name_kana, "familyNameKana", v.clone());
        }
        if let Some(v) = &gk {
            set!(given_name_kana, "givenNameKana", v.clone());
        }
        if input.birth_date.is_some() {
            set!(
                birth_date,
                "birthDate",
                invalid.check(birth_date(
                    "input.birthDate",
                    input.birth_date.as_ref(),
                    today
                ))
            );
        }
        if let Some(v) = input.sex {
            set!(sex, "sex", v.as_str().to_owned());
        }
        if input.address.is_some() {
            set!(
                address,
                "address",
                invalid.check(validate::optional_line(
                    "input.address",
                    input.address.as_ref(),
                    300
                ))
            );
        }
        if input.phone.is_some() {
            set!(
                phone,
                "phone",
                invalid.check(validate::phone("input.phone", input.phone.as_ref()))
            );
        }
        if input.district.is_some() {
            set!(
                district,
                "district",
                invalid.check(validate::optional_line(
                    "input.district",
                    input.district.as_ref(),
                    100
                ))
            );
        }
        if let Some(v) = input.address_confidential {
            set!(address_confidential, "addressConfidential", v);
        }
        if input.care_level.is_some() {
            set!(
                care_level,
                "careLevel",
                invalid.check(validate::optional(
                    "input.careLevel",
                    input.care_level.as_ref(),
                    50
                ))
            );
        }
        if input.disability_certificate.is_some() {
            set!(
                disability_certificate,
                "disabilityCertificate",
                invalid.check(validate::optional(
                    "input.disabilityCertificate",
                    input.disability_certificate.as_ref(),
                    100
                ))
            );
        }
        if input.public_assistance.is_some() {
            set!(
                public_assistance,
                "publicAssistance",
                input.public_assistance
            );
        }
        invalid.finish(ctx)?;
        if fk.is_some() || gk.is_some() {
            let f = fk.unwrap_or_else(|| current.model.family_name_kana.clone());
            let g = gk.unwrap_or_else(|| current.model.given_name_kana.clone());
            changed.kana_key = kana::match_key(&format!("{f}{g}"))
                .map_err(|e| ApiError::bad_input("input.familyNameKana", e.to_string()))?;
        }
        changed.updated_at = r.now;
        store::persons::update(
            db(ctx)?,
            permit,
            &current.model,
            version,
            changed,
            vec![Entry::write(
                &r.principal,
                "updatePerson",
                "person",
                &id,
                Some(&id),
                serde_json::json!({ "fields": fields }),
            )],
        )
        .await?;
        forget_person(ctx, &id)?;
        Person::find(ctx, "id", &id).await
    }
}
