//! Masking the names of third parties the hub knows (co-subjects, other household members,
//! proxies) in free text, keeping the person's own name (第79条: partial disclosure once
//! what identifies the third party is removed).
//!
//! What is masked, for each third party: the full name as written and in kana (with no
//! space, a half-width or a full-width space between the parts); the family name alone when
//! it differs from the person's own (a household usually shares one: masking it would
//! erase the person's own name) and the given name alone, each when at least two characters
//! long (one character would erase ordinary words). The person's own full name is never
//! touched. A name written in another way (a nickname, a title) is not found: hence the
//! officer's review (`reviewRequired`).

use crate::store::disclosure::ThirdPartyNames;
use entity::person;

/// What a masked name is replaced by.
pub const MASK: &str = "［第三者］";

/// The names to mask in text, and the person's own names to keep.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    /// Longest first, so a full name is masked whole rather than in parts.
    patterns: Vec<String>,
    /// The person's own full names (protected where a pattern would cut into them).
    keep: Vec<String>,
}

fn full_names(family: &str, given: &str) -> Vec<String> {
    if family.is_empty() || given.is_empty() {
        return Vec::new();
    }
    ["", " ", "　"]
        .iter()
        .map(|sep| format!("{family}{sep}{given}"))
        .collect()
}

impl Redactor {
    pub fn new(me: &person::Model, others: &[ThirdPartyNames]) -> Self {
        let mut keep = full_names(&me.family_name, &me.given_name);
        keep.extend(full_names(&me.family_name_kana, &me.given_name_kana));
        let mine = [
            me.family_name.as_str(),
            me.given_name.as_str(),
            me.family_name_kana.as_str(),
            me.given_name_kana.as_str(),
        ];
        let mut patterns = Vec::new();
        for o in others {
            patterns.extend(full_names(&o.family_name, &o.given_name));
            patterns.extend(full_names(&o.family_name_kana, &o.given_name_kana));
            for part in [
                &o.family_name,
                &o.given_name,
                &o.family_name_kana,
                &o.given_name_kana,
            ] {
                // A proxy's name is one text: its parts are masked too.
                for piece in std::iter::once(part.as_str()).chain(part.split([' ', '　'])) {
                    let piece = piece.trim();
                    if piece.chars().count() >= 2 && !mine.contains(&piece) {
                        patterns.push(piece.to_owned());
                    }
                }
            }
        }
        patterns.retain(|p| !p.trim().is_empty());
        patterns.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        patterns.dedup();
        keep.sort_by_key(|k| std::cmp::Reverse(k.len()));
        Redactor { patterns, keep }
    }

    /// `text` with every third party's name masked.
    pub fn apply(&self, text: &str) -> String {
        if self.patterns.is_empty() {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        'scan: while let Some(c) = rest.chars().next() {
            for k in &self.keep {
                if let Some(after) = rest.strip_prefix(k.as_str()) {
                    out.push_str(k);
                    rest = after;
                    continue 'scan;
                }
            }
            for p in &self.patterns {
                if let Some(after) = rest.strip_prefix(p.as_str()) {
                    out.push_str(MASK);
                    rest = after;
                    continue 'scan;
                }
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> person::Model {
        person::Model {
            id: "p".into(),
            owner_agency_id: "a".into(),
            family_name: "田中".into(),
            given_name: "太郎".into(),
            family_name_kana: "タナカ".into(),
            given_name_kana: "タロウ".into(),
            kana_key: String::new(),
            birth_date: None,
            sex: "MALE".into(),
            address: None,
            phone: None,
            district: None,
            address_confidential: false,
            care_level: None,
            disability_certificate: None,
            public_assistance: None,
            version: 1,
            created_by: "x".into(),
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        }
    }

    fn other(f: &str, g: &str, fk: &str, gk: &str) -> ThirdPartyNames {
        ThirdPartyNames {
            family_name: f.into(),
            given_name: g.into(),
            family_name_kana: fk.into(),
            given_name_kana: gk.into(),
        }
    }

    #[test]
    fn third_parties_are_masked_and_the_person_is_kept() {
        let r = Redactor::new(
            &me(),
            &[
                other("田中", "花子", "タナカ", "ハナコ"),
                other("佐藤", "一郎", "サトウ", "イチロウ"),
            ],
        );
        let text =
            "田中太郎さんは母の田中 花子さん、ハナコさん、佐藤さんと同居。田中さん本人の希望";
        let got = r.apply(text);
        assert_eq!(
            got,
            "田中太郎さんは母の［第三者］さん、［第三者］さん、［第三者］さんと同居。田中さん本人の希望"
        );
        assert!(!got.contains("花子") && !got.contains("佐藤") && !got.contains("ハナコ"));
    }

    #[test]
    fn a_given_name_inside_the_persons_full_name_is_kept() {
        // The co-subject's given name is the person's too: the person's full name stays.
        let r = Redactor::new(&me(), &[other("鈴木", "太郎", "スズキ", "タロウ")]);
        assert_eq!(r.apply("田中太郎と鈴木太郎"), "田中太郎と［第三者］");
    }

    #[test]
    fn one_character_parts_and_empty_lists_change_nothing() {
        let r = Redactor::new(&me(), &[other("林", "学", "ハヤシ", "マナブ")]);
        assert_eq!(
            r.apply("学校で林学さんに会った"),
            "学校で［第三者］さんに会った"
        );
        assert_eq!(Redactor::new(&me(), &[]).apply("そのまま"), "そのまま");
    }

    #[test]
    fn a_proxys_name_is_masked_whole_and_in_parts() {
        let r = Redactor::new(
            &me(),
            &[ThirdPartyNames {
                family_name: "山本 美咲".into(),
                ..ThirdPartyNames::default()
            }],
        );
        assert_eq!(
            r.apply("代理人 山本 美咲、美咲さん"),
            "代理人 ［第三者］、［第三者］さん"
        );
    }
}
