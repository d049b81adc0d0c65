//! The change feed: `changes(after:, first:, types:)`, the ledger's WRITE rows in commit
//! order as change events (record type and id, operation, changed categories, the committing
//! agency, commit time), for agency systems that sync with the hub. Events carry ids and
//! category names, never values: the client reads the record through the ordinary queries.
//!
//! **Order, gaps, duplicates.** The feed *is* the ledger's WRITE rows, read in `seq` order
//! through the partial index `idx_audit_event_writes` (`store::changes`), and the cursor is
//! the `seq` of the last row examined. A WRITE row is appended inside its write's own
//! transaction after taking the ledger's transaction-scoped advisory lock (`audit::tail`),
//! which is held until that transaction commits; the next appender (a write, or the group
//! commit of READ rows) takes its `seq` only once it holds the lock, so `seq` order is commit
//! order. PostgreSQL makes a transaction's commit visible before it releases its locks, so a
//! statement that sees row N+1 sees every row up to N: each read of the feed sees a prefix of
//! the ledger, and reading `seq > cursor` again later continues that prefix. Nothing is
//! skipped (a row with a lower `seq` can never commit after a higher one is visible, which a
//! sequence assigned inside the writing transaction would allow) and nothing is read twice.
//! A rolled-back append leaves no row and its `seq` is taken by the next. SQLite has one
//! connection, so a statement never runs beside an open write. The feed reads the primary.
//!
//! **Policy at read time.** An event is returned only for a record the caller may know
//! *now* (the rules that make a read by id `NOT_FOUND`, docs/design.md §3.4), and names only
//! the changed categories it may see now (`policy::decide` per category and subject): a
//! withdrawn consent hides, from the next request on, every event — earlier ones too — of a
//! person an agency knew only by that consent. See [`judge`]. The SQL offers only candidate
//! rows (`store::changes::FeedScope`: the caller's agency's writes, rows about a person the
//! visibility index lets it know, households by their agency or such a member, referrals by
//! their parties), so that a consumer
//! does not pay for the facts of every write in the city; every candidate is decided here.
//!
//! **Cursors past hidden rows.** A request reads ledger positions up to the ledger's end as
//! it stood when the request began, in windows of [`SPAN`] positions, and its `endCursor` is
//! the last position *examined* — often past rows the caller does not see, or the ledger's
//! end — so that a consumer skips what it may not see once, not on every poll. A request
//! judges at most [`MAX_EXAMINED`] candidate rows and scans at most [`MAX_SCANNED`]
//! positions, so a page may be short, even empty, with `hasNextPage` true. This tells the
//! caller nothing new: a `seq` is a position in the one hub-wide ledger, which every read and
//! write of every agency advances (this very read appends its own READ row), so the position
//! of the end, or that a row exists at some position, is the hub's overall volume and no
//! more; no row's agency, record or person can be told from it. (When a window holds more
//! candidates than one read takes, `endCursor` may be a hidden candidate's position, which
//! tells that some record of a type asked for was written there: the hub's volume again.)

mod judge;

use async_graphql::connection::PageInfo;
use async_graphql::{Context, Enum, Object, SimpleObject, ID};

use super::context::{db, req};
use super::enums::Category as GqlCategory;
use super::scalars::DateTime;
use crate::error::{ApiError, ApiResult};
use crate::policy;
use crate::policy::changes::{self as rules, ChangeType};
use crate::store::{self, CursorKind};

/// `first` when not given, and its largest value.
pub const DEFAULT_FIRST: i32 = 100;
pub const MAX_FIRST: i32 = 1000;
/// Candidate rows read per statement.
const BATCH: u64 = 1000;
/// Ledger positions one statement scans at most (rows of every kind: the window's width).
const SPAN: i64 = 20_000;
/// Candidate rows one request judges at most, however few of them it may see.
pub const MAX_EXAMINED: usize = 10_000;
/// Ledger positions one request scans at most.
pub const MAX_SCANNED: i64 = 200_000;

#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "rules::ChangeType", name = "ChangeType")]
/// 変更された記録の種類 / the kind of record a change event is about
pub enum GqlChangeType {
    /// 本人 / a person
    Person,
    /// 世帯 (構成員の加入・離脱を含む) / a household, its memberships included
    Household,
    /// 相談 / a consultation
    Consultation,
    /// つなぎ / a referral
    Referral,
    /// 同意 / a consent
    Consent,
    /// 活動記録 / an activity
    Activity,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "rules::ChangeOperation", name = "ChangeOperation")]
/// 変更の種類 / what a write did to its record
pub enum GqlChangeOperation {
    /// 作成 (upsert による作成を含む) / created (an upsert that created included)
    Create,
    /// 内容の変更 (世帯の構成員の変更を含む) / content changed (a household's members included)
    Update,
    /// 状態の変更 (相談の状態、つなぎの受諾・辞退・完了) / status moved
    StatusChange,
    /// 同意の撤回 / a consent withdrawn
    Withdraw,
}

/// 変更イベント (値は含まない) / a change event: ids and category names, never values
#[derive(SimpleObject, Clone)]
pub struct ChangeEvent {
    /// このイベントの位置 (after に渡すと続きから) / this event's position (pass as `after`)
    pub cursor: String,
    pub record_type: GqlChangeType,
    pub record_id: ID,
    pub operation: GqlChangeOperation,
    /// 変更された情報区分のうち、いま見られるもの / the changed categories the caller may see now
    pub categories: Vec<GqlCategory>,
    /// 書き込んだ機関 (呼び出し元が知ってよいときだけ、ほかは null) / the committing account's
    /// agency, when the caller may know it (else null): its own, one the record shows (a
    /// referral's parties, a consultation's receiving agency, an activity's or consent's
    /// recording agency), or one whose records about every subject it may see (NARRATIVE)
    pub agency_id: Option<ID>,
    /// コミットの時刻 / when the write committed (its ledger row's time)
    pub committed_at: DateTime,
}

#[derive(SimpleObject)]
pub struct ChangeEventEdge {
    pub cursor: String,
    pub node: ChangeEvent,
}

/// 変更イベントのページ / a page of change events
#[derive(SimpleObject)]
pub struct ChangeEventConnection {
    pub edges: Vec<ChangeEventEdge>,
    pub nodes: Vec<ChangeEvent>,
    /// endCursor は最後に調べた台帳の位置 (見えない行や台帳の末尾のこともある)。続きは
    /// after: endCursor / endCursor is the last ledger position examined (possibly a row the
    /// caller does not see, or the ledger's end); continue with `after: endCursor`
    pub page_info: PageInfo,
}

/// `first`: 1..=1000, 100 when not given.
fn check_first(first: Option<i32>) -> ApiResult<usize> {
    let first = first.unwrap_or(DEFAULT_FIRST);
    if !(1..=MAX_FIRST).contains(&first) {
        return Err(ApiError::bad_input(
            "first",
            format!(
                "1 以上 {MAX_FIRST} 以下で指定してください / must be between 1 and {MAX_FIRST}"
            ),
        ));
    }
    Ok(first as usize)
}

/// `after`: a cursor this feed handed out (a ledger position).
fn check_after(after: Option<&str>) -> ApiResult<Option<i64>> {
    after
        .map(|c| {
            store::decode_cursor(c)
                .filter(|key| CursorKind::Seq.accepts(key))
                .and_then(|key| key.parse::<i64>().ok())
                .ok_or_else(|| ApiError::bad_input("after", "不正なカーソルです / invalid cursor"))
        })
        .transpose()
}

/// `types`: None is every type; an empty list asks for nothing and is refused.
fn check_types(types: Option<Vec<GqlChangeType>>) -> ApiResult<Vec<ChangeType>> {
    let Some(types) = types else {
        return Ok(ChangeType::ALL.to_vec());
    };
    if types.is_empty() {
        return Err(ApiError::bad_input(
            "types",
            "1 つ以上指定するか、省略してください / name at least one type, or leave it out",
        ));
    }
    let mut out: Vec<ChangeType> = types.into_iter().map(Into::into).collect();
    out.sort();
    out.dedup();
    Ok(out)
}

fn cursor_of(seq: i64) -> String {
    store::encode_cursor(&seq.to_string())
}

/// What one request read of the feed.
#[derive(Default)]
struct Page {
    events: Vec<ChangeEvent>,
    /// The last position examined.
    last: Option<i64>,
    /// Candidate rows judged.
    examined: usize,
    /// Ledger positions scanned.
    scanned: i64,
    more: bool,
}

/// Read the feed after `after` until the page holds `first` events, the ledger's end (as
/// read when the request began) is reached, or [`MAX_EXAMINED`] candidate rows were judged
/// or [`MAX_SCANNED`] positions scanned.
async fn read(
    ctx: &Context<'_>,
    after: i64,
    types: &[ChangeType],
    first: usize,
) -> ApiResult<Page> {
    let r = req(ctx)?;
    let p = &r.principal;
    let record_types: Vec<&str> = types
        .iter()
        .flat_map(|t| t.record_types())
        .copied()
        .collect();
    let scope = store::changes::FeedScope {
        agency_id: p.agency_id.clone(),
        unscoped: rules::unscoped_record_types(p),
        scopes: rules::CANDIDATE_CATEGORIES
            .iter()
            .filter_map(|c| policy::visible_scope(p, *c, r.purpose, r.now))
            .collect(),
    };
    // Every row up to here is committed (and, appends being serialised, none below it can
    // commit later): the request reads no further.
    let tail = store::changes::tail(db(ctx)?).await?;
    let mut page = Page::default();
    let mut from = after;
    let mut limit = BATCH;
    while from < tail {
        let upto = tail.min(from.saturating_add(SPAN));
        let window = (from, upto);
        let rows =
            store::changes::writes_in(db(ctx)?, window, &record_types, &scope, limit).await?;
        let full = rows.len() as u64 == limit;
        let (mut runs, facts) = judge::runs(ctx, rows).await?;
        // A full batch's last run may go on in rows not read yet: read it again with them.
        // One run that fills the whole batch is read again in a bigger one.
        if full {
            if runs.len() == 1 && limit < BATCH * 64 {
                limit *= 4;
                continue;
            }
            if runs.len() > 1 {
                runs.pop();
            }
        }
        let count = runs.len();
        for (i, run) in runs.iter().enumerate() {
            page.last = Some(run.last_seq());
            page.examined += run.len();
            if let Some(event) = judge::judge(ctx, &facts, run)? {
                page.events.push(event);
                if page.events.len() == first {
                    page.more = full || i + 1 < count || upto < tail;
                    return Ok(page);
                }
            }
        }
        // A window read whole is examined to its end (past rows the caller may not see).
        from = if full {
            page.last.unwrap_or(from)
        } else {
            upto
        };
        page.last = Some(from);
        page.scanned += from - window.0;
        limit = BATCH;
        if page.examined >= MAX_EXAMINED || page.scanned >= MAX_SCANNED {
            page.more = from < tail;
            return Ok(page);
        }
    }
    Ok(page)
}

#[derive(Default)]
pub struct ChangesQuery;

#[Object]
impl ChangesQuery {
    /// 変更フィード: 台帳の書き込みの行をコミット順に、いま見られる記録についてだけ、値なしで
    /// 返す (first は既定 100、最大 1000) / the change feed: writes in commit order, only for
    /// records the caller may know now, without values (`first` 100 by default, at most
    /// 1000); continue with `after: pageInfo.endCursor`
    #[graphql(
        complexity = "(first.unwrap_or(100).clamp(1, 1000) as usize).div_ceil(10) * child_complexity"
    )]
    async fn changes(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        first: Option<i32>,
        types: Option<Vec<GqlChangeType>>,
    ) -> ApiResult<ChangeEventConnection> {
        let r = req(ctx)?;
        let first = check_first(first)?;
        let after = check_after(after.as_deref())?;
        let types = check_types(types)?;
        // Only roles that may see person-level data receive events (an empty feed for the
        // others, as their lists are empty).
        let page = if rules::receives_changes(&r.principal) {
            read(ctx, after.unwrap_or(0), &types, first).await?
        } else {
            Page::default()
        };
        r.note_read(
            "change_feed",
            None,
            serde_json::json!({
                "field": "changes",
                "after": after,
                "types": types.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                "events": page.events.len(),
                "examined": page.examined,
                "scanned": page.scanned,
                "last": page.last,
            }),
        );
        let end = page.last.or(after).map(cursor_of);
        Ok(ChangeEventConnection {
            page_info: PageInfo {
                has_previous_page: after.is_some(),
                has_next_page: page.more,
                start_cursor: page.events.first().map(|e| e.cursor.clone()),
                end_cursor: end,
            },
            edges: page
                .events
                .iter()
                .map(|e| ChangeEventEdge {
                    cursor: e.cursor.clone(),
                    node: e.clone(),
                })
                .collect(),
            nodes: page.events,
        })
    }
}
