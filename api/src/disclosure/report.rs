//! The disclosure report's types: one typed object for GraphQL (`disclosureReport`) and for
//! the JSON of `GET /disclosure/{personId}` (the same field names, camelCase), which the
//! printable HTML page is rendered from. Nothing here holds a third party's name, id or
//! field: `super::build` puts only the person's own data and masked summaries in.

use async_graphql::{SimpleObject, ID};
use serde::Serialize;

use crate::graphql::scalars::{Date, DateTime};

/// 開示報告書 / the disclosure report: everything the hub holds about one person and who
/// saw it (個人情報保護法 第76条以下)
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureReport {
    /// 作成日時 / when the report was produced
    pub produced_at: DateTime,
    /// 根拠 / the legal basis of the production
    pub legal_basis: String,
    /// 判定表の版 / the policy version in force
    pub policy_version: i32,
    /// この報告に含まれる情報区分 / the categories the report holds
    pub categories: Vec<String>,
    pub person: DisclosurePerson,
    /// 同じ人として結びつけた (確認済みの) ほかの記録 / other records confirmed to be the
    /// same person (名寄せ): produce their reports too
    pub linked_records: Vec<DisclosureLinkedRecord>,
    pub households: Vec<DisclosureHousehold>,
    pub consultations: Vec<DisclosureConsultation>,
    pub referrals: Vec<DisclosureReferral>,
    /// 同意と撤回の履歴 / consents with their withdrawal
    pub consents: Vec<DisclosureConsent>,
    pub cases: Vec<DisclosureCase>,
    pub meetings: Vec<DisclosureMeeting>,
    pub activities: Vec<DisclosureActivity>,
    pub placements: Vec<DisclosurePlacement>,
    /// 緊急時アクセス / break-glass grants for the person
    pub emergency_accesses: Vec<DisclosureEmergencyAccess>,
    /// 機関ごとの閲覧・記録の件数 (台帳のすべての行) / reads and writes per agency, every
    /// ledger row about the person
    pub access_summary: Vec<DisclosureAccessSummary>,
    /// 閲覧・記録の履歴 (新しい順) / the ledger rows about the person, newest first
    pub access_log: Vec<DisclosureAccessEntry>,
    /// 台帳の行の総数 / every ledger row about the person
    pub access_log_total: i64,
    /// `accessLog` が新しいものから一部だけのとき / true when `accessLog` holds only the
    /// newest rows (the summary still counts all)
    pub access_log_truncated: bool,
    /// 第三者の情報の扱い (伏せたもの、その理由と条文) / what was masked, why, under which
    /// article
    pub masking: Vec<DisclosureMaskingNote>,
    /// 記述 (自由記述) のうち、確認が必要なものがあるか / whether free text needs the
    /// officer's review before the report is handed over (第78条)
    pub review_required: bool,
}

/// 同じ人として確認されたほかの記録 / another record confirmed to be the same person
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureLinkedRecord {
    /// その記録の ID (その記録の報告書を作るため) / its id, to produce its report too
    pub person_id: ID,
    /// その記録の登録機関 / its registering agency
    pub owner_agency: Option<DisclosureAgency>,
    pub confirmed_at: Option<DateTime>,
}

/// 機関 / an agency (public directory data)
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureAgency {
    pub id: ID,
    pub code: String,
    pub name: String,
    pub kind: String,
}

/// 本人の記録 / the person's own record, every field
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DisclosurePerson {
    pub id: ID,
    pub family_name: String,
    pub given_name: String,
    pub family_name_kana: String,
    pub given_name_kana: String,
    pub birth_date: Option<Date>,
    pub sex: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub district: Option<String>,
    pub address_confidential: bool,
    pub care_level: Option<String>,
    pub disability_certificate: Option<String>,
    pub public_assistance: Option<bool>,
    /// 登録機関 / the registering agency
    pub owner_agency: Option<DisclosureAgency>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

/// 世帯と本人の所属 / a household and the person's membership of it
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureHousehold {
    pub id: ID,
    pub owner_agency: Option<DisclosureAgency>,
    /// 本人の続柄 / the person's relationship
    pub relationship: String,
    pub is_head: bool,
    pub joined_on: Option<Date>,
    pub left_on: Option<Date>,
    pub current: bool,
    /// ほかの構成員 (続柄と世帯主かどうかだけ) / the other members, relationship and head flag
    /// only: no name, id, date or field of a third party
    pub other_members: Vec<DisclosureOtherMember>,
}

/// ほかの構成員 (伏せたもの) / another member, masked
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureOtherMember {
    pub relationship: String,
    pub is_head: bool,
    pub current: bool,
}

/// 相談 / a consultation the person is a subject of
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureConsultation {
    pub id: ID,
    pub receiving_agency: Option<DisclosureAgency>,
    pub received_at: DateTime,
    pub channel: String,
    pub urgency: String,
    pub status: String,
    /// 要約 (既知の第三者の氏名は伏せ字) / the summary, known third parties' names masked
    pub summary: String,
    pub issues: Vec<DisclosureIssue>,
    /// 本人以外の対象者の人数 (誰かは示さない) / how many other subjects (never who)
    pub other_subjects: i32,
    /// 相談の世帯 (本人の世帯のときだけ) / the consultation's household, when it is one of
    /// the person's
    pub household_id: Option<ID>,
}

/// 課題 / an issue of a consultation
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureIssue {
    pub code: String,
    pub name: String,
    pub main: bool,
}

/// つなぎ / a referral about the person
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureReferral {
    pub id: ID,
    pub from_agency: Option<DisclosureAgency>,
    pub to_agency: Option<DisclosureAgency>,
    pub status: String,
    pub reason: String,
    pub decline_reason: Option<String>,
    pub consultation_id: Option<ID>,
    pub created_at: DateTime,
    pub decided_at: Option<DateTime>,
    pub completed_at: Option<DateTime>,
}

/// 同意 / a consent, with its withdrawal
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureConsent {
    pub id: ID,
    /// SELF か PROXY / given by the person or a proxy
    pub given_by: String,
    /// 代理人の続柄 (氏名は伏せる) / the proxy's relationship (the name is masked)
    pub proxy_relationship: Option<String>,
    pub categories: Vec<String>,
    pub recipient_agencies: Vec<DisclosureAgency>,
    pub recipient_agency_kinds: Vec<String>,
    pub purpose: String,
    pub valid_from: DateTime,
    pub valid_until: Option<DateTime>,
    pub method: String,
    pub evidence_ref: Option<String>,
    pub explanation_version: Option<String>,
    pub recorded_agency: Option<DisclosureAgency>,
    pub recorded_at: DateTime,
    pub withdrawn_at: Option<DateTime>,
    pub withdrawal_reason: Option<String>,
    /// ACTIVE, WITHDRAWN, EXPIRED, NOT_YET_VALID (作成時点) / at the time of the report
    pub state: String,
}

/// 支援ケース / a support case of the person's household (while the person belonged to it)
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureCase {
    pub id: ID,
    pub household_id: ID,
    pub owner_agency: Option<DisclosureAgency>,
    pub status: String,
    pub opened_on: Date,
    pub closed_on: Option<Date>,
    pub decisions: Vec<DisclosureDecision>,
    pub involvements: Vec<DisclosureInvolvement>,
    /// プランの版 (新しい順) / plan versions, newest first
    pub plans: Vec<DisclosurePlan>,
    /// 世帯のほかの構成員の記録でもあるか / whether the case is also other members' record
    pub shared_with_others: bool,
}

/// ケースの決定 / a case decision
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureDecision {
    pub kind: String,
    pub decided_on: Date,
    pub decider: String,
    pub basis: Option<String>,
    pub reason: Option<String>,
    pub note: Option<String>,
}

/// 機関の関与 / an agency's involvement in a case
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureInvolvement {
    pub agency: Option<DisclosureAgency>,
    pub role: String,
    pub started_on: Date,
    pub ended_on: Option<Date>,
}

/// 支援プランの版 / a support plan version
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DisclosurePlan {
    pub plan_version: i32,
    pub wishes: String,
    pub long_term_goal: String,
    pub short_term_goals: String,
    pub next_review_on: Option<Date>,
    pub agreed_on: Option<Date>,
    pub agreement_method: Option<String>,
    pub assignments: Vec<DisclosureAssignment>,
}

/// 役割分担 / an agency's task in a plan
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureAssignment {
    pub agency: Option<DisclosureAgency>,
    pub role: String,
    pub task: String,
    pub contact_frequency: Option<String>,
    pub due_on: Option<Date>,
}

/// 会議 / a meeting about the person's household (while the person belonged to it)
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureMeeting {
    pub id: ID,
    pub kind: String,
    pub household_id: ID,
    pub held_at: DateTime,
    pub convener: Option<DisclosureAgency>,
    pub participants: Vec<DisclosureAgency>,
    /// 支援会議が宣言した区分 / the categories a 支援会議 declared
    pub categories: Vec<String>,
    pub period_from: Option<DateTime>,
    pub period_until: Option<DateTime>,
    /// 議事録 (既知の第三者の氏名は伏せ字)。支援会議の議事録は開示しない (null) / the minutes,
    /// known third parties' names masked; null when withheld (a 支援会議's)
    pub minutes: Option<String>,
    /// 議事録を開示しない理由 / why the minutes are withheld
    pub minutes_withheld: Option<String>,
}

/// 活動記録 / an activity about the person
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureActivity {
    pub id: ID,
    pub kind: String,
    pub agency: Option<DisclosureAgency>,
    pub occurred_on: Date,
    pub result: Option<String>,
    pub stage: Option<String>,
    pub next_planned_on: Option<Date>,
    pub note: String,
    pub case_id: Option<ID>,
}

/// 参加支援 / a participation placement
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DisclosurePlacement {
    pub id: ID,
    pub resource_name: Option<String>,
    pub resource_kind: Option<String>,
    pub agency: Option<DisclosureAgency>,
    pub started_on: Date,
    pub ended_on: Option<Date>,
    pub status: String,
}

/// 緊急時アクセス / a break-glass grant for the person
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureEmergencyAccess {
    pub agency: Option<DisclosureAgency>,
    pub reason: String,
    pub granted_at: DateTime,
    pub expires_at: DateTime,
    pub closed_at: Option<DateTime>,
    pub review_note: Option<String>,
}

/// 機関ごとの件数 / one agency's rows of one action
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureAccessSummary {
    /// null: ハブ自身 / the hub itself
    pub agency: Option<DisclosureAgency>,
    /// READ (閲覧) か WRITE (記録) / read or write
    pub action: String,
    pub rows: i64,
    pub first_at: DateTime,
    pub last_at: DateTime,
}

/// 台帳の 1 行 / one ledger row about the person
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureAccessEntry {
    pub seq: i64,
    pub at: DateTime,
    /// READ (閲覧) か WRITE (記録) / read or write
    pub action: String,
    pub operation: String,
    /// 誰が (機関。職員個人は示さない) / who: the agency (never the staff member)
    pub agency: Option<DisclosureAgency>,
    /// その時点のロール / the roles in effect
    pub roles: Vec<String>,
    /// 見た区分 / categories shown
    pub shown: Vec<String>,
    /// 見られなかった区分 / categories withheld
    pub withheld: Vec<String>,
    /// 根拠 (OWN, CONSENT, SUPPORT_MEETING, EMERGENCY, DISCLOSURE) / the bases
    pub bases: Vec<DisclosureBasis>,
    /// 目的: SUPPORT (支援), OVERSIGHT (監督), DISCLOSURE (開示) / the purpose
    pub purpose: String,
}

/// 根拠 / one basis of a ledger row
#[derive(SimpleObject, Serialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureBasis {
    pub kind: String,
    /// 同意・会議・緊急時アクセスの ID / the consent, meeting or grant
    pub reference: Option<String>,
}

/// 第三者の情報の扱い / how third parties' data was treated
#[derive(SimpleObject, Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureMaskingNote {
    /// 対象 / what it applies to
    pub scope: String,
    /// 扱い (日本語 / English) / the treatment
    pub treatment: String,
    /// 条文 / the article
    pub article: String,
}
