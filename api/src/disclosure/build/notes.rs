//! What the report holds and says about itself: its categories, whether it needs the
//! officer's review, and the notes on what was masked and why.

use std::collections::BTreeSet;

use crate::disclosure::report::{DisclosureMaskingNote, DisclosureReport};
use crate::policy::Category;
use crate::store::disclosure::Holdings;

/// The categories the report holds (the production's ledger row lists them).
pub(super) fn categories(h: &Holdings, r: &DisclosureReport) -> Vec<String> {
    let p = &h.person;
    let mut out = BTreeSet::from([Category::Identity]);
    if p.address.is_some() || p.phone.is_some() || p.district.is_some() {
        out.insert(Category::Contact);
    }
    if !r.households.is_empty() {
        out.insert(Category::Household);
    }
    if p.care_level.is_some() || p.disability_certificate.is_some() {
        out.insert(Category::Health);
    }
    if p.public_assistance.is_some() {
        out.insert(Category::Livelihood);
    }
    if p.address_confidential {
        out.insert(Category::ChildProtection);
    }
    let narrative = !r.consultations.is_empty()
        || !r.referrals.is_empty()
        || !r.activities.is_empty()
        || r.meetings.iter().any(|m| m.minutes.is_some());
    if narrative {
        out.insert(Category::Narrative);
    }
    if !r.cases.is_empty() || !r.placements.is_empty() {
        out.insert(Category::Plan);
    }
    for issue in h.consultations.issues.iter().flatten() {
        if let Some(c) = issue
            .category
            .as_ref()
            .and_then(|c| Category::parse(&c.policy_category))
        {
            out.insert(c);
        }
    }
    out.iter().map(|c| c.as_str().to_owned()).collect()
}

pub(super) fn has_free_text(r: &DisclosureReport) -> bool {
    !r.consultations.is_empty()
        || !r.referrals.is_empty()
        || !r.activities.is_empty()
        || !r.cases.is_empty()
        || r.meetings.iter().any(|m| m.minutes.is_some())
        || !r.emergency_accesses.is_empty()
        || r.consents.iter().any(|c| c.withdrawal_reason.is_some())
        // A link confirmed by mistake would name a third party's record and agency.
        || !r.linked_records.is_empty()
}

pub(super) fn masking_notes() -> Vec<DisclosureMaskingNote> {
    let note = |scope: &str, treatment: &str, article: &str| DisclosureMaskingNote {
        scope: scope.to_owned(),
        treatment: treatment.to_owned(),
        article: article.to_owned(),
    };
    vec![
        note("households", "ほかの構成員は続柄・世帯主かどうか・現在の構成員かどうかだけを示し、氏名・ID・生年月日・所属の日付などは示しません / other members appear only as relationship, head flag and whether current; no name, id, birth date, dates or other field", "第78条第1項第2号、第79条第2項"),
        note("consultations", "本人以外の対象者は人数だけを示します / other subjects appear only as a count", "第78条第1項第2号、第79条第2項"),
        note("consents", "代理人の氏名は示さず、続柄だけを示します / a proxy appears by relationship only, never by name", "第78条第1項第2号"),
        note("freeText", "要約・理由・記録・プラン・議事録のうち、ハブが知る第三者 (共同の対象者、ほかの構成員、代理人) の氏名を ［第三者］ に置き換えました。それ以外の形で第三者に触れている可能性があるため、交付前に担当者が確認します / in summaries, reasons, notes, plans and minutes the names the hub knows of third parties (co-subjects, other members, proxies) are replaced by ［第三者］; text may mention others otherwise, so the officer reviews it before handing it over", "第78条第1項第2号、第79条"),
        note("meetings", "支援会議 (社会福祉法第106条の6) の議事録は開示しません。会議の開催・参加機関・区分・期間は示します / the minutes of a 支援会議 are withheld; the meeting, its agencies, categories and period are shown", "第78条第1項第2号・第7号"),
        note("accessLog", "閲覧・記録した者は機関とロールで示し、職員個人は示しません / who read or wrote is shown by agency and role, never the staff member", "第78条第1項第2号ハ"),
    ]
}
