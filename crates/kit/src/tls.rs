//! TLS: on the listener (`CIVIL_TLS_CERT_FILE` + `CIVIL_TLS_KEY_FILE`, rustls through tonic),
//! to PostgreSQL (sqlx with rustls: `sslmode` in the URL, `CIVIL_DATABASE_CA_FILE`) and to
//! Redis (`rediss://` URLs, redis-rs with rustls; the system's roots or `SSL_CERT_FILE`).
//!
//! One crypto provider (ring) for every rustls user in the process.

use std::path::Path;

/// Installs ring as the process's rustls provider (idempotent). Called before any TLS use;
/// without it rustls refuses to pick when more than one provider is compiled in.
pub fn install_crypto_provider() {
    // ring, as tonic's `tls-ring` and sqlx's `tls-rustls-ring-webpki` use: it builds with a C
    // compiler alone (aws-lc-rs needs cmake). rustls marks it deprecated for lacking
    // post-quantum key exchange; the suite's peers (PostgreSQL, Redis, county clients) do not
    // offer it yet.
    #[allow(deprecated)]
    let provider = rustls::crypto::ring::default_provider();
    let _ = provider.install_default();
}

/// The listener's TLS settings, when `CIVIL_TLS_CERT_FILE` and `CIVIL_TLS_KEY_FILE` are set.
/// With TLS on the port speaks TLS only: a plaintext client is refused at the handshake.
pub fn server_tls(
    config: &crate::config::Config,
) -> anyhow::Result<Option<tonic::transport::ServerTlsConfig>> {
    let (Some(cert), Some(key)) = (&config.tls_cert_file, &config.tls_key_file) else {
        return Ok(None);
    };
    install_crypto_provider();
    let read = |path: &Path, what: &str| {
        std::fs::read(path).map_err(|e| anyhow::anyhow!("{what} {}: {e}", path.display()))
    };
    let cert = read(cert, "CIVIL_TLS_CERT_FILE")?;
    let key = read(key, "CIVIL_TLS_KEY_FILE")?;
    anyhow::ensure!(
        String::from_utf8_lossy(&cert).contains("-----BEGIN CERTIFICATE-----"),
        "CIVIL_TLS_CERT_FILE: not a PEM certificate"
    );
    anyhow::ensure!(
        String::from_utf8_lossy(&key).contains("PRIVATE KEY-----"),
        "CIVIL_TLS_KEY_FILE: not a PEM private key"
    );
    let identity = tonic::transport::Identity::from_pem(cert, key);
    Ok(Some(
        tonic::transport::ServerTlsConfig::new().identity(identity),
    ))
}

/// The PostgreSQL URL to connect with: with `CIVIL_DATABASE_CA_FILE`, `sslrootcert` set to it
/// and, unless the URL already says, `sslmode=verify-full`. Without it, the URL as given
/// (`?sslmode=require` / `verify-full` work as in libpq).
pub fn postgres_url(url: &str, ca_file: Option<&Path>) -> anyhow::Result<String> {
    let Some(ca) = ca_file else {
        return Ok(url.to_owned());
    };
    anyhow::ensure!(
        ca.is_file(),
        "CIVIL_DATABASE_CA_FILE {}: no such file",
        ca.display()
    );
    let ca = ca
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("CIVIL_DATABASE_CA_FILE: path must be UTF-8"))?;
    let encoded: String = percent_encode(ca);
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let has_query = base.contains('?');
    let query = base.split_once('?').map(|(_, q)| q).unwrap_or("");
    let has = |key: &str| query.split('&').any(|kv| kv.split('=').next() == Some(key));
    let mut out = base.to_owned();
    let mut sep = if has_query { '&' } else { '?' };
    if !has("sslmode") {
        out.push(sep);
        out.push_str("sslmode=verify-full");
        sep = '&';
    }
    if !has("sslrootcert") {
        out.push(sep);
        out.push_str("sslrootcert=");
        out.push_str(&encoded);
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    Ok(out)
}

/// A Redis client for `url`; `rediss://` speaks TLS. With `ca_file` (PEM), the server's
/// certificate must chain to it; without, to the system's roots (or `SSL_CERT_FILE`'s), which
/// is what the cache and the event bus use (`redis::Client::open`).
pub fn redis_client(url: &str, ca_file: Option<&Path>) -> anyhow::Result<redis::Client> {
    install_crypto_provider();
    match ca_file {
        None => Ok(redis::Client::open(url)?),
        Some(ca) => {
            let root = std::fs::read(ca)
                .map_err(|e| anyhow::anyhow!("Redis CA file {}: {e}", ca.display()))?;
            Ok(redis::Client::build_with_tls(
                url,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(root),
                },
            )?)
        }
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_ca_file_sets_verify_full_and_the_root_certificate() {
        let dir = tempfile::tempdir().expect("tmp");
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "x").expect("write");
        let url = postgres_url("postgres://u@db/civil", Some(&ca)).expect("url");
        assert_eq!(
            url,
            format!(
                "postgres://u@db/civil?sslmode=verify-full&sslrootcert={}",
                ca.display()
            )
        );
        let kept = postgres_url("postgres://u@db/civil?sslmode=require", Some(&ca)).expect("url");
        assert!(kept.contains("sslmode=require&sslrootcert="), "{kept}");
        assert_eq!(
            postgres_url("postgres://u@db/civil", None).expect("url"),
            "postgres://u@db/civil"
        );
        assert!(postgres_url("postgres://u@db/civil", Some(Path::new("/nonexistent"))).is_err());
    }
}
