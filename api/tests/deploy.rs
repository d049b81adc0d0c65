//! The operations files in deploy/ (issue 14 item 7): the systemd unit is valid and stops the
//! hub gently, and every variable the env example and the Containerfile name is a setting the
//! hub reads, so they cannot drift from the source.
//!
//! With `systemd-analyze` installed, the unit is also checked by systemd itself
//! (`systemd-analyze verify`) with ExecStart pointed at the binary this build made; without
//! it, the test says so and checks only what it parses.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The hub's shutdown grace period when TSUNAGI_SHUTDOWN_GRACE_SECS is not set (30 s).
const DEFAULT_GRACE_SECS: u64 = tsunagi_api::config::DEFAULT_SHUTDOWN_GRACE.as_secs();

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {relative}: {e}"))
}

/// A unit file's `[Section]` → key → values (a key may repeat). Comments and blank lines
/// are skipped; any other line must be a section header or `Key=Value`.
fn parse_unit(text: &str) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let mut sections: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        assert!(!line.ends_with('\\'), "line {}: no continuations", n + 1);
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.to_owned());
            sections.entry(name.to_owned()).or_default();
            continue;
        }
        let section = current
            .as_ref()
            .unwrap_or_else(|| panic!("line {}: {line:?} before any [Section]", n + 1));
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("line {}: {line:?} is not Key=Value", n + 1));
        let key = key.trim();
        assert!(
            !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric()),
            "line {}: {key:?} is not a unit key",
            n + 1
        );
        sections
            .get_mut(section)
            .expect("section")
            .entry(key.to_owned())
            .or_default()
            .push(value.trim().to_owned());
    }
    sections
}

/// A systemd time span in seconds: `45`, `45s`, `1min 30s`, `2min`.
fn seconds(span: &str) -> u64 {
    let mut total = 0;
    for part in span.split_whitespace() {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        let unit = &part[digits.len()..];
        let n: u64 = digits
            .parse()
            .unwrap_or_else(|_| panic!("time span {span:?}"));
        total += n * match unit {
            "" | "s" | "sec" => 1,
            "m" | "min" => 60,
            "h" | "hr" => 3600,
            _ => panic!("time span {span:?}: unit {unit:?}"),
        };
    }
    total
}

/// Every variable name in `text`: `NAME=` at the start of a line (commented out or not) and
/// every `TSUNAGI_*` word anywhere (prose included).
fn variable_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let body = line.trim_start_matches(|c: char| c == '#' || c.is_whitespace());
        if let Some((name, _)) = body.split_once('=') {
            if !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                names.insert(name.to_owned());
            }
        }
    }
    let is_name = |c: char| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_';
    let mut rest = text;
    while let Some(at) = rest.find("TSUNAGI_") {
        let word: String = rest[at..].chars().take_while(|c| is_name(*c)).collect();
        // A bare prefix ("TSUNAGI_*" in prose) is not a name.
        if word.len() > "TSUNAGI_".len() {
            names.insert(word.trim_end_matches('_').to_owned());
        }
        rest = &rest[at + "TSUNAGI_".len()..];
    }
    names
}

/// The configuration's source text: api/src/config.rs and everything under api/src/config/.
fn config_source() -> String {
    let mut text = read("api/src/config.rs");
    let dir = root().join("api/src/config");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for file in files
            .iter()
            .filter(|f| f.extension().is_some_and(|x| x == "rs"))
        {
            text.push_str(&std::fs::read_to_string(file).expect("config source"));
        }
    }
    text
}

/// Names in `text` that the configuration never reads (as a quoted name in its source).
fn unknown_names(text: &str) -> Vec<String> {
    let source = config_source();
    variable_names(text)
        .into_iter()
        .filter(|name| !source.contains(&format!("\"{name}\"")))
        .collect()
}

/// `NAME=value` lines that are in force (not commented out).
fn assignments(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("{l:?} is not NAME=value"));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// The grace period the env example configures (commented out or not), else the default.
fn grace_secs(env_example: &str) -> u64 {
    env_example
        .lines()
        .map(|l| l.trim_start_matches(|c: char| c == '#' || c.is_whitespace()))
        .filter_map(|l| l.strip_prefix("TSUNAGI_SHUTDOWN_GRACE_SECS="))
        .map(|v| v.trim().parse::<u64>().expect("a whole number of seconds"))
        .fold(DEFAULT_GRACE_SECS, u64::max)
}

fn one<'a>(section: &'a BTreeMap<String, Vec<String>>, key: &str) -> &'a str {
    match section.get(key).map(Vec::as_slice) {
        Some([v]) => v,
        other => panic!("[Service] {key}: expected one value, got {other:?}"),
    }
}

#[test]
fn the_systemd_unit_runs_serve_as_tsunagi_and_outlasts_the_grace_period() {
    let unit = parse_unit(&read("deploy/tsunagi.service"));
    for section in ["Unit", "Service", "Install"] {
        assert!(unit.contains_key(section), "no [{section}]");
    }
    let service = &unit["Service"];
    let exec = one(service, "ExecStart");
    let mut words = exec.split_whitespace();
    let program = words.next().expect("ExecStart program");
    assert!(
        program.starts_with('/') && program.ends_with("/tsunagi"),
        "{exec}"
    );
    assert_eq!(words.collect::<Vec<_>>(), ["serve"], "{exec}");
    assert_eq!(one(service, "User"), "tsunagi");
    assert_eq!(one(service, "EnvironmentFile"), "/etc/tsunagi/tsunagi.env");
    assert_eq!(one(service, "Environment"), "TSUNAGI_ENV=production");
    assert_eq!(one(service, "WorkingDirectory"), "/var/lib/tsunagi");
    assert_eq!(one(service, "StateDirectory"), "tsunagi");
    assert_eq!(one(service, "KillSignal"), "SIGTERM");
    assert_eq!(one(service, "Restart"), "on-failure");
    let stop = seconds(one(service, "TimeoutStopSec"));
    let grace = grace_secs(&read("deploy/tsunagi.env.example"));
    assert!(
        stop > grace,
        "TimeoutStopSec ({stop} s) must outlast the shutdown grace period ({grace} s), or systemd SIGKILLs the drain"
    );
    for (key, value) in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("CapabilityBoundingSet", ""),
    ] {
        assert_eq!(one(service, key), value, "[Service] {key}");
    }
    let unknown = unknown_names(&read("deploy/tsunagi.service"));
    assert!(
        unknown.is_empty(),
        "the unit names unknown settings: {unknown:?}"
    );
}

/// `systemd-analyze verify` prints problems (an unknown key, a value it cannot parse) as
/// warnings and may still exit 0: any line naming the unit fails the test.
fn systemd_verify(analyze: &Path, unit: &Path) -> Vec<String> {
    let out = Command::new(analyze)
        .arg("verify")
        .arg(unit)
        .output()
        .expect("run systemd-analyze");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut problems: Vec<String> = text
        .lines()
        .filter(|l| l.contains("tsunagi"))
        .map(str::to_owned)
        .collect();
    if !out.status.success() {
        problems.push(format!(
            "systemd-analyze verify exited {}: {text}",
            out.status
        ));
    }
    problems
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

#[test]
fn systemd_accepts_the_unit() {
    let Some(analyze) = on_path("systemd-analyze") else {
        println!("WARNING: systemd-analyze not installed: deploy/tsunagi.service checked by parsing only");
        return;
    };
    // systemd checks that ExecStart's program exists and is executable; the unit names the
    // installed path (/usr/local/bin/tsunagi), so verify a copy that runs this build's binary.
    let dir = std::env::temp_dir().join(format!("tsunagi-unit-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let text = read("deploy/tsunagi.service");
    let exec = text
        .lines()
        .find(|l| l.starts_with("ExecStart="))
        .expect("ExecStart");
    let args = exec
        .split_whitespace()
        .skip(1)
        .collect::<Vec<_>>()
        .join(" ");
    let copy = text.replace(
        exec,
        &format!("ExecStart={} {args}", env!("CARGO_BIN_EXE_tsunagi")),
    );
    let unit = dir.join("tsunagi.service");
    std::fs::write(&unit, &copy).expect("write unit");
    let problems = systemd_verify(&analyze, &unit);
    // The check can fail: the same unit with a key systemd cannot parse is reported.
    std::fs::write(&unit, format!("{copy}\n[Service]\nTimeoutStopSec=soon\n")).expect("write");
    let control = systemd_verify(&analyze, &unit);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        problems.is_empty(),
        "systemd-analyze verify deploy/tsunagi.service:\n{}",
        problems.join("\n")
    );
    assert!(
        !control.is_empty(),
        "systemd-analyze verify did not report a bad TimeoutStopSec: the check proves nothing"
    );
    println!("systemd-analyze verify: deploy/tsunagi.service ok");
}

#[test]
fn the_env_example_sets_production_and_names_only_real_settings() {
    let text = read("deploy/tsunagi.env.example");
    let unknown = unknown_names(&text);
    assert!(
        unknown.is_empty(),
        "deploy/tsunagi.env.example names variables the hub does not read (api/src/config): {unknown:?}"
    );
    let set = assignments(&text);
    assert_eq!(
        set.get("TSUNAGI_ENV").map(String::as_str),
        Some("production")
    );
    for name in ["DATABASE_URL", "TSUNAGI_LISTEN"] {
        assert!(set.contains_key(name), "{name} is not set");
    }
    assert!(
        set.get("DATABASE_URL")
            .is_some_and(|u| u.starts_with("postgres://")),
        "production runs on PostgreSQL"
    );
    assert!(
        set.contains_key("TSUNAGI_JWT_SIGNING_KEY_FILE")
            || set.contains_key("TSUNAGI_JWT_JWKS_FILE"),
        "a token key is configured"
    );
    for (name, value) in &set {
        assert!(
            !value.starts_with('"') && !value.starts_with('\''),
            "{name}: no quotes (docker --env-file keeps them)"
        );
    }
}

/// Every `NAME=value` of the env example, the commented-out ones too.
fn every_assignment(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(|l| l.trim_start_matches(|c: char| c == '#' || c.is_whitespace()))
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
        .collect()
}

/// The hub itself parses every setting of the env example (with the optional ones switched
/// on): no unknown `TSUNAGI_*` name, no value its parsers refuse. `schema` reads the settings
/// and exits without opening the database or the key files.
#[test]
fn the_hub_accepts_every_setting_of_the_env_example() {
    let settings = every_assignment(&read("deploy/tsunagi.env.example"));
    assert!(settings.len() >= 5, "{settings:?}");
    let out = Command::new(env!("CARGO_BIN_EXE_tsunagi"))
        .arg("schema")
        .env_clear()
        .envs(settings.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("run tsunagi");
    assert!(
        out.status.success(),
        "the hub refuses deploy/tsunagi.env.example: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_containerfile_builds_the_binary_and_runs_it_as_a_non_root_user() {
    let text = read("deploy/Containerfile");
    let unknown = unknown_names(&text);
    assert!(unknown.is_empty(), "unknown settings: {unknown:?}");
    let instructions: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .collect();
    let has = |prefix: &str| instructions.iter().any(|l| l.starts_with(prefix));
    assert_eq!(
        instructions
            .iter()
            .filter(|l| l.starts_with("FROM "))
            .count(),
        2,
        "a build stage and a runtime stage"
    );
    assert!(text.contains("cargo build --release --locked -p tsunagi-api --bin tsunagi"));
    assert!(has("FROM docker.io/library/debian:bookworm-slim"));
    assert!(has("EXPOSE 8080"));
    assert!(has("STOPSIGNAL SIGTERM"));
    assert!(text.contains("TSUNAGI_LISTEN=0.0.0.0:8080"));
    let user = instructions
        .iter()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("USER");
    assert!(
        !user.starts_with("root") && !user.starts_with('0'),
        "USER {user}"
    );
    // The runtime stage has no curl: a health check, if any, must not need it.
    let code = instructions.join("\n");
    if code.contains("HEALTHCHECK") {
        assert!(!code.contains("curl") && !code.contains("wget"), "{code}");
        assert!(code.contains("/healthz"), "{code}");
    }
}

#[test]
fn the_name_scan_sees_commented_and_prose_names() {
    let names = variable_names(
        "A=1\n#TSUNAGI_X_Y=2\n# raise TSUNAGI_SHUTDOWN_GRACE_SECS, not TSUNAGI_* in general\nlower=3\n",
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["A", "TSUNAGI_SHUTDOWN_GRACE_SECS", "TSUNAGI_X_Y"]
    );
    assert_eq!(seconds("1min 30s"), 90);
    assert_eq!(seconds("45"), 45);
    assert_eq!(grace_secs("#TSUNAGI_SHUTDOWN_GRACE_SECS=60\n"), 60);
}
