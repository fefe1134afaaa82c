//! The server-side tower layer: authenticates every call except health and reflection, and
//! leaves the caller's [`Principal`] in the request extensions for handlers to authorise.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use tonic::Status;

use crate::token::Verifier;
use crate::{ON_BEHALF_OF_HEADER, OnBehalfOf, Principal, Role};

/// Paths any caller may use without a token: load balancers and grpcurl need them.
const PUBLIC_PREFIXES: &[&str] = &["/grpc.health.v1.Health/", "/grpc.reflection."];

/// How long a verified token's principal is reused. ES256 verification costs tens of
/// microseconds; a hot read RPC would spend more time there than in the handler.
const VERIFIED_TTL: Duration = Duration::from_secs(60);

/// Token -> (principal, reusable until).
type VerifiedTokens = std::collections::HashMap<String, (Arc<Principal>, Instant)>;

#[derive(Clone)]
pub struct AuthLayer {
    verifier: Arc<Verifier>,
    verified: Arc<std::sync::Mutex<VerifiedTokens>>,
}

impl AuthLayer {
    pub fn new(verifier: Verifier) -> Self {
        Self {
            verifier: Arc::new(verifier),
            verified: Default::default(),
        }
    }

    /// Verifies the bearer token and the on-behalf-of header.
    pub fn authenticate(&self, headers: &http::HeaderMap) -> Result<Arc<Principal>, Status> {
        let value = headers
            .get(http::header::AUTHORIZATION)
            .ok_or_else(|| Status::unauthenticated("missing bearer token"))?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| Status::unauthenticated("authorization must be 'Bearer <token>'"))?;
        let principal = self.verify_cached(token)?;
        if let Some(behalf) = headers.get(ON_BEHALF_OF_HEADER) {
            // Only another service of the suite may say whom it acts for; anyone else could
            // otherwise put a stranger's name in the audit trail.
            if !principal.has_role(Role::Service) {
                return Err(Status::permission_denied(
                    "only services may act on behalf of others",
                ));
            }
            let subject = behalf
                .to_str()
                .map_err(|_| Status::invalid_argument("on-behalf-of must be ASCII"))?;
            let mut acting = (*principal).clone();
            acting.on_behalf_of = Some(OnBehalfOf {
                subject: subject.to_owned(),
            });
            return Ok(Arc::new(acting));
        }
        Ok(principal)
    }

    fn verify_cached(&self, token: &str) -> Result<Arc<Principal>, Status> {
        let now = Instant::now();
        if let Ok(cache) = self.verified.lock()
            && let Some((p, valid_until)) = cache.get(token)
            && now < *valid_until
        {
            return Ok(p.clone());
        }
        let (p, expires_in) = self
            .verifier
            .verify_with_lifetime(token)
            .map_err(|e| Status::unauthenticated(e.to_string()))?;
        let p = Arc::new(p);
        // Reuse for a short while, and never past the token's own expiry.
        let valid_until = now + VERIFIED_TTL.min(expires_in);
        if let Ok(mut cache) = self.verified.lock() {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(token.to_owned(), (p.clone(), valid_until));
        }
        Ok(p)
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    layer: AuthLayer,
}

impl<S, B> tower::Service<http::Request<B>> for AuthService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let path = req.uri().path();
        let public = req.method() == http::Method::OPTIONS
            || PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p));
        if !public {
            match self.layer.authenticate(req.headers()) {
                Ok(p) => {
                    req.extensions_mut().insert(p);
                }
                Err(status) => {
                    tracing::info!(code = ?status.code(), "call refused by authentication");
                    return Box::pin(async move { Ok(status.into_http()) });
                }
            }
        }
        // Take the service that was polled ready and leave a fresh clone behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(inner.call(req))
    }
}
