//! Configuration: defaults that run, an optional TOML file (`CIVIL_CONFIG`), then `CIVIL_*`
//! environment variables. Every bad key is reported in one error, not the first only.

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
    pub redis_url: Option<Secret>,
    /// `CIVIL_REDIS_PREFIX`: key and stream prefix (tests isolate with it).
    pub redis_prefix: String,
    /// `CIVIL_JWKS_FILE`: identity provider's public keys; unset means the dev issuer's.
    pub jwks_file: Option<PathBuf>,
    /// `CIVIL_TOKEN_ISSUER`: expected `iss`.
    pub token_issuer: String,
    /// `CIVIL_SERVICE_TOKEN_FILE`: this service's own token for calls to others.
    pub service_token_file: Option<PathBuf>,
    /// `CIVIL_PII_KEY`: 64 hex chars; seals identity numbers at rest. Unset: a dev key file.
    pub pii_key: Option<Secret>,
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
            jwks_file: None,
            token_issuer: auth::token::DEV_ISSUER.into(),
            service_token_file: None,
            pii_key: None,
            county: "330723".into(),
            holidays_file: None,
            request_timeout_ms: 30_000,
            max_message_bytes: 4 * 1024 * 1024,
            metrics_listen: None,
            log_format: LogFormat::Pretty,
            otlp_endpoint: None,
            upstreams: BTreeMap::new(),
            extra: BTreeMap::new(),
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
    pub fn load_from(source: &dyn Source) -> Result<Self, ConfigError> {
        let vars = source.vars();
        let mut values: BTreeMap<String, String> = BTreeMap::new();
        let mut errors = Vec::new();
        if let Some(path) = vars.get("CIVIL_CONFIG") {
            match std::fs::read_to_string(path)
                .map_err(|e| e.to_string())
                .and_then(|t| t.parse::<toml::Table>().map_err(|e| e.to_string()))
            {
                Ok(table) => flatten("", &table, &mut values),
                Err(e) => errors.push(format!("CIVIL_CONFIG={path}: {e}")),
            }
        }
        for (k, v) in &vars {
            if let Some(key) = k.strip_prefix("CIVIL_")
                && key != "CONFIG"
            {
                values.insert(key.to_ascii_lowercase(), v.clone());
            }
        }
        let mut cfg = Config {
            otlp_endpoint: vars
                .get("OTEL_EXPORTER_OTLP_ENDPOINT")
                .cloned()
                .and_then(non_empty),
            ..Config::default()
        };
        for (key, value) in values {
            let bad = |e: &dyn std::fmt::Display| {
                format!("CIVIL_{}={value:?}: {e}", key.to_ascii_uppercase())
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
                "jwks_file" => cfg.jwks_file = non_empty(value).map(Into::into),
                "token_issuer" => cfg.token_issuer = value,
                "service_token_file" => cfg.service_token_file = non_empty(value).map(Into::into),
                "pii_key" => {
                    if value.len() != 64 || hex::decode(&value).is_err() {
                        errors.push(bad(&"must be 64 hex characters (32 bytes)"));
                    } else {
                        cfg.pii_key = Some(Secret(value));
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
                k if k.starts_with("upstream_") => {
                    cfg.upstreams
                        .insert(k.trim_start_matches("upstream_").to_owned(), value);
                }
                _ => {
                    cfg.extra.insert(key, value);
                }
            }
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

fn non_empty(v: String) -> Option<String> {
    if v.trim().is_empty() { None } else { Some(v) }
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut BTreeMap<String, String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.to_ascii_lowercase()
        } else {
            format!("{prefix}_{}", k.to_ascii_lowercase())
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_run_without_any_setting() {
        let cfg = Config::load_from(&vars(&[])).expect("defaults");
        assert_eq!(cfg.listen, "127.0.0.1:50051");
        assert!(cfg.database_url.is_none() && cfg.redis_url.is_none());
    }

    #[test]
    fn every_bad_key_is_reported_at_once() {
        let err = Config::load_from(&vars(&[
            ("CIVIL_REQUEST_TIMEOUT_MS", "soon"),
            ("CIVIL_PII_KEY", "abc"),
        ]))
        .expect_err("two bad keys");
        assert_eq!(err.0.len(), 2, "{err}");
    }

    #[test]
    fn environment_overrides_the_file_and_secrets_stay_out_of_debug() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("civil.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:1\"\ndatabase_url = \"postgres://u:pw@h/db\"\n[assistance]\nreview_days = 20\n")
            .expect("write");
        let cfg = Config::load_from(&vars(&[
            ("CIVIL_CONFIG", path.to_str().expect("utf8")),
            ("CIVIL_LISTEN", "127.0.0.1:7"),
        ]))
        .expect("loads");
        assert_eq!(cfg.listen, "127.0.0.1:7");
        assert_eq!(cfg.service_setting("assistance", "review_days"), Some("20"));
        assert!(!format!("{cfg:?}").contains("pw@"));
    }
}
