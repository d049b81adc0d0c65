//! `--import-persons N`: the CSV import's speed (issue 16). Writes a persons file of N rows
//! as a municipal system exports it (CP932, CRLF, Japanese headers, 和暦 birth dates,
//! half-width kana readings, full-width digits in phone numbers and addresses), then runs
//! the real `tsunagi import` on the database three times, each a separate process, timed
//! from its start to its exit:
//!
//! 1. the file as it is: N persons created (and N ledger rows, N references);
//! 2. the same file again: nothing to write (every row found by its reference, unchanged);
//! 3. the file with every tenth row's address changed: N/10 updated.
//!
//! Each run must report what it should (the counts), or the benchmark fails.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context as _};
use serde_json::Value;

const FAMILY: [(&str, &str); 12] = [
    ("髙橋", "ﾀｶﾊｼ"),
    ("山﨑", "ﾔﾏｻﾞｷ"),
    ("佐藤", "ｻﾄｳ"),
    ("鈴木", "ｽｽﾞｷ"),
    ("渡邉", "ﾜﾀﾅﾍﾞ"),
    ("齋藤", "ｻｲﾄｳ"),
    ("伊藤", "ｲﾄｳ"),
    ("中村", "ﾅｶﾑﾗ"),
    ("小林", "ｺﾊﾞﾔｼ"),
    ("加藤", "ｶﾄｳ"),
    ("吉田", "ﾖｼﾀﾞ"),
    ("濵田", "ﾊﾏﾀﾞ"),
];
const GIVEN: [(&str, &str); 10] = [
    ("一郎", "ｲﾁﾛｳ"),
    ("花子", "ﾊﾅｺ"),
    ("次郎", "ｼﾞﾛｳ"),
    ("美咲", "ﾐｻｷ"),
    ("健太", "ｹﾝﾀ"),
    ("陽子", "ﾖｳｺ"),
    ("翔", "ｼｮｳ"),
    ("恵", "ﾒｸﾞﾐ"),
    ("誠", "ﾏｺﾄ"),
    ("由美", "ﾕﾐ"),
];

/// The persons file: row i is the same person on every call; `changed` changes the address of
/// every tenth row.
fn file(n: usize, changed: bool) -> String {
    let mut out = String::from("宛名番号,氏名,フリガナ,生年月日,性別,住所,電話番号,圏域\r\n");
    for i in 0..n {
        let (fam, fam_k) = FAMILY[i % FAMILY.len()];
        let (giv, giv_k) = GIVEN[(i / FAMILY.len()) % GIVEN.len()];
        // 昭和10年 (1935) to 平成20年 (2008), written as municipal exports do.
        let year = 1935 + (i * 7919) % 74;
        let (month, day) = (1 + i % 12, 1 + (i * 31) % 28);
        let born = match year {
            // 昭和 ended on 1989-01-07 (昭和64年), 平成 began on the 8th.
            y if y < 1989 || (y == 1989 && month == 1 && day < 8) => {
                format!("昭和{}年{}月{}日", y - 1925, month, day)
            }
            y => format!("H{}.{}.{}", y - 1988, month, day),
        };
        let sex = ["男", "女", "1", "2"][i % 4];
        let block = if changed && i % 10 == 0 { "２" } else { "１" };
        out.push_str(&format!(
            "T{i:07},{fam} {giv},{fam_k} {giv_k},{born},{sex},鶴岡市本町{block}丁目{}－{},０２３５－{:02}－{:04},{}圏域\r\n",
            1 + i % 9,
            1 + i % 30,
            i % 100,
            i % 10_000,
            ["中央", "北部", "南部", "東部", "西部"][i % 5],
        ));
    }
    out
}

fn cp932(text: &str) -> anyhow::Result<Vec<u8>> {
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    if unmappable {
        bail!("the generated file has a character CP932 cannot hold");
    }
    Ok(bytes.into_owned())
}

/// One `tsunagi import` run: its report and its wall time.
fn import(
    command: impl Fn() -> std::process::Command,
    path: &Path,
    agency: &str,
    account: &str,
) -> anyhow::Result<(Value, f64)> {
    let started = Instant::now();
    let out = command()
        .args([
            "import",
            "--agency",
            agency,
            "--account",
            account,
            "--kind",
            "persons",
        ])
        .arg(path)
        .output()
        .context("running `tsunagi import`")?;
    let secs = started.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!(
            "`tsunagi import` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok((serde_json::from_slice(&out.stdout)?, secs))
}

/// Run the three imports of `n` persons as `account` of `agency` and print their times.
pub fn run(
    command: impl Fn() -> std::process::Command,
    work: &Path,
    n: usize,
    agency: &str,
    account: &str,
) -> anyhow::Result<bool> {
    let first = work.join("persons.csv");
    let second = work.join("persons-changed.csv");
    std::fs::write(&first, cp932(&file(n, false))?)?;
    std::fs::write(&second, cp932(&file(n, true))?)?;
    let size = std::fs::metadata(&first)?.len();
    println!(
        "import of {n} persons (CP932, {:.1} MiB) as {account} of {agency}",
        size as f64 / 1048576.0
    );
    let mut ok = true;
    let runs = [
        ("first import", &first, [n, 0, 0]),
        ("same file again", &first, [0, 0, n]),
        (
            "every 10th address changed",
            &second,
            [0, n.div_ceil(10), n - n.div_ceil(10)],
        ),
    ];
    for (name, path, [created, updated, unchanged]) in runs {
        let (report, secs) = import(&command, path, agency, account)?;
        let got = [&report["created"], &report["updated"], &report["unchanged"]]
            .map(|v| v.as_u64().unwrap_or(u64::MAX) as usize);
        let expected = [created, updated, unchanged];
        let valid = got == expected && report["errors"].as_array().is_some_and(Vec::is_empty);
        ok &= valid;
        println!(
            "  {name:<28} {secs:>7.2} s  {:>9.0} rows/s  created {} updated {} unchanged {}{}",
            n as f64 / secs,
            got[0],
            got[1],
            got[2],
            if valid {
                String::new()
            } else {
                format!("  INVALID (expected created/updated/unchanged {expected:?})")
            }
        );
    }
    Ok(ok)
}
