//! Headless Chromium through chromedriver (fantoccini), with the network blocked: every host
//! name fails to resolve and every proxied request goes to a closed port, so only the hub on
//! 127.0.0.1 can answer. A page that needed anything from another origin would break here.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

pub const TAB: &str = "\u{E004}";
pub const ENTER: &str = "\u{E007}";
pub const SPACE: &str = " ";
pub const RIGHT: &str = "\u{E014}";

/// A chromedriver process; killed when dropped.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Driver {
    pub fn start(binary: &Path) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

pub struct Browser {
    pub client: Client,
    pub base: String,
    pub shots: PathBuf,
    pub label: &'static str,
}

impl Browser {
    pub async fn open_at(driver: &str, base: &str, label: &'static str) -> Browser {
        let profile = std::env::temp_dir().join(format!("tsunagi-chrome-{}", uuid::Uuid::new_v4()));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-quic", "--window-size=1366,768",
                    "--lang=ja-JP",
                    format!("--user-data-dir={}", profile.display()),
                    // The closed network: no name resolves; anything proxied meets a closed port.
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                    "--proxy-server=http://127.0.0.1:9",
                ]
            }),
        );
        let mut last = None;
        // chromedriver takes a moment to listen.
        for _ in 0..50 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(driver)
                .await
            {
                Ok(client) => {
                    let shots =
                        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/console-screenshots");
                    std::fs::create_dir_all(&shots).expect("screenshot folder");
                    return Browser {
                        client,
                        base: base.to_owned(),
                        shots,
                        label,
                    };
                }
                Err(e) => last = Some(e.to_string()),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("no WebDriver session: {last:?}");
    }

    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{}", self.base, path))
            .await
            .unwrap_or_else(|e| panic!("goto {path}: {e}"));
    }

    /// Waits up to 15 s for an element matching `css`.
    pub async fn wait(&self, css: &str) -> fantoccini::elements::Element {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                return e;
            }
            if Instant::now() > deadline {
                let body = self.text("body").await;
                panic!(
                    "[{}] no element {css} within 15 s; the page says: {body}",
                    self.label
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `script` (a JS expression) is true; an expression that throws (an element
    /// not there yet) counts as not yet.
    pub async fn until(&self, what: &str, script: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            // A page drawn again from the API's answer may lack the element for a moment.
            let v = self
                .js(&format!(
                    "try {{ return !!({script}); }} catch (e) {{ return false; }}"
                ))
                .await;
            if v == json!(true) {
                return;
            }
            if Instant::now() > deadline {
                let body = self.text("body").await;
                panic!(
                    "[{}] {what}: not within 15 s; the page says: {body}",
                    self.label
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}"))
    }

    pub async fn text(&self, css: &str) -> String {
        match self.client.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    pub async fn click(&self, css: &str) {
        self.wait(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let e = self.wait(css).await;
        e.clear().await.ok();
        e.send_keys(value)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Keys to whatever has focus, as a keyboard user presses them.
    /// Presses and releases each key in turn (WebDriver key actions: they go to whatever has
    /// focus, as a keyboard user's would).
    pub async fn keys(&self, keys: &str) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let mut actions = KeyActions::new("keyboard".to_owned());
        for c in keys.chars() {
            actions = actions
                .then(KeyAction::Down { value: c })
                .then(KeyAction::Up { value: c });
        }
        self.client.perform_actions(actions).await.expect("keys");
    }

    /// The focused element's id (empty when it has none).
    pub async fn focused(&self) -> String {
        self.js("return document.activeElement ? document.activeElement.id : '';")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let path = self.shots.join(format!("{}-{name}.png", self.label));
        std::fs::write(&path, png).expect("write screenshot");
    }

    /// Every resource this page loaded from an origin other than the hub's, and every
    /// Content-Security-Policy violation it reported (csp-watch.js).
    pub async fn foreign_and_blocked(&self) -> (Vec<String>, Vec<String>) {
        let v = self
            .js("return [performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith(location.origin + '/') && !n.startsWith('data:') && !n.startsWith('blob:')), window.tsunagiCspViolations || ['csp-watch.js did not run']];")
            .await;
        let list = |x: &Value| -> Vec<String> {
            x.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        (list(&v[0]), list(&v[1]))
    }

    /// axe-core (vendored in tests/fixtures/axe) on the current page, WCAG 2.x A and AA rules:
    /// the serious and critical violations, each with the elements at fault.
    pub async fn axe(&self) -> Vec<String> {
        static AXE: &str = include_str!("../fixtures/axe/axe.min.js");
        self.client
            .execute(&format!("{AXE}\nreturn true;"), vec![])
            .await
            .expect("inject axe-core");
        let v = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })
                   .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
                   .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .expect("run axe-core");
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Signs in to the console with a token pasted into the form, as an admin would.
    pub async fn sign_in(&self, token: &str) {
        self.goto("/admin").await;
        self.js("sessionStorage.clear(); location.hash = '#/signin'; return true;")
            .await;
        self.client.refresh().await.expect("reload");
        self.fill("#token", token).await;
        self.click("#signin-form button[type=submit]").await;
        self.wait("#viewer").await;
    }
}
