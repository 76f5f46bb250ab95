//! Headers on every answer: no framing (a page with an approve button in
//! someone else's frame is a clickjacking target), scripts and styles from
//! the page's own origin only, no caching of what a page showed, and no
//! referrer leaving the page.

use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;

/// The content security policy of both pages.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

const FIXED: [(HeaderName, &str); 5] = [
    (header::CONTENT_SECURITY_POLICY, CSP),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-store"),
];

/// Adds the headers to `response` (an `axum::middleware::map_response`).
pub async fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in FIXED {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
