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
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        #[arg(long)]
        region: String,
        #[arg(long, default_value = "dev-user")]
        subject: String,
        #[arg(long, default_value_t = 12)]
        ttl_hours: u64,
    },
    /// Print the dev issuer's public keys (JWKS), to configure services elsewhere with them.
    Jwks,
    /// Verify a service's audit hash chain.
    AuditVerify { service: String },
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
            region,
            subject,
            ttl_hours,
        } => {
            let roles = roles
                .iter()
                .map(|r| parse_role(r))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let issuer = auth::token::DevIssuer::load_or_create(&config.data_dir)?;
            let mut spec = auth::token::TokenSpec::new(&subject, &roles, &region);
            spec.second_factor = roles.iter().any(|r| r.is_administrative());
            println!(
                "{}",
                issuer.mint(&spec, Duration::from_secs(ttl_hours * 3600))
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
        Command::AuditVerify { service } => {
            suite::select(std::slice::from_ref(&service))?;
            let db = kit::store::Db::connect(&config, &service).await?;
            let rows = auth::audit::verify(&db.pool).await?;
            println!("{service}: audit chain intact, {rows} rows");
            Ok(())
        }
    }
}

fn parse_role(name: &str) -> anyhow::Result<auth::Role> {
    auth::Role::from_name(name).ok_or_else(|| {
        anyhow::anyhow!("unknown role {name:?} (e.g. registrar, township_clerk, county_approver, citizen, operator, auditor, service)")
    })
}
