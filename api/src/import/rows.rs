//! A decoded CSV file's rows, read with the `csv` crate: the header row is matched to fields
//! ([`map_headers`]), then every data row is checked and either becomes a typed record or
//! adds its errors. All errors of all rows are reported; line numbers are the file's
//! physical lines (the header is line 1), counted by the `csv` crate, so a quoted field with
//! a line break in it does not shift the rows after it. Rows whose cells are all blank
//! (Excel's trailing `,,,`) are skipped.

use std::collections::HashMap;

use chrono::NaiveDate;
use csv::StringRecord;

use super::columns::{map_headers, Columns, Field, Kind, Mapping};
use super::encoding::{decode, Encoding};
use super::{values, RowError};
use crate::graphql::enums::Sex;

/// What a read needs besides the file: the caller's header mapping and today's date (a
/// birth date after it is refused).
#[derive(Clone, Debug)]
pub struct ReadOptions {
    pub mapping: Mapping,
    pub today: NaiveDate,
}

/// One data row: its physical line and its cells by field.
pub struct Row<'a> {
    pub line: u64,
    columns: &'a Columns,
    record: &'a StringRecord,
}

impl Row<'_> {
    /// The cell of `field`, trimmed and without the export's formula guard ([`unguard`]);
    /// None when the file has no column for it.
    pub fn get(&self, field: Field) -> Option<&str> {
        let i = self.columns.index_of(field)?;
        Some(unguard(self.record.get(i).unwrap_or("").trim()))
    }

    /// An error of this row in the column of `field`.
    pub fn error(&self, field: Field, reason: impl Into<String>) -> RowError {
        RowError::new(self.line, Some(self.columns.header_of(field)), reason)
    }
}

/// Characters a spreadsheet takes as the start of a formula (CSV injection, OWASP).
pub const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as written before the export's guard (`export::guard` writes `'=1+1` for
/// `=1+1`, so that Excel shows text instead of running a formula): the `'` removed when a
/// formula character follows it, anything else as it is.
pub fn unguard(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest.trim(),
        _ => cell,
    }
}

/// Physical lines of the file, counted forward as its records are read.
///
/// The `csv` crate's `Position::line` of a record is the count of line feeds when the
/// previous record ended: in a CRLF file (the `\n` of `\r\n` is consumed with the next
/// record) and after blank lines it is short. `Position::byte` is exact, so the line is
/// counted from it, past the line breaks the reader skipped before the record.
struct Lines<'a> {
    text: &'a [u8],
    offset: usize,
    line: u64,
}

impl Lines<'_> {
    fn of(&mut self, position: Option<&csv::Position>) -> u64 {
        let mut start = position.map_or(self.offset, |p| p.byte() as usize);
        start = start.clamp(self.offset, self.text.len());
        while self
            .text
            .get(start)
            .is_some_and(|b| matches!(b, b'\r' | b'\n'))
        {
            start += 1;
        }
        let passed = &self.text[self.offset..start];
        self.line += passed.iter().filter(|&&b| b == b'\n').count() as u64;
        self.offset = start;
        self.line
    }
}

/// Reads `text` as a CSV file of `kind`, calling `each` for every non-blank data row with
/// the place to add that row's errors. Header problems are returned alone (no row is read
/// then); otherwise the errors of every row, or the number of rows read.
pub fn read_rows(
    text: &str,
    kind: Kind,
    mapping: &Mapping,
    each: impl FnMut(Row<'_>, &mut Vec<RowError>),
) -> Result<usize, Vec<RowError>> {
    match read_rows_lenient(text, kind, mapping, each)? {
        (count, errors) if errors.is_empty() => Ok(count),
        (_, errors) => Err(errors),
    }
}

/// [`read_rows`] that goes on past bad rows: header problems are returned alone (no row can
/// be read), otherwise the number of rows read and the errors of the bad ones (for
/// `--skip-bad-rows`, which writes the good rows and reports the rest).
pub fn read_rows_lenient(
    text: &str,
    kind: Kind,
    mapping: &Mapping,
    mut each: impl FnMut(Row<'_>, &mut Vec<RowError>),
) -> Result<(usize, Vec<RowError>), Vec<RowError>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) if !h.iter().all(|c| c.trim().is_empty()) => h.clone(),
        Ok(_) => {
            return Err(vec![RowError::new(
                1,
                None,
                "見出し行がありません / the file has no header row",
            )])
        }
        Err(e) => {
            return Err(vec![RowError::new(
                e.position().map_or(1, |p| p.line()),
                None,
                format!("CSV として読めません / not CSV: {e}"),
            )])
        }
    };
    let header_cells: Vec<&str> = headers.iter().collect();
    let columns = map_headers(kind, &header_cells, mapping)?;
    let mut errors = Vec::new();
    let mut count = 0;
    let mut record = StringRecord::new();
    let mut lines = Lines {
        text: text.as_bytes(),
        offset: 0,
        line: 1,
    };
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                errors.push(RowError::new(
                    lines.of(e.position()),
                    None,
                    format!("CSV として読めません / not CSV: {e}"),
                ));
                continue;
            }
        }
        let line = lines.of(record.position());
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let extra = record
            .iter()
            .skip(headers.len())
            .any(|c| !c.trim().is_empty());
        if record.len() < headers.len() || extra {
            errors.push(RowError::new(
                line,
                None,
                format!(
                    "列の数が見出しと違います (見出し {} 列、この行 {} 列) / {} fields where the header has {}",
                    headers.len(),
                    record.len(),
                    record.len(),
                    headers.len()
                ),
            ));
            continue;
        }
        for &i in columns.blank() {
            if record.get(i).is_some_and(|c| !c.trim().is_empty()) {
                errors.push(RowError::new(
                    line,
                    Some(format!("{}列目", i + 1)),
                    "見出しのない列に値があります / a value in a column without a header",
                ));
            }
        }
        count += 1;
        each(
            Row {
                line,
                columns: &columns,
                record: &record,
            },
            &mut errors,
        );
    }
    Ok((count, errors))
}

/// A person as a row of a persons file describes them, every field as createPerson stores
/// it (the reading as full-width katakana, the phone as digits and '-').
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonRow {
    /// The row's physical line in the file.
    pub line: u64,
    /// The agency system's id (宛名番号), when the file has that column: the external
    /// reference a re-run finds the person by.
    pub external_id: Option<String>,
    pub family_name: String,
    pub given_name: String,
    pub family_name_kana: String,
    pub given_name_kana: String,
    pub birth_date: Option<NaiveDate>,
    /// UNKNOWN when the file has no 性別 column or the cell is blank.
    pub sex: Sex,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub district: Option<String>,
    /// Which optional columns the file has: a re-import changes only those (a file without
    /// an address column leaves the stored address as it is).
    pub has: Present,
}

/// The optional person columns a file has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Present {
    pub birth_date: bool,
    pub sex: bool,
    pub address: bool,
    pub phone: bool,
    pub district: bool,
}

/// The value of a checked cell, or (remembering the error) a placeholder: a row with any
/// error is never returned.
fn cell<T: Default>(
    row: &Row<'_>,
    errors: &mut Vec<RowError>,
    field: Field,
    check: impl FnOnce(&str) -> Result<T, String>,
) -> T {
    match row.get(field).map(check) {
        None => T::default(),
        Some(Ok(v)) => v,
        Some(Err(reason)) => {
            errors.push(row.error(field, reason));
            T::default()
        }
    }
}

/// The name (or reading) of a row: from its one-column form or its two parts.
fn split(
    row: &Row<'_>,
    errors: &mut Vec<RowError>,
    full: Field,
    both: fn(&str) -> Result<(String, String), String>,
    parts: [Field; 2],
    part: fn(&str) -> Result<String, String>,
) -> (String, String) {
    if row.get(full).is_some() {
        cell(row, errors, full, both)
    } else {
        (
            cell(row, errors, parts[0], part),
            cell(row, errors, parts[1], part),
        )
    }
}

fn person(row: &Row<'_>, errors: &mut Vec<RowError>, today: NaiveDate) -> Option<PersonRow> {
    let before = errors.len();
    let external_id = row
        .get(Field::ExternalId)
        .is_some()
        .then(|| cell(row, errors, Field::ExternalId, values::external_id));
    let (family_name, given_name) = split(
        row,
        errors,
        Field::FullName,
        values::full_name,
        [Field::FamilyName, Field::GivenName],
        values::name_part,
    );
    let (family_name_kana, given_name_kana) = split(
        row,
        errors,
        Field::FullNameKana,
        values::full_kana,
        [Field::FamilyNameKana, Field::GivenNameKana],
        values::kana_part,
    );
    let birth_date = cell(row, errors, Field::BirthDate, |v| {
        values::birth_date(v, today)
    });
    let sex = match row.get(Field::Sex) {
        None => Sex::Unknown,
        Some(v) => values::sex(v).unwrap_or_else(|reason| {
            errors.push(row.error(Field::Sex, reason));
            Sex::Unknown
        }),
    };
    let address = cell(row, errors, Field::Address, values::address);
    let phone = cell(row, errors, Field::Phone, values::phone);
    let district = cell(row, errors, Field::District, values::district);
    if let Some(categories) = row.get(Field::Withheld).filter(|c| !c.is_empty()) {
        errors.push(row.error(
            Field::Withheld,
            format!("書き出し時に非開示だった項目 ({categories}) は空欄ではなく「見せられない」の意味です。この行は取り込めません (見える元の機関のファイルで取り込んでください) / this row was exported with {categories} withheld: its empty cells mean \"not shown\", not blank, so it is not imported (import the holding agency's own file)"),
        ));
    }
    (errors.len() == before).then_some(PersonRow {
        line: row.line,
        external_id,
        family_name,
        given_name,
        family_name_kana,
        given_name_kana,
        birth_date,
        sex,
        address,
        phone,
        district,
        has: Present {
            birth_date: row.get(Field::BirthDate).is_some(),
            sex: row.get(Field::Sex).is_some(),
            address: row.get(Field::Address).is_some(),
            phone: row.get(Field::Phone).is_some(),
            district: row.get(Field::District).is_some(),
        },
    })
}

/// Every person of a decoded persons file, or every error of the file (header problems,
/// bad cells, repeated external ids); nothing is returned unless every row is good.
pub fn read_persons(text: &str, options: &ReadOptions) -> Result<Vec<PersonRow>, Vec<RowError>> {
    match read_persons_lenient(text, options)? {
        (persons, errors) if errors.is_empty() => Ok(persons),
        (_, errors) => Err(errors),
    }
}

/// The good persons of a decoded persons file and the errors of the bad rows (a row with
/// any error is not among the persons); header problems alone as the error.
pub fn read_persons_lenient(
    text: &str,
    options: &ReadOptions,
) -> Result<(Vec<PersonRow>, Vec<RowError>), Vec<RowError>> {
    let mut persons = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let (_, errors) = read_rows_lenient(text, Kind::Persons, &options.mapping, |row, errors| {
        let Some(p) = person(&row, errors, options.today) else {
            return;
        };
        if let Some(id) = &p.external_id {
            if let Some(first) = seen.get(id) {
                errors.push(row.error(
                    Field::ExternalId,
                    format!("{id} は {first} 行目と重複しています / {id} repeats line {first}"),
                ));
                return;
            }
            seen.insert(id.clone(), p.line);
        }
        persons.push(p);
    })?;
    Ok((persons, errors))
}

/// [`read_persons`] of a file's bytes, decoded as `encoding` (a decoding error is reported
/// as the error of its line).
pub fn read_persons_file(
    bytes: &[u8],
    encoding: Encoding,
    options: &ReadOptions,
) -> Result<Vec<PersonRow>, Vec<RowError>> {
    let decoded = decode(bytes, encoding)
        .map_err(|e| vec![RowError::new(e.line() as u64, None, e.to_string())])?;
    read_persons(&decoded.text, options)
}

#[cfg(test)]
#[path = "rows_tests.rs"]
mod tests;
