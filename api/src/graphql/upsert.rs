//! Upserts by the caller's agency's external reference (`upsertPerson` and the like): create
//! the record with its reference, or bring the record the reference names to the input.
//!
//! - The same input twice gives one record and no new version (nothing is written, nothing
//!   ledgered as a write).
//! - Two concurrent upserts of one reference give one record: the reference is stored in the
//!   same transaction as the new record under a unique index (`ux_external_ref_key`), so the
//!   second insert fails and its write rolls back whole; it then finds the reference and
//!   continues as an update (a CONFLICT only if the record changed meanwhile).
//! - An upsert checks the same role, validation and write rule, and calls the same store
//!   function, as the create or update mutation it becomes; its ledger row is that write's,
//!   under the operation name `upsert…` with `"created": true|false`.

use async_graphql::{Context, Object, SimpleObject};

use super::context::{db, req};
use sha2::{Digest, Sha256};

use super::consent::Consent;
use super::consent_mutation::RecordConsentInput;
use super::consultation::Consultation;
use super::consultation_mutation::RecordConsultationInput;
use super::external_ref::{record_id, ExternalRefInput, RefKey};
use super::household::Household;
use super::household_mutation::MemberInput;
use super::loaders::forget_person;
use super::person::Person;
use super::person_mutation::{new_person, CreatePersonInput};
use super::validate;
use crate::audit::{Entry, RefEntry};
use crate::error::{ApiError, ApiResult};
use crate::policy::write::person::{may_change_person, may_create_person};
use crate::policy::Action;
use crate::store;
use entity::person;

/// upsertPerson の結果 / what upsertPerson did
#[derive(SimpleObject)]
pub struct UpsertPersonResult {
    /// 新規に作成した / the reference was new: the person was created
    pub created: bool,
    /// 書き込んだ (作成または変更) / something was written (created, or fields changed)
    pub changed: bool,
    pub person: Person,
}

/// A write entry of an upsert: the reference rides on it into `store::write`.
fn entry(
    ctx: &Context<'_>,
    op: &str,
    kind: &str,
    id: &str,
    subject: Option<&str>,
    detail: serde_json::Value,
    key: &RefKey,
) -> ApiResult<Entry> {
    let r = req(ctx)?;
    let mut e = Entry::write(&r.principal, op, kind, id, subject, detail);
    e.external_ref = Some(RefEntry {
        system: key.0.clone(),
        external_id: key.1.clone(),
        input_hash: None,
    });
    Ok(e)
}

/// How a create is reached: its own mutation (`plain`), or an upsert, whose operation name
/// is ledgered and whose reference is stored with the record.
pub struct Via {
    pub op: &'static str,
    reference: Option<RefEntry>,
}

impl Via {
    pub fn plain(op: &'static str) -> Self {
        Via {
            op,
            reference: None,
        }
    }

    fn upsert(op: &'static str, (system, external_id): &RefKey, input_hash: String) -> Self {
        Via {
            op,
            reference: Some(RefEntry {
                system: system.clone(),
                external_id: external_id.clone(),
                input_hash: Some(input_hash),
            }),
        }
    }

    /// Put the reference on the entries of the record itself (`record_type`; not on its
    /// parts', such as a household's memberships).
    pub fn mark(&self, entries: &mut [Entry], record_type: &str) {
        for e in entries.iter_mut().filter(|e| e.record_type == record_type) {
            e.external_ref.clone_from(&self.reference);
        }
    }
}

/// The reference, checked (every invalid part reported at once).
fn checked(ctx: &Context<'_>, reference: &ExternalRefInput) -> ApiResult<RefKey> {
    let mut invalid = validate::Invalid::default();
    let key = reference.check("ref", &mut invalid);
    invalid.finish(ctx)?;
    Ok(key)
}

/// SHA-256 (hex) of the field's argument `arg` as sent, variables resolved, object keys in
/// sorted order: "the same input" of an upsert that only creates.
fn input_hash(ctx: &Context<'_>, arg: &str) -> ApiResult<String> {
    let args = ctx
        .field()
        .arguments()
        .map_err(|e| ApiError::internal("upsert input", e.message))?;
    let value = args
        .into_iter()
        .find(|(name, _)| name.as_str() == arg)
        .map(|(_, v)| v.into_json())
        .transpose()
        .map_err(|e| ApiError::internal("upsert input", e.to_string()))?
        .unwrap_or(serde_json::Value::Null);
    // serde_json's map is ordered by key (no preserve_order): canonical.
    let bytes = serde_json::to_vec(&value)
        .map_err(|e| ApiError::internal("upsert input", e.to_string()))?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

/// The record an only-creating upsert's reference names (None: a new reference). The same
/// reference sent with another input is CONFLICT: the record is not changed by an upsert
/// (change it with its own mutations), and ignoring the input silently would lose it.
async fn made_from(
    ctx: &Context<'_>,
    record_type: &str,
    key: &RefKey,
    hash: &str,
) -> ApiResult<Option<String>> {
    let r = req(ctx)?;
    let Some(row) = store::external_refs::find(
        db(ctx)?,
        crate::policy::refs::agency_of(&r.principal),
        record_type,
        &key.0,
        &key.1,
    )
    .await?
    else {
        return Ok(None);
    };
    if row.input_hash.as_deref() != Some(hash) {
        return Err(ApiError::conflict(
            "この参照の記録は別の入力で作成されています / the reference names a record made from another input",
        ));
    }
    Ok(Some(row.record_id))
}

/// upsertConsultation の結果 / what upsertConsultation did
#[derive(SimpleObject)]
pub struct UpsertConsultationResult {
    /// 新規に作成した / the reference was new: the consultation was recorded
    pub created: bool,
    pub consultation: Consultation,
}

/// upsertConsent の結果 / what upsertConsent did
#[derive(SimpleObject)]
pub struct UpsertConsentResult {
    /// 新規に作成した / the reference was new: the consent was recorded
    pub created: bool,
    pub consent: Consent,
}

/// upsertHousehold の結果 / what upsertHousehold did
#[derive(SimpleObject)]
pub struct UpsertHouseholdResult {
    /// 新規に作成した / the reference was new: the household was created
    pub created: bool,
    pub household: Household,
}

/// A consent by id, as `consents(personId:)` shows it (NOT_FOUND at `field` otherwise).
async fn consent(ctx: &Context<'_>, field: &str, id: &str) -> ApiResult<Consent> {
    super::external_ref::consent(ctx, field, id).await
}

/// The names (as in the API) of the person's fields that differ between `a` and `b`.
pub(crate) fn person_changes(a: &person::Model, b: &person::Model) -> Vec<&'static str> {
    let mut out = Vec::new();
    macro_rules! cmp {
        ($($col:ident: $name:literal),*) => {$(
            if a.$col != b.$col {
                out.push($name);
            }
        )*};
    }
    cmp!(
        family_name: "familyName",
        given_name: "givenName",
        family_name_kana: "familyNameKana",
        given_name_kana: "givenNameKana",
        birth_date: "birthDate",
        sex: "sex",
        address: "address",
        phone: "phone",
        district: "district",
        address_confidential: "addressConfidential",
        care_level: "careLevel",
        disability_certificate: "disabilityCertificate",
        public_assistance: "publicAssistance"
    );
    out
}

#[derive(Default)]
pub struct UpsertMutation;

#[Object]
impl UpsertMutation {
    /// 自機関の外部参照で個人を登録または更新 (同じ入力は何も書かない) / create or update a
    /// person by the caller's agency's reference; the same input again writes nothing
    async fn upsert_person(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "ref")] reference: ExternalRefInput,
        input: CreatePersonInput,
    ) -> ApiResult<UpsertPersonResult> {
        let r = req(ctx)?;
        r.require(Action::RecordPerson, "upsertPerson")?;
        let mut invalid = validate::Invalid::default();
        let key = reference.check("ref", &mut invalid);
        let new_id = store::new_id();
        let model = new_person(ctx, invalid, &input, &new_id)?;
        // Twice at most: a concurrent upsert may store the reference between the lookup
        // and the insert; the second round then finds it.
        for round in 0..2 {
            let Some(id) = record_id(ctx, "PERSON", &key).await? else {
                let permit = may_create_person(&r.principal, &new_id)
                    .map_err(|e| ApiError::refused(e, "input"))?;
                let e = entry(
                    ctx,
                    "upsertPerson",
                    "person",
                    &new_id,
                    Some(&new_id),
                    serde_json::json!({"created": true, "categories": ["IDENTITY", "CONTACT", "HEALTH", "LIVELIHOOD", "CHILD_PROTECTION"]}),
                    &key,
                )?;
                match store::persons::create(db(ctx)?, permit, model.clone(), vec![e]).await {
                    Ok(_) => {
                        return Ok(UpsertPersonResult {
                            created: true,
                            changed: true,
                            person: Person::find(ctx, "ref", &new_id).await?,
                        })
                    }
                    Err(ApiError::Conflict { .. }) if round == 0 => continue,
                    Err(e) => return Err(e),
                }
            };
            let current = Person::find(ctx, "ref", &id).await?;
            let permit = may_change_person(&r.principal, &id, current.owner_agency_id())
                .map_err(|e| ApiError::refused(e, "ref"))?;
            let read = current.model();
            let mut changed = person::Model {
                id: read.id.clone(),
                owner_agency_id: read.owner_agency_id.clone(),
                version: read.version,
                created_by: read.created_by.clone(),
                created_at: read.created_at,
                ..model.clone()
            };
            let fields = person_changes(read, &changed);
            if fields.is_empty() {
                return Ok(UpsertPersonResult {
                    created: false,
                    changed: false,
                    person: current,
                });
            }
            changed.updated_at = r.now;
            let e = entry(
                ctx,
                "upsertPerson",
                "person",
                &id,
                Some(&id),
                serde_json::json!({"created": false, "fields": fields}),
                &key,
            )?;
            store::persons::update(db(ctx)?, permit, read, read.version, changed, vec![e]).await?;
            forget_person(ctx, &id)?;
            return Ok(UpsertPersonResult {
                created: false,
                changed: true,
                person: Person::find(ctx, "ref", &id).await?,
            });
        }
        Err(ApiError::conflict("upsertPerson"))
    }

    /// 自機関の外部参照で相談を記録 (同じ参照・同じ入力は何も書かない。別の入力は CONFLICT)
    /// / record a consultation under the caller's agency's reference; the same reference and
    /// input again writes nothing, another input under it is CONFLICT
    async fn upsert_consultation(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "ref")] reference: ExternalRefInput,
        input: RecordConsultationInput,
    ) -> ApiResult<UpsertConsultationResult> {
        req(ctx)?.require(Action::RecordConsultation, "upsertConsultation")?;
        let key = checked(ctx, &reference)?;
        let hash = input_hash(ctx, "input")?;
        if let Some(id) = made_from(ctx, "CONSULTATION", &key, &hash).await? {
            let consultation = super::consultation::find(ctx, "ref", &id).await?;
            return Ok(UpsertConsultationResult {
                created: false,
                consultation,
            });
        }
        let via = Via::upsert("upsertConsultation", &key, hash.clone());
        match super::consultation_mutation::record(ctx, input, via).await {
            Ok(consultation) => Ok(UpsertConsultationResult {
                created: true,
                consultation,
            }),
            // A concurrent upsert stored the reference first: its record is the one.
            Err(e @ ApiError::Conflict { .. }) => {
                match made_from(ctx, "CONSULTATION", &key, &hash).await? {
                    Some(id) => Ok(UpsertConsultationResult {
                        created: false,
                        consultation: super::consultation::find(ctx, "ref", &id).await?,
                    }),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// 自機関の外部参照で同意を記録 (同じ参照・同じ入力は何も書かない。別の入力は CONFLICT)
    /// / record a consent under the caller's agency's reference; the same reference and
    /// input again writes nothing, another input under it is CONFLICT
    async fn upsert_consent(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "ref")] reference: ExternalRefInput,
        input: RecordConsentInput,
    ) -> ApiResult<UpsertConsentResult> {
        req(ctx)?.require(Action::RecordConsent, "upsertConsent")?;
        let key = checked(ctx, &reference)?;
        let mut hash = input_hash(ctx, "input")?;
        // A withdrawal stamp preset by the FHIR import is part of "the same input".
        if let Some(w) = ctx.data_opt::<super::consent_mutation::PresetWithdrawal>() {
            let stamp = format!("{hash}|{}|{}|{:?}", w.0.at.to_rfc3339(), w.0.by, w.0.reason);
            hash = hex::encode(Sha256::digest(stamp.as_bytes()));
        }
        if let Some(id) = made_from(ctx, "CONSENT", &key, &hash).await? {
            let consent = consent(ctx, "ref", &id).await?;
            return Ok(UpsertConsentResult {
                created: false,
                consent,
            });
        }
        let via = Via::upsert("upsertConsent", &key, hash.clone());
        match super::consent_mutation::record(ctx, input, via).await {
            Ok(consent) => Ok(UpsertConsentResult {
                created: true,
                consent,
            }),
            Err(e @ ApiError::Conflict { .. }) => {
                match made_from(ctx, "CONSENT", &key, &hash).await? {
                    Some(id) => Ok(UpsertConsentResult {
                        created: false,
                        consent: consent(ctx, "ref", &id).await?,
                    }),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// 自機関の外部参照で世帯を登録 (同じ参照・同じ構成員は何も書かない。別の入力は CONFLICT。
    /// 構成員の変更は addHouseholdMember / endHouseholdMembership) / create a household under
    /// the caller's agency's reference; the same reference and members again write nothing,
    /// other members under it are CONFLICT (change members with their own mutations)
    async fn upsert_household(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "ref")] reference: ExternalRefInput,
        members: Vec<MemberInput>,
    ) -> ApiResult<UpsertHouseholdResult> {
        req(ctx)?.require(Action::RecordPerson, "upsertHousehold")?;
        let key = checked(ctx, &reference)?;
        let hash = input_hash(ctx, "members")?;
        if let Some(id) = made_from(ctx, "HOUSEHOLD", &key, &hash).await? {
            let household = super::household::find(ctx, "ref", &id).await?;
            return Ok(UpsertHouseholdResult {
                created: false,
                household,
            });
        }
        let via = Via::upsert("upsertHousehold", &key, hash.clone());
        match super::household_mutation::create(ctx, members, via).await {
            Ok(household) => Ok(UpsertHouseholdResult {
                created: true,
                household,
            }),
            Err(e @ ApiError::Conflict { .. }) => {
                match made_from(ctx, "HOUSEHOLD", &key, &hash).await? {
                    Some(id) => Ok(UpsertHouseholdResult {
                        created: false,
                        household: super::household::find(ctx, "ref", &id).await?,
                    }),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }
}
