//! HTTP/JSON on the gRPC port: one tower layer that turns a JSON call into the gRPC call of the
//! same RPC, hands it to the same stack (gRPC-Web, observe, auth, the handler), and turns the
//! gRPC answer back into JSON.
//!
//! - `POST /v1/{package.Service}/{Method}` with a canonical proto3 JSON body (field names in
//!   lowerCamelCase or as in the proto; an empty body is the empty message) answers `200` with
//!   the response message in canonical proto3 JSON, or an AIP-193 error
//!   `{"error": {"code", "message", "status", "details"}}` whose HTTP code follows
//!   `google.rpc.Code`'s documented mapping and whose details are the gRPC status details
//!   (`ErrorInfo`, `BadRequest`, ...) as JSON with `@type`.
//! - A server-streaming RPC (onematter's `WatchCase`) answers `application/x-ndjson`: one JSON
//!   message per line, and an `{"error": ...}` line when the stream ends with a non-OK status.
//! - `GET /openapi.json` serves the committed OpenAPI 3.1 document (`docs/api/openapi.json`).
//! - Every other request (gRPC, gRPC-Web, health, reflection, CORS preflights) passes through
//!   untouched.
//!
//! The layer must sit outside the gRPC-Web, observe and auth layers, so that a JSON call is
//! authenticated, authorised, audited, counted and traced exactly as the gRPC call it becomes.
//!
//! Built on `prost-reflect` (its serde mapping is the canonical proto3 JSON mapping, over the
//! embedded descriptor set) rather than a second, hand-written API: there is one implementation
//! of each RPC, the gRPC handler.

mod error;
mod grpc;
mod registry;

pub mod docs;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::BodyExt as _;
use tonic::body::Body;

pub use error::{ApiError, grpc_code_name, http_status_of};
pub use registry::{Registry, Route};

/// Media type of a streamed answer: one JSON document per line.
pub const NDJSON: &str = "application/x-ndjson";
/// The largest JSON request body accepted (the gRPC port's message limit is 4 MiB too).
pub const MAX_JSON_BODY: usize = 4 * 1024 * 1024;
/// The committed OpenAPI document, served at `GET /openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("../../../docs/api/openapi.json");
/// Path prefix of every JSON method route.
pub const PREFIX: &str = "/v1/";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The tower layer: JSON transcoding in front of the gRPC stack.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonLayer;

impl JsonLayer {
    pub fn new() -> Self {
        JsonLayer
    }
}

impl<S> tower::Layer<S> for JsonLayer {
    type Service = JsonService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        JsonService {
            inner,
            registry: Registry::civil(),
        }
    }
}

/// The service [`JsonLayer`] makes.
#[derive(Clone, Debug)]
pub struct JsonService<S> {
    inner: S,
    registry: &'static Registry,
}

impl<S, B> tower::Service<Request<Body>> for JsonService<S>
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
        // The instance polled ready serves this call; a fresh clone waits for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let path = request.uri().path();
        if path == "/openapi.json" && request.method() == Method::GET {
            return Box::pin(async { Ok(openapi_response()) });
        }
        if !path.starts_with(PREFIX) {
            let call = inner.call(request);
            return Box::pin(async move { call.await.map(|r| r.map(Body::new)) });
        }
        let registry = self.registry;
        Box::pin(async move {
            let route = match registry.route(request.method(), request.uri().path()) {
                Ok(route) => route,
                Err(e) => return Ok(e.into_response()),
            };
            let prepared = match grpc::prepare(route, request).await {
                Ok(p) => p,
                Err(e) => return Ok(e.into_response()),
            };
            use tower::ServiceExt as _;
            let answer = inner.ready().await?.call(prepared).await?;
            Ok(grpc::answer(route, answer).await)
        })
    }
}

fn openapi_response() -> Response<Body> {
    let mut r = Response::new(Body::new(
        http_body_util::Full::new(Bytes::from_static(OPENAPI_JSON.as_bytes()))
            .map_err(|e: Infallible| match e {}),
    ));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// A JSON answer with this status.
pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    let mut r = Response::new(Body::new(
        http_body_util::Full::new(Bytes::from(body)).map_err(|e: Infallible| match e {}),
    ));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}
