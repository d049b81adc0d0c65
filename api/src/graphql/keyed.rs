//! [`Keyed`]: the one mechanism by which a request reads rows once and in batches (a list
//! loads what its items need for the whole page in one query), [`Wants`] (what a list's
//! items ask for) and [`group`]. The rows themselves are in [`super::loaders`].

use std::collections::HashMap;
use std::sync::Mutex;

use async_graphql::{Context, Lookahead};

use crate::error::{ApiError, ApiResult};

/// Rows of one request keyed by the id they hang off (a household's members, a case's
/// plans), so that a list loads them for all its items in one query rather than one query
/// per item. Only rows: what is shown is still decided per field, exactly as without them.
pub struct Keyed<V> {
    rows: Mutex<HashMap<String, V>>,
    /// Held while rows are loaded, so that sibling resolvers running at once do not all miss
    /// and load the same keys.
    loading: tokio::sync::Mutex<()>,
}

impl<V> Default for Keyed<V> {
    fn default() -> Self {
        Keyed {
            rows: Mutex::new(HashMap::new()),
            loading: tokio::sync::Mutex::new(()),
        }
    }
}

impl<V: Clone + Default> Keyed<V> {
    /// The values for `keys`, after loading the keys not yet here with one call of `load`
    /// (given them sorted and deduplicated). A key `load` returns nothing for gets the
    /// default (no rows), so it is not asked for again.
    pub async fn get<F, Fut>(&self, keys: &[String], load: F) -> ApiResult<HashMap<String, V>>
    where
        F: FnOnce(Vec<String>) -> Fut,
        Fut: std::future::Future<Output = ApiResult<HashMap<String, V>>>,
    {
        let _loading = self.loading.lock().await;
        let missing: Vec<String> = {
            let rows = self.lock()?;
            let mut m: Vec<String> = keys
                .iter()
                .filter(|k| !rows.contains_key(*k))
                .cloned()
                .collect();
            m.sort();
            m.dedup();
            m
        };
        if !missing.is_empty() {
            let mut found = load(missing.clone()).await?;
            let mut rows = self.lock()?;
            for k in missing {
                let v = found.remove(&k).unwrap_or_default();
                rows.insert(k, v);
            }
        }
        let rows = self.lock()?;
        Ok(keys
            .iter()
            .filter_map(|k| rows.get(k).map(|v| (k.clone(), v.clone())))
            .collect())
    }

    /// Keep rows read along with others (in the same statement), for the keys not here yet:
    /// `keys` are those the read covered completely (a key among them without rows gets the
    /// default), `rows` what it found for them.
    pub fn seed(&self, keys: &[String], mut rows: HashMap<String, V>) -> ApiResult<()> {
        let mut here = self.lock()?;
        for k in keys {
            let v = rows.remove(k).unwrap_or_default();
            here.entry(k.clone()).or_insert(v);
        }
        Ok(())
    }

    /// Forget everything (after a write in this request changed these rows).
    pub fn forget(&self) -> ApiResult<()> {
        self.lock()?.clear();
        Ok(())
    }

    /// Forget one key (after a write in this request changed its rows).
    pub fn forget_key(&self, key: &str) -> ApiResult<()> {
        self.lock()?.remove(key);
        Ok(())
    }

    /// Which of `keys` are here already.
    /// The keys not loaded yet, sorted and without repeats.
    pub fn missing(&self, keys: &[String]) -> ApiResult<Vec<String>> {
        let rows = self.lock()?;
        let mut out: Vec<String> = keys
            .iter()
            .filter(|k| !rows.contains_key(*k))
            .cloned()
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn lock(&self) -> ApiResult<std::sync::MutexGuard<'_, HashMap<String, V>>> {
        self.rows
            .lock()
            .map_err(|_| ApiError::internal("cache", "poisoned"))
    }
}

/// Group rows by a key, keeping their order.
pub fn group<T>(rows: Vec<T>, key: impl Fn(&T) -> &str) -> HashMap<String, Vec<T>> {
    let mut out: HashMap<String, Vec<T>> = HashMap::new();
    for r in rows {
        out.entry(key(&r).to_owned()).or_default().push(r);
    }
    out
}

/// What the items of a list ask for: the selections under each item (the list field
/// itself, or a connection's `nodes` and `edges { node }`), to load rows for the page ahead.
pub struct Wants<'a>(Vec<Lookahead<'a>>);

impl<'a> Wants<'a> {
    /// Under each item of a plain list field.
    pub fn list(ctx: &'a Context<'_>) -> Self {
        Wants(vec![ctx.look_ahead()])
    }

    /// Under each node of a connection field.
    pub fn connection(ctx: &'a Context<'_>) -> Self {
        let l = ctx.look_ahead();
        Wants(vec![l.field("nodes"), l.field("edges").field("node")])
    }

    pub fn field(&self, name: &str) -> Wants<'a> {
        Wants(self.0.iter().map(|l| l.field(name)).collect())
    }

    pub fn exists(&self) -> bool {
        self.0.iter().any(Lookahead::exists)
    }
}
