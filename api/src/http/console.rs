//! The web console (`GET /admin`) and GraphiQL (`GET /graphql`), served from the binary.
//!
//! Every byte of both pages is in [`ASSETS`], compiled in with `include_bytes!` from
//! `api/assets/` (the console's own HTML/JS/CSS, and GraphiQL 3 with React 18 vendored
//! unmodified from the npm registry), so both work on a closed municipal network (LGWAN):
//! no page names another origin (a test reads every asset for one).
//!
//! The console has no privileges of its own. It is a page that sends the token its user
//! pastes to POST /graphql (and GET /reports, GET /disclosure) exactly as any client does, so
//! the same policy answers and the same ledger records. The token lives in the tab's
//! `sessionStorage`; there is no cookie, so a request from another site carries no
//! credential (nothing to forge: CSRF-safe by construction).
//!
//! Every answer here carries a strict Content-Security-Policy (scripts and styles only from
//! this origin, no inline script, no `eval`, no framing), `nosniff`, `no-referrer` and
//! `Cache-Control: no-store`.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};

use super::AppState;

/// One embedded file: its name under `/assets/`, its media type, its bytes.
pub struct Asset {
    pub name: &'static str,
    pub media: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $media:literal, $path:literal) => {
        Asset {
            name: $name,
            media: $media,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $path)),
        }
    };
}

/// Everything the two pages load. `/admin` and `/graphql` are the two HTML documents; the
/// rest is under `/assets/{name}`.
pub const ASSETS: &[Asset] = &[
    asset!(
        "console.html",
        "text/html; charset=utf-8",
        "console/index.html"
    ),
    asset!(
        "csp-watch.js",
        "text/javascript; charset=utf-8",
        "console/csp-watch.js"
    ),
    asset!(
        "console.js",
        "text/javascript; charset=utf-8",
        "console/console.js"
    ),
    asset!(
        "console-pages.js",
        "text/javascript; charset=utf-8",
        "console/pages.js"
    ),
    asset!(
        "console.css",
        "text/css; charset=utf-8",
        "console/console.css"
    ),
    asset!(
        "graphiql.html",
        "text/html; charset=utf-8",
        "console/graphiql.html"
    ),
    asset!(
        "graphiql-start.js",
        "text/javascript; charset=utf-8",
        "console/graphiql-start.js"
    ),
    asset!(
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        "vendor/graphiql.min.js"
    ),
    asset!(
        "graphiql.min.css",
        "text/css; charset=utf-8",
        "vendor/graphiql.min.css"
    ),
    asset!(
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        "vendor/react.production.min.js"
    ),
    asset!(
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        "vendor/react-dom.production.min.js"
    ),
    asset!(
        "LICENSES.txt",
        "text/plain; charset=utf-8",
        "vendor/LICENSES.txt"
    ),
];

/// The Content-Security-Policy of every answer here. Scripts only from this origin (no
/// inline script, no eval). Styles from this origin, plus the one `<style>` of the
/// printable disclosure page by its hash: the console shows that page in a frame made
/// from a `blob:` URL, and such a frame keeps its creator's policy. Fonts: GraphiQL's are
/// `data:` URLs inside its CSS. Requests only to this origin.
pub fn policy() -> &'static str {
    static POLICY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    POLICY.get_or_init(|| {
        format!(
            "default-src 'none'; script-src 'self'; style-src 'self' {}; \
             img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; \
             frame-src blob:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
            disclosure_style()
        )
    })
}

/// The CSP source of the disclosure page's one `<style>`: `'sha256-…'` of its text.
pub fn disclosure_style() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let digest = Sha256::digest(crate::disclosure::html::STYLE.as_bytes());
        let hash = base64::engine::general_purpose::STANDARD.encode(digest);
        format!("'sha256-{hash}'")
    })
}

/// The headers of every page the hub serves (the console's, GraphiQL's, the printable
/// disclosure report): its CSP, no caching, no sniffing, no referrer, no framing.
pub fn harden(h: &mut axum::http::HeaderMap, csp: &str) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(csp) = HeaderValue::from_str(csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

fn serve(asset: &'static Asset) -> Response {
    let mut response = (StatusCode::OK, asset.bytes).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.media));
    harden(h, policy());
    response
}

/// `Cache-Control: no-store` on every answer of the hub that does not set its own.
pub(super) async fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// `GET /admin` (and `/admin/`): the console's one document; its pages are fragments
/// (`#/persons`, ...) of it.
pub(super) async fn console() -> Response {
    match find("console.html") {
        Some(a) => serve(a),
        None => super::not_found().await,
    }
}

/// `GET /assets/{name}`.
pub(super) async fn asset(Path(name): Path<String>) -> Response {
    match find(&name).filter(|a| !a.name.ends_with(".html")) {
        Some(a) => serve(a),
        None => super::not_found().await,
    }
}

/// `GET /graphql`: GraphiQL, unless switched off (`--graphiql false`; off by default in
/// production).
pub(super) async fn graphiql(State(state): State<AppState>) -> Response {
    if !state.config.limits.graphiql {
        return super::not_found().await;
    }
    match find("graphiql.html") {
        Some(a) => serve(a),
        None => super::not_found().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every address an HTML page or stylesheet names (`src`, `href`, `url(...)`) is this
    /// hub's own path, a fragment or a `data:` URL; the console's own scripts name no origin
    /// at all (the SVG namespace is a name, not a request). The vendored GraphiQL is checked
    /// where it runs: the browser tests block the network and list every resource loaded.
    #[test]
    fn no_asset_names_another_origin() {
        let mut checked = 0;
        for a in ASSETS {
            let text = String::from_utf8_lossy(a.bytes);
            if a.media.starts_with("text/html") || a.media.starts_with("text/css") {
                for key in ["src=\"", "href=\"", "url("] {
                    for (at, _) in text.match_indices(key) {
                        let rest = text[at + key.len()..].trim_start_matches(['"', '\'']);
                        assert!(
                            rest.starts_with('/') && !rest.starts_with("//")
                                || rest.starts_with('#')
                                || rest.starts_with("data:"),
                            "{} names {}",
                            a.name,
                            &rest[..rest.len().min(60)]
                        );
                        checked += 1;
                    }
                }
                assert!(!text.contains("<script>"), "{}: an inline script", a.name);
                assert!(!text.contains(" style=\""), "{}: an inline style", a.name);
            }
            if a.name.starts_with("console")
                || a.name == "graphiql-start.js"
                || a.name == "csp-watch.js"
            {
                let stripped = text.replace("http://www.w3.org/2000/svg", "");
                assert!(
                    !stripped.contains("http://") && !stripped.contains("https://"),
                    "{} names an origin",
                    a.name
                );
                assert!(
                    !stripped.contains("innerHTML") && !stripped.contains("eval("),
                    "{}: HTML from strings, or eval",
                    a.name
                );
            }
        }
        assert!(checked > 10, "only {checked} addresses checked");
    }

    #[test]
    fn the_policy_allows_the_disclosure_page_style_by_hash_only() {
        let p = policy();
        assert!(p.contains("script-src 'self';"));
        assert!(!p.contains("unsafe-inline") && !p.contains("unsafe-eval"));
        assert!(p.contains("'sha256-"));
    }
}
