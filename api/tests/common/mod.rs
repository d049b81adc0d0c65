//! Helpers for the tests that run the real `tsunagi` binary (cli.rs, crash.rs): a fresh
//! working directory, the binary with a clean environment, and a server process that can be
//! waited on and SIGKILLed.

// Each test file uses a different subset.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_tsunagi");

/// The JWT fixtures and test database names: the end-to-end tests' own file, not a copy.
#[path = "../../../tests/support/fixtures.rs"]
pub mod fixtures;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A new, empty directory under the system temp dir.
pub fn fresh_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The binary in `dir` with no inherited database URL and no inherited `TSUNAGI_*` setting
/// (the server refuses a `TSUNAGI_*` variable it does not know, and the test runner's own,
/// such as TSUNAGI_REPLICA_TEST, are not the server's), plus `env`.
pub fn command(dir: &Path, args: &[&str], env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(dir);
    cmd.env_remove("DATABASE_URL");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TSUNAGI_") {
            cmd.env_remove(name);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    cmd
}

/// Run the binary to completion in `dir` with no inherited database or secret settings.
pub fn tsunagi(dir: &Path, args: &[&str]) -> Output {
    tsunagi_with(dir, args, &[])
}

pub fn tsunagi_with(dir: &Path, args: &[&str], env: &[(String, String)]) -> Output {
    command(dir, args, env).output().expect("run tsunagi")
}

/// Owned copies of `(name, value)` pairs, for [`command`] and friends.
pub fn pairs(env: &[(&str, &str)]) -> Vec<(String, String)> {
    env.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

/// A running `tsunagi serve`; killed when dropped. Its stderr goes to `log`.
pub struct ServerProcess {
    child: Option<Child>,
    pub base: String,
    pub log: PathBuf,
}

impl ServerProcess {
    /// `tsunagi <args> --listen 127.0.0.1:<free port>` in `dir`.
    pub fn spawn(dir: &Path, args: &[&str], env: &[(String, String)]) -> ServerProcess {
        let listen = format!("127.0.0.1:{}", free_port());
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--listen", &listen]);
        let log = dir.join(format!("server-{}.log", uuid::Uuid::new_v4().simple()));
        let stderr = std::fs::File::create(&log).expect("server log");
        let child = command(dir, &all, env)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start server");
        ServerProcess {
            child: Some(child),
            base: format!("http://{listen}"),
            log,
        }
    }

    /// The process id (for signals other than SIGKILL).
    pub fn id(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Poll /readyz until it answers 200, for at most `bound`.
    pub async fn wait_ready(&self, client: &reqwest::Client, bound: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < bound {
            if let Ok(r) = client.get(self.url("/readyz")).send().await {
                if r.status().is_success() {
                    return true;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// Send SIGTERM (what systemd and Kubernetes send) and wait up to `bound` for the process
    /// to exit; its exit status, or None if it is still running (then it is killed).
    #[cfg(unix)]
    pub fn terminate(&mut self, bound: Duration) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(sent.success(), "kill -TERM failed");
        let start = Instant::now();
        while start.elapsed() < bound {
            if let Some(status) = child.try_wait().expect("wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// SIGKILL (no shutdown of any kind) and reap.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server's log so far, for a failure message.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Whether this run is CI (where PostgreSQL must be tested).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.trim().is_empty())
}

/// A fresh database on TEST_DATABASE_URL's PostgreSQL server: its URL and a guard that drops
/// it. None, with a warning naming `what`, when TEST_DATABASE_URL is unset (a failure in CI).
pub async fn scratch_postgres(what: &str) -> Option<(String, ScratchDb)> {
    use sea_orm::ConnectionTrait;
    let Some(admin_url) = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        assert!(
            !in_ci(),
            "CI is set but TEST_DATABASE_URL is not: PostgreSQL must be tested"
        );
        println!("WARNING: PostgreSQL NOT TESTED ({what}): set TEST_DATABASE_URL to test it.");
        return None;
    };
    let name = format!("tsunagi_scratch_{}", uuid::Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(admin_url.as_str())
        .await
        .expect("connect to TEST_DATABASE_URL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create database");
    admin.close().await.ok();
    let url = fixtures::with_database(&admin_url, &name);
    Some((url, ScratchDb { admin_url, name }))
}

/// A database made by [`scratch_postgres`]; [`ScratchDb::drop_now`] drops it.
pub struct ScratchDb {
    admin_url: String,
    name: String,
}

impl ScratchDb {
    pub async fn drop_now(self) {
        use sea_orm::ConnectionTrait;
        if let Ok(admin) = sea_orm::Database::connect(self.admin_url.as_str()).await {
            let _ = admin
                .execute_unprepared(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
                .await;
            admin.close().await.ok();
        }
    }
}
