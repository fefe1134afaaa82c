//! 婚姻登记: marriage registration service.
//!
//! Appointments with per-slot quotas, marriage registration decided on the spot, divorce by
//! registration with its cooling-off period, certificate re-issue, court decisions and deaths
//! recorded into the archive, and marital status for other bureaus.
//!
//! - [`domain`]: the rules (no I/O, no clock).
//! - [`store`]: the tables.
//! - [`api`]: the gRPC handlers.
//! - [`events`]: the events this service publishes.
//! - [`gate`]: the in-process admission gate per appointment slot (peak days).

pub mod api;
pub mod convert;
pub mod domain;
mod error;
pub mod events;
pub mod expiry;
pub mod gate;
pub mod national;
pub mod store;

use std::time::Duration;

use contracts::civil::marriage::v1::marriage_service_server::MarriageServiceServer;

/// How the suite mounts this service.
pub const SERVICE: kit::ServiceDef = kit::ServiceDef {
    name: "marriage",
    mount: |ctx, m| Box::pin(mount(ctx, m)),
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Default pause between two expiry sweeps (`CIVIL_MARRIAGE_SWEEP_INTERVAL_SECS`). Deadlines
/// are whole days, so a minute is plenty; reads record a due expiry on their own anyway.
const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(60);

async fn mount(ctx: kit::ServiceContext, m: &mut kit::Mounter) -> anyhow::Result<()> {
    let db = ctx.open_db(&MIGRATOR).await?;
    let national = national::National::from_config(&ctx.config)?;
    let api = api::MarriageApi::new(kit::rpc::Rpc::new(&ctx, db.clone()), national);
    m.add(MarriageServiceServer::new(api).max_decoding_message_size(ctx.config.max_message_bytes));
    let interval = ctx
        .config
        .service_setting("marriage", "sweep_interval_secs")
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_SWEEP_INTERVAL);
    ctx.spawn(sweep_forever(db, ctx.clock.clone(), interval));
    Ok(())
}

/// Records divorce applications past their issuance deadline as expired: first right away (a
/// deadline may have passed while the process was down), then every `interval`.
async fn sweep_forever(db: kit::store::Db, clock: kit::clock::Clock, interval: Duration) {
    loop {
        match expiry::sweep_expired(&db, clock.today()).await {
            Ok(0) => {}
            Ok(expired) => tracing::info!(expired, "divorce applications deemed withdrawn"),
            Err(e) => tracing::warn!(error = %e, "expiry sweep failed; retrying next interval"),
        }
        tokio::time::sleep(interval).await;
    }
}
