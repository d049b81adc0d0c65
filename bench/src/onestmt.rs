//! The one-statement bound (issue 12, item 6): for each read scenario a hand-written SQL
//! file (bench/sql/<scenario>.sql) that returns the same tree as the scenario's GraphQL in
//! ONE statement (`json_build_object` / `json_agg`), run with `pgbench -M prepared` at the
//! same concurrency over the same inputs the hub was asked for. Beside the statement replay
//! (rawsql.rs: the hub's own statements, one by one), it answers "how fast could this
//! database answer this question at all": no consent decisions, no ledger, no HTTP. The hub
//! divided by it is printed as "hub / one-statement".
//!
//! The files take psql-style parameters (`:'household_id'`, `:'kana'`, `:'login'`,
//! `:'agency_id'`), so a person can run them by hand (`psql -v household_id=... -f`); the
//! benchmark substitutes each request's values as quoted literals and gives pgbench one
//! script per request (at most 100).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use serde_json::Value;

use crate::rawsql::{parse_pgbench, Bound};

/// The SQL file of a read scenario (None for the writes, which have no such bound).
pub fn sql_for(scenario: &str) -> Option<&'static str> {
    match scenario {
        "household-overview" => Some(include_str!("../sql/household_overview.sql")),
        "person-search" => Some(include_str!("../sql/person_search.sql")),
        "consultation-list" => Some(include_str!("../sql/consultation_list.sql")),
        _ => None,
    }
}

/// A SQL string literal (standard_conforming_strings: only `'` is doubled).
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The first character of a kana prefix folded as the hub's match key folds it (small kana
/// to large, ヲ→オ, ヰ→イ, ヱ→エ, ヂ→ジ, ヅ→ズ, ヴ→ブ; hiragana to katakana), so the SQL's
/// `kana_key LIKE` finds what the hub's search finds for the same prefix.
pub fn match_key_prefix(kana: &str) -> String {
    kana.chars()
        .map(|c| {
            // Hiragana ぁ..ゖ → katakana.
            let c = if ('\u{3041}'..='\u{3096}').contains(&c) {
                char::from_u32(c as u32 + 0x60).unwrap_or(c)
            } else {
                c
            };
            match c {
                'ァ' => 'ア',
                'ィ' | 'ヰ' => 'イ',
                'ゥ' => 'ウ',
                'ェ' | 'ヱ' => 'エ',
                'ォ' | 'ヲ' => 'オ',
                'ッ' => 'ツ',
                'ャ' => 'ヤ',
                'ュ' => 'ユ',
                'ョ' => 'ヨ',
                'ヮ' => 'ワ',
                'ヵ' => 'カ',
                'ヶ' => 'ケ',
                'ヂ' => 'ジ',
                'ヅ' => 'ズ',
                'ヴ' => 'ブ',
                other => other,
            }
        })
        .filter(|c| !matches!(c, ' ' | '・'))
        .collect()
}

/// The parameters of one scenario request, from its GraphQL variables and the account it
/// runs as.
pub fn params(
    scenario: &str,
    variables: &Value,
    login: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let var = |k: &str| {
        variables[k]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("{scenario}: no variable {k} in {variables}"))
    };
    Ok(match scenario {
        "household-overview" => vec![("household_id".into(), var("id")?)],
        "person-search" => vec![
            ("login".into(), login.to_owned()),
            ("kana".into(), match_key_prefix(&var("kana")?)),
        ],
        "consultation-list" => vec![("agency_id".into(), var("agency")?)],
        other => bail!("no one-statement query for {other}"),
    })
}

/// The file with each `:'name'` replaced by its value as a literal; an unreplaced
/// parameter is an error (the file and the benchmark disagree).
pub fn substitute(sql: &str, params: &[(String, String)]) -> anyhow::Result<String> {
    let mut out = sql.to_owned();
    for (name, value) in params {
        out = out.replace(&format!(":'{name}'"), &literal(value));
    }
    // Comments may mention parameters; only the SQL must be complete.
    let code: String = out
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    if let Some(name) = first_parameter(&code) {
        bail!("the one-statement SQL needs a value for :'{name}'");
    }
    Ok(code + "\n")
}

/// The first `:'name'` (a psql-style parameter: letters, digits, `_`) left in `sql`.
fn first_parameter(sql: &str) -> Option<&str> {
    sql.match_indices(":'").find_map(|(i, _)| {
        let rest = &sql[i + 2..];
        let end = rest.find('\'')?;
        let name = &rest[..end];
        (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .then_some(name)
    })
}

/// Write one pgbench script per request and run them with `pgbench -M prepared`.
pub fn run_pgbench(
    db: &str,
    work: &Path,
    name: &str,
    requests: &[Vec<(String, String)>],
    concurrency: usize,
    duration: std::time::Duration,
) -> anyhow::Result<Bound> {
    let sql = sql_for(name).with_context(|| format!("no one-statement SQL for {name}"))?;
    if requests.is_empty() {
        bail!("{name}: no requests to run as one statement");
    }
    let requests = &requests[..requests.len().min(100)];
    let dir = work.join(format!("onestmt-{name}"));
    std::fs::create_dir_all(&dir)?;
    let mut files: Vec<PathBuf> = Vec::new();
    for (i, p) in requests.iter().enumerate() {
        let f = dir.join(format!("{i:03}.sql"));
        std::fs::write(&f, substitute(sql, p)?)?;
        files.push(f);
    }
    let mut cmd = std::process::Command::new("pgbench");
    cmd.env("PGOPTIONS", crate::rawsql::SESSION_OPTIONS)
        .args(["-n", "-M", "prepared", "-c", &concurrency.to_string()])
        .args(["-j", &concurrency.min(4).to_string()])
        .args(["-T", &duration.as_secs().max(1).to_string()]);
    for f in &files {
        cmd.arg("-f").arg(f);
    }
    cmd.arg(db);
    let out = cmd.output().context("running pgbench")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        bail!("pgbench (one-statement {name}) failed: {text}");
    }
    let (tps, failed) =
        parse_pgbench(&text).with_context(|| format!("no tps in pgbench output: {text}"))?;
    Ok(Bound {
        tps,
        failed,
        statements_per_request: 1.0,
    })
}

/// Whether a one-statement answer holds what the scenario's check needs (the same pointer
/// the GraphQL answer must have).
pub fn answers_something(scenario: &str, answer: &Value) -> bool {
    let pointer = match scenario {
        "household-overview" => "/household/id",
        "person-search" => "/persons/nodes/0/id",
        "consultation-list" => "/consultations/nodes/0/id",
        _ => return false,
    };
    answer.pointer(pointer).is_some_and(|v| !v.is_null())
}

/// Run one request's statement once with psql and return its JSON (to check that the file
/// answers something before timing it).
pub fn run_once(db: &str, name: &str, params: &[(String, String)]) -> anyhow::Result<Value> {
    let sql = substitute(sql_for(name).context("no SQL")?, params)?;
    let out = std::process::Command::new("psql")
        .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", db, "-c", &sql])
        .output()
        .context("running psql")?;
    if !out.status.success() {
        bail!(
            "one-statement {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).context("one-statement answer is not JSON")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_read_scenario_has_a_file_and_its_parameters_fill_it() {
        for (name, vars) in [
            ("household-overview", json!({"id": "h-1"})),
            ("person-search", json!({"kana": "ヂ"})),
            ("consultation-list", json!({"agency": "a'1"})),
        ] {
            let p = params(name, &vars, "cw1").unwrap();
            let sql = substitute(sql_for(name).unwrap(), &p).unwrap();
            assert_eq!(first_parameter(&sql), None, "{name}");
            assert!(sql.trim_end().ends_with(';'), "{name}");
        }
        let p = params("person-search", &json!({"kana": "ヂ"}), "cw1").unwrap();
        assert_eq!(p[1].1, "ジ");
        assert!(sql_for("grant-consent").is_none());
    }

    #[test]
    fn values_become_literals_and_a_missing_one_is_an_error() {
        let sql = "SELECT 1 WHERE x = :'a' AND 'AGENCY:' || y = :'b';";
        let done = substitute(
            sql,
            &[("a".into(), "it's".into()), ("b".into(), "z".into())],
        )
        .unwrap();
        assert_eq!(
            done,
            "SELECT 1 WHERE x = 'it''s' AND 'AGENCY:' || y = 'z';\n"
        );
        assert!(substitute(sql, &[("a".into(), "v".into())]).is_err());
    }

    #[test]
    fn kana_prefixes_fold_like_the_match_key() {
        assert_eq!(match_key_prefix("ぢ"), "ジ");
        assert_eq!(match_key_prefix("ァ"), "ア");
        assert_eq!(match_key_prefix("サ"), "サ");
        assert_eq!(match_key_prefix("ヴ"), "ブ");
    }
}
