//! The dashboard at `/ui`: one HTML page, its script and style sheet, compiled into the binary
//! (nothing is fetched from elsewhere; the content security policy forbids it). The page asks
//! for an API key, keeps it in the tab's `sessionStorage` and reads the JSON API with it:
//! budgets, `/v1/stats/live`, `/v1/stats/recent`, `/v1/fraud/alerts`, the policy and model
//! registries, with promote and roll-back buttons for admin keys.
//!
//! The JSON the dashboard added to the API (`/v1/stats/...`, `/v1/fraud/alerts`) is routed and
//! documented with the rest of it ([`crate::routes::live`]).

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, MethodRouter};
use axum::Router;

use crate::app::Shared;

const INDEX_HTML: &str = include_str!("../assets/ui/index.html");
const APP_JS: &str = include_str!("../assets/ui/app.js");
const STYLE_CSS: &str = include_str!("../assets/ui/style.css");
const FAVICON_SVG: &str = include_str!("../assets/ui/favicon.svg");

/// Everything from this origin, nothing inline, nothing from elsewhere.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// The dashboard's pages; a method a path does not take answers the API's JSON 405.
pub fn router() -> Router<Shared> {
    let pages: [(&str, MethodRouter<Shared>); 6] = [
        ("/ui", get(|| async { Redirect::permanent("/ui/") })),
        (
            "/ui/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        ),
        (
            "/ui/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        ),
        (
            "/ui/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }),
        ),
        (
            "/ui/favicon.svg",
            get(|| async { asset("image/svg+xml", FAVICON_SVG) }),
        ),
        // Browsers ask for it at the root whatever the page says.
        (
            "/favicon.ico",
            get(|| async { asset("image/svg+xml", FAVICON_SVG) }),
        ),
    ];
    let mut router = Router::new();
    for (path, handler) in pages {
        let handler = handler
            .fallback(|| async { crate::error::method_not_allowed(&[Method::GET, Method::HEAD]) });
        router = router.route(path, handler);
    }
    router
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Assets change with the binary: revalidate rather than keep an old script.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    /// The page loads only what the binary serves: no address of another origin anywhere.
    #[test]
    fn assets_reference_nothing_outside_the_service() {
        for (name, text) in [
            ("index.html", super::INDEX_HTML),
            ("app.js", super::APP_JS),
            ("style.css", super::STYLE_CSS),
        ] {
            for needle in ["http://", "https://", "//cdn", "@import", "fonts.g"] {
                // The SVG namespace is an identifier, not a fetch.
                let hits = text
                    .match_indices(needle)
                    .filter(|(i, _)| !text[*i..].starts_with("http://www.w3.org/2000/svg"))
                    .count();
                assert_eq!(hits, 0, "{name} contains {needle}");
            }
        }
        for asset in ["/ui/app.js", "/ui/style.css", "/ui/favicon.svg"] {
            assert!(
                super::INDEX_HTML.contains(asset),
                "index.html does not load {asset}"
            );
        }
    }
}
