//! Dates as municipal exports write them, to [`NaiveDate`]:
//!
//! - 和暦 with the era in kanji: `昭和50年4月1日`, `令和元年5月1日` (元年 is year 1), also with
//!   the one-character ligatures ㍾ ㍽ ㍼ ㍻ ㋿;
//! - 和暦 with the era as a letter M/T/S/H/R (either case): `S50.4.1`, `R6/4/1`, `h31-4-30`,
//!   `R1年5月1日`;
//! - 西暦: `2024/4/1`, `2024-04-01`, `2024.4.1`, `2024年4月1日`, `20240401` (the year always
//!   with four digits).
//!
//! Full-width digits, letters and separators (`昭和５０年４月１日`, `Ｒ６／４／１`) and spaces
//! anywhere are accepted. Era boundaries are checked (平成31年4月30日 is the last day of 平成;
//! 平成31年5月1日 is refused and named as 令和元年5月1日), as are impossible dates (2月30日,
//! 13月). 明治 dates before 明治6年 (1873-01-01) are refused: Japan used the lunisolar
//! calendar until then, and its dates are not the Gregorian dates with the same numbers.

use std::fmt;

use chrono::{Datelike, NaiveDate};

/// A Japanese era (元号) of the modern calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Era {
    Meiji,
    Taisho,
    Showa,
    Heisei,
    Reiwa,
}

const ERAS: [Era; 5] = [Era::Meiji, Era::Taisho, Era::Showa, Era::Heisei, Era::Reiwa];

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

impl Era {
    pub fn kanji(self) -> &'static str {
        match self {
            Era::Meiji => "明治",
            Era::Taisho => "大正",
            Era::Showa => "昭和",
            Era::Heisei => "平成",
            Era::Reiwa => "令和",
        }
    }

    pub fn romaji(self) -> &'static str {
        match self {
            Era::Meiji => "Meiji",
            Era::Taisho => "Taisho",
            Era::Showa => "Showa",
            Era::Heisei => "Heisei",
            Era::Reiwa => "Reiwa",
        }
    }

    /// The Gregorian year of the era's first year (元年).
    fn first_year(self) -> i32 {
        match self {
            Era::Meiji => 1868,
            Era::Taisho => 1912,
            Era::Showa => 1926,
            Era::Heisei => 1989,
            Era::Reiwa => 2019,
        }
    }

    /// The era's first day (for 明治, the first day of the Gregorian calendar in Japan).
    pub fn first_day(self) -> NaiveDate {
        match self {
            Era::Meiji => ymd(1873, 1, 1),
            Era::Taisho => ymd(1912, 7, 30),
            Era::Showa => ymd(1926, 12, 25),
            Era::Heisei => ymd(1989, 1, 8),
            Era::Reiwa => ymd(2019, 5, 1),
        }
    }

    /// The era's last day; None for the current era.
    pub fn last_day(self) -> Option<NaiveDate> {
        let next = ERAS.iter().skip_while(|e| **e != self).nth(1)?;
        next.first_day().pred_opt()
    }

    /// The era a Gregorian date falls in (None before 1873).
    pub fn of(date: NaiveDate) -> Option<Era> {
        ERAS.iter().rev().copied().find(|e| e.first_day() <= date)
    }

    fn from_letter(c: char) -> Option<Era> {
        match c.to_ascii_uppercase() {
            'M' => Some(Era::Meiji),
            'T' => Some(Era::Taisho),
            'S' => Some(Era::Showa),
            'H' => Some(Era::Heisei),
            'R' => Some(Era::Reiwa),
            _ => None,
        }
    }
}

/// A date in 和暦, as people write it: 令和元年5月1日.
pub fn wareki(date: NaiveDate) -> Option<String> {
    let era = Era::of(date)?;
    let year = date.year() - era.first_year() + 1;
    let year = if year == 1 {
        "元".to_owned()
    } else {
        year.to_string()
    };
    Some(format!(
        "{}{year}年{}月{}日",
        era.kanji(),
        date.month(),
        date.day()
    ))
}

/// Why a date was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DateError {
    /// Nothing to read.
    Empty,
    /// Not one of the accepted forms.
    Form,
    /// 西暦 with a year that is not four digits (24/4/1 is ambiguous).
    ShortYear,
    /// An era year of 0.
    EraYearZero,
    /// A month outside 1..=12.
    Month(u32),
    /// A day the month does not have (2月30日, 4月31日).
    Day { year: i32, month: u32, day: u32 },
    /// A valid Gregorian date outside the stated era (平成31年5月1日).
    OutsideEra { era: Era, date: NaiveDate },
}

impl fmt::Display for DateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateError::Empty => write!(f, "日付が空です / the date is empty"),
            DateError::Form => write!(
                f,
                "日付として読めません (例: 昭和50年4月1日, S50.4.1, R6/4/1, 2024/4/1, 20240401) / not a date in an accepted form (e.g. 昭和50年4月1日, S50.4.1, R6/4/1, 2024/4/1, 20240401)"
            ),
            DateError::ShortYear => write!(
                f,
                "西暦は4桁で書いてください (和暦なら元号を付けてください) / a Western year needs four digits (or give the era for a Japanese year)"
            ),
            DateError::EraYearZero => write!(
                f,
                "元号の年は元年 (1年) から始まります / an era's years start at 1 (元年)"
            ),
            DateError::Month(m) => write!(
                f,
                "{m}月はありません (1〜12) / there is no month {m} (1-12)"
            ),
            DateError::Day { year, month, day } => {
                let last = days_in_month(*year, *month);
                write!(
                    f,
                    "存在しない日付です ({year}年{month}月は{last}日まで) / no such date: {year}-{month:02} has {last} days, not {day}"
                )
            }
            DateError::OutsideEra { era, date } => {
                let first = era.first_day();
                let range = match era.last_day() {
                    Some(last) => format!("{first} 〜 {last}"),
                    None => format!("{first} 〜"),
                };
                let actual = wareki(*date).unwrap_or_else(|| "明治6年より前".to_owned());
                write!(
                    f,
                    "{kanji}の期間外です ({kanji}は {range}。{date} は{actual}) / outside the {romaji} era ({range}); {date} is {actual}",
                    kanji = era.kanji(),
                    romaji = era.romaji(),
                )
            }
        }
    }
}

impl std::error::Error for DateError {}

fn days_in_month(year: i32, month: u32) -> u32 {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    next.and_then(|d| d.pred_opt()).map_or(31, |d| d.day())
}

/// Full-width ASCII to ASCII, other dashes and dots to ASCII; spaces dropped.
fn normalise(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '‐' | '‑' | '‒' | '–' | '—' | '―' | '−' | 'ー' => '-',
            '・' | '･' | '。' => '.',
            other => crate::graphql::validate::narrow_ascii(other),
        })
        .collect()
}

/// The era at the start of the text, and the rest.
fn take_era(text: &str) -> (Option<Era>, &str) {
    for era in ERAS {
        if let Some(rest) = text.strip_prefix(era.kanji()) {
            return (Some(era), rest);
        }
    }
    let mut chars = text.chars();
    let era = match chars.next() {
        Some('㍾') => Some(Era::Meiji),
        Some('㍽') => Some(Era::Taisho),
        Some('㍼') => Some(Era::Showa),
        Some('㍻') => Some(Era::Heisei),
        Some('㋿') => Some(Era::Reiwa),
        Some(c) => Era::from_letter(c),
        None => None,
    };
    match era {
        // A letter era is followed by a year (or 元).
        Some(era)
            if chars
                .as_str()
                .starts_with(|c: char| c.is_ascii_digit() || c == '元') =>
        {
            (Some(era), chars.as_str())
        }
        _ => (None, text),
    }
}

/// A run of ASCII digits at the start of the text (at most `max`), and the rest.
fn take_number(text: &str, max: usize) -> Option<(u32, usize, &str)> {
    let len = text.bytes().take_while(u8::is_ascii_digit).count();
    if len == 0 || len > max {
        return None;
    }
    Some((text[..len].parse().ok()?, len, &text[len..]))
}

/// Year, month and day as written, and whether the year had four digits.
fn numbers(text: &str, era: bool) -> Result<(u32, bool, u32, u32), DateError> {
    if !era && text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) {
        let n = |r: std::ops::Range<usize>| text[r].parse::<u32>().map_err(|_| DateError::Form);
        return Ok((n(0..4)?, true, n(4..6)?, n(6..8)?));
    }
    let (year, digits, rest) = match text.strip_prefix('元') {
        Some(rest) if era => (1, 1, rest),
        _ => take_number(text, 4).ok_or(DateError::Form)?,
    };
    let mut seps = rest.chars();
    let sep = seps.next().ok_or(DateError::Form)?;
    let (after_month, end) = match sep {
        '年' => ('月', Some('日')),
        '/' | '-' | '.' => (sep, None),
        _ => return Err(DateError::Form),
    };
    let (month, _, rest) = take_number(seps.as_str(), 2).ok_or(DateError::Form)?;
    let rest = rest.strip_prefix(after_month).ok_or(DateError::Form)?;
    let (day, _, rest) = take_number(rest, 2).ok_or(DateError::Form)?;
    let rest = match end {
        Some(end) => rest.strip_prefix(end).ok_or(DateError::Form)?,
        None => rest,
    };
    if !rest.is_empty() {
        return Err(DateError::Form);
    }
    Ok((year, digits == 4, month, day))
}

/// A date as municipal exports write it (see the module docs).
pub fn parse_date(text: &str) -> Result<NaiveDate, DateError> {
    let text = normalise(text);
    if text.is_empty() {
        return Err(DateError::Empty);
    }
    let (era, rest) = take_era(&text);
    let (year, four_digits, month, day) = numbers(rest, era.is_some())?;
    let year = match era {
        Some(_) if year == 0 => return Err(DateError::EraYearZero),
        Some(_) if year > 99 => return Err(DateError::Form),
        Some(era) => era.first_year() + year as i32 - 1,
        None if !four_digits => return Err(DateError::ShortYear),
        None => year as i32,
    };
    if !(1..=12).contains(&month) {
        return Err(DateError::Month(month));
    }
    let date =
        NaiveDate::from_ymd_opt(year, month, day).ok_or(DateError::Day { year, month, day })?;
    if let Some(era) = era {
        if date < era.first_day() || era.last_day().is_some_and(|last| date > last) {
            return Err(DateError::OutsideEra { era, date });
        }
    }
    Ok(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> NaiveDate {
        parse_date(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn wareki_forms() {
        let d = ymd(1975, 4, 1);
        for text in [
            "昭和50年4月1日",
            "昭和50年04月01日",
            "S50.4.1",
            "s50.4.1",
            "S50/04/01",
            "S50-4-1",
            "S50年4月1日",
            "昭和５０年４月１日",
            "Ｓ５０．４．１",
            " 昭和 50年 4月 1日 ",
            "㍼50年4月1日",
        ] {
            assert_eq!(ok(text), d, "{text}");
        }
        assert_eq!(ok("R6/4/1"), ymd(2024, 4, 1));
        assert_eq!(ok("Ｒ６／４／１"), ymd(2024, 4, 1));
        assert_eq!(ok("r6.4.1"), ymd(2024, 4, 1));
        assert_eq!(ok("令和元年5月1日"), ymd(2019, 5, 1));
        assert_eq!(ok("R1.5.1"), ymd(2019, 5, 1));
        assert_eq!(ok("R元.5.1"), ymd(2019, 5, 1));
        assert_eq!(ok("H31.4.30"), ymd(2019, 4, 30));
        assert_eq!(ok("平成31年4月30日"), ymd(2019, 4, 30));
        assert_eq!(ok("M45.7.29"), ymd(1912, 7, 29));
        assert_eq!(ok("T元.7.30"), ymd(1912, 7, 30));
    }

    #[test]
    fn seireki_forms() {
        let d = ymd(2024, 4, 1);
        for text in [
            "2024/4/1",
            "2024/04/01",
            "2024-04-01",
            "2024.4.1",
            "2024年4月1日",
            "20240401",
            "２０２４／４／１",
            "２０２４年４月１日",
            "２０２４０４０１",
            "2024－04－01",
        ] {
            assert_eq!(ok(text), d, "{text}");
        }
        assert_eq!(parse_date("24/4/1"), Err(DateError::ShortYear));
        assert_eq!(parse_date("024/4/1"), Err(DateError::ShortYear));
    }

    #[test]
    fn era_boundaries() {
        let valid = [
            ("明治45年7月29日", ymd(1912, 7, 29)),
            ("大正元年7月30日", ymd(1912, 7, 30)),
            ("大正15年12月24日", ymd(1926, 12, 24)),
            ("昭和元年12月25日", ymd(1926, 12, 25)),
            ("昭和64年1月7日", ymd(1989, 1, 7)),
            ("平成元年1月8日", ymd(1989, 1, 8)),
            ("平成31年4月30日", ymd(2019, 4, 30)),
            ("令和元年5月1日", ymd(2019, 5, 1)),
            ("明治6年1月1日", ymd(1873, 1, 1)),
        ];
        for (text, date) in valid {
            assert_eq!(ok(text), date, "{text}");
        }
        let invalid = [
            ("明治45年7月30日", Era::Meiji, ymd(1912, 7, 30)),
            ("大正元年7月29日", Era::Taisho, ymd(1912, 7, 29)),
            ("大正15年12月25日", Era::Taisho, ymd(1926, 12, 25)),
            ("昭和元年12月24日", Era::Showa, ymd(1926, 12, 24)),
            ("昭和64年1月8日", Era::Showa, ymd(1989, 1, 8)),
            ("平成元年1月7日", Era::Heisei, ymd(1989, 1, 7)),
            ("平成31年5月1日", Era::Heisei, ymd(2019, 5, 1)),
            ("H31.5.1", Era::Heisei, ymd(2019, 5, 1)),
            ("令和元年4月30日", Era::Reiwa, ymd(2019, 4, 30)),
            ("R1.4.30", Era::Reiwa, ymd(2019, 4, 30)),
            ("明治5年12月31日", Era::Meiji, ymd(1872, 12, 31)),
        ];
        for (text, era, date) in invalid {
            assert_eq!(
                parse_date(text),
                Err(DateError::OutsideEra { era, date }),
                "{text}"
            );
        }
        let message = parse_date("平成31年5月1日").unwrap_err().to_string();
        assert!(message.contains("令和元年5月1日"), "{message}");
        assert!(message.contains("Heisei"), "{message}");
        assert_eq!(Era::Heisei.last_day(), Some(ymd(2019, 4, 30)));
        assert_eq!(Era::Reiwa.last_day(), None);
        assert_eq!(wareki(ymd(1989, 1, 7)).as_deref(), Some("昭和64年1月7日"));
        assert_eq!(wareki(ymd(1989, 1, 8)).as_deref(), Some("平成元年1月8日"));
    }

    #[test]
    fn impossible_dates_have_reasons() {
        assert_eq!(
            parse_date("2023/2/29"),
            Err(DateError::Day {
                year: 2023,
                month: 2,
                day: 29
            })
        );
        assert_eq!(ok("2024/2/29"), ymd(2024, 2, 29));
        let e = parse_date("令和5年2月30日").unwrap_err();
        assert_eq!(
            e,
            DateError::Day {
                year: 2023,
                month: 2,
                day: 30
            }
        );
        assert!(e.to_string().contains("28日まで"), "{e}");
        assert_eq!(parse_date("2024/13/1"), Err(DateError::Month(13)));
        assert_eq!(parse_date("S50.13.1"), Err(DateError::Month(13)));
        assert_eq!(parse_date("2024/0/1"), Err(DateError::Month(0)));
        assert!(matches!(
            parse_date("2024/4/31"),
            Err(DateError::Day { day: 31, .. })
        ));
        assert!(matches!(
            parse_date("2024/4/0"),
            Err(DateError::Day { day: 0, .. })
        ));
        assert_eq!(parse_date("令和0年4月1日"), Err(DateError::EraYearZero));
        assert_eq!(parse_date(""), Err(DateError::Empty));
        assert_eq!(parse_date(" 　"), Err(DateError::Empty));
        for bad in [
            "昭和",
            "S50",
            "S50.4",
            "X50.4.1",
            "2024/4-1",
            "2024年4月1",
            "2024/4/1日",
            "2024/4/1 10:00",
            "202441",
            "元年4月1日",
            "S100.4.1",
            "tomorrow",
            "S.50.4.1",
            "2024/123/1",
        ] {
            let e = parse_date(bad).unwrap_err();
            assert!(
                matches!(e, DateError::Form | DateError::ShortYear),
                "{bad}: {e:?}"
            );
            assert!(e.to_string().contains(" / "), "bilingual: {e}");
        }
    }

    #[test]
    fn never_panics_on_odd_text() {
        for text in [
            "\u{0}",
            "元",
            "R",
            "r元",
            "令和元",
            "９９９９９９９９",
            "99999999",
            "2024/4/99999999999",
            "S99.99.99",
            "令和99999年1月1日",
            "ｓ５０．４．１",
            "ー",
        ] {
            let _ = parse_date(text);
        }
    }

    proptest::proptest! {
        #[test]
        fn parser_never_panics(text in "\\PC{0,30}") {
            let _ = parse_date(&text);
        }

        #[test]
        fn parser_never_panics_on_date_like_text(text in "[明治大正昭和平成令和元年月日MTSHRmtshr0-9０-９./\\-／．－ ]{0,20}") {
            let _ = parse_date(&text);
        }

        #[test]
        fn wareki_round_trips(days in 0i64..60_000) {
            let date = ymd(1873, 1, 1) + chrono::Days::new(days as u64);
            let text = wareki(date).unwrap();
            proptest::prop_assert_eq!(parse_date(&text), Ok(date), "{}", text);
        }
    }
}
