//! 养老服务: elderly care service.
//!
//! - [`domain`]: the rules (allowance brackets, assessment levels, institution grades, visits).
//! - [`store`]: SQL, portable across SQLite and PostgreSQL.
//! - [`api`]: the gRPC surface, one file per RPC through `kit::rpc`, and the daily grant job.
//! - [`convert`]: proto <-> domain.

pub mod api;
pub mod convert;
pub mod domain;
pub mod store;

use contracts::civil::eldercare::v1::eldercare_service_server::EldercareServiceServer;

/// The service's domain events, each topic bound to its message (consumers import these).
pub mod events {
    use contracts::civil::eldercare::v1 as pb;
    use kit::events::Topic;

    /// The allowance was granted or upgraded to a bracket.
    pub const ALLOWANCE_GRANTED: Topic<pb::AllowanceGranted> =
        Topic::new("eldercare.allowance_granted");
    /// The allowance stopped (death).
    pub const ALLOWANCE_STOPPED: Topic<pb::AllowanceStopped> =
        Topic::new("eldercare.allowance_stopped");
}

/// Name of [`events::ALLOWANCE_GRANTED`].
pub const TOPIC_ALLOWANCE_GRANTED: &str = events::ALLOWANCE_GRANTED.name();
/// Name of [`events::ALLOWANCE_STOPPED`].
pub const TOPIC_ALLOWANCE_STOPPED: &str = events::ALLOWANCE_STOPPED.name();

pub const SERVICE: kit::ServiceDef = kit::ServiceDef {
    name: "eldercare",
    mount: |ctx, m| Box::pin(mount(ctx, m)),
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Loads the county policy: the file named by `CIVIL_ELDERCARE_POLICY_FILE`, else the shipped
/// example policy.
pub fn load_policy(
    config: &kit::config::Config,
) -> anyhow::Result<domain::policy::EldercarePolicy> {
    use domain::policy::EldercarePolicy;
    let policy = match config.service_setting("eldercare", "policy_file") {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("eldercare policy file {path}: {e}"))?;
            EldercarePolicy::from_toml(&text)
                .map_err(|e| anyhow::anyhow!("eldercare policy file {path}: {e}"))?
        }
        None => EldercarePolicy::default_policy(),
    };
    if policy.example {
        tracing::warn!(county = %policy.county, "eldercare runs on the example policy; set CIVIL_ELDERCARE_POLICY_FILE");
    }
    Ok(policy)
}

async fn mount(ctx: kit::ServiceContext, m: &mut kit::Mounter) -> anyhow::Result<()> {
    let policy = load_policy(&ctx.config)?;
    let db = ctx.open_db(&MIGRATOR).await?;
    let svc = api::Svc {
        rpc: kit::rpc::Rpc::new(&ctx, db),
        policy: std::sync::Arc::new(policy),
        county: ctx.config.county.clone(),
    };
    let daily = ctx
        .config
        .service_setting("eldercare", "daily_job")
        .map(|v| v != "off")
        .unwrap_or(true);
    if daily {
        ctx.spawn(api::daily_job(svc.clone()));
    }
    let api = api::EldercareApi::new(svc);
    m.add(EldercareServiceServer::new(api).max_decoding_message_size(ctx.config.max_message_bytes));
    Ok(())
}
