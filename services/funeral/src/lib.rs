//! 殡葬: funeral and burial service.
//!
//! - [`domain`]: the rules (zones, waiver, furnace quota, plots, eco-burial), no I/O.
//! - [`evidence`]: where the fee waiver looks for benefits (assistance over gRPC).
//! - [`store`]: SQL, portable across SQLite and PostgreSQL.
//! - [`convert`]: proto <-> domain.
//! - [`api`]: the gRPC surface, one file per RPC on `kit::rpc`.

pub mod api;
pub mod convert;
pub mod domain;
pub mod evidence;
pub mod store;

use std::sync::Arc;

use contracts::civil::funeral::v1::funeral_service_server::FuneralServiceServer;

/// Topic of [`contracts::civil::funeral::v1::DeathRegistered`]: starts the after-death matter.
pub const TOPIC_DEATH_REGISTERED: &str = "funeral.death_registered";
/// Topic of [`contracts::civil::funeral::v1::CremationCompleted`].
pub const TOPIC_CREMATION_COMPLETED: &str = "funeral.cremation_completed";

pub const SERVICE: kit::ServiceDef = kit::ServiceDef {
    name: "funeral",
    mount: |ctx, m| Box::pin(mount(ctx, m)),
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

async fn mount(ctx: kit::ServiceContext, m: &mut kit::Mounter) -> anyhow::Result<()> {
    let policy = domain::policy::FuneralPolicy::from_settings(|k| {
        ctx.config.service_setting("funeral", k).map(str::to_owned)
    })
    .map_err(|errors| anyhow::anyhow!("bad funeral policy:\n{}", errors.join("\n")))?;
    let db = ctx.open_db(&MIGRATOR).await?;
    let source: Arc<dyn evidence::WaiverEvidenceSource> =
        Arc::new(evidence::AssistanceEvidence::new(ctx.clone()));
    let api = api::FuneralApi::new(kit::rpc::Rpc::new(&ctx, db), policy, source);
    m.add(FuneralServiceServer::new(api).max_decoding_message_size(ctx.config.max_message_bytes));
    Ok(())
}
