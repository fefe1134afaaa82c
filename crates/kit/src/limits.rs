//! What the port lets in: CORS origins (`CIVIL_CORS_ORIGINS`), per-caller rate limits
//! (`CIVIL_RATE_LIMIT_*`, per service `CIVIL_<SERVICE>_RATE_LIMIT_*`) and load shedding
//! (`CIVIL_MAX_CONCURRENT_CALLS`).
//!
//! Rate limits use `governor` (GCRA, one keyed limiter per gRPC service): the key is the
//! authenticated subject, or the client IP for a call without a principal (health,
//! reflection). Over its rate a caller gets RESOURCE_EXHAUSTED with `RetryInfo` (when the next
//! call will pass) and `ErrorInfo` reason `RATE_LIMITED`; other callers are not affected.
//!
//! Load shedding answers UNAVAILABLE (with `RetryInfo`) at once when the process already has
//! `CIVIL_MAX_CONCURRENT_CALLS` calls in progress, instead of queueing them behind the ones
//! running. It is a semaphore tried without waiting rather than tower's `load_shed` over
//! `concurrency_limit`: those rely on `poll_ready` reaching them, and the server's layers take
//! a fresh clone per call (tower's `ConcurrencyLimit` panics when called on a clone that was
//! not polled ready); the behaviour is the same, a full process refuses at once.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tonic_types::{ErrorDetails, StatusExt};
use tower::ServiceExt as _;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};

use crate::config::Config;

/// `ErrorInfo.reason` of a call refused for its caller's rate.
pub const RATE_LIMITED: &str = "RATE_LIMITED";
/// `ErrorInfo.reason` of a call refused because the process is full.
pub const OVERLOADED: &str = "OVERLOADED";

// ---------------------------------------------------------------- CORS

/// The origins browsers may call from, as configured.
#[derive(Clone, Debug)]
pub enum Origins {
    /// Exactly these (`scheme://host[:port]`); empty: none.
    List(Arc<Vec<String>>),
    /// Development: `http(s)://localhost`, `127.0.0.1` or `[::1]`, any port.
    Local,
}

impl Origins {
    /// `CIVIL_CORS_ORIGINS`; unset: none in production (a database URL is set), local ones in
    /// development.
    pub fn from_config(config: &Config) -> Self {
        match &config.cors_origins {
            Some(list) => Origins::List(Arc::new(list.clone())),
            None if config.database_url.is_some() => Origins::List(Arc::default()),
            None => Origins::Local,
        }
    }

    pub fn allows(&self, origin: &[u8]) -> bool {
        let Ok(origin) = std::str::from_utf8(origin) else {
            return false;
        };
        match self {
            Origins::List(list) => list.iter().any(|o| o == origin),
            Origins::Local => {
                let Some(rest) = origin
                    .strip_prefix("http://")
                    .or_else(|| origin.strip_prefix("https://"))
                else {
                    return false;
                };
                let host = match rest.strip_prefix("[::1]") {
                    Some(port) => return port.is_empty() || is_port(port),
                    None => rest,
                };
                let (name, port) = host.split_once(':').unwrap_or((host, ""));
                matches!(name, "localhost" | "127.0.0.1") && (port.is_empty() || is_digits(port))
            }
        }
    }
}

fn is_port(s: &str) -> bool {
    s.strip_prefix(':').is_some_and(is_digits)
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit())
}

/// CORS for browsers (gRPC-Web and JSON): an allowed origin gets the CORS answer (preflights
/// answered, `grpc-status` and friends exposed); any other origin, or a call without one, goes
/// on untouched and gets no CORS header at all.
#[derive(Clone)]
pub struct CorsGateLayer {
    origins: Origins,
}

impl CorsGateLayer {
    pub fn new(origins: Origins) -> Self {
        Self { origins }
    }
}

impl<S: Clone> tower::Layer<S> for CorsGateLayer {
    type Service = CorsGate<S>;
    fn layer(&self, inner: S) -> Self::Service {
        let origins = self.origins.clone();
        let cors = CorsLayer::new()
            .allow_origin(AllowOrigin::predicate(move |origin, _| {
                origins.allows(origin.as_bytes())
            }))
            .allow_methods(AllowMethods::any())
            .allow_headers(AllowHeaders::mirror_request())
            .expose_headers([
                http::HeaderName::from_static("grpc-status"),
                http::HeaderName::from_static("grpc-message"),
                http::HeaderName::from_static("grpc-status-details-bin"),
            ])
            .max_age(Duration::from_secs(600));
        CorsGate {
            cors: tower::Layer::layer(&cors, inner.clone()),
            plain: inner,
            origins: self.origins.clone(),
        }
    }
}

#[derive(Clone)]
pub struct CorsGate<S> {
    cors: tower_http::cors::Cors<S>,
    plain: S,
    origins: Origins,
}

impl<S, B, RB> tower::Service<http::Request<B>> for CorsGate<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
    RB: Default + Send + 'static,
{
    type Response = http::Response<RB>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Each call takes a clone and waits for it to be ready (`oneshot`).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let allowed = req
            .headers()
            .get(http::header::ORIGIN)
            .is_some_and(|o| self.origins.allows(o.as_bytes()));
        if allowed {
            Box::pin(self.cors.clone().oneshot(req))
        } else {
            Box::pin(self.plain.clone().oneshot(req))
        }
    }
}

// ---------------------------------------------------------------- rate limits

/// One service's (or the default) rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

impl Rate {
    fn quota(self) -> Option<Quota> {
        let per_second = NonZeroU32::new(self.per_second)?;
        let burst = NonZeroU32::new(self.burst).unwrap_or(per_second);
        Some(Quota::per_second(per_second).allow_burst(burst))
    }
}

/// Per-caller limiters: one per gRPC service with a rate, and the default for the others.
#[derive(Clone, Default)]
pub struct RateLimits {
    by_service: Arc<HashMap<String, Arc<DefaultKeyedRateLimiter<String>>>>,
    default: Option<Arc<DefaultKeyedRateLimiter<String>>>,
    /// The gRPC services this process serves: metric labels come only from these.
    served: Arc<std::collections::HashSet<String>>,
    calls: Arc<AtomicU64>,
}

impl RateLimits {
    /// From `CIVIL_RATE_LIMIT_PER_SECOND` / `_BURST` and, for each mounted service (short
    /// name, gRPC service names), `CIVIL_<SERVICE>_RATE_LIMIT_PER_SECOND` / `_BURST`.
    pub fn from_config(
        config: &Config,
        services: &[(&str, Vec<&'static str>)],
    ) -> anyhow::Result<Self> {
        let default = Rate {
            per_second: config.rate_limit_per_second,
            burst: config
                .rate_limit_burst
                .unwrap_or(config.rate_limit_per_second),
        };
        let mut by_service = HashMap::new();
        for (short, grpc_names) in services {
            let setting = |key: &str| -> anyhow::Result<Option<u32>> {
                config
                    .service_setting(short, key)
                    .map(|v| {
                        v.parse::<u32>().map_err(|e| {
                            anyhow::anyhow!(
                                "CIVIL_{}_{}={v:?}: {e}",
                                short.to_ascii_uppercase(),
                                key.to_ascii_uppercase()
                            )
                        })
                    })
                    .transpose()
            };
            let per_second = setting("rate_limit_per_second")?;
            let burst = setting("rate_limit_burst")?;
            if per_second.is_none() && burst.is_none() {
                continue;
            }
            let per_second = per_second.unwrap_or(default.per_second);
            let rate = Rate {
                per_second,
                burst: burst.unwrap_or(if per_second == default.per_second {
                    default.burst
                } else {
                    per_second
                }),
            };
            if let Some(quota) = rate.quota() {
                let limiter = Arc::new(RateLimiter::keyed(quota));
                for name in grpc_names {
                    by_service.insert((*name).to_owned(), limiter.clone());
                }
            } else {
                // Explicitly no limit for this service: an entry that never refuses.
                for name in grpc_names {
                    by_service.insert(
                        (*name).to_owned(),
                        Arc::new(RateLimiter::keyed(Quota::per_second(NonZeroU32::MAX))),
                    );
                }
            }
        }
        Ok(Self {
            by_service: Arc::new(by_service),
            default: default.quota().map(|q| Arc::new(RateLimiter::keyed(q))),
            served: Arc::new(
                services
                    .iter()
                    .flat_map(|(_, names)| names.iter().map(|n| (*n).to_owned()))
                    .collect(),
            ),
            calls: Arc::default(),
        })
    }

    /// `None` if the call may go on; else how long until it would pass.
    fn check(&self, service: &str, caller: String) -> Option<Duration> {
        // The default limiter serves every service without its own: its key names the
        // service too, so a caller's budget is per service either way.
        let (limiter, caller) = match self.by_service.get(service) {
            Some(own) => (own, caller),
            None => (self.default.as_ref()?, format!("{service}|{caller}")),
        };
        // Forget callers idle long enough to be back at a full bucket, now and then.
        if self.calls.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        match limiter.check_key(&caller) {
            Ok(()) => None,
            Err(not_until) => Some(not_until.wait_time_from(limiter.clock().now())),
        }
    }
}

/// The rate-limit layer; sits inside authentication, so the principal is known.
#[derive(Clone)]
pub struct RateLimitLayer {
    limits: RateLimits,
}

impl RateLimitLayer {
    pub fn new(limits: RateLimits) -> Self {
        Self { limits }
    }
}

impl<S> tower::Layer<S> for RateLimitLayer {
    type Service = RateLimitService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RateLimitService {
            inner,
            limits: self.limits.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RateLimitService<S> {
    inner: S,
    limits: RateLimits,
}

/// Who the call is from, for its rate: the authenticated subject, else the client's IP.
fn caller_key<B>(req: &http::Request<B>) -> String {
    // The auth layer leaves an `Arc<Principal>`.
    if let Some(p) = req.extensions().get::<Arc<auth::Principal>>() {
        return format!("sub:{}", p.subject);
    }
    if let Some(p) = req.extensions().get::<auth::Principal>() {
        return format!("sub:{}", p.subject);
    }
    use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
    let tcp = req.extensions().get::<TcpConnectInfo>().or_else(|| {
        req.extensions()
            .get::<TlsConnectInfo<TcpConnectInfo>>()
            .map(|t| t.get_ref())
    });
    match tcp.and_then(|t| t.remote_addr()) {
        Some(addr) => format!("ip:{}", addr.ip()),
        None => "ip:unknown".to_owned(),
    }
}

impl<S, B> tower::Service<http::Request<B>> for RateLimitService<S>
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

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let service = req
            .uri()
            .path()
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        if let Some(wait) = self.limits.check(&service, caller_key(&req)) {
            let service = if self.limits.served.contains(&service) {
                service
            } else {
                crate::telemetry::UNKNOWN_LABEL.to_owned()
            };
            metrics::counter!("civil_rate_limited_total", "service" => service).increment(1);
            let status = refusal(
                tonic::Code::ResourceExhausted,
                "too many calls from this caller: retry after the delay in RetryInfo",
                "调用过于频繁，请按 RetryInfo 所示时间后重试",
                RATE_LIMITED,
                wait,
            );
            return Box::pin(async move { Ok(status.into_http()) });
        }
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(inner.call(req))
    }
}

fn refusal(
    code: tonic::Code,
    message: &str,
    zh: &str,
    reason: &str,
    retry_after: Duration,
) -> tonic::Status {
    // At least a millisecond: a zero delay reads as "retry at once" to some clients.
    let retry_after = retry_after.max(Duration::from_millis(1));
    let details = ErrorDetails::with_retry_info(Some(retry_after))
        .set_error_info(reason, crate::error::ERROR_DOMAIN, HashMap::new())
        .set_localized_message("zh-CN", zh)
        .to_owned();
    tonic::Status::with_error_details(code, message, details)
}

// ---------------------------------------------------------------- load shedding

/// Answers UNAVAILABLE at once when `max` calls are already in progress (0: no limit).
#[derive(Clone)]
pub struct ShedLayer {
    permits: Option<Arc<tokio::sync::Semaphore>>,
}

impl ShedLayer {
    pub fn new(max: usize) -> Self {
        Self {
            permits: (max > 0).then(|| Arc::new(tokio::sync::Semaphore::new(max))),
        }
    }
}

impl<S> tower::Layer<S> for ShedLayer {
    type Service = ShedService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        ShedService {
            inner,
            permits: self.permits.clone(),
        }
    }
}

#[derive(Clone)]
pub struct ShedService<S> {
    inner: S,
    permits: Option<Arc<tokio::sync::Semaphore>>,
}

impl<S, B> tower::Service<http::Request<B>> for ShedService<S>
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

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let permit = match &self.permits {
            None => None,
            Some(permits) => match permits.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    metrics::counter!("civil_load_shed_total").increment(1);
                    let status = refusal(
                        tonic::Code::Unavailable,
                        "the server is at capacity: retry after the delay in RetryInfo",
                        "服务器繁忙，请按 RetryInfo 所示时间后重试",
                        OVERLOADED,
                        Duration::from_millis(200),
                    );
                    return Box::pin(async move { Ok(status.into_http()) });
                }
            },
        };
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let fut = inner.call(req);
        Box::pin(async move {
            let answer = fut.await;
            drop(permit);
            answer
        })
    }
}
