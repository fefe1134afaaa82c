//! `civil`: serve the suite (all services or one), migrate, mint dev tokens, verify audit trails.

use std::time::Duration;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(name = "civil", about = "County civil affairs gRPC suite", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve all services on CIVIL_LISTEN (default 127.0.0.1:50051), or only those named.
    Serve { services: Vec<String> },
    /// Apply every service's migrations (or the named ones') and exit.
    Migrate { services: Vec<String> },
    /// Mint a development token from the dev issuer in CIVIL_DATA_DIR.
    Token {
        /// Roles of a person's token (not with --profile).
        #[arg(long = "role", required_unless_present = "profile")]
        roles: Vec<String>,
        /// A calling system's token: role `service` with this caller profile (profiles.toml).
        #[arg(long, conflicts_with = "roles")]
        profile: Option<String>,
        #[arg(long)]
        region: String,
        #[arg(long, default_value = "dev-user")]
        subject: String,
        #[arg(long, default_value_t = 12)]
        ttl_hours: u64,
    },
    /// Print the dev issuer's public keys (JWKS), to configure services elsewhere with them.
    Jwks,
    /// Verify a service's audit hash chain in its database, or, with `--file`, an exported
    /// trail offline (no service, no database): the chain, every signed head against the audit
    /// public key (`--public-key`, else the configured or dev signing key) and their times.
    AuditVerify {
        service: Option<String>,
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        #[arg(long)]
        public_key: Option<std::path::PathBuf>,
        /// Largest allowed time between consecutive signatures, in milliseconds.
        #[arg(long)]
        max_gap_ms: Option<i64>,
    },
    /// Export a service's audit trail with its signed heads (the head is signed at export) to
    /// a file `civil audit-verify --file` checks offline.
    AuditExport {
        service: String,
        file: std::path::PathBuf,
    },
    /// Purge audit rows whose retention ran out (docs/operations/retention.md): their personal
    /// fields are emptied, their hashes stay in the chain, and the purge is itself an audit
    /// row; `civil audit-verify` still passes afterwards. Take an export first.
    AuditPurge { services: Vec<String> },
    /// Re-seal every sealed value with the current PII key (CIVIL_PII_KEY) during a key
    /// rotation, in batches; values under CIVIL_PII_KEY_PREVIOUS are re-sealed, others left.
    PiiReseal { services: Vec<String> },
    /// Check a restored or upgraded database: migrations current, every audit chain intact,
    /// rows per table. Exits non-zero when anything is wrong.
    RestoreCheck { services: Vec<String> },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = kit::config::Config::load()?;
    match cli.command {
        Command::Serve { services } => {
            // Traces name the service a process runs, so Jaeger lists them apart.
            let trace_name = if services.len() == 1 {
                format!("civil-{}", services[0])
            } else {
                "civil".to_owned()
            };
            let _telemetry = kit::telemetry::init(&trace_name, &config);
            if let Some(addr) = &config.metrics_listen {
                kit::telemetry::serve_metrics(addr)?;
            }
            let defs = suite::select(&services)?;
            let listener = tokio::net::TcpListener::bind(&config.listen).await?;
            let shutdown = CancellationToken::new();
            kit::server::cancel_on_signal(shutdown.clone());
            kit::server::start(config, &defs, listener, shutdown)
                .await?
                .wait()
                .await
        }
        Command::Migrate { services } => {
            let _telemetry = kit::telemetry::init("civil-migrate", &config);
            let defs = suite::select(&services)?;
            // Mounting a service opens its store, which applies its migrations.
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let running =
                kit::server::start(config, &defs, listener, CancellationToken::new()).await?;
            running.stop().await?;
            println!(
                "migrated: {}",
                defs.iter().map(|d| d.name).collect::<Vec<_>>().join(", ")
            );
            Ok(())
        }
        Command::Token {
            roles,
            profile,
            region,
            subject,
            ttl_hours,
        } => {
            let roles = roles
                .iter()
                .map(|r| parse_role(r))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let region = parse_region(&region)?;
            let issuer = auth::token::DevIssuer::load_or_create(&config.data_dir)?;
            let mut spec = match &profile {
                Some(name) => {
                    let known = kit::trust::TrustSettings::from_config(&config)?.profiles;
                    anyhow::ensure!(
                        known.get(name).is_some(),
                        "unknown caller profile {name:?}; configured: {}",
                        known
                            .all()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    auth::token::TokenSpec::for_profile(&subject, name, &region)
                }
                None => auth::token::TokenSpec::new(&subject, &roles, &region),
            };
            spec.second_factor = roles.iter().any(|r| r.is_administrative());
            println!(
                "{}",
                issuer.mint(&spec, Duration::from_secs(ttl_hours.saturating_mul(3600)))
            );
            Ok(())
        }
        Command::Jwks => {
            println!(
                "{}",
                auth::token::DevIssuer::load_or_create(&config.data_dir)?.jwks_json()
            );
            Ok(())
        }
        Command::AuditVerify {
            service,
            file: Some(file),
            public_key,
            max_gap_ms,
        } => {
            anyhow::ensure!(service.is_none(), "give a service or --file, not both");
            let key = kit::trust::trusted_public_key(&config, public_key.as_deref())?;
            let ok = kit::trust::verify_file(&file, &key, max_gap_ms)?;
            println!(
                "{}: audit trail intact, {} rows, {} signed heads, last signed at {} ms",
                file.display(),
                ok.rows,
                ok.signatures,
                ok.last_signed_at_ms
            );
            Ok(())
        }
        Command::AuditVerify {
            service,
            file: None,
            ..
        } => {
            let service =
                service.ok_or_else(|| anyhow::anyhow!("give a service, or --file <export>"))?;
            suite::select(std::slice::from_ref(&service))?;
            let db = kit::store::Db::connect(&config, &service).await?;
            let rows = auth::audit::verify(&db.pool).await?;
            println!("{service}: audit chain intact, {rows} rows");
            Ok(())
        }
        Command::AuditExport { service, file } => {
            suite::select(std::slice::from_ref(&service))?;
            let rows = kit::trust::export_to_file(&config, &service, &file).await?;
            println!(
                "{service}: {rows} audit rows exported to {}",
                file.display()
            );
            Ok(())
        }
        Command::AuditPurge { services } => {
            for def in suite::select(&services)? {
                let service = def.name;
                let db = kit::store::Db::connect(&config, service).await?;
                let mut conn = db.pool.acquire().await?;
                let policy = auth::audit::purge::Retention::documented(service);
                let done = auth::audit::purge::purge(&mut conn, service, &policy).await?;
                println!(
                    "{service}: {} audit rows purged (policy {}), purge recorded as row {}",
                    done.rows,
                    policy.encode(),
                    done.purge_seq
                );
            }
            Ok(())
        }
        Command::PiiReseal { services } => {
            let reports = suite::pii_reseal::reseal(&config, &services).await?;
            print!("{}", suite::pii_reseal::render(&reports));
            let unreadable: u64 = reports.iter().map(|r| r.unreadable).sum();
            anyhow::ensure!(
                unreadable == 0,
                "{unreadable} sealed value(s) open with neither CIVIL_PII_KEY nor CIVIL_PII_KEY_PREVIOUS"
            );
            Ok(())
        }
        Command::RestoreCheck { services } => {
            let reports = suite::restore_check::check(&config, &services).await?;
            print!("{}", suite::restore_check::render(&reports));
            let failed: Vec<_> = reports
                .iter()
                .filter(|r| !r.ok())
                .map(|r| r.service.as_str())
                .collect();
            if failed.is_empty() {
                Ok(())
            } else {
                anyhow::bail!("restore check failed for: {}", failed.join(", "))
            }
        }
    }
}

/// A token's region scope: a province or city prefix (2 or 4 digits), or a real county,
/// township or village code.
fn parse_region(code: &str) -> anyhow::Result<String> {
    let parsed = if code.len() >= 6 {
        civil_id::RegionCode::parse_division(code)
    } else {
        civil_id::RegionCode::parse(code)
    };
    parsed
        .map(|r| r.as_str().to_owned())
        .map_err(|e| anyhow::anyhow!("--region {code:?} {e} (e.g. 330723)"))
}

fn parse_role(name: &str) -> anyhow::Result<auth::Role> {
    auth::Role::from_name(name).ok_or_else(|| {
        let known: Vec<String> = auth::Role::ALL.iter().map(|r| r.name()).collect();
        anyhow::anyhow!("unknown role {name:?}; roles: {}", known.join(", "))
    })
}
