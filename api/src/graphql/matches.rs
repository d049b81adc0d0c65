//! 名寄せ (record matching across agencies): `personMatches`. Candidates are looked up by the
//! indexed 名寄せ keys (`store::matches`), decided again like `persons` (IDENTITY of the
//! person record), and scored only on attributes the caller may see (README §6 "名寄せ").
//! Persons it may not know are never shown, counted or named: at most the one yes/no hint
//! that `policy::matching` allows.

use async_graphql::{Context, Enum, Object};
use chrono::NaiveDate;

use super::context::{db, req};
use super::enums::Sex;
use super::gate::{admit, RecordRef};
use super::loaders::load_persons;
use super::person::Person;
use super::person_mutation::ADDRESS_MAX;
use super::scalars::Date;
use super::validate;
use crate::error::{ApiError, ApiResult};
use crate::kana;
use crate::policy::matching::{may_be_hinted, may_hint_elsewhere, HiddenAgreement};
use crate::policy::{Action, Category, Item, Link};
use crate::store;

/// 一致した属性 / an attribute on which a candidate agreed with the search. Each carries a
/// fixed weight; a candidate's score is the sum over its evidence (README §6 "名寄せ").
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MatchEvidence {
    /// 氏名カナ全体の名寄せキーが一致 (40) / the whole reading's 名寄せ key
    NameKana,
    /// 氏カナのみ一致 (15; 氏名全体が一致しないとき) / the family name's reading only
    FamilyNameKana,
    /// 名カナのみ一致 (20; 婚姻等で氏が変わった場合) / the given name's reading only
    /// (a family name changed by marriage, say)
    GivenNameKana,
    /// 生年月日 (30) / birth date
    BirthDate,
    /// 性別 (5; UNKNOWN は数えない) / sex (UNKNOWN never counts)
    Sex,
    /// 電話番号 (15; 数字のみで比較、CONTACT を見られる場合のみ) / phone, digits compared,
    /// only where the caller may see CONTACT
    Phone,
    /// 住所 (10; 正規化して完全一致、所在を見られる場合のみ) / address, equal after
    /// normalisation, only where the caller may see the location
    Address,
}

impl MatchEvidence {
    pub const fn weight(self) -> i32 {
        match self {
            MatchEvidence::NameKana => 40,
            MatchEvidence::FamilyNameKana => 15,
            MatchEvidence::GivenNameKana => 20,
            MatchEvidence::BirthDate => 30,
            MatchEvidence::Sex => 5,
            MatchEvidence::Phone => 15,
            MatchEvidence::Address => 10,
        }
    }
}

/// Lowest score shown: a whole reading alone, or a birth date with a part of the name or
/// with the phone. A birth date alone (30, 35 with sex) is not a candidate.
pub const MIN_SCORE: i32 = 40;
/// A score from which a match is "probable" (reading and birth date: 70).
pub const PROBABLE_SCORE: i32 = 70;
/// Most candidates returned (`first`).
const MAX_FIRST: i32 = 20;
/// Hidden strong matches read to decide the hint (one that may raise it is enough).
const HINT_LOOKUP: u64 = 5;

/// What was searched for, normalised.
struct Probe {
    family_key: String,
    given_key: String,
    full_key: String,
    birth_date: Option<NaiveDate>,
    sex: Option<Sex>,
    phone_digits: Option<String>,
    address_key: Option<String>,
}

/// A candidate's attributes, as stored.
struct Candidate<'a> {
    family_name_kana: &'a str,
    given_name_kana: &'a str,
    kana_key: &'a str,
    birth_date: Option<NaiveDate>,
    sex: &'a str,
    /// None when absent or not to be compared (the caller may not see it).
    phone: Option<&'a str>,
    address: Option<&'a str>,
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The evidence on which `c` agrees with `p`, in [`MatchEvidence`] order. Pure.
fn evidence(p: &Probe, c: &Candidate<'_>) -> Vec<MatchEvidence> {
    let mut out = Vec::new();
    if c.kana_key == p.full_key {
        out.push(MatchEvidence::NameKana);
    } else {
        if kana::match_key(c.family_name_kana).is_ok_and(|k| k == p.family_key) {
            out.push(MatchEvidence::FamilyNameKana);
        }
        if kana::match_key(c.given_name_kana).is_ok_and(|k| k == p.given_key) {
            out.push(MatchEvidence::GivenNameKana);
        }
    }
    if p.birth_date.is_some() && c.birth_date == p.birth_date {
        out.push(MatchEvidence::BirthDate);
    }
    if let Some(s) = p.sex.filter(|s| *s != Sex::Unknown) {
        if c.sex == s.as_str() {
            out.push(MatchEvidence::Sex);
        }
    }
    if let (Some(want), Some(have)) = (&p.phone_digits, c.phone) {
        if !want.is_empty() && digits(have) == *want {
            out.push(MatchEvidence::Phone);
        }
    }
    if let (Some(want), Some(have)) = (&p.address_key, c.address) {
        if kana::name_key(have) == *want {
            out.push(MatchEvidence::Address);
        }
    }
    out
}

fn score(evidence: &[MatchEvidence]) -> i32 {
    evidence.iter().map(|e| e.weight()).sum()
}

/// 名寄せ候補 / a candidate the caller may know, with its score and evidence.
pub struct PersonMatch {
    person: Person,
    score: i32,
    evidence: Vec<MatchEvidence>,
}

#[Object]
impl PersonMatch {
    /// 候補者 (通常の Person: 項目ごとに判定・記録) / the person, every field decided and
    /// ledgered as anywhere else
    async fn person(&self) -> &Person {
        &self.person
    }
    /// 点数 (0–100、根拠の重みの和) / score: the sum of the evidence's weights
    async fn score(&self) -> i32 {
        self.score
    }
    /// 有力 (70 以上: 氏名カナと生年月日など) / probable (70 or more: reading and birth date)
    async fn probable(&self) -> bool {
        self.score >= PROBABLE_SCORE
    }
    /// 一致した属性 / the attributes that agreed
    async fn evidence(&self) -> &[MatchEvidence] {
        &self.evidence
    }
}

/// 名寄せの結果 / the answer of `personMatches`.
pub struct PersonMatches {
    candidates: Vec<PersonMatch>,
    elsewhere: bool,
}

#[Object]
impl PersonMatches {
    /// 見られる候補 (点数の高い順) / candidates the caller may know, best first
    async fn candidates(&self) -> &[PersonMatch] {
        &self.candidates
    }
    /// 他機関に有力な一致がある可能性 (誰か・どこか・何件かは示さない。本人に同意を確認して
    /// ください) / a probable match is held elsewhere: ask the person for consent. Never
    /// says who, where or how many; false whenever README §6's conditions do not all hold
    async fn probable_match_elsewhere(&self) -> bool {
        self.elsewhere
    }
}

#[derive(Default)]
pub struct MatchQuery;

#[Object]
impl MatchQuery {
    /// 名寄せ: 同じ人の記録の候補 (見られる人のみ、点数と根拠つき) / record matching: the
    /// persons the caller may know that may be this person, scored with evidence
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "first.unwrap_or(10).clamp(1, 20) as usize * child_complexity")]
    async fn person_matches(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "氏カナ / family name reading")] family_name_kana: String,
        #[graphql(desc = "名カナ / given name reading")] given_name_kana: String,
        birth_date: Option<Date>,
        sex: Option<Sex>,
        phone: Option<String>,
        address: Option<String>,
        #[graphql(desc = "最大件数 (1–20、既定 10) / most candidates (1–20, default 10)")]
        first: Option<i32>,
    ) -> ApiResult<PersonMatches> {
        let r = req(ctx)?;
        r.require(Action::RecordPerson, "personMatches")?;
        let mut invalid = validate::Invalid::default();
        let bad = |field: &'static str| {
            move |e: kana::KanaError| ApiError::bad_input(field, e.to_string())
        };
        // Keys as createPerson stores them: of each normalised reading, and of the two joined.
        let mut reading = |field: &'static str, v: &str| {
            let key = kana::normalize_kana(v).and_then(|n| Ok((kana::match_key(&n)?, n)));
            invalid.check(key.map_err(bad(field)))
        };
        let (family_key, family) = reading("familyNameKana", &family_name_kana);
        let (given_key, given) = reading("givenNameKana", &given_name_kana);
        let full_key = if invalid.is_empty() {
            invalid
                .check(kana::match_key(&format!("{family}{given}")).map_err(bad("givenNameKana")))
        } else {
            String::new()
        };
        let birth_date = invalid.check(birth_date.map(|d| d.get("birthDate")).transpose());
        let phone = invalid.check(validate::phone("phone", phone.as_ref()));
        let address = invalid.check(validate::optional_line(
            "address",
            address.as_ref(),
            ADDRESS_MAX,
        ));
        let first = first.unwrap_or(10);
        if !(1..=MAX_FIRST).contains(&first) {
            invalid.push(ApiError::bad_input(
                "first",
                format!(
                    "1 以上 {MAX_FIRST} 以下で指定してください / must be between 1 and {MAX_FIRST}"
                ),
            ));
        }
        invalid.finish(ctx)?;
        let probe = Probe {
            family_key,
            given_key,
            full_key,
            birth_date,
            sex,
            phone_digits: phone.as_deref().map(digits),
            address_key: address.as_deref().map(kana::name_key),
        };
        let given: Vec<&str> = [
            ("familyNameKana", true),
            ("givenNameKana", true),
            ("birthDate", probe.birth_date.is_some()),
            ("sex", probe.sex.is_some()),
            ("phone", probe.phone_digits.is_some()),
            ("address", probe.address_key.is_some()),
        ]
        .into_iter()
        .filter_map(|(f, on)| on.then_some(f))
        .collect();

        let Some(scope) =
            crate::policy::visible_scope(&r.principal, Category::Identity, r.purpose, r.now)
        else {
            r.note_read(
                "person_match",
                None,
                serde_json::json!({ "given": given, "candidates": 0 }),
            );
            return Ok(PersonMatches {
                candidates: Vec::new(),
                elsewhere: false,
            });
        };
        // Candidates from the primary: the same decision as `persons` (IDENTITY), on the
        // primary's facts.
        let rows =
            store::matches::visible_candidates(db(ctx)?, &scope, &probe.full_key, probe.birth_date)
                .await?;
        let ids: Vec<String> = rows.into_iter().map(|m| m.id).collect();
        let mut candidates = Vec::new();
        for person in Person::visible(ctx, &ids).await? {
            if let Some(m) = judge(ctx, &probe, person)? {
                candidates.push(m);
            }
        }
        candidates.sort_by(|a, b| {
            b.score
                .cmp(&a.score)
                .then_with(|| a.person.person_id().cmp(b.person.person_id()))
        });
        candidates.truncate(first as usize);

        let elsewhere = match probe.birth_date {
            Some(d) => hint_elsewhere(ctx, &scope, &probe.full_key, d).await?,
            None => false,
        };
        // The search itself: who (the entry's account), which attributes were given (never
        // their values), how many candidates were shown and whether the hint was. Nothing
        // about a person the caller may not know.
        r.note_read(
            "person_match",
            None,
            serde_json::json!({
                "given": given,
                "candidates": candidates.len(),
                "elsewhere": elsewhere,
            }),
        );
        Ok(PersonMatches {
            candidates,
            elsewhere,
        })
    }
}

/// Score one person the caller may know on what it may see of them: the reading, birth
/// date and sex under IDENTITY; the phone under CONTACT and the address under the location
/// rule, each read (and ledgered) only when the search gave it and the record has it.
fn judge(ctx: &Context<'_>, probe: &Probe, person: Person) -> ApiResult<Option<PersonMatch>> {
    let model = person.model();
    let facts = person.facts();
    let record = RecordRef {
        kind: "person",
        id: &model.id,
        owner: &model.owner_agency_id,
        link: Link::Person,
    };
    if !admit(ctx, facts, record, Item::of(Category::Identity))? {
        return Ok(None);
    }
    let phone = match (&probe.phone_digits, &model.phone) {
        (Some(_), Some(p)) if admit(ctx, facts, record, Item::of(Category::Contact))? => {
            Some(p.as_str())
        }
        _ => None,
    };
    let address = match (&probe.address_key, &model.address) {
        (Some(_), Some(a)) if admit(ctx, facts, record, Item::location())? => Some(a.as_str()),
        _ => None,
    };
    let found = evidence(
        probe,
        &Candidate {
            family_name_kana: &model.family_name_kana,
            given_name_kana: &model.given_name_kana,
            kana_key: &model.kana_key,
            birth_date: model.birth_date,
            sex: &model.sex,
            phone,
            address,
        },
    );
    let score = score(&found);
    if score < MIN_SCORE {
        return Ok(None);
    }
    Ok(Some(PersonMatch {
        person,
        score,
        evidence: found,
    }))
}

/// Whether the "probable match elsewhere" hint is given: some person the caller may not
/// know agrees on the whole reading and the birth date and `policy::matching` lets it raise
/// the hint. Decided on the primary's facts; nothing is ledgered about those persons (the
/// caller learns nothing that names one).
async fn hint_elsewhere(
    ctx: &Context<'_>,
    scope: &crate::policy::ListScope,
    full_key: &str,
    birth_date: NaiveDate,
) -> ApiResult<bool> {
    let r = req(ctx)?;
    if !may_be_hinted(&r.principal) {
        return Ok(false);
    }
    let ids = store::matches::strong_elsewhere(db(ctx)?, scope, full_key, birth_date, HINT_LOOKUP)
        .await?;
    Ok(load_persons(ctx, &ids).await?.iter().any(|l| {
        let agreement = HiddenAgreement {
            name_key: l.model.kana_key == full_key,
            birth_date: l.model.birth_date == Some(birth_date),
        };
        may_hint_elsewhere(&r.principal, &l.facts, r.knows_person(&l.facts), agreement)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe() -> Probe {
        Probe {
            family_key: kana::match_key("サイトウ").unwrap_or_default(),
            given_key: kana::match_key("ハナコ").unwrap_or_default(),
            full_key: kana::match_key("サイトウハナコ").unwrap_or_default(),
            birth_date: NaiveDate::from_ymd_opt(1950, 4, 1),
            sex: Some(Sex::Female),
            phone_digits: Some("0235000000".into()),
            address_key: Some(kana::name_key("鶴岡市本町一丁目1-1")),
        }
    }

    fn candidate<'a>(family: &'a str, given: &'a str, key: &'a str) -> Candidate<'a> {
        Candidate {
            family_name_kana: family,
            given_name_kana: given,
            kana_key: key,
            birth_date: NaiveDate::from_ymd_opt(1950, 4, 1),
            sex: "FEMALE",
            phone: Some("0235-00-0000"),
            address: Some("鶴岡市本町一丁目 1-1"),
        }
    }

    #[test]
    fn everything_agrees_scores_100() {
        let key = kana::match_key("サイトーハナコ").unwrap_or_default();
        let e = evidence(&probe(), &candidate("サイトー", "ハナコ", &key));
        use MatchEvidence::*;
        assert_eq!(e, vec![NameKana, BirthDate, Sex, Phone, Address]);
        assert_eq!(score(&e), 100);
    }

    #[test]
    fn name_parts_count_only_without_the_whole() {
        let key = kana::match_key("タナカハナコ").unwrap_or_default();
        let mut c = candidate("タナカ", "ハナコ", &key);
        c.phone = None;
        c.address = None;
        let e = evidence(&probe(), &c);
        use MatchEvidence::*;
        assert_eq!(e, vec![GivenNameKana, BirthDate, Sex]);
        assert_eq!(score(&e), 55);
    }

    #[test]
    fn unseen_or_unknown_attributes_never_count() {
        let key = kana::match_key("サイトウハナコ").unwrap_or_default();
        let mut c = candidate("サイトウ", "ハナコ", &key);
        c.phone = None;
        c.address = None;
        c.birth_date = None;
        let mut p = probe();
        p.sex = Some(Sex::Unknown);
        c.sex = "UNKNOWN";
        assert_eq!(evidence(&p, &c), vec![MatchEvidence::NameKana]);
        // Birth date alone is below the threshold.
        let other = kana::match_key("ヤマダタロウ").unwrap_or_default();
        let c = Candidate {
            phone: None,
            address: None,
            ..candidate("ヤマダ", "タロウ", &other)
        };
        assert!(score(&evidence(&probe(), &c)) < MIN_SCORE);
    }

    #[test]
    fn weights_add_up_to_100() {
        use MatchEvidence::*;
        let all = [NameKana, BirthDate, Sex, Phone, Address];
        assert_eq!(score(&all), 100);
        assert_eq!(score(&[NameKana, BirthDate]), PROBABLE_SCORE);
    }
}
