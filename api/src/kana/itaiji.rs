//! 異体字 (variant kanji) common in Japanese names, each with the form [`super::name_key`]
//! folds it to. The usual form is the 常用漢字 / 人名用漢字 one that 住民基本台帳 practice
//! treats as the "通用字体"; the variants are the old (旧字体) and customary (俗字) forms
//! registries hold (髙, 﨑, 邊, 齋 …). A table for matching, not for display: a stored name
//! is always kept as written.
//!
//! Self-contained (std only): the migration that recomputes the stored keys compiles this
//! file too.

/// (usual form, its variants). A usual form is never a variant, so folding is idempotent.
/// 齋 / 齊 / 斉 all fold to 斎: 斉藤 and 斎藤 are different characters but the same surname
/// read the same way, and registries confuse them; matching broadly is what 名寄せ needs (a
/// person then confirms).
pub const TABLE: &[(char, &str)] = &[
    ('高', "髙"),
    ('崎', "﨑嵜碕"),
    ('辺', "邊邉"),
    ('斎', "齋齊斉"),
    ('浜', "濵濱"),
    ('徳', "德"),
    ('沢', "澤"),
    ('島', "嶋嶌"),
    ('桜', "櫻"),
    ('広', "廣"),
    ('国', "國"),
    ('恵', "惠"),
    ('栄', "榮"),
    ('竜', "龍"),
    ('真', "眞"),
    ('実', "實"),
    ('富', "冨"),
    ('吉', "𠮷"),
    ('柳', "栁"),
    ('桑', "桒"),
    ('館', "舘"),
    ('槙', "槇"),
    ('曽', "曾"),
    ('蔵', "藏"),
    ('関', "關"),
    ('瀬', "瀨"),
    ('礼', "禮"),
    ('亀', "龜"),
    ('黒', "黑"),
    ('野', "埜"),
    ('鶴', "靍靏"),
    ('渕', "淵渊"),
    ('剣', "劍劒"),
    ('円', "圓"),
    ('万', "萬"),
    ('与', "與"),
    ('豊', "豐"),
    ('寿', "壽"),
    ('来', "來"),
    ('条', "條"),
    ('峰', "峯"),
    ('鉄', "鐵"),
    ('衛', "衞"),
    ('楽', "樂"),
    ('変', "變"),
    ('嶺', "岺"),
    ('籠', "篭"),
    ('園', "薗"),
];

/// Code-point ranges of the CJK compatibility ideographs (most map to a unified ideograph
/// under NFKC; the twelve "unified" ones in the first block, 﨑 U+FA11 among them, do not).
pub const COMPAT_RANGES: [std::ops::RangeInclusive<u32>; 2] = [0xF900..=0xFAFF, 0x2F800..=0x2FA1F];

/// The usual form of a kanji, or the character itself.
pub fn canonical(c: char) -> char {
    if (c as u32) < 0x3400 {
        return c;
    }
    TABLE
        .iter()
        .find(|(_, variants)| variants.contains(c))
        .map(|(k, _)| *k)
        .unwrap_or(c)
}

/// The variants listed for the usual form `k` (none if `k` is not a usual form).
pub fn variants_of(k: char) -> impl Iterator<Item = char> {
    TABLE
        .iter()
        .filter(move |(usual, _)| *usual == k)
        .flat_map(|(_, variants)| variants.chars())
}
