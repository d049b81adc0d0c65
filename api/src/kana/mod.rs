//! Validation and normalisation of name readings (ふりがな) and the matching keys of 名寄せ.
//!
//! - [`normalize_kana`] turns user input (hiragana, katakana, half-width katakana) into the
//!   full-width katakana stored and displayed (保存・表示用の全角カタカナ), rejecting anything
//!   that is not kana; [`widen_half_width`] widens half-width katakana in running text.
//! - [`match_key`] derives the looser key of a reading used for 名寄せ (stored as
//!   `person.kana_key`, searched by `persons(kana:)` and `personMatches`), [`name_key`] the
//!   key of a name as written (NFKC and the 異体字 table [`itaiji`]), searched by
//!   `persons(name:)`.
//!
//! The files here use nothing outside std, `unicode-normalization` and each other: the
//! migration that recomputes stored keys (m20261208_000001_match_keys) compiles them too,
//! so the keys it writes are exactly those the API computes.

pub mod itaiji;
mod key;
mod reading;

pub use key::{match_key, name_key, spellings_of};
pub use reading::{normalize_kana, widen_half_width, KanaError};

#[cfg(test)]
mod key_tests;
#[cfg(test)]
mod tests;
