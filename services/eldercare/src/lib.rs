//! 养老服务: elderly care service.
//!
//! - [`domain`]: the rules (allowance brackets, assessment levels, institution grades, visits).
//! - [`store`]: SQL, portable across SQLite and PostgreSQL.
//! - [`api`]: the gRPC handlers, and the daily grant job.

pub mod api;
pub mod domain;
pub mod store;

use contracts::civil::eldercare::v1::eldercare_service_server::EldercareServiceServer;

/// Topic of [`contracts::civil::eldercare::v1::AllowanceGranted`].
pub const TOPIC_ALLOWANCE_GRANTED: &str = "eldercare.allowance_granted";
/// Topic of [`contracts::civil::eldercare::v1::AllowanceStopped`].
pub const TOPIC_ALLOWANCE_STOPPED: &str = "eldercare.allowance_stopped";

pub const SERVICE: kit::ServiceDef = kit::ServiceDef {
    name: "eldercare",
    mount: |ctx, m| Box::pin(mount(ctx, m)),
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

async fn mount(ctx: kit::ServiceContext, m: &mut kit::Mounter) -> anyhow::Result<()> {
    let policy = domain::policy::EldercarePolicy::from_settings(|k| {
        ctx.config
            .service_setting("eldercare", k)
            .map(str::to_owned)
    })
    .map_err(|errors| anyhow::anyhow!("bad eldercare policy:\n{}", errors.join("\n")))?;
    let db = ctx.open_db(&MIGRATOR).await?;
    let api = api::EldercareApi::new(ctx.clone(), db, policy);
    let daily = ctx
        .config
        .service_setting("eldercare", "daily_job")
        .map(|v| v != "off")
        .unwrap_or(true);
    if daily {
        ctx.spawn(api.clone().daily_job());
    }
    m.add(EldercareServiceServer::new(api).max_decoding_message_size(ctx.config.max_message_bytes));
    Ok(())
}
