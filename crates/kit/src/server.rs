//! The one server builder every process uses: the services it runs, plus `grpc.health.v1`,
//! reflection (v1 and v1alpha), gRPC-Web with CORS for the portal, authentication, request
//! timeout, message size limits, and a graceful drain on SIGTERM / SIGINT.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};

use crate::bus::EventBus;
use crate::cache::Cache;
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
            let mut spec = auth::token::TokenSpec::new(
                &format!("svc-{service}"),
                &[auth::Role::Service],
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
    let addr = listener.local_addr()?;
    let config = Arc::new(config);
    let auth_layer = auth::layer::AuthLayer::new(verifier(&config)?);
    let (bus, cache) = match &config.redis_url {
        Some(url) => (
            EventBus::redis(&url.0, &config.redis_prefix).await?,
            Cache::with_redis(&url.0, &config.redis_prefix).await?,
        ),
        None => (EventBus::local(), Cache::local()),
    };
    let sealer = Sealer::from_config(&config)?;
    let calendar = Arc::new(calendar(&config)?);
    let tasks = tokio_util::task::TaskTracker::new();
    let channels = Arc::default();
    let mut mounter = Mounter::new();
    for def in services {
        let ctx = ServiceContext {
            name: def.name,
            config: config.clone(),
            bus: bus.clone(),
            cache: cache.clone(),
            sealer: sealer.clone(),
            calendar: calendar.clone(),
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
    }

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    for name in &mounter.names {
        health_reporter
            .set_service_status(*name, tonic_health::ServingStatus::Serving)
            .await;
    }
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(contracts::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(contracts::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let names = mounter.names.clone();
    let mut routes = mounter.routes;
    routes
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);

    // Browsers call through gRPC-Web; they need CORS to read grpc-status from another origin.
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods(AllowMethods::any())
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([
            http::HeaderName::from_static("grpc-status"),
            http::HeaderName::from_static("grpc-message"),
            http::HeaderName::from_static("grpc-status-details-bin"),
        ])
        .max_age(Duration::from_secs(600));

    // Layers, outermost first: CORS answers preflights before anything else; gRPC-Web turns
    // browser calls into gRPC; Observe opens the RPC span so auth refusals are traced and
    // counted too; Auth leaves the Principal for handlers.
    let layers = tower::ServiceBuilder::new()
        .layer(cors)
        .layer(tonic_web::GrpcWebLayer::new())
        .layer(crate::telemetry::ObserveLayer)
        .layer(auth_layer)
        .into_inner();
    let server = tonic::transport::Server::builder()
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
