//! The one server builder every process uses: the services it runs, plus `grpc.health.v1`,
//! reflection (v1 and v1alpha) of the services it serves (`CIVIL_REFLECTION`), HTTP/JSON
//! (crate `edge`) and gRPC-Web with CORS for the configured origins (`CIVIL_CORS_ORIGINS`),
//! authentication, per-caller rate limits and load shedding ([`limits`]), optional TLS
//! ([`tls`]), request timeout, message size limits, and a graceful drain on SIGTERM / SIGINT.

#[path = "limits.rs"]
pub mod limits;
#[path = "tls.rs"]
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::bus::EventBus;
use crate::cache::Cache;
use crate::clock::Clock;
use crate::config::Config;
use crate::context::{Mounter, ServiceContext, ServiceDef};
use crate::pii::Sealer;

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
    tasks: tokio_util::task::TaskTracker,
}

impl Running {
    /// Waits until the server stops (after `shutdown` is cancelled and in-flight calls drained).
    pub async fn wait(self) -> anyhow::Result<()> {
        let served = self.handle.await?;
        self.tasks.close();
        // Background jobs got the same cancellation; give them a moment to finish their pass.
        let _ = tokio::time::timeout(Duration::from_secs(10), self.tasks.wait()).await;
        served
    }

    /// Stops and waits.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }
}

/// The verifier for incoming tokens: the county IdP's JWKS, or the dev issuer's key.
pub fn verifier(config: &Config) -> anyhow::Result<auth::token::Verifier> {
    match &config.jwks_file {
        Some(path) => {
            let jwks = std::fs::read_to_string(path)?;
            Ok(auth::token::Verifier::from_jwks_json(
                &jwks,
                &config.token_issuer,
                auth::token::AUDIENCE,
            )?)
        }
        None => Ok(auth::token::DevIssuer::load_or_create(&config.data_dir)?.verifier()),
    }
}

fn service_credential(
    config: &Config,
    service: &str,
) -> anyhow::Result<auth::client::ServiceCredential> {
    let token = match &config.service_token_file {
        Some(path) => std::fs::read_to_string(path)?.trim().to_owned(),
        None => {
            let issuer = auth::token::DevIssuer::load_or_create(&config.data_dir)?;
            // The dev credential names the service's own caller profile (profiles.toml); a
            // service without one is refused by every other service, as it should be.
            let mut spec = auth::token::TokenSpec::for_profile(
                &format!("svc-{service}"),
                service,
                &config.county,
            );
            spec.name = format!("{service} service");
            issuer.mint(&spec, Duration::from_secs(365 * 24 * 3600))
        }
    };
    Ok(auth::client::ServiceCredential::new(&token)?)
}

fn calendar(config: &Config) -> anyhow::Result<civil_calendar::HolidayCalendar> {
    let mut cal = civil_calendar::HolidayCalendar::embedded();
    if let Some(path) = &config.holidays_file {
        let extra = civil_calendar::HolidayCalendar::from_csv(&std::fs::read_to_string(path)?)?;
        cal.merge(extra)?;
    }
    Ok(cal)
}

/// Builds every service in `services` and serves them on `listener` until `shutdown`.
pub async fn start(
    config: Config,
    services: &[ServiceDef],
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<Running> {
    start_with_clock(config, services, listener, shutdown, Clock::system()).await
}

/// [`start`] with a given clock (tests set it to move time).
pub async fn start_with_clock(
    config: Config,
    services: &[ServiceDef],
    listener: TcpListener,
    shutdown: CancellationToken,
    clock: Clock,
) -> anyhow::Result<Running> {
    let addr = listener.local_addr()?;
    // Before any TLS use (listener, PostgreSQL, rediss:// for the bus and the cache).
    tls::install_crypto_provider();
    let config = Arc::new(config);
    // Trust settings (separation of duties, evidence log) for this server's services.
    let trust = crate::trust::TrustSettings::from_config(&config)?;
    crate::trust::install(addr, trust.clone());
    let auth_layer = auth::layer::AuthLayer::new(verifier(&config)?)
        .with_incompatible_roles(trust.incompatible.clone())
        .with_profiles(trust.profiles.clone())
        .with_security_audit(Arc::new(crate::trust::ServerAudit { addr }));
    let (bus, cache) = match &config.redis_url {
        Some(url) => (
            EventBus::redis(&url.0, &config.redis_prefix).await?,
            Cache::with_redis_options(
                &url.0,
                &config.redis_prefix,
                crate::cache::CacheOptions::from_config(&config),
            )
            .await?,
        ),
        None => (EventBus::local(), Cache::local()),
    };
    let sealer = Sealer::from_config(&config)?;
    let calendar = Arc::new(calendar(&config)?);
    let tasks = tokio_util::task::TaskTracker::new();
    let channels = Arc::default();
    let mut mounter = Mounter::new();
    // Each suite service's gRPC service names, for its own rate limit.
    let mut mounted: Vec<(&str, Vec<&'static str>)> = Vec::new();
    for def in services {
        let before = mounter.names.len();
        let ctx = ServiceContext {
            name: def.name,
            config: config.clone(),
            bus: bus.clone(),
            cache: cache.clone(),
            sealer: sealer.clone(),
            calendar: calendar.clone(),
            clock: clock.clone(),
            credential: service_credential(&config, def.name)?,
            shutdown: shutdown.clone(),
            self_addr: addr,
            channels: Arc::clone(&channels),
            tasks: tasks.clone(),
        };
        (def.mount)(ctx, &mut mounter)
            .await
            .map_err(|e| e.context(format!("mounting {}", def.name)))?;
        tracing::info!(service = def.name, "mounted");
        mounted.push((def.name, mounter.names[before..].to_vec()));
    }
    // Every consumer of this process has subscribed: the in-process bus may now count an event
    // on a topic nobody here consumes as delivered (kit::bus).
    bus.subscriptions_complete();

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    for name in &mounter.names {
        health_reporter
            .set_service_status(*name, tonic_health::ServingStatus::Serving)
            .await;
    }
    let names = mounter.names.clone();
    let mut routes = mounter.routes;
    routes.add_service(health_service);
    // The auditor's API over the trails of the services mounted here.
    routes.add_service(
        contracts::civil::audit::v1::audit_trail_service_server::AuditTrailServiceServer::new(
            crate::audit_trail::AuditTrailApi::new(addr),
        ),
    );
    if config.reflection {
        // Only what this process serves (and health): not every service of the descriptor
        // set, never the outside systems of civil.external.v1.
        let reflection = || {
            let mut builder = tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(contracts::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                .with_service_name("grpc.health.v1.Health");
            for name in &names {
                builder = builder.with_service_name(*name);
            }
            builder
        };
        routes
            .add_service(reflection().build_v1()?)
            .add_service(reflection().build_v1alpha()?);
    }

    let rate_limits = limits::RateLimits::from_config(&config, &mounted)?;

    // Layers, outermost first: CORS answers preflights of the allowed origins (others get no
    // CORS header); JSON calls become gRPC calls of the same RPC (crate edge); a GET that is not
    // the OpenAPI document is a page or one of its files (crate web: public, so before auth and
    // the rate limit); gRPC-Web calls become gRPC calls too, so everything inside sees gRPC;
    // Observe opens the RPC span so every refusal below is traced and counted; shedding refuses
    // at once when the process is full; Auth leaves the Principal for handlers, and the rate
    // limit keys on it.
    // Innermost, every call runs with the server's sealer at hand (idempotency seals stored
    // answers with it).
    let call_sealer = sealer.clone();
    let layers = tower::ServiceBuilder::new()
        .layer(limits::CorsGateLayer::new(limits::Origins::from_config(
            &config,
        )))
        .layer(edge::JsonLayer::new()) // HTTP/JSON -> gRPC; outside gRPC-Web, observe and auth
        .layer(web::StaticLayer::new()) // GET / and the page's files (crate web); no RPC is a GET
        .layer(tonic_web::GrpcWebLayer::new())
        .layer(crate::telemetry::ObserveLayer::serving(&names))
        .layer(limits::ShedLayer::new(config.max_concurrent_calls))
        .layer(auth_layer)
        .layer(limits::RateLimitLayer::new(rate_limits))
        .map_response(too_large_is_resource_exhausted)
        .map_request(|mut request: http::Request<tonic::body::Body>| {
            let method = crate::rpc::Method::from_path(request.uri().path());
            request.extensions_mut().insert(method);
            request
        })
        .map_future(move |call| crate::idempotency::SEALER.scope(call_sealer.clone(), call))
        .into_inner();
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = tls::server_tls(&config)? {
        builder = builder.tls_config(tls)?;
    }
    let server = builder
        .accept_http1(true)
        .timeout(Duration::from_millis(config.request_timeout_ms))
        .concurrency_limit_per_connection(1024)
        .layer(layers)
        .add_routes(routes.routes());

    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let stop = shutdown.clone();
    let handle = tokio::spawn(async move {
        server
            .serve_with_incoming_shutdown(incoming, async move {
                stop.cancelled().await;
                // Load balancers stop sending new calls while in-flight ones drain.
                for name in names {
                    health_reporter
                        .set_service_status(name, tonic_health::ServingStatus::NotServing)
                        .await;
                }
            })
            .await?;
        Ok(())
    });
    tracing::info!(%addr, services = services.len(), "serving");
    Ok(Running {
        addr,
        shutdown,
        handle,
        tasks,
    })
}

/// tonic refuses a request over the size limit with OUT_OF_RANGE; gRPC clients expect
/// RESOURCE_EXHAUSTED (and do not retry it blindly). The refusal is a trailers-only answer, so
/// its status is in the headers.
fn too_large_is_resource_exhausted(
    mut response: http::Response<tonic::body::Body>,
) -> http::Response<tonic::body::Body> {
    let headers = response.headers_mut();
    let out_of_range = headers
        .get("grpc-status")
        .is_some_and(|v| v.as_bytes() == b"11");
    let too_large = headers.get("grpc-message").is_some_and(|v| {
        String::from_utf8_lossy(v.as_bytes())
            .replace("%20", " ")
            .contains("decoded message length too large")
    });
    if out_of_range && too_large {
        headers.insert(
            "grpc-status",
            http::HeaderValue::from_static("8"), // RESOURCE_EXHAUSTED
        );
    }
    response
}

/// Cancels `token` on SIGTERM or SIGINT: Kubernetes and systemd stop with SIGTERM, a person
/// with Ctrl-C.
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => return,
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutdown signal: draining in-flight calls");
        token.cancel();
    });
}
