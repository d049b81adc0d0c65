//! Date and time scalars. Input is taken as text and parsed by the resolver, so a malformed
//! value is a BAD_USER_INPUT that names the argument path (async-graphql's own chrono
//! scalars fail before the resolver runs, with no path).

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{NaiveDate, SecondsFormat, Utc};

use crate::error::{ApiError, ApiResult};

/// 日付 / a calendar date, `YYYY-MM-DD`
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Date(String);

#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(s) => Ok(Date(s)),
            other => Err(InputValueError::expected_type(other)),
        }
    }

    /// Text, checked before anything runs (so a number is refused with the argument path);
    /// its format is checked by the resolver.
    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(_))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

impl Date {
    /// The text, as it is sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The date, or BAD_USER_INPUT naming `field`.
    pub fn get(&self, field: &str) -> ApiResult<NaiveDate> {
        NaiveDate::parse_from_str(self.0.trim(), "%Y-%m-%d").map_err(|_| {
            ApiError::bad_input(
                field,
                format!(
                    "日付は YYYY-MM-DD で指定してください / not a valid date (YYYY-MM-DD): {:?}",
                    self.0
                ),
            )
        })
    }
}

impl From<NaiveDate> for Date {
    fn from(d: NaiveDate) -> Self {
        Date(d.format("%Y-%m-%d").to_string())
    }
}

/// 日時 / a point in time, RFC 3339 (e.g. `2026-10-01T09:00:00+09:00`); output in UTC
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct DateTime(String);

#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(s) => Ok(DateTime(s)),
            other => Err(InputValueError::expected_type(other)),
        }
    }

    /// Text, checked before anything runs (so a number is refused with the argument path);
    /// its format is checked by the resolver.
    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(_))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

impl DateTime {
    /// The text, as it is sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The instant in UTC, kept to the microsecond (what both databases store), or
    /// BAD_USER_INPUT naming `field`.
    pub fn get(&self, field: &str) -> ApiResult<chrono::DateTime<Utc>> {
        let parsed = chrono::DateTime::parse_from_rfc3339(self.0.trim()).map_err(|_| {
            ApiError::bad_input(
                field,
                format!(
                    "日時は RFC 3339 で指定してください / not a valid RFC 3339 date-time: {:?}",
                    self.0
                ),
            )
        })?;
        let utc = parsed.with_timezone(&Utc);
        Ok(chrono::DateTime::from_timestamp_micros(utc.timestamp_micros()).unwrap_or(utc))
    }
}

impl DateTime {
    /// Like [`DateTime::get`], and a date alone (`YYYY-MM-DD`) is accepted where the time of
    /// day does not matter (a consent's or a meeting's period): it means the start of that
    /// day in the city's calendar, 00:00 Asia/Tokyo (UTC+9, no daylight saving).
    pub fn get_or_date(&self, field: &str) -> ApiResult<chrono::DateTime<Utc>> {
        if let Ok(d) = NaiveDate::parse_from_str(self.0.trim(), "%Y-%m-%d") {
            let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
            return Ok(midnight.and_utc() - chrono::Duration::hours(9));
        }
        self.get(field).map_err(|_| {
            ApiError::bad_input(
                field,
                format!(
                    "日時 (RFC 3339) か日付 (YYYY-MM-DD、日本時間 0:00) で指定してください / not a valid RFC 3339 date-time or date (YYYY-MM-DD, meaning 00:00 Asia/Tokyo): {:?}",
                    self.0
                ),
            )
        })
    }
}

impl From<chrono::DateTime<Utc>> for DateTime {
    fn from(d: chrono::DateTime<Utc>) -> Self {
        DateTime(d.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}
