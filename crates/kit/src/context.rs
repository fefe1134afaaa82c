//! What a service receives when it is mounted, and how it mounts its gRPC services.
//!
//! A service crate exports one [`ServiceDef`]:
//! ```ignore
//! pub const SERVICE: kit::ServiceDef = kit::ServiceDef { name: "marriage", mount: |ctx, m| Box::pin(mount(ctx, m)) };
//!
//! static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
//!
//! async fn mount(ctx: kit::ServiceContext, m: &mut kit::Mounter) -> anyhow::Result<()> {
//!     let db = ctx.open_db(&MIGRATOR).await?;          // store + outbox relay + read-audit writer
//!     let api = api::MarriageApi::new(ctx.clone(), db);
//!     m.add(MarriageServiceServer::new(api).max_decoding_message_size(ctx.config.max_message_bytes));
//!     ctx.spawn(sweeper(ctx.clone()));                   // background jobs stop on ctx.shutdown
//!     Ok(())
//! }
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use sqlx::migrate::Migrator;
use tokio_util::sync::CancellationToken;
use tonic::server::NamedService;
use tonic::transport::{Channel, Endpoint};

use crate::bus::EventBus;
use crate::cache::Cache;
use crate::config::Config;
use crate::pii::Sealer;
use crate::store::Db;

pub type MountFn = for<'a> fn(ServiceContext, &'a mut Mounter) -> BoxFuture<'a, anyhow::Result<()>>;

/// A service of the suite, as the `civil` binary and the tests see it.
#[derive(Clone, Copy)]
pub struct ServiceDef {
    pub name: &'static str,
    pub mount: MountFn,
}

/// Shared handles a service is built from. Cheap to clone.
#[derive(Clone)]
pub struct ServiceContext {
    pub name: &'static str,
    pub config: Arc<Config>,
    pub bus: EventBus,
    pub cache: Cache,
    pub sealer: Sealer,
    pub calendar: Arc<civil_calendar::HolidayCalendar>,
    /// The clock every handler and job reads `now` / `today` from (settable in tests).
    pub clock: crate::clock::Clock,
    /// This service's own credential for calls to other services.
    pub credential: auth::client::ServiceCredential,
    /// Cancelled on shutdown; background jobs stop on it.
    pub shutdown: CancellationToken,
    pub(crate) self_addr: SocketAddr,
    pub(crate) channels: Arc<Mutex<HashMap<String, Channel>>>,
    pub(crate) tasks: tokio_util::task::TaskTracker,
}

impl ServiceContext {
    /// Opens this service's store (running its migrations) and starts its outbox relay.
    pub async fn open_db(&self, migrator: &Migrator) -> anyhow::Result<Db> {
        let db = Db::open(&self.config, self.name, migrator).await?;
        self.tasks.spawn(crate::outbox::spawn_relay(
            db.clone(),
            self.bus.clone(),
            self.name,
            self.shutdown.clone(),
        ));
        // Applies cache invalidations recorded with changes (kit::cache), outage or not.
        self.tasks.spawn(
            self.cache
                .spawn_invalidator(db.clone(), self.shutdown.clone()),
        );
        Ok(db)
    }

    /// A channel to another service of the suite (`CIVIL_UPSTREAM_<NAME>`, else this process).
    pub fn channel(&self, service: &str) -> Channel {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        channels
            .entry(service.to_owned())
            .or_insert_with(|| {
                let uri = self
                    .config
                    .upstreams
                    .get(service)
                    .cloned()
                    .unwrap_or_else(|| format!("http://{}", self.self_addr));
                Endpoint::from_shared(uri)
                    .expect("upstream address is a valid URI")
                    .connect_timeout(std::time::Duration::from_secs(5))
                    .connect_lazy()
            })
            .clone()
    }

    /// An outgoing request carrying this service's credential, the person it acts for and the
    /// current trace context.
    pub fn outbound<T>(&self, message: T, on_behalf_of: &str) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        self.credential.authorize(&mut request, on_behalf_of);
        crate::telemetry::inject(&mut request);
        request
    }

    /// Runs a background job until shutdown; the server waits for it when draining.
    pub fn spawn<F>(&self, job: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let shutdown = self.shutdown.clone();
        self.tasks.spawn(async move {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = job => {}
            }
        });
    }
}

/// Collects the gRPC services a process serves.
pub struct Mounter {
    pub(crate) routes: tonic::service::RoutesBuilder,
    pub(crate) names: Vec<&'static str>,
}

impl Mounter {
    pub(crate) fn new() -> Self {
        Self {
            routes: tonic::service::RoutesBuilder::default(),
            names: Vec::new(),
        }
    }

    /// Adds a generated server (e.g. `MarriageServiceServer::new(api)`); health reports it.
    pub fn add<S>(&mut self, service: S) -> &mut Self
    where
        S: tower::Service<
                http::Request<tonic::body::Body>,
                Response = http::Response<tonic::body::Body>,
                Error = Infallible,
            > + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        self.routes.add_service(service);
        self
    }
}
