//! `personMatches` (名寄せ): the generator's probes and the oracle's judgement, written from
//! README §6 "名寄せ", not from the code. The checker's general rules already fail a case in
//! which a candidate the caller may not know, or any of its values, appears anywhere; this
//! adds what only this query has:
//!
//! - only roles that record persons (coordinator, caseworker, integration) may ask;
//! - the candidates are exactly the probed person when the caller may know them (the
//!   world's readings and birth dates are unique, so no one else can reach the threshold),
//!   with the documented score and evidence;
//! - `probableMatchElsewhere` is true exactly when the probed person is one the caller may
//!   not know, the whole reading and the birth date were given and agree, the person is not
//!   under an address-suppression measure, and the caller is staff at a desk (coordinator or
//!   caseworker, not integration). It names nobody, so it is judged as a yes/no.

use serde_json::{json, Value};

use crate::oracle::Oracle;
use crate::query::{person_sel, Ask, Query};
use crate::rng::Rng;
use crate::walk::Checker;
use crate::world::{Account, World};

/// What a probe typed.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The probed person (index in the world).
    pub person: usize,
    /// Both readings are the person's (else the family reading is nobody's).
    pub whole: bool,
    /// The birth date given: the person's, another one, or none.
    pub birth: Birth,
    pub sex: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Birth {
    Right,
    Wrong,
    None,
}

/// Katakana to hiragana (the world's readings are plain katakana).
fn hiragana(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'ァ'..='ヶ' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
            other => other,
        })
        .collect()
}

/// A reading as people type it: as stored, in hiragana, or spaced out.
fn typed(rng: &mut Rng, s: &str) -> String {
    match rng.below(3) {
        0 => s.to_owned(),
        1 => hiragana(s),
        _ => format!(
            " {}\u{3000}",
            s.chars().map(String::from).collect::<Vec<_>>().join(" ")
        ),
    }
}

pub fn generate(rng: &mut Rng, w: &World, caller: &Account, depth: usize) -> Query {
    let o = Oracle::new(w, caller);
    // Half the time a person the caller may know, else mostly one it may not (the case
    // that may raise the hint), now and then anyone.
    let known: Vec<usize> = (0..w.persons.len())
        .filter(|p| o.knows_person(*p))
        .collect();
    let unknown: Vec<usize> = (0..w.persons.len())
        .filter(|p| !o.knows_person(*p))
        .collect();
    let person = if !known.is_empty() && rng.chance(50) {
        known[rng.below(known.len())]
    } else if !unknown.is_empty() && rng.chance(80) {
        unknown[rng.below(unknown.len())]
    } else {
        rng.below(w.persons.len())
    };
    let p = &w.persons[person];
    let whole = rng.chance(85);
    let birth = match rng.below(10) {
        0..=6 => Birth::Right,
        7 | 8 => Birth::Wrong,
        _ => Birth::None,
    };
    let sex = rng.chance(30).then_some(p.sex);
    let family = if whole {
        typed(rng, &p.family_kana)
    } else {
        "ダレモイナイ".to_owned()
    };
    let birth_date = match birth {
        Birth::Right => Some(p.birth.clone()),
        // A date no world person has (theirs are the 11th).
        Birth::Wrong => Some("1899-12-31".to_owned()),
        Birth::None => None,
    };
    Query {
        text: format!(
            "query Q($f: String!, $g: String!, $b: Date, $s: Sex) {{ personMatches(familyNameKana: $f, givenNameKana: $g, birthDate: $b, sex: $s) {{ candidates {{ score probable evidence person {{ {} }} }} probableMatchElsewhere }} }}",
            person_sel(rng, depth)
        ),
        vars: json!({ "f": family, "g": typed(rng, &p.given_kana), "b": birth_date, "s": sex }),
        paged: None,
        ask: Ask::Matches(Probe {
            person,
            whole,
            birth,
            sex,
        }),
    }
}

/// Roles that may search (README §6: those that record persons).
fn may_search(a: &Account) -> bool {
    a.roles
        .iter()
        .any(|r| matches!(*r, "coordinator" | "caseworker" | "integration"))
}

pub fn judge(c: &mut Checker, o: &Oracle<'_>, probe: &Probe, body: &Value) {
    let w = o.w;
    let codes: Vec<&str> = body["errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter_map(|e| e["extensions"]["code"].as_str())
                .collect()
        })
        .unwrap_or_default();
    if !may_search(o.a) {
        if codes != ["FORBIDDEN"] || !body["data"].is_null() {
            c.fail(format!(
                "personMatches not refused to {:?}: {body}",
                o.a.roles
            ));
        }
        return;
    }
    let answer = &body["data"]["personMatches"];
    if answer.is_null() {
        c.fail(format!("personMatches refused: {body}"));
        return;
    }
    let p = &w.persons[probe.person];
    let knows = o.knows_person(probe.person);
    let mut evidence = vec![if probe.whole {
        "NAME_KANA"
    } else {
        "GIVEN_NAME_KANA"
    }];
    if probe.birth == Birth::Right {
        evidence.push("BIRTH_DATE");
    }
    if probe.sex.is_some_and(|s| s != "UNKNOWN") {
        evidence.push("SEX");
    }
    let score: i64 = evidence
        .iter()
        .map(|e| match *e {
            "NAME_KANA" => 40,
            "GIVEN_NAME_KANA" => 20,
            "BIRTH_DATE" => 30,
            _ => 5,
        })
        .sum();
    let want: Vec<Value> = if knows && score >= 40 {
        vec![json!({ "id": p.id, "score": score, "probable": score >= 70, "evidence": evidence })]
    } else {
        Vec::new()
    };
    let got: Vec<Value> = answer["candidates"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|m| {
            json!({ "id": m["person"]["id"], "score": m["score"], "probable": m["probable"],
                    "evidence": m["evidence"] })
        })
        .collect();
    if got != want {
        c.fail(format!(
            "personMatches candidates: got {got:?}, oracle {want:?}"
        ));
    }
    let at_desk =
        o.a.roles
            .iter()
            .any(|r| matches!(*r, "coordinator" | "caseworker"))
            && !o.a.roles.contains(&"integration");
    let hint = at_desk && !knows && probe.whole && probe.birth == Birth::Right && !p.confidential;
    if answer["probableMatchElsewhere"] != json!(hint) {
        c.fail(format!(
            "probableMatchElsewhere {} where the oracle says {hint} (knows {knows}, confidential {})",
            answer["probableMatchElsewhere"], p.confidential
        ));
    }
}
