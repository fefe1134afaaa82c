//! The server-side tower layer: authenticates every call except health and reflection, and
//! leaves the caller's [`Principal`] in the request extensions for handlers to authorise.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use tonic::Status;

use crate::audit::AuditEntry;
use crate::duties::IncompatibleRoles;
use crate::reasons;
use crate::token::{TokenError, Verifier};
use crate::{ON_BEHALF_OF_HEADER, OnBehalfOf, Principal, Role};

tokio::task_local! {
    /// The authenticated caller of the call being served, for code that runs inside the call
    /// without the request at hand (kit's idempotency scopes stored answers to it).
    static CALLER: Arc<Principal>;
}

/// The authenticated caller of the call this task is serving, if any.
pub fn current_caller() -> Option<Arc<Principal>> {
    CALLER.try_with(Arc::clone).ok()
}

/// Runs `work` as a call of `caller` (what the layer does around every authenticated call; jobs
/// and tests use it too).
pub async fn as_caller<F: std::future::Future>(caller: Arc<Principal>, work: F) -> F::Output {
    CALLER.scope(caller, work).await
}

/// Paths any caller may use without a token: load balancers and grpcurl need them.
const PUBLIC_PREFIXES: &[&str] = &["/grpc.health.v1.Health/", "/grpc.reflection."];

/// How long a verified token's principal is reused. ES256 verification costs tens of
/// microseconds; a hot read RPC would spend more time there than in the handler.
const VERIFIED_TTL: Duration = Duration::from_secs(60);

/// Token -> (principal, reusable until).
type VerifiedTokens = std::collections::HashMap<String, (Arc<Principal>, Instant)>;

/// Where the layer writes security events (refused calls, bad tokens, forged on-behalf-of
/// headers, administrative calls): `kit::server` routes each to the audit trail of the service
/// whose method was called. `record` returns once the row is durable (or failed: logged).
pub trait SecurityAudit: Send + Sync {
    fn record(&self, path: &str, entry: AuditEntry) -> BoxFuture<'static, ()>;
}

/// A refused authentication: the status for the caller and what the audit row says of them.
#[derive(Debug)]
pub struct Refused {
    pub status: Status,
    /// The token's subject when it verified, else `anonymous`.
    pub actor: String,
    /// The on-behalf-of subject the caller claimed, if any.
    pub on_behalf_of: String,
    /// `token-sha256:<16 hex>` of a presented token that did not verify (never the token).
    pub token_hash: String,
}

impl Refused {
    fn anonymous(status: Status, token: Option<&str>) -> Self {
        Self {
            status,
            actor: ANONYMOUS.into(),
            on_behalf_of: String::new(),
            token_hash: token.map(token_hash).unwrap_or_default(),
        }
    }

    fn of(status: Status, p: &Principal) -> Self {
        Self {
            status,
            actor: p.subject.clone(),
            on_behalf_of: p.on_behalf_of_subject().to_owned(),
            token_hash: String::new(),
        }
    }
}

/// The actor of a security event whose token did not verify.
pub const ANONYMOUS: &str = "anonymous";

/// What the audit trail records of a token that did not verify: a hash prefix that lets the
/// security administrator match repeated attempts, from which the token cannot be recovered.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(token.as_bytes());
    format!("token-sha256:{}", &hex::encode(digest)[..16])
}

/// `<service>.<Rpc>` of an HTTP path `/civil.<service>.v1.XService/Rpc` (the audit action the
/// pipeline uses); other paths as they are.
pub fn action_of(path: &str) -> String {
    let trimmed = path.trim_start_matches('/');
    match trimmed.split_once('/') {
        Some((service, rpc)) => {
            let mut parts = service.split('.');
            match (parts.next(), parts.next()) {
                (Some("civil"), Some(svc)) => format!("{svc}.{rpc}"),
                _ => trimmed.to_owned(),
            }
        }
        None => trimmed.to_owned(),
    }
}

#[derive(Clone)]
pub struct AuthLayer {
    verifier: Arc<Verifier>,
    verified: Arc<std::sync::Mutex<VerifiedTokens>>,
    incompatible: Arc<IncompatibleRoles>,
    audit: Option<Arc<dyn SecurityAudit>>,
    access: Arc<crate::profiles::Access>,
}

impl AuthLayer {
    pub fn new(verifier: Verifier) -> Self {
        Self {
            verifier: Arc::new(verifier),
            verified: Default::default(),
            incompatible: Arc::new(IncompatibleRoles::default()),
            audit: None,
            access: Arc::new(crate::profiles::Access::default()),
        }
    }

    /// The caller profiles the county configured (default: the committed `profiles.toml`).
    pub fn with_profiles(mut self, profiles: crate::profiles::Profiles) -> Self {
        self.access = Arc::new(crate::profiles::Access::new(
            Arc::new(crate::permissions::Permissions::committed().clone()),
            Arc::new(profiles),
        ));
        self
    }

    /// Who may call what: the role table and the caller profiles this layer enforces.
    pub fn access(&self) -> &crate::profiles::Access {
        &self.access
    }

    /// The role pairs a token may not combine (default: the three administrators pairwise).
    pub fn with_incompatible_roles(mut self, roles: IncompatibleRoles) -> Self {
        self.incompatible = Arc::new(roles);
        self
    }

    /// Where security events go (without one they are only logged).
    pub fn with_security_audit(mut self, audit: Arc<dyn SecurityAudit>) -> Self {
        self.audit = Some(audit);
        self
    }

    /// Verifies the bearer token and the on-behalf-of header.
    pub fn authenticate(&self, headers: &http::HeaderMap) -> Result<Arc<Principal>, Status> {
        self.authenticate_caller(headers).map_err(|r| r.status)
    }

    /// [`AuthLayer::authenticate`], saying who the refused caller was as far as known.
    pub fn authenticate_caller(
        &self,
        headers: &http::HeaderMap,
    ) -> Result<Arc<Principal>, Refused> {
        let value = headers
            .get(http::header::AUTHORIZATION)
            .ok_or_else(|| Refused::anonymous(reasons::token_missing(), None))?;
        let raw = String::from_utf8_lossy(value.as_bytes());
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| Refused::anonymous(reasons::token_malformed_header(), Some(&raw)))?;
        let principal = self
            .verify_cached(token)
            .map_err(|status| Refused::anonymous(status, Some(token)))?;
        self.incompatible
            .check(&principal)
            .map_err(|status| Refused::of(status, &principal))?;
        if let Some(behalf) = headers.get(ON_BEHALF_OF_HEADER) {
            let claimed = String::from_utf8_lossy(behalf.as_bytes()).into_owned();
            let refused = |status| Refused {
                on_behalf_of: claimed.clone(),
                ..Refused::of(status, &principal)
            };
            // Only another service of the suite may say whom it acts for; anyone else could
            // otherwise put a stranger's name in the audit trail.
            if !principal.has_role(Role::Service) {
                return Err(refused(reasons::on_behalf_of_forbidden()));
            }
            let subject = behalf
                .to_str()
                .map_err(|_| refused(reasons::on_behalf_of_invalid()))?;
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
        let (p, expires_in) = self.verifier.verify_with_lifetime(token).map_err(|e| {
            // The library's words stay in the log; the caller gets what to do.
            tracing::debug!(error = %e, "token refused");
            match e {
                TokenError::Invalid(e)
                    if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) =>
                {
                    reasons::token_expired()
                }
                TokenError::SecondFactorRequired => reasons::second_factor_required(),
                _ => reasons::token_invalid(),
            }
        })?;
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

    /// The security event's audit row, written before the answer goes out.
    fn audit(&self, path: &str, entry: AuditEntry) -> BoxFuture<'static, ()> {
        match &self.audit {
            Some(sink) => sink.record(path, entry),
            None => Box::pin(async {}),
        }
    }
}

/// The audit row of a refused call.
fn refusal_entry(path: &str, refused: &Refused) -> AuditEntry {
    let reason = reasons::reason_of(&refused.status);
    AuditEntry {
        actor: refused.actor.clone(),
        on_behalf_of: refused.on_behalf_of.clone(),
        action: action_of(path),
        object: refused.token_hash.clone(),
        outcome: if reason.is_empty() {
            format!("{:?}", refused.status.code()).to_lowercase()
        } else {
            reason
        },
        trace_id: String::new(),
        purpose: SECURITY_PURPOSE.into(),
        ..AuditEntry::default()
    }
}

/// `purpose` of the layer's security-event rows.
pub const SECURITY_PURPOSE: &str = "security";
/// `purpose` of the row an administrative role's call leaves on admission.
pub const ADMINISTRATIVE_PURPOSE: &str = "administrative";

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
        let mut caller = None;
        let mut admitted = None;
        if !public {
            // Roles and caller profiles are checked before the service decodes the body: a
            // caller the method does not allow gets PERMISSION_DENIED whatever the request holds.
            let path = path.to_owned();
            match self.layer.authenticate_caller(req.headers()).and_then(|p| {
                let hidden = self
                    .layer
                    .access
                    .decide(&path, &p)
                    .map_err(|status| Refused::of(status, &p))?;
                Ok((p, hidden))
            }) {
                Ok((p, hidden)) => {
                    if let Some(hidden) = hidden {
                        req.extensions_mut().insert(hidden);
                    }
                    if p.roles.iter().any(|r| r.is_administrative()) {
                        let mut entry = AuditEntry::new(&p, &action_of(&path), "");
                        entry.outcome = "admitted".into();
                        entry.purpose = ADMINISTRATIVE_PURPOSE.into();
                        admitted = Some(self.layer.audit(&path, entry));
                    }
                    caller = Some(p.clone());
                    req.extensions_mut().insert(p);
                }
                Err(refused) => {
                    tracing::info!(
                        code = ?refused.status.code(),
                        reason = %reasons::reason_of(&refused.status),
                        "call refused by authentication or role"
                    );
                    let written = self.layer.audit(&path, refusal_entry(&path, &refused));
                    let status = refused.status;
                    return Box::pin(async move {
                        written.await;
                        Ok(status.into_http())
                    });
                }
            }
        }
        // Take the service that was polled ready and leave a fresh clone behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        match (caller, admitted) {
            (Some(p), Some(written)) => Box::pin(async move {
                written.await;
                CALLER.scope(p, inner.call(req)).await
            }),
            (Some(p), None) => Box::pin(CALLER.scope(p, inner.call(req))),
            (None, _) => Box::pin(inner.call(req)),
        }
    }
}
