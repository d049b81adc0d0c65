//! Bulk CSV import (issue 16, item 1): the parsing foundation, pure and without database or
//! HTTP. A file's bytes are decoded ([`encoding`]: UTF-8 with or without BOM, or CP932),
//! its header row is matched to fields ([`columns`]: Japanese and English headers, a caller's
//! mapping, the My Number refused), and its rows are read into typed records ([`rows`]),
//! their cells checked as the equivalent mutation checks them ([`values`], with the dates of
//! [`date`]: 和暦 and 西暦). Every bad row is reported with its physical line, its column
//! and why, not only the first.
//!
//! The same modules serve export: [`encoding::encode_cp932`] reports every character CP932
//! cannot hold instead of replacing it, and [`encoding::encode_utf8_with_bom`] writes what
//! Excel opens as UTF-8.

use std::fmt;

pub mod cli;
pub mod columns;
pub mod date;
pub mod encoding;
pub mod mapping;
pub mod mutations;
pub mod persons;
pub mod records;
pub mod rows;
pub mod run;
pub mod values;

pub use columns::{map_headers, Columns, Field, Kind, Mapping};
pub use date::{parse_date, DateError, Era};
pub use encoding::{decode, encode_cp932, DecodeError, Decoded, Encoding, Unencodable};
pub use rows::{
    read_persons, read_persons_file, read_persons_lenient, read_rows, read_rows_lenient, PersonRow,
    ReadOptions, Row,
};
pub use run::{run, Options, Report};

/// One problem with an imported file: its physical line (1 is the header row), the column
/// (the header as written in the file, or the missing field's name; None for the whole row)
/// and why, in Japanese and English.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub column: Option<String>,
    pub reason: String,
}

impl RowError {
    pub fn new(line: u64, column: Option<String>, reason: impl Into<String>) -> RowError {
        RowError {
            line,
            column,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(column) => write!(
                f,
                "{line} 行目 / line {line} [{column}]: {}",
                self.reason,
                line = self.line
            ),
            None => write!(
                f,
                "{line} 行目 / line {line}: {}",
                self.reason,
                line = self.line
            ),
        }
    }
}
