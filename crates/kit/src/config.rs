//! Configuration: defaults that run, an optional TOML file (`CIVIL_CONFIG`), then `CIVIL_*`
//! environment variables. Every bad key is reported in one error, not the first only: a bad
//! value, and also a key nobody reads (a typo, `CIVIL_CRYPTO=sm4`, an unknown `[section] key`),
//! since a setting silently ignored is a policy silently not applied.
//!
//! Service settings (`CIVIL_<SERVICE>_<KEY>`, or `key` under `[<service>]` in the file) must be
//! declared: in [`SERVICE_SETTINGS`] here, or by the binary through
//! [`Config::load_declaring`]. Variables of tools and tests (`CIVIL_TEST_*`, `CIVIL_BENCH_*`,
//! `CIVIL_BACKUP_*`, see [`TOOL_VARIABLES`]) are not the service's and are ignored.
//!
//! Why not figment: its environment provider nests on a separator, and our keys use `_` both
//! inside names and between service and key (`CIVIL_ASSISTANCE_POLICY_FILE`), so every
//! deployment's variables would have to change to `__`; and serde extraction stops at the first
//! error, so "every bad key at once" needs this pass over the keys anyway.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where configuration values come from; tests pass a map instead of touching the process env.
pub trait Source {
    fn vars(&self) -> BTreeMap<String, String>;
}

/// The process environment.
pub struct Env;

impl Source for Env {
    fn vars(&self) -> BTreeMap<String, String> {
        std::env::vars().collect()
    }
}

impl Source for BTreeMap<String, String> {
    fn vars(&self) -> BTreeMap<String, String> {
        self.clone()
    }
}

mod known;
pub use known::{CRYPTO_SUITES, SERVICE_SETTINGS, ServiceSettings, TOOL_VARIABLES, UPSTREAMS};

/// A value that must not appear in `Debug` output or logs.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Settings shared by every service. Service-specific settings are read from [`Config::extra`].
#[derive(Debug, Clone)]
pub struct Config {
    /// `CIVIL_LISTEN`: gRPC (and gRPC-Web) address.
    pub listen: String,
    /// `CIVIL_DATA_DIR`: SQLite files, dev keys.
    pub data_dir: PathBuf,
    /// `CIVIL_DATABASE_URL`: `postgres://…` for production; unset means SQLite files.
    pub database_url: Option<Secret>,
    /// `CIVIL_DB_SCHEMA_PREFIX`: prefix for per-service PostgreSQL schemas (tests isolate with it).
    pub db_schema_prefix: String,
    /// `CIVIL_DB_MAX_CONNECTIONS`: PostgreSQL pool size per service.
    pub db_max_connections: u32,
    /// `CIVIL_REDIS_URL`: Redis for cache and event streams; unset means in-process.
    /// `rediss://` speaks TLS (rustls; the system's roots, or the file `SSL_CERT_FILE` names).
    pub redis_url: Option<Secret>,
    /// `CIVIL_REDIS_PREFIX`: key and stream prefix (tests isolate with it).
    pub redis_prefix: String,
    /// `CIVIL_CACHE_TIMEOUT_MS`: deadline of one Redis cache operation; past it the read goes
    /// to the store (see [`crate::cache`]).
    pub cache_timeout_ms: u64,
    /// `CIVIL_JWKS_FILE`: identity provider's public keys; unset means the dev issuer's.
    pub jwks_file: Option<PathBuf>,
    /// `CIVIL_TOKEN_ISSUER`: expected `iss`.
    pub token_issuer: String,
    /// `CIVIL_SERVICE_TOKEN_FILE`: this service's own token for calls to others.
    pub service_token_file: Option<PathBuf>,
    /// `CIVIL_PII_KEY`: 64 hex chars; seals identity numbers at rest. Unset: a dev key file.
    pub pii_key: Option<Secret>,
    /// `CIVIL_CRYPTO`: algorithm suite; `standard` (AES-256-GCM, HMAC-SHA-256, ECDSA P-256) is
    /// the only one built in; a 国密 (SM2/SM3/SM4) suite would be another value behind the
    /// same seams.
    pub crypto: String,
    /// `CIVIL_PII_KEY_PREVIOUS`: during a PII key rotation, the key being retired (64 hex).
    pub pii_key_previous: Option<Secret>,
    /// `CIVIL_PII_INDEX_KEY`: pins the blind-index key across a PII key rotation (64 hex).
    pub pii_index_key: Option<Secret>,
    /// `CIVIL_COUNTY`: the county this deployment serves (division code).
    pub county: String,
    /// `CIVIL_HOLIDAYS_FILE`: extra calendar rows (a new year's notice), merged over the embedded.
    pub holidays_file: Option<PathBuf>,
    /// `CIVIL_REQUEST_TIMEOUT_MS`.
    pub request_timeout_ms: u64,
    /// `CIVIL_MAX_MESSAGE_BYTES`.
    pub max_message_bytes: usize,
    /// `CIVIL_METRICS_LISTEN`: Prometheus scrape address, e.g. `127.0.0.1:9464`.
    pub metrics_listen: Option<String>,
    /// `CIVIL_LOG_FORMAT`: `pretty` or `json`.
    pub log_format: LogFormat,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: OTLP/gRPC trace export, e.g. `http://otel-collector:4317`.
    pub otlp_endpoint: Option<String>,
    /// `CIVIL_UPSTREAM_<SERVICE>`: where another service is, e.g. `http://assistance:50051`.
    /// Unset: this process's own address (all services in one process).
    pub upstreams: BTreeMap<String, String>,
    /// Every other `CIVIL_*` key, lower-cased without the prefix, for service settings.
    pub extra: BTreeMap<String, String>,
    /// `CIVIL_REFLECTION`: `on` (default) lists this process's services over gRPC reflection;
    /// `off` serves no reflection.
    pub reflection: bool,
    /// `CIVIL_CORS_ORIGINS`: comma-separated origins browsers may call from (`none` or empty:
    /// none). Unset: none in production (`CIVIL_DATABASE_URL` set), local origins
    /// (`http://localhost:*`, `http://127.0.0.1:*`) in development.
    pub cors_origins: Option<Vec<String>>,
    /// `CIVIL_RATE_LIMIT_PER_SECOND`: calls per second one caller (token subject, or client IP
    /// when unauthenticated) may make to one service; 0 (default) means no limit.
    /// `CIVIL_<SERVICE>_RATE_LIMIT_PER_SECOND` overrides it for one service.
    pub rate_limit_per_second: u32,
    /// `CIVIL_RATE_LIMIT_BURST`: calls a caller may make at once above the rate; unset: the
    /// rate itself. `CIVIL_<SERVICE>_RATE_LIMIT_BURST` overrides it for one service.
    pub rate_limit_burst: Option<u32>,
    /// `CIVIL_MAX_CONCURRENT_CALLS`: calls in progress at once in this process; one more is
    /// answered UNAVAILABLE at once instead of queueing (load shedding). 0 means no limit.
    pub max_concurrent_calls: usize,
    /// `CIVIL_TLS_CERT_FILE`: PEM certificate chain; with `CIVIL_TLS_KEY_FILE`, the listener
    /// speaks TLS only.
    pub tls_cert_file: Option<PathBuf>,
    /// `CIVIL_TLS_KEY_FILE`: PEM private key of the listener's certificate.
    pub tls_key_file: Option<PathBuf>,
    /// `CIVIL_DATABASE_CA_FILE`: CA certificate (PEM) PostgreSQL's certificate must chain to;
    /// sets `sslrootcert` and, unless the URL has an `sslmode`, `sslmode=verify-full`.
    pub database_ca_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:50051".into(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            db_schema_prefix: String::new(),
            db_max_connections: 8,
            redis_url: None,
            redis_prefix: "civil".into(),
            cache_timeout_ms: 80,
            jwks_file: None,
            token_issuer: auth::token::DEV_ISSUER.into(),
            service_token_file: None,
            pii_key: None,
            crypto: "standard".into(),
            pii_key_previous: None,
            pii_index_key: None,
            county: "330723".into(),
            holidays_file: None,
            request_timeout_ms: 30_000,
            max_message_bytes: 4 * 1024 * 1024,
            metrics_listen: None,
            log_format: LogFormat::Pretty,
            otlp_endpoint: None,
            upstreams: BTreeMap::new(),
            extra: BTreeMap::new(),
            reflection: true,
            cors_origins: None,
            rate_limit_per_second: 0,
            rate_limit_burst: None,
            max_concurrent_calls: 4096,
            tls_cert_file: None,
            tls_key_file: None,
            database_ca_file: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("bad configuration:\n{}", .0.join("\n"))]
pub struct ConfigError(pub Vec<String>);

impl Config {
    /// Loads from the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_from(&Env)
    }

    /// Loads from any source: TOML file named by `CIVIL_CONFIG` first, variables over it.
    /// Service settings are checked against [`SERVICE_SETTINGS`].
    pub fn load_from(source: &dyn Source) -> Result<Self, ConfigError> {
        Self::load_declaring(source, &[])
    }

    /// Like [`Config::load_from`], accepting also the service settings in `declared` (a
    /// service crate's own list, e.g. `&[funeral::SETTINGS]`).
    pub fn load_declaring(
        source: &dyn Source,
        declared: &[ServiceSettings],
    ) -> Result<Self, ConfigError> {
        let vars = source.vars();
        // key (lower case, no prefix) -> (value, where it came from, for messages)
        let mut values: BTreeMap<String, (String, String)> = BTreeMap::new();
        let mut errors = Vec::new();
        if let Some(path) = vars.get("CIVIL_CONFIG") {
            match std::fs::read_to_string(path)
                .map_err(|e| e.to_string())
                .and_then(|t| t.parse::<toml::Table>().map_err(|e| e.to_string()))
            {
                Ok(table) => flatten("", &table, path, &mut values),
                Err(e) => errors.push(format!("CIVIL_CONFIG={path}: {e}")),
            }
        }
        for (k, v) in &vars {
            if let Some(key) = k.strip_prefix("CIVIL_")
                && key != "CONFIG"
            {
                values.insert(key.to_ascii_lowercase(), (v.clone(), k.clone()));
            }
        }
        let mut cfg = Config {
            otlp_endpoint: vars
                .get("OTEL_EXPORTER_OTLP_ENDPOINT")
                .cloned()
                .and_then(non_empty),
            ..Config::default()
        };
        for (key, (value, origin)) in values {
            let secret = key.ends_with("_key") || key.ends_with("_url");
            let shown = if secret {
                "(hidden)".to_owned()
            } else {
                format!("{value:?}")
            };
            let bad = |e: &dyn std::fmt::Display| format!("{origin}={shown}: {e}");
            let hex_key = |errors: &mut Vec<String>| {
                if value.len() != 64 || hex::decode(&value).is_err() {
                    errors.push(bad(&"must be 64 hex characters (32 bytes)"));
                    None
                } else {
                    Some(Secret(value.clone()))
                }
            };
            match key.as_str() {
                "listen" => cfg.listen = value,
                "data_dir" => cfg.data_dir = value.into(),
                "database_url" => cfg.database_url = non_empty(value).map(Secret),
                "db_schema_prefix" => cfg.db_schema_prefix = value,
                "db_max_connections" => match value.parse() {
                    Ok(n) => cfg.db_max_connections = n,
                    Err(e) => errors.push(bad(&e)),
                },
                "redis_url" => cfg.redis_url = non_empty(value).map(Secret),
                "redis_prefix" => cfg.redis_prefix = value,
                "cache_timeout_ms" => match value.parse() {
                    Ok(n) if n > 0 => cfg.cache_timeout_ms = n,
                    Ok(_) => errors.push(bad(&"must be above 0")),
                    Err(e) => errors.push(bad(&e)),
                },
                "jwks_file" => cfg.jwks_file = non_empty(value).map(Into::into),
                "token_issuer" => cfg.token_issuer = value,
                "service_token_file" => cfg.service_token_file = non_empty(value).map(Into::into),
                "pii_key" => cfg.pii_key = hex_key(&mut errors).or(cfg.pii_key),
                "pii_key_previous" => {
                    cfg.pii_key_previous = hex_key(&mut errors).or(cfg.pii_key_previous)
                }
                "pii_index_key" => cfg.pii_index_key = hex_key(&mut errors).or(cfg.pii_index_key),
                "crypto" => {
                    if CRYPTO_SUITES.contains(&value.as_str()) {
                        cfg.crypto = value;
                    } else {
                        errors.push(bad(&format!(
                            "unknown algorithm suite; supported: {}",
                            CRYPTO_SUITES.join(", ")
                        )));
                    }
                }
                "county" => {
                    if civil_id::RegionCode::parse(&value).is_err() {
                        errors.push(bad(&"must be a division code"));
                    }
                    cfg.county = value;
                }
                "holidays_file" => cfg.holidays_file = non_empty(value).map(Into::into),
                "request_timeout_ms" => match value.parse() {
                    Ok(n) => cfg.request_timeout_ms = n,
                    Err(e) => errors.push(bad(&e)),
                },
                "max_message_bytes" => match value.parse() {
                    Ok(n) => cfg.max_message_bytes = n,
                    Err(e) => errors.push(bad(&e)),
                },
                "metrics_listen" => cfg.metrics_listen = non_empty(value),
                "log_format" => match value.as_str() {
                    "pretty" => cfg.log_format = LogFormat::Pretty,
                    "json" => cfg.log_format = LogFormat::Json,
                    _ => errors.push(bad(&"must be pretty or json")),
                },
                "reflection" => match value.as_str() {
                    "on" => cfg.reflection = true,
                    "off" => cfg.reflection = false,
                    _ => errors.push(bad(&"must be on or off")),
                },
                "cors_origins" => {
                    let origins: Vec<String> = value
                        .split(',')
                        .map(str::trim)
                        .filter(|o| !o.is_empty() && *o != "none")
                        .map(|o| o.trim_end_matches('/').to_owned())
                        .collect();
                    let bad_origins: Vec<&String> = origins
                        .iter()
                        .filter(|o| {
                            !(o.starts_with("http://") || o.starts_with("https://"))
                                || http::HeaderValue::from_str(o).is_err()
                        })
                        .collect();
                    if bad_origins.is_empty() {
                        cfg.cors_origins = Some(origins);
                    } else {
                        errors.push(bad(&"each origin must be scheme://host[:port], e.g. https://portal.example.gov.cn"));
                    }
                }
                "rate_limit_per_second" => match value.parse() {
                    Ok(n) => cfg.rate_limit_per_second = n,
                    Err(e) => errors.push(bad(&e)),
                },
                "rate_limit_burst" => match value.parse() {
                    Ok(n) if n > 0 => cfg.rate_limit_burst = Some(n),
                    Ok(_) => errors.push(bad(&"must be above 0")),
                    Err(e) => errors.push(bad(&e)),
                },
                "max_concurrent_calls" => match value.parse() {
                    Ok(n) => cfg.max_concurrent_calls = n,
                    Err(e) => errors.push(bad(&e)),
                },
                "tls_cert_file" => cfg.tls_cert_file = non_empty(value).map(Into::into),
                "tls_key_file" => cfg.tls_key_file = non_empty(value).map(Into::into),
                "database_ca_file" => cfg.database_ca_file = non_empty(value).map(Into::into),
                k if k.starts_with("upstream_") => {
                    let name = k.trim_start_matches("upstream_");
                    if UPSTREAMS.contains(&name) {
                        cfg.upstreams.insert(name.to_owned(), value);
                    } else {
                        errors.push(bad(&format!(
                            "unknown upstream; known: {}",
                            UPSTREAMS.join(", ")
                        )));
                    }
                }
                k if is_tool_variable(k) => {}
                k if is_declared(k, declared) => {
                    cfg.extra.insert(key, value);
                }
                _ => errors.push(format!(
                    "{origin}: unknown setting (see README, Configuration; service settings: {})",
                    SERVICE_SETTINGS
                        .iter()
                        .chain(declared)
                        .map(|s| s.service)
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        if cfg.tls_cert_file.is_some() != cfg.tls_key_file.is_some() {
            errors.push(
                "CIVIL_TLS_CERT_FILE and CIVIL_TLS_KEY_FILE: set both (TLS on) or neither".into(),
            );
        }
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigError(errors))
        }
    }

    /// A service setting (`CIVIL_<SERVICE>_<KEY>` or `[<service>] key` in TOML).
    pub fn service_setting(&self, service: &str, key: &str) -> Option<&str> {
        self.extra
            .get(&format!("{service}_{key}"))
            .map(String::as_str)
    }
}

fn is_tool_variable(key: &str) -> bool {
    TOOL_VARIABLES.iter().any(|t| match t.strip_suffix('_') {
        Some(_) => key.starts_with(t),
        None => key == *t,
    }) || is_service_link(key)
}

/// Variables Kubernetes injects for a Service whose name starts with `civil` (service links:
/// `CIVIL_X_SERVICE_HOST`, `CIVIL_X_PORT_50051_TCP_ADDR`, ...): not settings.
fn is_service_link(key: &str) -> bool {
    key.ends_with("_service_host")
        || key.contains("_service_port")
        || key.ends_with("_port")
        || (key.contains("_port_") && (key.contains("_tcp") || key.contains("_udp")))
}

fn is_declared(key: &str, declared: &[ServiceSettings]) -> bool {
    SERVICE_SETTINGS.iter().chain(declared).any(|s| {
        key.strip_prefix(s.service)
            .and_then(|rest| rest.strip_prefix('_'))
            .is_some_and(|k| s.keys.contains(&k))
    })
}

fn non_empty(v: String) -> Option<String> {
    if v.trim().is_empty() { None } else { Some(v) }
}

fn flatten(
    prefix: &str,
    table: &toml::Table,
    file: &str,
    out: &mut BTreeMap<String, (String, String)>,
) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.to_ascii_lowercase()
        } else {
            format!("{prefix}_{}", k.to_ascii_lowercase())
        };
        let origin = match prefix {
            "" => format!("`{k}` in {file}"),
            section => format!("`{k}` under [{section}] in {file}"),
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, file, out),
            toml::Value::String(s) => {
                out.insert(key, (s.clone(), origin));
            }
            other => {
                out.insert(key, (other.to_string(), origin));
            }
        }
    }
}

#[cfg(test)]
mod tests;
