//! The printable Japanese page of a disclosure report (A4): rendered from the report alone
//! (so it holds nothing the JSON does not), every text escaped, no script, no external
//! resource (one `<style>` element; the route's Content-Security-Policy allows only that).

use super::report::*;

mod words;
use words::*;

pub const STYLE: &str = "@page{size:A4;margin:15mm 12mm}\
body{font-family:'Hiragino Mincho ProN','Yu Mincho','Noto Serif CJK JP',serif;font-size:10pt;line-height:1.5;color:#000;margin:0}\
h1{font-size:16pt;text-align:center;margin:0 0 4mm}\
h2{font-size:12pt;border-bottom:1px solid #000;margin:6mm 0 2mm;break-after:avoid}\
h3{font-size:10.5pt;margin:3mm 0 1mm;break-after:avoid}\
table{border-collapse:collapse;width:100%;margin:1mm 0 2mm}\
th,td{border:1px solid #444;padding:1mm 1.5mm;vertical-align:top;text-align:left;word-break:break-all}\
th{background:#eee;font-weight:normal;white-space:nowrap}\
thead{display:table-header-group}tr{break-inside:avoid}\
.note{border:1px solid #000;padding:2mm;margin:2mm 0}.muted{color:#444}\
.pre{white-space:pre-wrap}";

/// The whole page.
pub fn render(r: &DisclosureReport) -> String {
    let mut h = Page(String::with_capacity(16 * 1024));
    let p = &r.person;
    h.raw("<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">");
    h.raw("<meta name=\"viewport\" content=\"width=device-width\"><title>保有個人情報の開示 / Disclosure report</title><style>");
    h.raw(STYLE);
    h.raw("</style></head><body>");
    h.raw("<h1>保有個人情報の開示について（開示報告書）</h1>");
    h.table(&[
        ("作成日時", time(r.produced_at.as_str())),
        ("根拠", r.legal_basis.clone()),
        ("本人 ID", p.id.0.clone()),
        ("含まれる情報区分", cats(&r.categories)),
        ("判定表の版", r.policy_version.to_string()),
    ]);
    h.raw("<div class=\"note\">");
    h.text("この報告書は、本人の開示請求に基づき、つなぎ（多機関連携ハブ）が保有するあなたの情報と、それを閲覧・記録した機関の記録をまとめたものです。ほかの方（世帯の構成員、相談の共同の対象者、代理人）の情報は、法第78条・第79条に基づき伏せています（末尾「第三者の情報の扱い」）。");
    if r.review_required {
        h.text("自由記述には、自動では見つけられない形でほかの方に触れた部分が残りうるため、交付前に担当者が確認しています。");
    }
    h.raw("</div>");

    h.raw("<h2>1. 本人の記録</h2>");
    h.table(&[
        ("氏名", format!("{} {}", p.family_name, p.given_name)),
        (
            "フリガナ",
            format!("{} {}", p.family_name_kana, p.given_name_kana),
        ),
        (
            "生年月日",
            opt(p.birth_date.as_ref().map(|d| d.as_str().to_owned())),
        ),
        ("性別", sex(&p.sex).to_owned()),
        ("住所", opt(p.address.clone())),
        ("電話番号", opt(p.phone.clone())),
        ("圏域", opt(p.district.clone())),
        ("住所の秘匿 (支援措置)", yes_no(p.address_confidential)),
        ("要介護度", opt(p.care_level.clone())),
        ("障害者手帳", opt(p.disability_certificate.clone())),
        ("生活保護", opt(p.public_assistance.map(yes_no))),
        ("登録機関", agency(&p.owner_agency)),
        ("登録日時", time(p.created_at.as_str())),
        ("更新日時", time(p.updated_at.as_str())),
    ]);

    if !r.linked_records.is_empty() {
        h.raw("<h3>同じ方として確認されたほかの記録（名寄せ）</h3>");
        h.text(
            "次の記録も同じ方のものと確認されています。それぞれの記録の開示報告書も作成します。",
        );
        h.rows(
            &["記録 ID", "登録機関", "確認日時"],
            r.linked_records.iter().map(|l| {
                vec![
                    l.person_id.0.clone(),
                    agency(&l.owner_agency),
                    l.confirmed_at
                        .as_ref()
                        .map(|t| time(t.as_str()))
                        .unwrap_or_default(),
                ]
            }),
        );
    }

    h.raw("<h2>2. 世帯</h2>");
    h.none_if(r.households.is_empty());
    for x in &r.households {
        h.raw("<h3>世帯 ");
        h.text(&x.id.0);
        h.raw("</h3>");
        let others: Vec<String> = x
            .other_members
            .iter()
            .map(|o| {
                format!(
                    "{}{}{}",
                    o.relationship,
                    if o.is_head { "（世帯主）" } else { "" },
                    if o.current {
                        ""
                    } else {
                        "（現在は構成員でない）"
                    }
                )
            })
            .collect();
        h.table(&[
            ("登録機関", agency(&x.owner_agency)),
            (
                "本人の続柄",
                format!(
                    "{}{}",
                    x.relationship,
                    if x.is_head { "（世帯主）" } else { "" }
                ),
            ),
            (
                "加入日",
                opt(x.joined_on.as_ref().map(|d| d.as_str().to_owned())),
            ),
            (
                "離脱日",
                opt(x.left_on.as_ref().map(|d| d.as_str().to_owned())),
            ),
            ("現在の構成員", yes_no(x.current)),
            (
                "ほかの構成員（続柄のみ）",
                if others.is_empty() {
                    "なし".to_owned()
                } else {
                    others.join("、")
                },
            ),
        ]);
    }

    h.raw("<h2>3. 相談</h2>");
    h.none_if(r.consultations.is_empty());
    for c in &r.consultations {
        h.raw("<h3>相談 ");
        h.text(&c.id.0);
        h.raw("</h3>");
        let issues: Vec<String> = c
            .issues
            .iter()
            .map(|i| format!("{}{}", i.name, if i.main { "（主）" } else { "" }))
            .collect();
        h.table(&[
            ("受付機関", agency(&c.receiving_agency)),
            ("受付日時", time(c.received_at.as_str())),
            (
                "経路・緊急度・状態",
                format!("{} / {} / {}", c.channel, c.urgency, c.status),
            ),
            ("課題", issues.join("、")),
            (
                "本人以外の対象者",
                format!("{} 名（氏名等は示しません）", c.other_subjects),
            ),
            ("要約", c.summary.clone()),
        ]);
    }

    h.raw("<h2>4. つなぎ（紹介）</h2>");
    h.rows(
        &["日時", "紹介元", "紹介先", "状態", "理由", "辞退の理由"],
        r.referrals.iter().map(|x| {
            vec![
                time(x.created_at.as_str()),
                agency(&x.from_agency),
                agency(&x.to_agency),
                x.status.clone(),
                x.reason.clone(),
                opt(x.decline_reason.clone()),
            ]
        }),
    );

    h.raw("<h2>5. 同意と撤回</h2>");
    h.rows(
        &[
            "記録",
            "同意した人",
            "区分",
            "提供先",
            "目的・期間",
            "方法・証跡",
            "撤回",
            "状態",
        ],
        r.consents.iter().map(|c| {
            let mut to: Vec<String> = c
                .recipient_agencies
                .iter()
                .map(|a| a.name.clone())
                .collect();
            to.extend(
                c.recipient_agency_kinds
                    .iter()
                    .map(|k| format!("{k}（機関種別）")),
            );
            vec![
                format!(
                    "{}\n{}\nID {}",
                    time(c.recorded_at.as_str()),
                    agency(&c.recorded_agency),
                    c.id.0
                ),
                match &c.proxy_relationship {
                    Some(rel) if c.given_by == "PROXY" => format!("代理人（{rel}）"),
                    _ if c.given_by == "PROXY" => "代理人".to_owned(),
                    _ => "本人".to_owned(),
                },
                cats(&c.categories),
                to.join("、"),
                format!(
                    "{}\n{} 〜 {}",
                    c.purpose,
                    time(c.valid_from.as_str()),
                    c.valid_until
                        .as_ref()
                        .map(|t| time(t.as_str()))
                        .unwrap_or_default()
                ),
                format!(
                    "{} {}",
                    c.method,
                    c.evidence_ref.clone().unwrap_or_default()
                ),
                match &c.withdrawn_at {
                    Some(at) => format!(
                        "{}\n{}",
                        time(at.as_str()),
                        c.withdrawal_reason.clone().unwrap_or_default()
                    ),
                    None => "—".to_owned(),
                },
                c.state.clone(),
            ]
        }),
    );

    h.raw("<h2>6. 支援ケースとプラン</h2>");
    h.none_if(r.cases.is_empty());
    for c in &r.cases {
        h.raw("<h3>ケース ");
        h.text(&c.id.0);
        h.raw("</h3>");
        h.table(&[
            ("担当機関", agency(&c.owner_agency)),
            ("状態", c.status.clone()),
            (
                "期間",
                format!(
                    "{} 〜 {}",
                    c.opened_on.as_str(),
                    c.closed_on.as_ref().map(|d| d.as_str()).unwrap_or("")
                ),
            ),
            (
                "世帯のほかの構成員の記録でもある",
                yes_no(c.shared_with_others),
            ),
        ]);
        h.rows(
            &["決定", "日付", "決定者", "根拠・理由", "記述"],
            c.decisions.iter().map(|d| {
                vec![
                    d.kind.clone(),
                    d.decided_on.as_str().to_owned(),
                    d.decider.clone(),
                    [d.basis.clone(), d.reason.clone()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" / "),
                    opt(d.note.clone()),
                ]
            }),
        );
        h.rows(
            &["関与した機関", "役割", "開始", "終了"],
            c.involvements.iter().map(|i| {
                vec![
                    agency(&i.agency),
                    i.role.clone(),
                    i.started_on.as_str().to_owned(),
                    i.ended_on
                        .as_ref()
                        .map(|d| d.as_str().to_owned())
                        .unwrap_or_default(),
                ]
            }),
        );
        for p in &c.plans {
            h.raw("<h3>プラン 第");
            h.text(&p.plan_version.to_string());
            h.raw("版</h3>");
            let tasks: Vec<String> = p
                .assignments
                .iter()
                .map(|a| format!("{}（{}）: {}", agency(&a.agency), a.role, a.task))
                .collect();
            h.table(&[
                ("本人の思い", p.wishes.clone()),
                ("長期目標", p.long_term_goal.clone()),
                ("短期目標", p.short_term_goals.clone()),
                ("役割分担", tasks.join("\n")),
                (
                    "次回見直し",
                    opt(p.next_review_on.as_ref().map(|d| d.as_str().to_owned())),
                ),
                (
                    "本人の合意",
                    opt(p.agreed_on.as_ref().map(|d| {
                        format!(
                            "{} {}",
                            d.as_str(),
                            p.agreement_method.clone().unwrap_or_default()
                        )
                    })),
                ),
            ]);
        }
    }

    h.raw("<h2>7. 会議</h2>");
    h.rows(
        &[
            "日時",
            "種別",
            "招集機関",
            "参加機関",
            "区分・期間",
            "議事録",
        ],
        r.meetings.iter().map(|m| {
            vec![
                time(m.held_at.as_str()),
                meeting_kind(&m.kind).to_owned(),
                agency(&m.convener),
                m.participants
                    .iter()
                    .map(|a| a.name.clone())
                    .collect::<Vec<_>>()
                    .join("、"),
                format!(
                    "{}{}",
                    cats(&m.categories),
                    match (&m.period_from, &m.period_until) {
                        (Some(f), Some(u)) =>
                            format!("\n{} 〜 {}", time(f.as_str()), time(u.as_str())),
                        _ => String::new(),
                    }
                ),
                m.minutes
                    .clone()
                    .or_else(|| m.minutes_withheld.clone())
                    .unwrap_or_default(),
            ]
        }),
    );

    h.raw("<h2>8. 活動記録</h2>");
    h.rows(
        &["日付", "種別", "機関", "結果・段階", "記録"],
        r.activities.iter().map(|a| {
            vec![
                a.occurred_on.as_str().to_owned(),
                a.kind.clone(),
                agency(&a.agency),
                [a.result.clone(), a.stage.clone()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" / "),
                a.note.clone(),
            ]
        }),
    );

    h.raw("<h2>9. 参加支援</h2>");
    h.rows(
        &["社会資源", "機関", "期間", "状態"],
        r.placements.iter().map(|p| {
            vec![
                opt(p.resource_name.clone()),
                agency(&p.agency),
                format!(
                    "{} 〜 {}",
                    p.started_on.as_str(),
                    p.ended_on.as_ref().map(|d| d.as_str()).unwrap_or("")
                ),
                p.status.clone(),
            ]
        }),
    );

    h.raw("<h2>10. 緊急時アクセス（生命・身体の保護）</h2>");
    h.rows(
        &["開始", "期限・終了", "機関", "理由", "事後確認"],
        r.emergency_accesses.iter().map(|g| {
            vec![
                time(g.granted_at.as_str()),
                format!(
                    "{}\n{}",
                    time(g.expires_at.as_str()),
                    g.closed_at
                        .as_ref()
                        .map(|t| time(t.as_str()))
                        .unwrap_or_default()
                ),
                agency(&g.agency),
                g.reason.clone(),
                opt(g.review_note.clone()),
            ]
        }),
    );

    h.raw("<h2>11. あなたの情報を閲覧・記録した機関</h2>");
    h.rows(
        &["機関", "種別", "件数", "最初", "最後"],
        r.access_summary.iter().map(|s| {
            vec![
                agency(&s.agency),
                action(&s.action).to_owned(),
                s.rows.to_string(),
                time(s.first_at.as_str()),
                time(s.last_at.as_str()),
            ]
        }),
    );

    h.raw("<h2>12. 閲覧・記録の履歴（新しい順）</h2>");
    if r.access_log_truncated {
        h.raw("<p class=\"muted\">");
        h.text(&format!(
            "全 {} 件のうち新しい {} 件を示します（件数は 11 にすべて数えています）。",
            r.access_log_total,
            r.access_log.len()
        ));
        h.raw("</p>");
    }
    h.rows(
        &["日時", "機関", "ロール", "種別", "見た区分", "根拠", "目的"],
        r.access_log.iter().map(|e| {
            vec![
                time(e.at.as_str()),
                agency(&e.agency),
                e.roles.join(", "),
                action(&e.action).to_owned(),
                if e.withheld.is_empty() {
                    cats(&e.shown)
                } else {
                    format!(
                        "{}\n（見られなかった区分: {}）",
                        cats(&e.shown),
                        cats(&e.withheld)
                    )
                },
                e.bases
                    .iter()
                    .map(|b| match &b.reference {
                        Some(r) => format!("{}（ID {r}）", basis(&b.kind)),
                        None => basis(&b.kind).to_owned(),
                    })
                    .collect::<Vec<_>>()
                    .join("、"),
                purpose(&e.purpose).to_owned(),
            ]
        }),
    );

    h.raw("<h2>13. 第三者の情報の扱い</h2>");
    h.rows(
        &["対象", "扱い", "条文"],
        r.masking
            .iter()
            .map(|m| vec![m.scope.clone(), m.treatment.clone(), m.article.clone()]),
    );
    h.raw("</body></html>\n");
    h.0
}

struct Page(String);

impl Page {
    fn raw(&mut self, s: &str) {
        self.0.push_str(s);
    }

    fn text(&mut self, s: &str) {
        for c in s.chars() {
            match c {
                '&' => self.0.push_str("&amp;"),
                '<' => self.0.push_str("&lt;"),
                '>' => self.0.push_str("&gt;"),
                '"' => self.0.push_str("&quot;"),
                '\'' => self.0.push_str("&#39;"),
                c => self.0.push(c),
            }
        }
    }

    fn none_if(&mut self, empty: bool) {
        if empty {
            self.raw("<p class=\"muted\">記録はありません。</p>");
        }
    }

    /// A two-column table of label and value.
    fn table(&mut self, rows: &[(&str, String)]) {
        self.raw("<table>");
        for (label, value) in rows {
            self.raw("<tr><th>");
            self.text(label);
            self.raw("</th><td class=\"pre\">");
            self.text(value);
            self.raw("</td></tr>");
        }
        self.raw("</table>");
    }

    /// A table with a header row, or a line saying there is nothing.
    fn rows(&mut self, head: &[&str], rows: impl Iterator<Item = Vec<String>>) {
        let mut rows = rows.peekable();
        if rows.peek().is_none() {
            self.none_if(true);
            return;
        }
        self.raw("<table><thead><tr>");
        for th in head {
            self.raw("<th>");
            self.text(th);
            self.raw("</th>");
        }
        self.raw("</tr></thead><tbody>");
        for row in rows {
            self.raw("<tr>");
            for td in row {
                self.raw("<td class=\"pre\">");
                self.text(&td);
                self.raw("</td>");
            }
            self.raw("</tr>");
        }
        self.raw("</tbody></table>");
    }
}
