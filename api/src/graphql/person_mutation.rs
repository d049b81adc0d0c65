//! Person writes: registering a person (the caller's agency owns the record) and updating
//! one (the owning agency only, at the current version).

use async_graphql::{Context, InputObject, Object, ID};
use chrono::NaiveDate;

use super::context::{db, req};
use super::enums::Sex;
use super::loaders::forget_person;
use super::person::Person;
use super::scalars::Date;
use super::validate;
use crate::audit::Entry;
use crate::error::{ApiError, ApiResult};
use crate::kana;
use crate::policy::write::person::{may_change_person, may_create_person};
use crate::policy::Action;
use crate::store;
use entity::person;

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

/// Longest name part (family or given name).
pub(crate) const NAME_MAX: usize = 100;
/// Longest address.
pub(crate) const ADDRESS_MAX: usize = 300;
/// Longest district.
pub(crate) const DISTRICT_MAX: usize = 100;

/// A birth date neither in the future (after `today`) nor before 1880 (the CSV import
/// applies the same rule).
pub(crate) fn birth_date_in_range(
    d: NaiveDate,
    today: NaiveDate,
) -> Result<NaiveDate, &'static str> {
    if d > today {
        return Err("未来の日付です / in the future");
    }
    if d < NaiveDate::from_ymd_opt(1880, 1, 1).unwrap_or(NaiveDate::MIN) {
        return Err("日付が古すぎます / too early");
    }
    Ok(d)
}

fn birth_date(field: &str, date: Option<&Date>, today: NaiveDate) -> ApiResult<Option<NaiveDate>> {
    let Some(date) = date else {
        return Ok(None);
    };
    let d = date.get(field)?;
    birth_date_in_range(d, today)
        .map(Some)
        .map_err(|why| ApiError::bad_input(field, why))
}

/// A person's optional text fields, each checked as it is stored (the same in createPerson
/// and updatePerson); a field not given is None.
struct Texts {
    address: Option<String>,
    phone: Option<String>,
    district: Option<String>,
    care_level: Option<String>,
    disability_certificate: Option<String>,
}

impl Texts {
    /// Check every given text, remembering each invalid one in `invalid`.
    fn check(
        invalid: &mut validate::Invalid,
        [address, phone, district, care_level, disability_certificate]: [Option<&String>; 5],
    ) -> Texts {
        Texts {
            address: invalid.check(validate::optional_line(
                "input.address",
                address,
                ADDRESS_MAX,
            )),
            phone: invalid.check(validate::phone("input.phone", phone)),
            district: invalid.check(validate::optional_line(
                "input.district",
                district,
                DISTRICT_MAX,
            )),
            care_level: invalid.check(validate::optional("input.careLevel", care_level, 50)),
            disability_certificate: invalid.check(validate::optional(
                "input.disabilityCertificate",
                disability_certificate,
                100,
            )),
        }
    }
}

/// [`Texts::check`] of either input (createPerson's, updatePerson's).
macro_rules! texts_of {
    ($invalid:ident, $input:ident) => {
        Texts::check(
            &mut $invalid,
            [
                $input.address.as_ref(),
                $input.phone.as_ref(),
                $input.district.as_ref(),
                $input.care_level.as_ref(),
                $input.disability_certificate.as_ref(),
            ],
        )
    };
}

/// The person a createPerson input describes, registered by the caller's agency under `id`:
/// every field checked (with what `invalid` already holds, all reported at once) and
/// normalised as stored. Shared by createPerson and upsertPerson.
pub(super) fn new_person(
    ctx: &Context<'_>,
    mut invalid: validate::Invalid,
    input: &CreatePersonInput,
    id: &str,
) -> ApiResult<person::Model> {
    let r = req(ctx)?;
    let today = r.now.date_naive();
    let family_name = invalid.check(validate::line(
        "input.familyName",
        &input.family_name,
        NAME_MAX,
    ));
    let given_name = invalid.check(validate::line(
        "input.givenName",
        &input.given_name,
        NAME_MAX,
    ));
    let family_name_kana =
        invalid.check(kana_field("input.familyNameKana", &input.family_name_kana));
    let given_name_kana = invalid.check(kana_field("input.givenNameKana", &input.given_name_kana));
    let birth_date = invalid.check(birth_date(
        "input.birthDate",
        input.birth_date.as_ref(),
        today,
    ));
    let texts = texts_of!(invalid, input);
    invalid.finish(ctx)?;
    let kana_key = kana::match_key(&format!("{family_name_kana}{given_name_kana}"))
        .map_err(|e| ApiError::bad_input("input.familyNameKana", e.to_string()))?;
    Ok(person::Model {
        id: id.to_owned(),
        owner_agency_id: r.principal.agency_id.clone(),
        family_name,
        given_name,
        family_name_kana,
        given_name_kana,
        kana_key,
        birth_date,
        sex: input.sex.as_str().to_owned(),
        address: texts.address,
        phone: texts.phone,
        district: texts.district,
        address_confidential: input.address_confidential,
        care_level: texts.care_level,
        disability_certificate: texts.disability_certificate,
        public_assistance: input.public_assistance,
        version: 1,
        created_by: r.principal.account_id.clone(),
        created_at: r.now,
        updated_at: r.now,
    })
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
        let id = store::new_id();
        let model = new_person(ctx, validate::Invalid::default(), &input, &id)?;
        let permit =
            may_create_person(&r.principal, &id).map_err(|e| ApiError::refused(e, "input"))?;
        let entries = vec![Entry::write(
            &r.principal,
            "createPerson",
            "person",
            &id,
            Some(&id),
            serde_json::json!({"categories": ["IDENTITY", "CONTACT", "HEALTH", "LIVELIHOOD", "CHILD_PROTECTION"]}),
        )];
        store::persons::create(db(ctx)?, permit, model, entries).await?;
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
        let permit = may_change_person(&r.principal, &id, current.owner_agency_id())
            .map_err(|e| ApiError::refused(e, "id"))?;
        let today = r.now.date_naive();
        let mut changed: person::Model = current.model().clone();
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
                invalid.check(validate::line("input.familyName", v, NAME_MAX))
            );
        }
        if let Some(v) = &input.given_name {
            set!(
                given_name,
                "givenName",
                invalid.check(validate::line("input.givenName", v, NAME_MAX))
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
        let texts = texts_of!(invalid, input);
        // The fields given, in the order of the input (the ledger lists them so).
        macro_rules! given {
            ($($col:ident: $name:literal),*) => {$(
                if input.$col.is_some() {
                    set!($col, $name, texts.$col);
                }
            )*};
        }
        given!(address: "address", phone: "phone", district: "district");
        if let Some(v) = input.address_confidential {
            set!(address_confidential, "addressConfidential", v);
        }
        given!(care_level: "careLevel", disability_certificate: "disabilityCertificate");
        if input.public_assistance.is_some() {
            set!(
                public_assistance,
                "publicAssistance",
                input.public_assistance
            );
        }
        invalid.finish(ctx)?;
        if fk.is_some() || gk.is_some() {
            let f = fk.unwrap_or_else(|| current.model().family_name_kana.clone());
            let g = gk.unwrap_or_else(|| current.model().given_name_kana.clone());
            changed.kana_key = kana::match_key(&format!("{f}{g}"))
                .map_err(|e| ApiError::bad_input("input.familyNameKana", e.to_string()))?;
        }
        changed.updated_at = r.now;
        store::persons::update(
            db(ctx)?,
            permit,
            current.model(),
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
