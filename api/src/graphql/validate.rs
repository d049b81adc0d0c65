//! Text input checks shared by every resolver: trimmed, length-limited, no control
//! characters (line breaks and tabs allowed). Each failure is BAD_USER_INPUT naming `field`.

use crate::error::{ApiError, ApiResult};

fn check(field: &str, v: &str, max: usize) -> ApiResult<()> {
    if v.chars().count() > max {
        return Err(ApiError::bad_input(
            field,
            format!("{max} 文字以内 / at most {max} characters"),
        ));
    }
    if v.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ApiError::bad_input(
            field,
            "制御文字は使えません / control characters are not allowed",
        ));
    }
    Ok(())
}

/// A required text of at most `max` characters.
pub fn required(field: &str, value: &str, max: usize) -> ApiResult<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ApiError::bad_input(field, "必須です / required"));
    }
    check(field, v, max)?;
    Ok(v.to_owned())
}

/// An optional text; empty counts as absent.
pub fn optional(field: &str, value: Option<&String>, max: usize) -> ApiResult<Option<String>> {
    match value.map(|v| v.trim()) {
        None | Some("") => Ok(None),
        Some(v) => {
            check(field, v, max)?;
            Ok(Some(v.to_owned()))
        }
    }
}
