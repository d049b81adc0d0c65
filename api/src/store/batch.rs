//! One statement for rows of several tables: a UNION ALL of typed selects, each tagged with
//! a `kind`. Each table ([`Part`]) has a prefix; the parts that share a prefix share their
//! columns (slots by SQL type: the third text column of every part under `f_` is `f_text2`),
//! and parts under different prefixes have their own (so one branch can join several tables,
//! each under its own prefix). A branch fills the slots of the parts it reads and NULLs the
//! rest. A row is decoded into the part's entity through its active model (`try_set` per
//! column, then `try_into_model`), so a value that does not fit its column type fails the
//! request rather than being guessed at. Used where a request needs several kinds of rows
//! that depend only on ids it already has (a person's policy facts, a household with its
//! members, consultations with their issues), to save the round trips. Works the same on
//! SQLite and PostgreSQL: PostgreSQL resolves a UNION's column types branch by branch, so a
//! NULL is cast to its slot's type there.
//!
//! Why slots: the policy facts read nine tables in nine branches. With a column of its own
//! for every column of every table, each row carried about a hundred columns, nearly all
//! NULL, which PostgreSQL built and sent and the hub decoded for every row (at city scale,
//! 300 rows of 100 columns for one page of a person search; README §12). Sharing slots,
//! a row is as wide as the widest table.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ColumnType, ConnectionTrait, DbBackend, DbErr, EntityTrait,
    IdenStatic, Iterable, ModelTrait, QueryResult, Statement, TryIntoModel, Value,
};

/// The name of the column that tells a row's kind.
const KIND: &str = "k";

/// The SQL types a slot can have, in the order the layout lists them.
const TYPES: [&str; 10] = [
    "text",
    "smallint",
    "integer",
    "bigint",
    "boolean",
    "date",
    "timestamptz",
    "timestamp",
    "json",
    "jsonb",
];

/// One column of a [`Part`]: its name in the table, the SQL type a NULL stands in for it
/// as, and the slot it is read into (`{prefix}{type}{n}`).
struct Col {
    name: &'static str,
    ty: &'static str,
    slot: String,
}

/// The columns of one table in a [`Union`], each mapped to its slot under the part's prefix.
pub struct Part {
    prefix: &'static str,
    columns: Vec<Col>,
}

impl Part {
    /// Every column of entity `E`, under `prefix`. Parts that appear together in one branch
    /// need different prefixes; parts that never do may share one (and so share slots).
    pub fn of<E: EntityTrait>(prefix: &'static str) -> Result<Part, DbErr> {
        let mut seen = [0usize; TYPES.len()];
        let mut columns = Vec::new();
        for c in E::Column::iter() {
            let ty = sql_type(c.def().get_column_type())?;
            let t = type_index(ty);
            columns.push(Col {
                name: c.as_str(),
                ty,
                slot: format!("{prefix}{ty}{}", seen[t]),
            });
            seen[t] += 1;
        }
        Ok(Part { prefix, columns })
    }

    /// How many slots of each type this part fills.
    fn counts(&self) -> [usize; TYPES.len()] {
        let mut n = [0usize; TYPES.len()];
        for c in &self.columns {
            n[type_index(c.ty)] += 1;
        }
        n
    }

    /// This part of a row, as the entity's model.
    pub fn decode<M>(&self, row: &QueryResult) -> Result<M, DbErr>
    where
        M: ModelTrait,
        <M::Entity as EntityTrait>::ActiveModel: TryIntoModel<M>,
    {
        let mut am = <<M::Entity as EntityTrait>::ActiveModel as ActiveModelTrait>::default();
        let mut cols = <M::Entity as EntityTrait>::Column::iter();
        for col in &self.columns {
            let Some(c) = cols.find(|c| c.as_str() == col.name) else {
                return Err(DbErr::Custom(format!(
                    "store::batch: no column {} in the entity",
                    col.name
                )));
            };
            am.try_set(c, value(row, &col.slot, c.def().get_column_type())?)?;
        }
        am.try_into_model()
    }

    /// This part of a row from an outer join: None when the joined row is missing (its first
    /// column, a text key, is NULL).
    pub fn decode_joined<M>(&self, row: &QueryResult) -> Result<Option<M>, DbErr>
    where
        M: ModelTrait,
        <M::Entity as EntityTrait>::ActiveModel: TryIntoModel<M>,
    {
        let Some(first) = self.columns.first() else {
            return Ok(None);
        };
        match row.try_get::<Option<String>>("", &first.slot)? {
            None => Ok(None),
            Some(_) => self.decode(row).map(Some),
        }
    }
}

fn type_index(ty: &str) -> usize {
    TYPES.iter().position(|t| *t == ty).unwrap_or(0)
}

/// A slot's value as the column's type wants it.
fn value(row: &QueryResult, slot: &str, t: &ColumnType) -> Result<Value, DbErr> {
    Ok(match t {
        ColumnType::SmallInteger => row.try_get::<Option<i16>>("", slot)?.into(),
        ColumnType::Integer => row.try_get::<Option<i32>>("", slot)?.into(),
        ColumnType::BigInteger => row.try_get::<Option<i64>>("", slot)?.into(),
        ColumnType::Boolean => row.try_get::<Option<bool>>("", slot)?.into(),
        ColumnType::Date => row.try_get::<Option<chrono::NaiveDate>>("", slot)?.into(),
        ColumnType::TimestampWithTimeZone => row
            .try_get::<Option<chrono::DateTime<chrono::Utc>>>("", slot)?
            .into(),
        ColumnType::DateTime | ColumnType::Timestamp => row
            .try_get::<Option<chrono::NaiveDateTime>>("", slot)?
            .into(),
        ColumnType::Json | ColumnType::JsonBinary => {
            row.try_get::<Option<serde_json::Value>>("", slot)?.into()
        }
        _ => row.try_get::<Option<String>>("", slot)?.into(),
    })
}

/// The SQL type of a NULL standing in for a column of this type (PostgreSQL's names; the
/// hub's schema uses only these).
fn sql_type(t: &ColumnType) -> Result<&'static str, DbErr> {
    Ok(match t {
        ColumnType::Char(_) | ColumnType::String(_) | ColumnType::Text => "text",
        ColumnType::SmallInteger => "smallint",
        ColumnType::Integer => "integer",
        ColumnType::BigInteger => "bigint",
        ColumnType::Boolean => "boolean",
        ColumnType::Date => "date",
        ColumnType::TimestampWithTimeZone => "timestamptz",
        ColumnType::DateTime | ColumnType::Timestamp => "timestamp",
        ColumnType::Json => "json",
        ColumnType::JsonBinary => "jsonb",
        other => {
            return Err(DbErr::Custom(format!(
                "store::batch: no NULL type for column type {other:?}"
            )))
        }
    })
}

/// A statement being built: its column layout (the slots of every prefix), its branches
/// and their parameters (each bound to its numbered placeholder).
pub struct Union {
    backend: DbBackend,
    /// Every slot: (name, SQL type), under each prefix in the order the parts came.
    slots: Vec<(String, &'static str)>,
    branches: Vec<String>,
    values: Vec<Value>,
    /// The lists bound so far ([`Union::list`]) and their placeholders.
    lists: Vec<(Vec<String>, String)>,
    /// Common table expressions (`name AS (…)`), in order.
    ctes: Vec<String>,
    /// A branch that was built wrong (two of its parts in the same slot): the statement is
    /// refused rather than run.
    error: Option<String>,
}

impl Union {
    pub fn new(backend: DbBackend, parts: &[&Part]) -> Self {
        let mut prefixes: Vec<(&str, [usize; TYPES.len()])> = Vec::new();
        for part in parts {
            let n = part.counts();
            match prefixes.iter_mut().find(|(p, _)| *p == part.prefix) {
                Some((_, most)) => {
                    for (m, k) in most.iter_mut().zip(n) {
                        *m = (*m).max(k);
                    }
                }
                None => prefixes.push((part.prefix, n)),
            }
        }
        let mut slots = Vec::new();
        for (prefix, most) in prefixes {
            for (t, ty) in TYPES.iter().enumerate() {
                slots.extend((0..most[t]).map(|i| (format!("{prefix}{ty}{i}"), *ty)));
            }
        }
        Union {
            backend,
            slots,
            branches: Vec::new(),
            values: Vec::new(),
            lists: Vec::new(),
            ctes: Vec::new(),
            error: None,
        }
    }

    /// A placeholder for one parameter: numbered (`$n`, which SQLite takes as well), so the
    /// text may use placeholders in any order they were made.
    pub fn param(&mut self, v: impl Into<Value>) -> String {
        self.values.push(v.into());
        format!("${}", self.values.len())
    }

    /// A common table expression `name AS (sql)` for the statement (`sql`'s placeholders
    /// made by this union): something several branches read is computed once (PostgreSQL
    /// materialises a CTE read more than once) rather than once per branch.
    pub fn with(&mut self, name: &str, sql: &str) {
        self.ctes.push(format!("{name} AS ({sql})"));
    }

    /// A CTE `name(id)` holding these values (one JSON parameter, as [`Union::list`]), and
    /// the set to use after `IN`: `(SELECT id FROM name)`.
    pub fn id_set(&mut self, name: &str, vs: &[String]) -> String {
        let values = self.values(vs);
        self.with(name, &values);
        format!("(SELECT id FROM {name})")
    }

    /// This database's aggregate joining text values with `sep` (a character code).
    pub fn joined(&self, expr: &str, sep: u8) -> String {
        match self.backend {
            DbBackend::Postgres => format!("string_agg({expr}, chr({sep}))"),
            _ => format!("group_concat({expr}, char({sep}))"),
        }
    }

    /// This database's string concatenation of two text expressions around a separator
    /// character (a character code).
    pub fn concat(&self, a: &str, sep: u8, b: &str) -> String {
        match self.backend {
            DbBackend::Postgres => format!("{a} || chr({sep}) || {b}"),
            _ => format!("{a} || char({sep}) || {b}"),
        }
    }

    /// A parenthesised set of these values, for `IN`; never empty (an empty list matches
    /// nothing). The values travel as *one* parameter, a JSON array unnested by the database
    /// (`json_each` on SQLite, `jsonb_array_elements_text` on PostgreSQL), and the same list
    /// asked for again reuses that parameter: the statement's text is the same whatever the
    /// number of values, so the server parses and plans it once per connection (a
    /// placeholder per value made a new statement for every length, and a thousand persons'
    /// facts bound nine thousand parameters).
    pub fn list(&mut self, vs: &[String]) -> String {
        if vs.is_empty() {
            return "(NULL)".to_owned();
        }
        format!("({})", self.values(vs))
    }

    /// `SELECT … AS id` of these values, unnested from one JSON parameter (the same list
    /// bound once, however often it is asked for).
    fn values(&mut self, vs: &[String]) -> String {
        let p = match self.lists.iter().find(|(l, _)| l.as_slice() == vs) {
            Some((_, p)) => p.clone(),
            None => {
                let json = serde_json::to_string(vs).unwrap_or_default();
                let p = self.param(json);
                self.lists.push((vs.to_vec(), p.clone()));
                p
            }
        };
        match self.backend {
            DbBackend::Postgres => {
                format!("SELECT jsonb_array_elements_text(CAST({p} AS jsonb)) AS id")
            }
            _ => format!("SELECT value AS id FROM json_each({p})"),
        }
    }

    /// A branch: rows of `kind`, the given parts read from the given table aliases of
    /// `from` (the rest of the select: `FROM … WHERE …`, its placeholders made by this
    /// union), every other slot NULL. The parts must have different prefixes.
    pub fn branch(&mut self, kind: &str, sources: &[(&Part, &str)], from: &str) {
        let mut filled: std::collections::HashMap<&str, String> = std::collections::HashMap::new();
        for (part, alias) in sources {
            for c in &part.columns {
                let value = format!("{alias}.\"{}\"", c.name);
                if filled.insert(c.slot.as_str(), value).is_some() {
                    self.error = Some(format!(
                        "store::batch: two parts of {kind} share {}",
                        c.slot
                    ));
                }
            }
        }
        let mut cols = vec![format!("'{kind}' AS {KIND}")];
        for (slot, ty) in &self.slots {
            let value = match (filled.remove(slot.as_str()), self.backend) {
                (Some(v), _) => v,
                (None, DbBackend::Postgres) => format!("CAST(NULL AS {ty})"),
                (None, _) => "NULL".to_owned(),
            };
            cols.push(format!("{value} AS \"{slot}\""));
        }
        // A part that was not given to `new` has no slots: its columns would be dropped.
        if let Some(slot) = filled.keys().next() {
            self.error = Some(format!(
                "store::batch: {kind} reads {slot}, which is not in the union's layout"
            ));
        }
        self.branches
            .push(format!("SELECT {} {from}", cols.join(", ")));
    }

    /// Run the statement (nothing when no branch was added).
    pub async fn all<C: ConnectionTrait>(self, db: &C) -> Result<Vec<QueryResult>, DbErr> {
        if let Some(e) = self.error {
            return Err(DbErr::Custom(e));
        }
        if self.branches.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = self.branches.join(" UNION ALL ");
        if !self.ctes.is_empty() {
            sql = format!("WITH {} {sql}", self.ctes.join(", "));
        }
        db.query_all_raw(Statement::from_sql_and_values(
            self.backend,
            sql,
            self.values,
        ))
        .await
    }
}

/// The kind of a row of a [`Union`].
pub fn kind(row: &QueryResult) -> Result<String, DbErr> {
    row.try_get("", KIND)
}

#[cfg(test)]
mod tests {
    use super::*;
    use entity::{consent, consent_category, person};

    #[test]
    fn parts_under_one_prefix_share_slots_and_the_layout_is_the_widest() {
        let p = Part::of::<person::Entity>("f_").unwrap();
        let c = Part::of::<consent_category::Entity>("f_").unwrap();
        let u = Union::new(DbBackend::Postgres, &[&p, &c]);
        let texts = |part: &Part| part.columns.iter().filter(|c| c.ty == "text").count();
        let layout_texts = u.slots.iter().filter(|(_, t)| *t == "text").count();
        assert_eq!(layout_texts, texts(&p).max(texts(&c)));
        assert_eq!(
            u.slots.len(),
            p.columns.len(),
            "no wider than the widest part"
        );
        assert_eq!(c.columns[0].slot, "f_text0");
        assert_eq!(p.columns[0].slot, "f_text0");
    }

    #[test]
    fn a_branch_that_would_mix_two_parts_in_one_slot_or_drop_a_part_is_refused() {
        let p = Part::of::<person::Entity>("f_").unwrap();
        let c = Part::of::<consent::Entity>("f_").unwrap();
        let mut u = Union::new(DbBackend::Sqlite, &[&p, &c]);
        u.branch("p", &[(&p, "t")], "FROM person t");
        assert!(u.error.is_none());
        u.branch("pc", &[(&p, "t"), (&c, "c")], "FROM person t, consent c");
        assert!(
            u.error.as_deref().unwrap().contains("share"),
            "{:?}",
            u.error
        );

        let other = Part::of::<consent_category::Entity>("x_").unwrap();
        let mut u = Union::new(DbBackend::Sqlite, &[&p]);
        u.branch("x", &[(&other, "t")], "FROM consent_category t");
        assert!(
            u.error.as_deref().unwrap().contains("layout"),
            "{:?}",
            u.error
        );
    }
}
