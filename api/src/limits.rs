//! Request limits enforced at the HTTP edge, before a query runs: a per-account rate limit
//! (token bucket) and a document check (parse once; count aliases; find the operation name
//! for the ledger). Depth and complexity are checked by the schema itself.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_graphql::parser::types::{DocumentOperations, OperationType, Selection, SelectionSet};
use async_graphql::parser::Positioned;

/// Requests per minute per account, as a token bucket refilled continuously.
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one token for `account`; Err(wait) when the bucket is empty.
    pub fn check(&self, account: &str) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = self.per_minute as f64;
        let per_sec = capacity / 60.0;
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() > 100_000 {
            // Forget full buckets rather than grow without bound.
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * per_sec < capacity
            });
        }
        let (tokens, at) = buckets.entry(account.to_owned()).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_sec).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / per_sec))
        }
    }
}

/// What the edge learns from a document before running it.
pub struct DocumentFacts {
    /// The operation's name for the ledger: the requested one, else the document's only
    /// named operation, else "anonymous".
    pub operation: String,
    pub aliases: usize,
    /// The operation that would run is a mutation (the named one, or the only one). False
    /// for a document that does not parse.
    pub mutation: bool,
}

fn count_aliases(set: &Positioned<SelectionSet>, fragments_seen: &mut usize) -> usize {
    set.node
        .items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) => {
                usize::from(f.node.alias.is_some())
                    + count_aliases(&f.node.selection_set, fragments_seen)
            }
            Selection::InlineFragment(i) => count_aliases(&i.node.selection_set, fragments_seen),
            Selection::FragmentSpread(_) => {
                *fragments_seen += 1;
                0
            }
        })
        .sum()
}

/// Parse the document once. A document that does not parse is left to the schema, which
/// reports it as a GraphQL error.
pub fn inspect(query: &str, operation_name: Option<&str>) -> DocumentFacts {
    let Ok(doc) = async_graphql::parser::parse_query(query) else {
        return DocumentFacts {
            operation: operation_name.unwrap_or("anonymous").to_owned(),
            aliases: 0,
            mutation: false,
        };
    };
    let mut spreads = 0;
    let mut aliases: usize = doc
        .fragments
        .values()
        .map(|f| count_aliases(&f.node.selection_set, &mut spreads))
        .sum();
    let operation = match (&doc.operations, operation_name) {
        (_, Some(name)) => name.to_owned(),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.keys().next().map(|k| k.to_string()).unwrap_or_default()
        }
        _ => "anonymous".to_owned(),
    };
    for (_, op) in doc.operations.iter() {
        aliases += count_aliases(&op.node.selection_set, &mut spreads);
    }
    // A fragment spread many times multiplies its aliases: count each use.
    let fragment_aliases: usize = doc
        .fragments
        .values()
        .map(|f| count_aliases(&f.node.selection_set, &mut 0))
        .max()
        .unwrap_or(0);
    aliases += spreads * fragment_aliases;
    let mut runs = doc
        .operations
        .iter()
        .filter(|(name, _)| operation_name.is_none() || name.map(|n| n.as_str()) == operation_name);
    let mutation = match (runs.next(), runs.next()) {
        (Some((_, op)), None) => op.node.ty == OperationType::Mutation,
        _ => false,
    };
    DocumentFacts {
        operation,
        aliases,
        mutation,
    }
}
