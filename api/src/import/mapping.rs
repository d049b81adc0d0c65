//! A caller's header mapping (`--mapping FILE`, the `mapping` part of `POST /import`): which
//! of the file's own headers holds which field, checked before the built-in headers.

use super::columns::{header_key, Field};
use super::RowError;

/// A caller's header mapping: header text → field, or ignored. Checked before the built-in
/// headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mapping {
    entries: Vec<(String, Option<Field>)>,
}

impl Mapping {
    /// The column headed `header` holds `field`.
    pub fn map(mut self, header: &str, field: Field) -> Mapping {
        self.entries.push((header_key(header), Some(field)));
        self
    }

    /// The column headed `header` is read past.
    pub fn ignore(mut self, header: &str) -> Mapping {
        self.entries.push((header_key(header), None));
        self
    }

    pub(super) fn lookup(&self, key: &str) -> Option<Option<Field>> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, f)| *f)
    }

    /// A mapping file: CSV lines `header,field` where field is an English field name
    /// (`family_name`) or `ignore` (also `-`, `無視`); lines starting with `#` and blank lines
    /// are skipped. Every bad line is reported (its physical line, and why).
    pub fn parse(text: &str) -> Result<Mapping, Vec<RowError>> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        let mut mapping = Mapping::default();
        let mut errors = Vec::new();
        for record in reader.records() {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    errors.push(RowError::new(
                        line,
                        None,
                        format!("CSV として読めません / not CSV: {e}"),
                    ));
                    continue;
                }
            };
            let line = record.position().map_or(0, |p| p.line());
            let cells: Vec<&str> = record.iter().map(str::trim).collect();
            match cells.as_slice() {
                [] | [""] => {}
                [header, target] if !header.is_empty() => match *target {
                    "ignore" | "-" | "無視" => mapping = mapping.ignore(header),
                    name => match Field::from_name(name) {
                        Some(field) => mapping = mapping.map(header, field),
                        None => errors.push(RowError::new(
                            line,
                            Some(header.to_string()),
                            format!("不明な項目名です: {name:?} / unknown field name {name:?}"),
                        )),
                    },
                },
                _ => errors.push(RowError::new(
                    line,
                    None,
                    "「見出し,項目名」の2列で書いてください / write two columns: header,field",
                )),
            }
        }
        if errors.is_empty() {
            Ok(mapping)
        } else {
            Err(errors)
        }
    }
}
