//! The browser pages on the gRPC port: `web/` (the one-matter portal, the operator console and
//! the auditor page, a small TypeScript app) is built by npm into `web/dist`, which is committed
//! and embedded here at build time, so `cargo run -p suite --bin civil -- serve` serves it with
//! nothing but Rust installed (web/README.md explains the choice; CI rebuilds it and fails on a
//! difference).
//!
//! [`StaticLayer`] answers every `GET` / `HEAD` that reaches it: `/` is the app's `index.html`,
//! an embedded file is itself, anything else is `404`. No gRPC, gRPC-Web or HTTP/JSON call is a
//! `GET` (they are all `POST`; `GET /openapi.json` is answered by the JSON layer in front of this
//! one), so the pages never shadow an RPC, and every other method passes through untouched.
//! The layer sits inside the CORS gate and the JSON layer but outside gRPC-Web, observe, auth and
//! the rate limit: the files are public (they hold no data; every datum comes from an RPC the
//! page calls with the user's token), so neither a token nor a caller's quota is asked for them.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::BodyExt as _;
use tonic::body::Body;

/// `web/dist` as committed, embedded at build time.
#[derive(rust_embed::Embed)]
#[folder = "../../web/dist"]
struct Dist;

/// The content security policy of every page: scripts, styles and calls only from this origin
/// (the page calls the API on the port it came from), never framed.
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// An embedded file.
#[derive(Debug, Clone)]
pub struct File {
    pub path: String,
    pub content_type: String,
    pub bytes: Bytes,
}

/// The embedded file a `GET path` answers with: `/` and `/index.html` are the app, other paths
/// the file of that name; `None` when there is none.
pub fn file(path: &str) -> Option<File> {
    let name = match path.trim_start_matches('/') {
        "" => "index.html",
        other => other,
    };
    // rust-embed never resolves `..` outside the folder, but say so here too.
    if name.split('/').any(|part| part == ".." || part.is_empty()) {
        return None;
    }
    let embedded = Dist::get(name)?;
    Some(File {
        path: name.to_owned(),
        content_type: with_charset(embedded.metadata.mimetype()),
        bytes: match embedded.data {
            std::borrow::Cow::Borrowed(b) => Bytes::from_static(b),
            std::borrow::Cow::Owned(v) => Bytes::from(v),
        },
    })
}

/// Text is UTF-8 (the pages are Chinese first): say so rather than let the browser guess.
fn with_charset(mime: &str) -> String {
    if mime.starts_with("text/") || mime.ends_with("javascript") || mime.ends_with("json") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    }
}

/// Every embedded file's path (for tests and the CI check).
pub fn paths() -> Vec<String> {
    Dist::iter().map(|p| p.into_owned()).collect()
}

/// The tower layer: `GET` / `HEAD` answered from the embedded files, other methods passed on.
#[derive(Clone, Copy, Debug, Default)]
pub struct StaticLayer;

impl StaticLayer {
    pub fn new() -> Self {
        StaticLayer
    }
}

impl<S> tower::Layer<S> for StaticLayer {
    type Service = StaticService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        StaticService { inner }
    }
}

/// The service [`StaticLayer`] makes.
#[derive(Clone, Debug)]
pub struct StaticService<S> {
    inner: S,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<S, B> tower::Service<Request<Body>> for StaticService<S>
where
    S: tower::Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let method = request.method();
        if method == Method::GET || method == Method::HEAD {
            let answer = respond(request.uri().path(), method == Method::HEAD);
            return Box::pin(async move { Ok(answer) });
        }
        // The instance polled ready serves this call; a fresh clone waits for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let call = inner.call(request);
        Box::pin(async move { call.await.map(|r| r.map(Body::new)) })
    }
}

/// The answer to `GET path` (without its body for `HEAD`).
pub fn respond(path: &str, head_only: bool) -> Response<Body> {
    let (status, content_type, cache, bytes) = match file(path) {
        Some(f) => {
            // Vite names every asset by its content hash: it never changes under its name.
            // The page itself must be asked for again to see a new release.
            let cache = if f.path.starts_with("assets/") {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            (StatusCode::OK, f.content_type, cache, f.bytes)
        }
        None => (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8".to_owned(),
            "no-cache",
            Bytes::from_static("404 未找到 (not found)\n".as_bytes()),
        ),
    };
    let length = bytes.len();
    let body = if head_only { Bytes::new() } else { bytes };
    let mut r = Response::new(Body::new(
        http_body_util::Full::new(body).map_err(|e: Infallible| match e {}),
    ));
    *r.status_mut() = status;
    let headers = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        headers.insert(CONTENT_TYPE, v);
    }
    headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        http::header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        http::header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_the_app_and_unknown_or_escaping_paths_are_nothing() {
        let index = file("/").expect("index.html embedded");
        assert_eq!(index.content_type, "text/html; charset=utf-8");
        assert_eq!(file("/index.html").expect("index").bytes, index.bytes);
        assert!(file("/assets/nope.js").is_none());
        assert!(file("/../Cargo.toml").is_none());
        assert!(file("/assets//x").is_none());
    }

    #[test]
    fn every_asset_the_page_names_is_embedded() {
        let index = String::from_utf8(file("/").expect("index").bytes.to_vec()).expect("utf-8");
        let named: Vec<&str> = index
            .split(['"', '\''])
            .filter(|s| s.starts_with("/assets/"))
            .collect();
        assert!(!named.is_empty(), "index.html names its script: {index}");
        for path in named {
            assert!(file(path).is_some(), "{path} not embedded");
        }
    }
}
