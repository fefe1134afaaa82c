//! Trust settings and the evidence log's moving parts in a running server.
//!
//! - Settings (`CIVIL_AUTH_*`, `CIVIL_AUDIT_*`, see [`TrustSettings::from_config`]); a bad
//!   value refuses to start.
//! - Security events: the auth layer's refusals, bad tokens, forged on-behalf-of headers and
//!   administrative calls go to the audit trail of the service whose method was called
//!   ([`ServerAudit`]; a path naming no service of this process goes to the first mounted one),
//!   durably, before the answer goes out.
//! - One sealer per service ([`Evidence::spawn`]): chains pending audit rows and signs the head
//!   at the configured interval; writes are refused (UNAVAILABLE `AUDIT_SIGNATURE_STALE`) while
//!   the newest signature is older than the bound, and fail with UNAVAILABLE
//!   `AUDIT_UNAVAILABLE` when their audit row cannot be written.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use auth::audit::{AuditEntry, AuditWriter};
use auth::duties::IncompatibleRoles;
use auth::evidence::{HeadSigner, SignatureAlg};
use futures::future::BoxFuture;
use sqlx::AnyPool;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Status};

use crate::config::Config;

// The settings are declared in `crate::config::SERVICE_SETTINGS` (`auth`, `audit`):
// `CIVIL_AUTH_INCOMPATIBLE_ROLES`, `CIVIL_AUTH_PROFILES_FILE`, `CIVIL_AUDIT_SIGNING_KEY`, `CIVIL_AUDIT_SIGNATURE_ALG`,
// `CIVIL_AUDIT_SIGN_INTERVAL_MS`, `CIVIL_AUDIT_MAX_SIGNATURE_AGE_MS`,
// `CIVIL_AUDIT_SEAL_INTERVAL_MS`.

/// UNAVAILABLE reason: the audit row of this call could not be written; nothing changed.
pub const AUDIT_UNAVAILABLE: &str = "AUDIT_UNAVAILABLE";
/// UNAVAILABLE reason: the audit chain's newest signature is older than the bound.
pub const AUDIT_SIGNATURE_STALE: &str = "AUDIT_SIGNATURE_STALE";

/// What the trust machinery runs with.
#[derive(Clone, Debug)]
pub struct TrustSettings {
    pub incompatible: IncompatibleRoles,
    /// The caller profiles: `CIVIL_AUTH_PROFILES_FILE`, else the committed `profiles.toml`.
    pub profiles: auth::profiles::Profiles,
    pub alg: SignatureAlg,
    pub signer: HeadSigner,
    /// How often the head is signed (default 30 s).
    pub sign_interval: Duration,
    /// Writes are refused when the newest signature is older than this (default 120 s).
    pub max_signature_age: Duration,
    /// How often pending rows are chained (default 200 ms).
    pub seal_interval: Duration,
}

impl TrustSettings {
    /// From the configuration; every bad value is reported. The signing key is
    /// `CIVIL_AUDIT_SIGNING_KEY` (64 hex), else `audit-signing-key.pem` in the data directory
    /// (created on first use, like the dev PII key).
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let mut errors = Vec::new();
        let setting = |s: &str, k: &str| config.service_setting(s, k).unwrap_or("");
        let incompatible = IncompatibleRoles::parse(setting("auth", "incompatible_roles"))
            .unwrap_or_else(|e| {
                errors.push(format!("CIVIL_AUTH_INCOMPATIBLE_ROLES: {e}"));
                IncompatibleRoles::default()
            });
        let profiles = match setting("auth", "profiles_file") {
            "" => Ok(auth::profiles::Profiles::committed().clone()),
            path => std::fs::read_to_string(path)
                .map_err(|e| format!("{path}: {e}"))
                .and_then(|text| {
                    auth::profiles::Profiles::parse(
                        &text,
                        auth::permissions::Permissions::committed(),
                    )
                }),
        }
        .and_then(|p| crate::mask::validate(&p).map(|()| p))
        .unwrap_or_else(|e| {
            errors.push(format!("CIVIL_AUTH_PROFILES_FILE: {e}"));
            auth::profiles::Profiles::default()
        });
        let alg = SignatureAlg::parse(setting("audit", "signature_alg")).unwrap_or_else(|e| {
            errors.push(format!("CIVIL_AUDIT_SIGNATURE_ALG: {e}"));
            SignatureAlg::EcdsaP256Sha256
        });
        let mut ms = |key: &str, default: u64| match setting("audit", key) {
            "" => Duration::from_millis(default),
            v => match v.parse::<u64>() {
                Ok(n) if n > 0 => Duration::from_millis(n),
                _ => {
                    errors.push(format!(
                        "CIVIL_AUDIT_{}: must be a positive number of milliseconds",
                        key.to_ascii_uppercase()
                    ));
                    Duration::from_millis(default)
                }
            },
        };
        let sign_interval = ms("sign_interval_ms", 30_000);
        let max_signature_age = ms("max_signature_age_ms", 120_000);
        let seal_interval = ms("seal_interval_ms", 200);
        let signer = match setting("audit", "signing_key") {
            "" => HeadSigner::load_or_create(&config.data_dir),
            hex => HeadSigner::from_hex(hex),
        };
        let signer = signer.unwrap_or_else(|e| {
            errors.push(format!("CIVIL_AUDIT_SIGNING_KEY: {e}"));
            HeadSigner::generate()
        });
        if !errors.is_empty() {
            anyhow::bail!("bad trust settings:\n{}", errors.join("\n"));
        }
        Ok(Self {
            incompatible,
            profiles,
            alg,
            signer,
            sign_interval,
            max_signature_age,
            seal_interval,
        })
    }
}

/// Per server (its address): the settings and each service's read-audit writer.
#[derive(Default)]
struct ServerState {
    settings: Option<TrustSettings>,
    writers: Vec<(String, AuditWriter)>,
    /// Each service's pipeline, for the auditor's API (crate::audit_trail).
    trails: Vec<(String, crate::rpc::Rpc)>,
}

static SERVERS: LazyLock<Mutex<HashMap<SocketAddr, ServerState>>> = LazyLock::new(Default::default);

/// `kit::server` installs the settings of the server at `addr` before mounting services.
pub fn install(addr: SocketAddr, settings: TrustSettings) {
    if let Ok(mut servers) = SERVERS.lock() {
        servers.insert(
            addr,
            ServerState {
                settings: Some(settings),
                writers: Vec::new(),
                trails: Vec::new(),
            },
        );
    }
}

/// The settings of the server at `addr` (defaults with a fresh key when none was installed:
/// an `Rpc` built outside a server).
pub(crate) fn settings_of(addr: SocketAddr, config: &Config) -> TrustSettings {
    let installed = SERVERS
        .lock()
        .ok()
        .and_then(|s| s.get(&addr).and_then(|st| st.settings.clone()));
    installed.unwrap_or_else(|| {
        TrustSettings::from_config(config).unwrap_or_else(|_| TrustSettings {
            incompatible: IncompatibleRoles::default(),
            profiles: auth::profiles::Profiles::committed().clone(),
            alg: SignatureAlg::EcdsaP256Sha256,
            signer: HeadSigner::generate(),
            sign_interval: Duration::from_secs(30),
            max_signature_age: Duration::from_secs(120),
            seal_interval: Duration::from_millis(200),
        })
    })
}

/// Registers `service`'s read-audit writer for the security events of the server at `addr`.
pub(crate) fn register_writer(addr: SocketAddr, service: &str, writer: AuditWriter) {
    if let Ok(mut servers) = SERVERS.lock() {
        let state = servers.entry(addr).or_default();
        state.writers.retain(|(s, _)| s != service);
        state.writers.push((service.to_owned(), writer));
    }
}

/// Registers `service`'s pipeline as the trail the auditor's API reads for the server at `addr`.
pub(crate) fn register_trail(addr: SocketAddr, service: &str, rpc: crate::rpc::Rpc) {
    if let Ok(mut servers) = SERVERS.lock() {
        let state = servers.entry(addr).or_default();
        state.trails.retain(|(s, _)| s != service);
        state.trails.push((service.to_owned(), rpc));
    }
}

/// The pipeline of `service`'s trail in the server at `addr`.
pub(crate) fn trail(addr: SocketAddr, service: &str) -> Option<crate::rpc::Rpc> {
    let servers = SERVERS.lock().ok()?;
    servers
        .get(&addr)?
        .trails
        .iter()
        .find(|(s, _)| s == service)
        .map(|(_, r)| r.clone())
}

/// Every trail of the server at `addr`, in mount order.
pub(crate) fn trails(addr: SocketAddr) -> Vec<(String, crate::rpc::Rpc)> {
    SERVERS
        .lock()
        .ok()
        .and_then(|s| s.get(&addr).map(|st| st.trails.clone()))
        .unwrap_or_default()
}

/// Forgets the server at `addr` (on stop).
pub fn uninstall(addr: SocketAddr) {
    if let Ok(mut servers) = SERVERS.lock() {
        servers.remove(&addr);
    }
}

/// The auth layer's sink: the audit trail of the service the path names.
pub struct ServerAudit {
    pub addr: SocketAddr,
}

impl ServerAudit {
    fn writer_for(&self, path: &str) -> Option<AuditWriter> {
        let servers = SERVERS.lock().ok()?;
        let state = servers.get(&self.addr)?;
        // `/civil.<service>.v1.XService/Rpc`
        let service = path.trim_start_matches('/').split('.').nth(1).unwrap_or("");
        state
            .writers
            .iter()
            .find(|(s, _)| s == service)
            .or_else(|| state.writers.first())
            .map(|(_, w)| w.clone())
    }
}

impl auth::layer::SecurityAudit for ServerAudit {
    fn record(&self, path: &str, mut entry: AuditEntry) -> BoxFuture<'static, ()> {
        let writer = self.writer_for(path);
        entry.trace_id = crate::telemetry::current_trace_id();
        Box::pin(async move {
            match writer {
                Some(w) => {
                    if w.record_durable(entry).await.is_err() {
                        tracing::error!("security event could not be audited");
                    }
                }
                None => tracing::warn!(
                    action = %entry.action,
                    outcome = %entry.outcome,
                    "security event with no audit trail to write to"
                ),
            }
        })
    }
}

/// One service's evidence log state: when the head was last signed.
#[derive(Debug)]
pub struct Evidence {
    last_signed_ms: AtomicI64,
    max_age_ms: i64,
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Evidence {
    /// Starts the service's sealer: chains pending rows every `seal_interval`, signs the head at
    /// once and then every `sign_interval` (signing times are wall-clock times, not the
    /// service's settable clock).
    pub fn spawn(
        pool: AnyPool,
        settings: &TrustSettings,
        shutdown: CancellationToken,
        tasks: &tokio_util::task::TaskTracker,
    ) -> Arc<Self> {
        // The bound runs from the start; the first tick signs at once.
        let evidence = Arc::new(Self {
            last_signed_ms: AtomicI64::new(wall_ms()),
            max_age_ms: settings.max_signature_age.as_millis() as i64,
        });
        let state = evidence.clone();
        let signer = settings.signer.clone();
        let (seal_every, sign_every) = (settings.seal_interval, settings.sign_interval);
        // Tracked: a stopping server waits for the last seal and signature.
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(seal_every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut signed_once = false;
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let now = wall_ms();
                let due = now - state.last_signed_ms.load(Ordering::Relaxed)
                    >= sign_every.as_millis() as i64;
                if due || !signed_once {
                    match auth::evidence::sign_head(&pool, &signer, now).await {
                        Ok(_) => {
                            state.last_signed_ms.store(now, Ordering::Relaxed);
                            signed_once = true;
                        }
                        Err(e) => tracing::error!(error = %e, "audit head could not be signed"),
                    }
                } else if let Err(e) = auth::audit::seal(&pool).await {
                    tracing::warn!(error = %e, "audit rows could not be sealed");
                }
            }
            // Chain what the last calls wrote.
            let _ = auth::evidence::sign_head(&pool, &signer, wall_ms()).await;
        });
        evidence
    }

    /// UNAVAILABLE `AUDIT_SIGNATURE_STALE` while the newest signature is older than the bound.
    pub fn check_fresh(&self) -> Result<(), Status> {
        let age = wall_ms() - self.last_signed_ms.load(Ordering::Relaxed);
        if age > self.max_age_ms {
            return Err(stale(age));
        }
        Ok(())
    }
}

fn stale(age_ms: i64) -> Status {
    auth::reasons::status(
        Code::Unavailable,
        AUDIT_SIGNATURE_STALE,
        &format!(
            "changes are paused: the audit trail was last signed {} s ago, beyond the bound; \
             retry when the signer has caught up (operators: check the audit signer)",
            age_ms / 1000
        ),
        "审计日志签名已超时，暂停受理变更，请稍后重试（运维人员请检查审计签名服务）",
        HashMap::new(),
    )
}

/// UNAVAILABLE `AUDIT_UNAVAILABLE`: the audit row could not be written, so the call did not
/// happen.
pub fn audit_unavailable() -> Status {
    auth::reasons::status(
        Code::Unavailable,
        AUDIT_UNAVAILABLE,
        "the audit trail cannot be written, so nothing was done: retry later",
        "审计日志暂时无法写入，本次操作未执行，请稍后重试",
        HashMap::new(),
    )
}

/// The public key an offline check trusts: `--public-key` when given, else the configured
/// signing key's (`CIVIL_AUDIT_SIGNING_KEY`), else the dev key in the data directory.
pub fn trusted_public_key(
    config: &Config,
    given: Option<&std::path::Path>,
) -> anyhow::Result<String> {
    if let Some(path) = given {
        return Ok(std::fs::read_to_string(path)?);
    }
    if let Some(hex) = config.service_setting("audit", "signing_key")
        && !hex.is_empty()
    {
        return Ok(HeadSigner::from_hex(hex)?.public_key_pem().to_owned());
    }
    let dev = config.data_dir.join(auth::evidence::DEV_KEY_FILE);
    anyhow::ensure!(
        dev.exists(),
        "no audit signing key to verify with: pass --public-key <pem> (the county's audit \
         public key), or set CIVIL_AUDIT_SIGNING_KEY / CIVIL_DATA_DIR"
    );
    Ok(HeadSigner::load_or_create(&config.data_dir)?
        .public_key_pem()
        .to_owned())
}

/// `civil audit-export <service> <file>`: seals, signs the head now and writes every row and
/// signed head as JSON.
pub async fn export_to_file(
    config: &Config,
    service: &str,
    file: &std::path::Path,
) -> anyhow::Result<usize> {
    let settings = TrustSettings::from_config(config)?;
    let db = crate::store::Db::connect(config, service).await?;
    let export = auth::evidence::export(&db.pool, service, &settings.signer, wall_ms()).await?;
    std::fs::write(file, serde_json::to_vec_pretty(&export)?)?;
    Ok(export.rows.len())
}

/// `civil audit-verify --file <file>`: the offline check of an export, without the service or
/// its database. Every problem is listed in the error.
pub fn verify_file(
    file: &std::path::Path,
    trusted_public_pem: &str,
    max_gap_ms: Option<i64>,
) -> anyhow::Result<auth::evidence::Verified> {
    let export: auth::evidence::Export = serde_json::from_slice(&std::fs::read(file)?)
        .map_err(|e| anyhow::anyhow!("{} is not an audit export: {e}", file.display()))?;
    auth::evidence::verify_export(&export, trusted_public_pem, max_gap_ms).map_err(|problems| {
        anyhow::anyhow!(
            "{} ({}): the audit trail is NOT intact:\n{}",
            file.display(),
            export.service,
            problems.join("\n")
        )
    })
}
