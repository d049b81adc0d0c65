//! A CSV file's bytes to text and back: UTF-8 (with or without BOM) and CP932, the
//! Shift_JIS that Windows and Excel write (NEC and IBM extensions included: ①, ㈱, 髙, 﨑).
//! `encoding_rs::SHIFT_JIS` is the WHATWG Shift_JIS, which is CP932.
//!
//! Nothing is ever replaced: a byte sequence that is not valid in the encoding is an error
//! naming its offset and line, and a character CP932 cannot hold is reported, with its
//! position, instead of becoming `?`.

use std::fmt;

use encoding_rs::{DecoderResult, EncoderResult, SHIFT_JIS};

/// The encoding of a file: stated by the caller (`--encoding`) or detected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Encoding {
    /// A UTF-8 BOM → UTF-8; otherwise valid UTF-8 → UTF-8; otherwise CP932.
    #[default]
    Auto,
    Utf8,
    Cp932,
}

impl Encoding {
    /// `auto`, `utf-8` / `utf8`, `cp932` / `shift_jis` / `sjis` / `windows-31j` (any case).
    pub fn parse(text: &str) -> Option<Encoding> {
        match text.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "auto" => Some(Encoding::Auto),
            "utf-8" | "utf8" => Some(Encoding::Utf8),
            "cp932" | "shift-jis" | "sjis" | "windows-31j" | "ms932" => Some(Encoding::Cp932),
            _ => None,
        }
    }

    /// `UTF-8`, `CP932 (Shift_JIS)` (`auto` before detection).
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Auto => "auto",
            Encoding::Utf8 => "UTF-8",
            Encoding::Cp932 => "CP932 (Shift_JIS)",
        }
    }
}

/// A decoded file: its text (without BOM), the encoding it was read as, and whether it
/// started with a UTF-8 BOM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    pub text: String,
    /// [`Encoding::Utf8`] or [`Encoding::Cp932`], never `Auto`.
    pub encoding: Encoding,
    pub bom: bool,
}

/// Why a file's bytes could not be read as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Bytes that are not valid in `encoding`, starting at byte `offset` (0-based) on
    /// physical line `line` (1-based).
    Malformed {
        encoding: Encoding,
        offset: usize,
        line: usize,
    },
    /// A UTF-16 BOM (Excel's "Unicode text"): not read.
    Utf16,
    /// CP932 was stated but the file starts with a UTF-8 BOM.
    BomContradicts,
}

impl DecodeError {
    /// The physical line the error is on (1 for the file-level errors).
    pub fn line(&self) -> usize {
        match self {
            DecodeError::Malformed { line, .. } => *line,
            DecodeError::Utf16 | DecodeError::BomContradicts => 1,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Malformed { encoding, offset, line } => write!(
                f,
                "{enc} として読めないバイトがあります ({line} 行目、先頭から {offset} バイト目) / bytes that are not valid {enc} at byte offset {offset} (line {line})",
                enc = encoding.name()
            ),
            DecodeError::Utf16 => write!(
                f,
                "UTF-16 のファイルは読めません。UTF-8 か CP932 (Shift_JIS) の CSV で保存してください / UTF-16 is not supported: save the file as UTF-8 or CP932 (Shift_JIS) CSV"
            ),
            DecodeError::BomContradicts => write!(
                f,
                "CP932 が指定されましたが、ファイルは UTF-8 (BOM 付き) です / CP932 was stated but the file starts with a UTF-8 BOM"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

fn line_of(bytes: &[u8], offset: usize) -> usize {
    // 0x0A is never a trail byte in CP932 (trail bytes are 0x40..=0xFC), nor in UTF-8.
    1 + bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// The file's text, read as `stated` (or detected, for [`Encoding::Auto`]).
pub fn decode(bytes: &[u8], stated: Encoding) -> Result<Decoded, DecodeError> {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(DecodeError::Utf16);
    }
    let bom = bytes.starts_with(UTF8_BOM);
    let encoding = match stated {
        Encoding::Auto if bom || std::str::from_utf8(bytes).is_ok() => Encoding::Utf8,
        Encoding::Auto => Encoding::Cp932,
        Encoding::Cp932 if bom => return Err(DecodeError::BomContradicts),
        other => other,
    };
    let text = match encoding {
        Encoding::Cp932 => decode_cp932(bytes)?,
        _ => {
            let body = if bom { &bytes[UTF8_BOM.len()..] } else { bytes };
            let skipped = bytes.len() - body.len();
            std::str::from_utf8(body)
                .map_err(|e| DecodeError::Malformed {
                    encoding: Encoding::Utf8,
                    offset: skipped + e.valid_up_to(),
                    line: line_of(bytes, skipped + e.valid_up_to()),
                })?
                .to_owned()
        }
    };
    Ok(Decoded {
        text,
        encoding,
        bom,
    })
}

fn decode_cp932(bytes: &[u8]) -> Result<String, DecodeError> {
    let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .unwrap_or(bytes.len().saturating_mul(3));
    let mut text = String::with_capacity(capacity);
    let mut read = 0;
    loop {
        let (result, n) =
            decoder.decode_to_string_without_replacement(&bytes[read..], &mut text, true);
        read += n;
        match result {
            DecoderResult::InputEmpty => return Ok(text),
            DecoderResult::OutputFull => text.reserve(bytes.len() - read + 16),
            DecoderResult::Malformed(bad, after) => {
                let offset = read - after as usize - bad as usize;
                return Err(DecodeError::Malformed {
                    encoding: Encoding::Cp932,
                    offset,
                    line: line_of(bytes, offset),
                });
            }
        }
    }
}

/// A character CP932 cannot hold: where it is in the text (byte `offset`, 1-based `line`
/// and `column` in characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unencodable {
    pub ch: char,
    pub offset: usize,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Unencodable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "「{ch}」(U+{code:04X}) は CP932 (Shift_JIS) で表せません ({line} 行 {col} 文字目) / {ch:?} (U+{code:04X}) cannot be written in CP932 (line {line}, column {col})",
            ch = self.ch,
            code = self.ch as u32,
            line = self.line,
            col = self.column
        )
    }
}

/// The text as CP932 bytes, or every character CP932 cannot hold (nothing is replaced).
pub fn encode_cp932(text: &str) -> Result<Vec<u8>, Vec<Unencodable>> {
    let mut encoder = SHIFT_JIS.new_encoder();
    let mut out = Vec::with_capacity(
        encoder
            .max_buffer_length_from_utf8_without_replacement(text.len())
            .unwrap_or(text.len().saturating_mul(2)),
    );
    let mut unencodable = Vec::new();
    let mut read = 0;
    loop {
        let (result, n) =
            encoder.encode_from_utf8_to_vec_without_replacement(&text[read..], &mut out, true);
        read += n;
        match result {
            EncoderResult::InputEmpty => break,
            EncoderResult::OutputFull => out.reserve(text.len() - read + 16),
            EncoderResult::Unmappable(ch) => {
                let offset = read - ch.len_utf8();
                let before = &text[..offset];
                let line_start = before.rfind('\n').map_or(0, |i| i + 1);
                unencodable.push(Unencodable {
                    ch,
                    offset,
                    line: 1 + before.matches('\n').count(),
                    column: 1 + before[line_start..].chars().count(),
                });
            }
        }
    }
    if unencodable.is_empty() {
        Ok(out)
    } else {
        Err(unencodable)
    }
}

/// The text as UTF-8 with a BOM, which is how Excel recognises a UTF-8 CSV.
pub fn encode_utf8_with_bom(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(UTF8_BOM.len() + text.len());
    out.extend_from_slice(UTF8_BOM);
    out.extend_from_slice(text.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CP932 bytes the brief names, each checked against encoding_rs both ways.
    const KNOWN: [(&str, &[u8]); 6] = [
        ("髙", b"\xFB\xFC"),
        ("﨑", b"\xFA\xB1"),
        ("①", b"\x87\x40"),
        ("㈱", b"\x87\x8A"),
        ("ｱｲｳ", b"\xB1\xB2\xB3"),
        ("橋", b"\x8B\xB4"),
    ];

    #[test]
    fn known_cp932_bytes_round_trip() {
        for (text, bytes) in KNOWN {
            let (decoded, _, had_errors) = SHIFT_JIS.decode(bytes);
            assert!(!had_errors, "{text}");
            assert_eq!(decoded, text);
            assert_eq!(encode_cp932(text).as_deref(), Ok(bytes), "{text}");
            let d = decode(bytes, Encoding::Cp932).unwrap();
            assert_eq!(d.text, text);
            // Detected: none of these byte strings is valid UTF-8.
            assert_eq!(
                decode(bytes, Encoding::Auto).unwrap().encoding,
                Encoding::Cp932
            );
        }
        let chars: Vec<char> = decode(b"\xFB\xFC\xFA\xB1\x87\x40\x87\x8A", Encoding::Auto)
            .unwrap()
            .text
            .chars()
            .collect();
        assert_eq!(chars, ['\u{9AD9}', '\u{FA11}', '\u{2460}', '\u{3231}']);
        // Half-width kana stay half-width here: widening is the columns' job.
        assert_eq!(
            decode(b"\xB6\xC0\xB6\xC5", Encoding::Auto).unwrap().text,
            "ｶﾀｶﾅ"
        );
    }

    #[test]
    fn utf8_with_and_without_bom() {
        let with = decode("\u{FEFF}髙橋,①".as_bytes(), Encoding::Auto).unwrap();
        assert_eq!(
            (with.text.as_str(), with.encoding, with.bom),
            ("髙橋,①", Encoding::Utf8, true)
        );
        let without = decode("髙橋,①".as_bytes(), Encoding::Auto).unwrap();
        assert_eq!((without.encoding, without.bom), (Encoding::Utf8, false));
        let stated = decode("\u{FEFF}a".as_bytes(), Encoding::Utf8).unwrap();
        assert_eq!(stated.text, "a");
        assert_eq!(
            encode_utf8_with_bom("a"),
            b"\xEF\xBB\xBFa".to_vec(),
            "Excel's BOM"
        );
        assert_eq!(
            decode(&encode_utf8_with_bom("髙"), Encoding::Auto)
                .unwrap()
                .text,
            "髙"
        );
    }

    #[test]
    fn malformed_bytes_name_offset_and_line() {
        // Stated UTF-8, a lone 0xFF on line 2.
        let e = decode(b"id,name\n1,\xFFx\n", Encoding::Utf8).unwrap_err();
        assert_eq!(
            e,
            DecodeError::Malformed {
                encoding: Encoding::Utf8,
                offset: 10,
                line: 2
            }
        );
        assert!(e.to_string().contains("2 行目") && e.to_string().contains("line 2"));
        // With a BOM, the offset still counts the file's bytes.
        let e = decode(b"\xEF\xBB\xBFa\n\xC3", Encoding::Auto).unwrap_err();
        assert_eq!(e.line(), 2);
        assert!(matches!(e, DecodeError::Malformed { offset: 5, .. }));
        // CP932: 0x81 0x20 is a lead byte without a valid trail byte, on line 3.
        let e = decode(b"a\nb\n\x81\x20", Encoding::Auto).unwrap_err();
        assert_eq!(
            e,
            DecodeError::Malformed {
                encoding: Encoding::Cp932,
                offset: 4,
                line: 3
            }
        );
        // A truncated lead byte at the end.
        let e = decode(b"\x8B\xB4\x8B", Encoding::Cp932).unwrap_err();
        assert!(
            matches!(e, DecodeError::Malformed { offset: 2, .. }),
            "{e:?}"
        );
        assert_eq!(
            decode(b"\xFF\xFEa\0", Encoding::Auto),
            Err(DecodeError::Utf16)
        );
        assert_eq!(
            decode(b"\xEF\xBB\xBFa", Encoding::Cp932),
            Err(DecodeError::BomContradicts)
        );
    }

    #[test]
    fn unencodable_characters_are_all_reported_with_positions() {
        // 𠮷 (U+20BB7) and 🙂 are outside CP932; 髙 and ① are inside.
        let errs = encode_cp932("髙①\n吉𠮷,🙂").unwrap_err();
        assert_eq!(
            errs,
            vec![
                Unencodable {
                    ch: '\u{20BB7}',
                    offset: 10,
                    line: 2,
                    column: 2
                },
                Unencodable {
                    ch: '🙂',
                    offset: 15,
                    line: 2,
                    column: 4
                },
            ]
        );
        assert!(errs[0].to_string().contains("U+20BB7"));
        assert_eq!(
            encode_cp932("髙橋,ｶﾀｶﾅ\r\n").unwrap(),
            b"\xFB\xFC\x8B\xB4,\xB6\xC0\xB6\xC5\r\n".to_vec()
        );
    }

    #[test]
    fn encoding_names() {
        assert_eq!(Encoding::parse("Shift_JIS"), Some(Encoding::Cp932));
        assert_eq!(Encoding::parse("UTF-8"), Some(Encoding::Utf8));
        assert_eq!(Encoding::parse("auto"), Some(Encoding::Auto));
        assert_eq!(Encoding::parse("latin1"), None);
    }
}
