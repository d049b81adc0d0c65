//! One statement for rows of several tables: a UNION ALL of typed selects, each tagged with
//! a `kind`, over one column layout in which every table ([`Part`]) has its own columns
//! under its own prefix (NULL in the rows of the other kinds). A row is decoded by sea-orm's
//! own entity decoding (`Model::from_query_result` with the part's prefix), so a row whose
//! text does not fit its column type fails the request rather than being guessed at. Used
//! where a request needs several kinds of rows that depend only on ids it already has (a
//! person's policy facts, a household with its members, consultations with their issues),
//! to save the round trips. Works the same on SQLite and PostgreSQL: PostgreSQL resolves a
//! UNION's column types branch by branch, so a NULL is cast to its column's type there.

use sea_orm::{
    ColumnTrait, ColumnType, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult,
    IdenStatic, Iterable, QueryResult, Statement, Value,
};

/// The name of the column that tells a row's kind.
const KIND: &str = "k";

/// The columns of one table in a [`Union`]: each column's name, and the SQL type a NULL
/// stands in for it as.
pub struct Part {
    prefix: &'static str,
    columns: Vec<(&'static str, &'static str)>,
}

impl Part {
    /// Every column of entity `E`, under `prefix` (which must be unique within a union).
    pub fn of<E: EntityTrait>(prefix: &'static str) -> Result<Part, DbErr> {
        let columns = E::Column::iter()
            .map(|c| Ok((c.as_str(), sql_type(c.def().get_column_type())?)))
            .collect::<Result<_, DbErr>>()?;
        Ok(Part { prefix, columns })
    }

    /// This part of a row, as the entity's model.
    pub fn decode<M: FromQueryResult>(&self, row: &QueryResult) -> Result<M, DbErr> {
        M::from_query_result(row, self.prefix)
    }

    /// This part of a row from an outer join: None when the joined row is missing (its first
    /// column, a text key, is NULL).
    pub fn decode_joined<M: FromQueryResult>(&self, row: &QueryResult) -> Result<Option<M>, DbErr> {
        let Some((first, _)) = self.columns.first() else {
            return Ok(None);
        };
        match row.try_get::<Option<String>>(self.prefix, first)? {
            None => Ok(None),
            Some(_) => self.decode(row).map(Some),
        }
    }
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

/// A statement being built: the parts in its column layout, its branches and their
/// parameters (each bound to its numbered placeholder).
pub struct Union<'p> {
    backend: DbBackend,
    parts: Vec<&'p Part>,
    branches: Vec<String>,
    values: Vec<Value>,
}

impl<'p> Union<'p> {
    pub fn new(backend: DbBackend, parts: &[&'p Part]) -> Self {
        Union {
            backend,
            parts: parts.to_vec(),
            branches: Vec::new(),
            values: Vec::new(),
        }
    }

    /// A placeholder for one parameter: numbered (`$n`, which SQLite takes as well), so the
    /// text may use placeholders in any order they were made.
    pub fn param(&mut self, v: impl Into<Value>) -> String {
        self.values.push(v.into());
        format!("${}", self.values.len())
    }

    /// A parenthesised list of placeholders for these values, for `IN`; never empty (an
    /// empty list matches nothing).
    pub fn list(&mut self, vs: &[String]) -> String {
        if vs.is_empty() {
            return "(NULL)".to_owned();
        }
        let ps: Vec<String> = vs.iter().map(|v| self.param(v.clone())).collect();
        format!("({})", ps.join(", "))
    }

    /// A branch: rows of `kind`, the given parts read from the given table aliases of
    /// `from` (the rest of the select: `FROM … WHERE …`, its placeholders made by this
    /// union), every other part NULL.
    pub fn branch(&mut self, kind: &str, sources: &[(&Part, &str)], from: &str) {
        let mut cols = vec![format!("'{kind}' AS {KIND}")];
        for part in &self.parts {
            let source = sources
                .iter()
                .find(|(p, _)| p.prefix == part.prefix)
                .map(|(_, alias)| *alias);
            for (name, ty) in &part.columns {
                let value = match (source, self.backend) {
                    (Some(alias), _) => format!("{alias}.\"{name}\""),
                    (None, DbBackend::Postgres) => format!("CAST(NULL AS {ty})"),
                    (None, _) => "NULL".to_owned(),
                };
                cols.push(format!("{value} AS \"{}{name}\"", part.prefix));
            }
        }
        self.branches
            .push(format!("SELECT {} {from}", cols.join(", ")));
    }

    /// Run the statement (nothing when no branch was added).
    pub async fn all<C: ConnectionTrait>(self, db: &C) -> Result<Vec<QueryResult>, DbErr> {
        if self.branches.is_empty() {
            return Ok(Vec::new());
        }
        let sql = self.branches.join(" UNION ALL ");
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
