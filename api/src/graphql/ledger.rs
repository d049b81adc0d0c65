//! The ledger for admins and auditors: events, a person's access log, chain verification.
//! Reading the ledger is itself ledgered.

use super::scalars::DateTime;
use super::validate;
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Json, Object, SimpleObject, ID};

use super::context::{db, req};
use super::enums::{AuditAction, BasisKind};
use crate::audit;
use crate::error::{ApiError, ApiResult};
use crate::policy::Action;
use crate::store::{self, ledger::LedgerFilter};
use entity::audit_event;

/// 監査ログの 1 行 / one ledger row
pub struct AuditEvent(audit_event::Model);

fn json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// A ledger column holding JSON, as JSON (the hub writes these; one that does not parse is
/// an internal error, never shown).
fn json_object(context: &str, text: &str) -> ApiResult<Json<serde_json::Value>> {
    serde_json::from_str(text)
        .map(Json)
        .map_err(|e| ApiError::internal(context, e))
}

#[Object]
impl AuditEvent {
    /// 連番 / sequence number in the chain
    async fn seq(&self) -> i64 {
        self.0.seq
    }
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn at(&self) -> DateTime {
        self.0.at.into()
    }
    async fn account_id(&self) -> Option<ID> {
        self.0.account_id.clone().map(ID)
    }
    async fn agency_id(&self) -> Option<ID> {
        self.0.agency_id.clone().map(ID)
    }
    /// 連携システムのクライアント (クライアントトークンのとき。職員のトークンと、この列より前の
    /// 行は null) / the service client the row was written under (a client token's); null for
    /// staff tokens and for rows older than the column
    async fn client_id(&self) -> Option<ID> {
        self.0.client_id.clone().map(ID)
    }
    /// その時点の有効ロール / roles in effect
    async fn roles(&self) -> Vec<String> {
        self.0
            .roles
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect()
    }
    async fn action(&self) -> ApiResult<AuditAction> {
        AuditAction::from_db(&self.0.action)
    }
    /// 操作 (GraphQL の操作名・ミューテーション名) / operation
    async fn operation(&self) -> &str {
        &self.0.operation
    }
    async fn record_type(&self) -> &str {
        &self.0.record_type
    }
    async fn record_id(&self) -> Option<ID> {
        self.0.record_id.clone().map(ID)
    }
    async fn subject_person_id(&self) -> Option<ID> {
        self.0.subject_person_id.clone().map(ID)
    }
    /// 表示した情報区分 / categories shown
    async fn shown(&self) -> Vec<String> {
        json_list(&self.0.shown)
    }
    /// 非表示にした情報区分 / categories withheld
    async fn withheld(&self) -> Vec<String> {
        json_list(&self.0.withheld)
    }
    /// 区分ごとの根拠 (JSON オブジェクト) / basis per category, a JSON object, e.g.
    /// {"IDENTITY":["CONSENT:<id>"]}
    async fn bases(&self) -> ApiResult<Json<serde_json::Value>> {
        json_object("auditEvent.bases", &self.0.bases)
    }
    /// 詳細 (JSON オブジェクト: 拒否理由・対象レコード・変更項目名。値は含まない) / detail, a
    /// JSON object: denial reasons, records touched, names of changed fields (never values)
    async fn detail(&self) -> ApiResult<Json<serde_json::Value>> {
        json_object("auditEvent.detail", &self.0.detail)
    }
    async fn policy_version(&self) -> i32 {
        self.0.policy_version
    }
    async fn prev_hash(&self) -> &str {
        &self.0.prev_hash
    }
    async fn hash(&self) -> &str {
        &self.0.hash
    }
}

/// 検証結果 / chain verification result
#[derive(SimpleObject)]
pub struct ChainReport {
    pub ok: bool,
    pub checked: i64,
    /// 最初に壊れている行 / the first row that does not verify
    pub first_broken_seq: Option<i64>,
    pub problem: Option<String>,
}

#[derive(Default)]
pub struct LedgerQuery;

async fn events(
    ctx: &Context<'_>,
    operation: &str,
    filter: LedgerFilter,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<Connection<String, AuditEvent>> {
    let r = req(ctx)?;
    r.require(Action::Oversee, operation)?;
    let page = validate::page(first, after, store::CursorKind::Seq)?;
    let before = page
        .after
        .as_deref()
        .map(|a| {
            a.parse::<i64>()
                .map_err(|_| ApiError::bad_input("after", "不正なカーソルです / invalid cursor"))
        })
        .transpose()?;
    let rows = store::ledger::list(db(ctx)?, &filter, before, page.first + 1).await?;
    r.note_read(
        "ledger",
        filter.subject_person_id.as_deref(),
        serde_json::json!({"field": operation, "accountId": filter.account_id, "action": filter.action, "agencyId": filter.agency_id, "basis": filter.basis, "from": filter.from, "until": filter.until, "rows": rows.len().min(page.first as usize)}),
    );
    let has_next = rows.len() as u64 > page.first;
    let mut conn = Connection::new(page.after.is_some(), has_next);
    for e in rows.into_iter().take(page.first as usize) {
        conn.edges.push(Edge::new(
            store::encode_cursor(&e.seq.to_string()),
            AuditEvent(e),
        ));
    }
    Ok(conn)
}

#[Object]
impl LedgerQuery {
    /// 監査ログ (管理者・監査担当、新しい順) / ledger events (admin, auditor), newest first
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        person_id: Option<ID>,
        account_id: Option<ID>,
        action: Option<AuditAction>,
        #[graphql(desc = "操作した機関 / the acting agency")] agency_id: Option<ID>,
        #[graphql(
            desc = "その種類の根拠で項目を表示した行 / rows that showed a field on this kind of basis"
        )]
        basis: Option<BasisKind>,
        #[graphql(desc = "この時刻以後 / at or after")] from: Option<DateTime>,
        #[graphql(desc = "この時刻より前 / before")] until: Option<DateTime>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, AuditEvent>> {
        let (from, until) = validate::window(("from", from), ("until", until))?;
        let filter = LedgerFilter {
            subject_person_id: person_id
                .map(|p| validate::id("personId", &p))
                .transpose()?,
            account_id: account_id
                .map(|a| validate::id("accountId", &a))
                .transpose()?,
            action: action.map(|a| a.as_str().to_owned()),
            agency_id: agency_id
                .map(|a| validate::id("agencyId", &a))
                .transpose()?,
            basis: basis.map(BasisKind::as_str),
            from,
            until,
            alerts_only: false,
        };
        events(ctx, "auditEvents", filter, first, after).await
    }

    /// 管理者への通知 (緊急時アクセスの開始・終了など、新しい順) / the admins' alert feed: ledger
    /// rows that need attention (emergency access opened or closed), newest first
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity")]
    async fn alert_feed(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, AuditEvent>> {
        let filter = LedgerFilter {
            alerts_only: true,
            ..LedgerFilter::default()
        };
        events(ctx, "alertFeed", filter, first, after).await
    }

    /// この人の情報を誰が・いつ・何を・どの根拠で見たか / who saw what of this person, when, on what basis
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity")]
    async fn access_log(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, AuditEvent>> {
        let filter = LedgerFilter {
            subject_person_id: Some(validate::id("personId", &person_id)?),
            action: Some("READ".to_owned()),
            ..LedgerFilter::default()
        };
        events(ctx, "accessLog", filter, first, after).await
    }

    /// ハッシュチェーンの検証 / verify the ledger's hash chain
    async fn verify_audit_chain(&self, ctx: &Context<'_>) -> ApiResult<ChainReport> {
        req(ctx)?.require(Action::Oversee, "verifyAuditChain")?;
        let report = audit::verify(db(ctx)?).await?;
        Ok(ChainReport {
            ok: report.first_broken_seq.is_none(),
            checked: report.checked,
            first_broken_seq: report.first_broken_seq,
            problem: report.problem,
        })
    }
}
