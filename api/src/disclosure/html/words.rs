//! The page's words: Japanese labels for the report's codes, and times in the city's
//! calendar (JST).

use std::fmt::Write;

use super::super::report::DisclosureAgency;

/// An RFC 3339 instant as the city's time (JST), e.g. 2026年04月01日 09:30.
pub(super) fn time(text: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(t) => {
            let jst = t.naive_utc() + chrono::Duration::hours(9);
            let mut s = String::new();
            let _ = write!(s, "{}", jst.format("%Y年%m月%d日 %H:%M"));
            s
        }
        Err(_) => text.to_owned(),
    }
}

pub(super) fn opt(v: Option<String>) -> String {
    v.unwrap_or_else(|| "—".to_owned())
}

pub(super) fn yes_no(b: bool) -> String {
    if b { "あり" } else { "なし" }.to_owned()
}

pub(super) fn agency(a: &Option<DisclosureAgency>) -> String {
    a.as_ref()
        .map_or_else(|| "（ハブ）".to_owned(), |a| a.name.clone())
}

pub(super) fn sex(s: &str) -> &str {
    match s {
        "FEMALE" => "女性",
        "MALE" => "男性",
        "OTHER" => "その他",
        "UNKNOWN" => "不明",
        other => other,
    }
}

pub(super) fn category(c: &str) -> &str {
    match c {
        "IDENTITY" => "本人確認（氏名・生年月日等）",
        "CONTACT" => "連絡先",
        "HOUSEHOLD" => "世帯",
        "HEALTH" => "健康・障害（要配慮）",
        "LIVELIHOOD" => "生活・経済",
        "CHILD_PROTECTION" => "権利擁護（要配慮）",
        "NARRATIVE" => "相談等の記録",
        "PLAN" => "支援計画",
        other => other,
    }
}

pub(super) fn cats(list: &[String]) -> String {
    if list.is_empty() {
        return "—".to_owned();
    }
    list.iter()
        .map(|c| category(c))
        .collect::<Vec<_>>()
        .join("、")
}

pub(super) fn basis(kind: &str) -> &str {
    match kind {
        "OWN" => "自機関の記録",
        "CONSENT" => "本人の同意",
        "SUPPORT_MEETING" => "支援会議（社会福祉法第106条の6）",
        "EMERGENCY" => "緊急時アクセス",
        "DISCLOSURE" => "開示請求",
        other => other,
    }
}

pub(super) fn action(a: &str) -> &str {
    match a {
        "READ" => "閲覧",
        "WRITE" => "記録",
        other => other,
    }
}

pub(super) fn purpose(p: &str) -> &str {
    match p {
        "SUPPORT" => "支援",
        "OVERSIGHT" => "監督・監査",
        "DISCLOSURE" => "開示",
        other => other,
    }
}

pub(super) fn meeting_kind(k: &str) -> &str {
    match k {
        "MULTI_AGENCY_MEETING" => "重層的支援会議",
        "SUPPORT_MEETING" => "支援会議",
        "CASE_CONFERENCE" => "ケース会議",
        other => other,
    }
}
