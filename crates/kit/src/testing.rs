//! A suite on port 0 with a fresh store, for service and end-to-end tests.
//!
//! SQLite files in a temporary directory by default; PostgreSQL when `CIVIL_TEST_PG` holds a URL
//! (each suite gets its own schemas), Redis when `CIVIL_TEST_REDIS` does (its own key prefix).
//! Tokens come from the dev issuer whose key lives in the suite's data directory.

use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

use crate::config::{Config, Secret};
use crate::context::ServiceDef;
use crate::server::Running;

pub use auth::Role;

/// The caller profile of a plain `service` test token: the suite's own aggregator, which may
/// call every RPC open to `service` and sees every field.
pub const DEFAULT_TEST_PROFILE: &str = "onematter";

/// A running test suite. Stops when dropped.
pub struct TestSuite {
    pub config: Config,
    pub channel: Channel,
    pub addr: std::net::SocketAddr,
    /// The suite's clock: `suite.clock.set_today(..)` moves every service's today.
    pub clock: crate::clock::Clock,
    issuer: auth::token::DevIssuer,
    services: Vec<ServiceDef>,
    running: Option<Running>,
    _dir: std::sync::Arc<tempfile::TempDir>,
}

/// A fresh configuration for one test: temp data dir, optional PostgreSQL / Redis isolation.
pub fn test_config(dir: &std::path::Path) -> Config {
    let unique = uuid::Uuid::now_v7().simple().to_string();
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    if let Ok(url) = std::env::var("CIVIL_TEST_PG")
        && !url.is_empty()
    {
        config.database_url = Some(Secret(url));
        config.db_schema_prefix = format!("t{}_", &unique[unique.len() - 12..]);
        config.db_max_connections = 4;
    }
    if let Ok(url) = std::env::var("CIVIL_TEST_REDIS")
        && !url.is_empty()
    {
        config.redis_url = Some(Secret(url));
        config.redis_prefix = format!("test:{unique}");
    }
    config
}

/// Starts `services` in-process on a free port.
pub async fn spawn(services: &[ServiceDef]) -> TestSuite {
    spawn_with(services, |_| {}).await
}

/// Like [`spawn`], letting the test adjust the configuration first.
pub async fn spawn_with(services: &[ServiceDef], adjust: impl FnOnce(&mut Config)) -> TestSuite {
    let dir = std::sync::Arc::new(tempfile::tempdir().expect("temp dir"));
    let mut config = test_config(dir.path());
    adjust(&mut config);
    start(
        config,
        services.to_vec(),
        dir,
        crate::clock::Clock::system(),
    )
    .await
}

async fn start(
    config: Config,
    services: Vec<ServiceDef>,
    dir: std::sync::Arc<tempfile::TempDir>,
    clock: crate::clock::Clock,
) -> TestSuite {
    let _guard = crate::telemetry::init("civil-test", &config);
    std::mem::forget(_guard);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let running = crate::server::start_with_clock(
        config.clone(),
        &services,
        listener,
        CancellationToken::new(),
        clock.clone(),
    )
    .await
    .expect("suite starts");
    let addr = running.addr;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect_timeout(Duration::from_secs(5))
        .connect_lazy();
    let issuer = auth::token::DevIssuer::load_or_create(&config.data_dir).expect("dev issuer");
    TestSuite {
        config,
        channel,
        addr,
        clock,
        issuer,
        services,
        running: Some(running),
        _dir: dir,
    }
}

impl TestSuite {
    /// A bearer token for a caller with these roles and region scope. A `service` token names
    /// the caller profile [`DEFAULT_TEST_PROFILE`] (the suite's aggregator); use
    /// [`TestSuite::token_for_profile`] for another calling system.
    pub fn token(&self, roles: &[Role], region: &str) -> String {
        self.token_for(
            &format!("test-{}", uuid::Uuid::now_v7().simple()),
            roles,
            region,
        )
    }

    /// A token with a fixed subject (to check audit rows name the caller). A `service` token
    /// `svc-<profile>` names that profile when it exists, else [`DEFAULT_TEST_PROFILE`].
    pub fn token_for(&self, subject: &str, roles: &[Role], region: &str) -> String {
        let mut spec = auth::token::TokenSpec::new(subject, roles, region);
        spec.second_factor = true;
        if roles == [Role::Service] {
            let named = subject.strip_prefix("svc-").unwrap_or(subject);
            let profile = if auth::profiles::Profiles::committed().get(named).is_some() {
                named
            } else {
                DEFAULT_TEST_PROFILE
            };
            spec.profile = Some(profile.to_owned());
        }
        self.issuer.mint(&spec, Duration::from_secs(3600))
    }

    /// A calling system's token: role `service` with the caller profile `profile`.
    pub fn token_for_profile(&self, subject: &str, profile: &str, region: &str) -> String {
        let spec = auth::token::TokenSpec::for_profile(subject, profile, region);
        self.issuer.mint(&spec, Duration::from_secs(3600))
    }

    /// The dev issuer (to forge expired or foreign tokens in tests).
    pub fn issuer(&self) -> &auth::token::DevIssuer {
        &self.issuer
    }

    /// Wraps `message` with a bearer token.
    pub fn request<T>(&self, message: T, token: &str) -> tonic::Request<T> {
        let mut r = tonic::Request::new(message);
        r.metadata_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("ascii token"),
        );
        r
    }

    /// Opens a service's store directly, for assertions a user could make (row counts, audit).
    pub async fn db(&self, service: &str) -> crate::store::Db {
        crate::store::Db::connect(&self.config, service)
            .await
            .expect("open store")
    }

    /// Stops the server (draining in-flight calls) and starts it again on the same store: what
    /// a crash-restart or a deploy looks like to a caller.
    pub async fn restart(mut self) -> TestSuite {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("clean stop");
        }
        let mut config = self.config.clone();
        config.listen = "127.0.0.1:0".into();
        start(
            config,
            self.services.clone(),
            self._dir.clone(),
            self.clock.clone(),
        )
        .await
    }

    /// Stops the server and waits for the drain.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("clean stop");
        }
    }
}

impl Drop for TestSuite {
    fn drop(&mut self) {
        if let Some(r) = &self.running {
            r.shutdown.cancel();
        }
    }
}

/// A codec that sends and receives message bytes as they are: tests use it to send malformed
/// protobuf, an empty body to any method, or a message of a chosen size.
#[derive(Clone, Copy, Debug, Default)]
pub struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }
    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl tonic::codec::Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        use prost::bytes::BufMut as _;
        dst.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Vec<u8>>, tonic::Status> {
        use prost::bytes::Buf as _;
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

impl TestSuite {
    /// Calls `path` (`/civil.x.v1.XService/Rpc`) with raw message bytes and a bearer token.
    pub async fn raw_call(
        &self,
        path: &str,
        body: Vec<u8>,
        token: &str,
    ) -> Result<Vec<u8>, tonic::Status> {
        let mut grpc = tonic::client::Grpc::new(self.channel.clone())
            .max_encoding_message_size(usize::MAX)
            .max_decoding_message_size(usize::MAX);
        grpc.ready()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let path = http::uri::PathAndQuery::try_from(path)
            .map_err(|e| tonic::Status::invalid_argument(e.to_string()))?;
        grpc.unary(self.request(body, token), path, RawCodec)
            .await
            .map(tonic::Response::into_inner)
    }
}
