//! The visibility index's rows: who may know a person, under which category and purpose, from
//! when until when, on which basis and source record — derived from the same [`SubjectFacts`]
//! that [`decide`](super::decide) reads, so that a list can ask the index which persons to
//! offer and every row it offers is then decided again by `decide` (defence in depth).
//!
//! A basis bounded in time becomes an entry with its interval `[from, until)`; the index is
//! read at the request's `now`, so nothing in it goes stale by the clock. What changes an entry
//! is a write (a consent recorded or withdrawn, a 支援会議, a membership, a grant, a person's
//! registering agency), and the store rewrites the person's entries in that write's
//! transaction. An agency's kind is not in the entries: an entry for a kind names the kind,
//! and the reader's kind is the one the registry says now.
//!
//! [`index_entries`] is the only place the entries are made; [`knows`] and
//! [`consent_names_agency`] are the oracle the index is verified against (`tsunagi visibility
//! verify`): the same answer as `decide` for a field of the category in a record the person's
//! registering agency holds.

use chrono::{DateTime, NaiveDate, Utc};

use super::decide::shared_basis;
use super::types::*;
use super::ListScope;

/// Whom an entry opens the person to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grantee {
    Agency(String),
    Kind(AgencyKind),
    /// A break-glass grant is the account's, not its agency's.
    Account(String),
}

impl Grantee {
    /// The stored form: `AGENCY:<id>`, `AGENCY_KIND:<KIND>`, `ACCOUNT:<id>`.
    pub fn key(&self) -> String {
        match self {
            Grantee::Agency(a) => format!("AGENCY:{a}"),
            Grantee::Kind(k) => format!("AGENCY_KIND:{}", k.as_str()),
            Grantee::Account(a) => format!("ACCOUNT:{a}"),
        }
    }
}

/// The basis an entry stands for (the index does not reason about it; it is there so that a
/// list may leave OWN out, and for whoever reads the table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryBasis {
    /// The person's registering agency.
    Own,
    Consent,
    SupportMeeting,
    Emergency,
}

impl EntryBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryBasis::Own => "OWN",
            EntryBasis::Consent => "CONSENT",
            EntryBasis::SupportMeeting => "SUPPORT_MEETING",
            EntryBasis::Emergency => "EMERGENCY",
        }
    }
}

/// One row of the index. `category` / `purpose` None: every category / purpose.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IndexEntry {
    pub person_id: String,
    pub grantee: Grantee,
    pub category: Option<Category>,
    pub purpose: Option<Purpose>,
    pub basis: EntryBasis,
    /// The record the basis stands on: the person (OWN), the consent, the meeting, the grant.
    pub source_id: String,
    /// Open from (None: always).
    pub from: Option<DateTime<Utc>>,
    /// Open until, exclusive (None: no end).
    pub until: Option<DateTime<Utc>>,
}

impl IndexEntry {
    /// Whether the entry is open at `now`: `from <= now < until`.
    pub fn open_at(&self, now: DateTime<Utc>) -> bool {
        self.from.is_none_or(|f| f <= now) && self.until.is_none_or(|u| now < u)
    }
}

/// The moment a city calendar date begins (JST midnight), as UTC: a membership that joins on
/// `d` is current from this instant, one that leaves on `d` is not current from it
/// ([`super::membership_current`]).
pub fn city_midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(chrono::NaiveTime::MIN).and_utc() - chrono::Duration::hours(9)
}

fn later(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    a.max(b)
}

fn earlier(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Every index entry of one person, from the facts `decide` reads. An interval that can never
/// be open (a consent withdrawn before it began, a membership outside the meeting's period)
/// makes no entry.
pub fn index_entries(subject: &SubjectFacts) -> Vec<IndexEntry> {
    let person = &subject.person_id;
    let mut out = vec![IndexEntry {
        person_id: person.clone(),
        grantee: Grantee::Agency(subject.owner_agency_id.clone()),
        category: None,
        purpose: None,
        basis: EntryBasis::Own,
        source_id: person.clone(),
        from: None,
        until: None,
    }];
    let mut push = |grantee: Grantee,
                    category: Option<Category>,
                    purpose: Option<Purpose>,
                    basis: EntryBasis,
                    source: &str,
                    from: Option<DateTime<Utc>>,
                    until: Option<DateTime<Utc>>| {
        if let (Some(f), Some(u)) = (from, until) {
            if u <= f {
                return;
            }
        }
        out.push(IndexEntry {
            person_id: person.clone(),
            grantee,
            category,
            purpose,
            basis,
            source_id: source.to_owned(),
            from,
            until,
        });
    };
    for c in &subject.consents {
        // Lapse::at: withdrawn from `withdrawn_at`, valid in [valid_from, valid_until).
        let until = earlier(c.valid_until, c.withdrawn_at);
        for cat in &c.categories {
            for r in c.recipients() {
                let grantee = match r {
                    Recipient::Agency(a) => Grantee::Agency(a.to_owned()),
                    Recipient::Kind(k) => Grantee::Kind(k),
                };
                push(
                    grantee,
                    Some(*cat),
                    Some(c.purpose),
                    EntryBasis::Consent,
                    &c.id,
                    Some(c.valid_from),
                    until,
                );
            }
        }
    }
    for m in &subject.meetings {
        // Open while the meeting's period and the person's membership both are.
        let from = later(Some(m.from), m.joined_on.map(city_midnight));
        let until = earlier(Some(m.until), m.left_on.map(city_midnight));
        for agency in &m.member_agencies {
            for cat in &m.categories {
                push(
                    Grantee::Agency(agency.clone()),
                    Some(*cat),
                    Some(Purpose::Support),
                    EntryBasis::SupportMeeting,
                    &m.id,
                    from,
                    until,
                );
            }
        }
    }
    for g in &subject.emergencies {
        push(
            Grantee::Account(g.account_id.clone()),
            None,
            None,
            EntryBasis::Emergency,
            &g.id,
            Some(g.from),
            Some(g.until),
        );
    }
    out.sort();
    out.dedup();
    out
}

/// The grantees a reader with this scope is: its agency, its agency's kind, its account.
pub fn grantees(scope: &ListScope) -> [Grantee; 3] {
    [
        Grantee::Agency(scope.agency_id.clone()),
        Grantee::Kind(scope.agency_kind),
        Grantee::Account(scope.account_id.clone()),
    ]
}

/// Whether the index says the scope may know the person (the rule a list applies in SQL):
/// an entry of one of the scope's grantees, for its category (or every category) and purpose
/// (or every purpose), open at the scope's `now`; OWN entries only if `with_own`.
pub fn entries_allow(entries: &[IndexEntry], scope: &ListScope, with_own: bool) -> bool {
    let who = grantees(scope);
    entries.iter().any(|e| {
        who.contains(&e.grantee)
            && e.category.is_none_or(|c| c == scope.category)
            && e.purpose.is_none_or(|p| p == scope.purpose)
            && (with_own || e.basis != EntryBasis::Own)
            && e.open_at(scope.now)
    })
}

/// The oracle: whether `decide` would let the scope's agency (and account) see a field of
/// the scope's category about the person, in a record the person's registering agency holds
/// (`with_own`) or in one another agency holds (not `with_own`: a basis other than OWN). The
/// role ceiling is the list's own check (`visible_scope`), so it is not asked here.
pub fn knows(subject: &SubjectFacts, scope: &ListScope, with_own: bool) -> bool {
    if with_own && subject.owner_agency_id == scope.agency_id {
        return true;
    }
    let principal = Principal {
        account_id: scope.account_id.clone(),
        agency_id: scope.agency_id.clone(),
        agency_kind: scope.agency_kind,
        roles: Default::default(),
        client_id: None,
    };
    shared_basis(
        &principal,
        subject,
        Item::of(scope.category),
        scope.purpose,
        scope.now,
    )
    .is_ok()
}

/// The oracle for an address_confidential location: an active consent covering the category
/// and purpose that names the scope's agency itself (not its kind).
pub fn consent_names_agency(subject: &SubjectFacts, scope: &ListScope) -> bool {
    subject.consents.iter().any(|c| {
        c.covers(scope.category, scope.purpose, scope.now) && c.names_agency(&scope.agency_id)
    })
}

/// What the index says for an address_confidential location (the SQL twin is
/// `store::visibility::naming_agency`): a CONSENT entry naming the agency itself.
pub fn entries_name_agency(entries: &[IndexEntry], scope: &ListScope) -> bool {
    let agency = Grantee::Agency(scope.agency_id.clone());
    entries.iter().any(|e| {
        e.grantee == agency
            && e.basis == EntryBasis::Consent
            && e.category == Some(scope.category)
            && e.purpose == Some(scope.purpose)
            && e.open_at(scope.now)
    })
}

#[cfg(test)]
mod tests;
