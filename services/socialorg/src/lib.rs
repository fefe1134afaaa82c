//! 社会组织: registration of social organisations, their annual reports, credit lists and
//! ratings.
//!
//! - [`domain`]: the rules (registration, credit code, reports, lists, ratings), no I/O.
//! - [`store`]: SQL, portable across SQLite and PostgreSQL.
//! - [`convert`]: proto <-> domain.
//! - [`api`]: the gRPC surface, one file per RPC on `kit::rpc`; the daily listing sweep runs in
//!   the background too.

pub mod api;
pub mod convert;
pub mod domain;
pub mod store;

use std::time::Duration;

use contracts::civil::socialorg::v1::social_org_service_server::SocialOrgServiceServer;

/// Topic of [`contracts::civil::socialorg::v1::OrganisationRegistered`].
pub const TOPIC_REGISTERED: &str = "socialorg.organisation_registered";
/// Topic of [`contracts::civil::socialorg::v1::OrganisationListed`].
pub const TOPIC_LISTED: &str = "socialorg.organisation_listed";
/// Topic of [`contracts::civil::socialorg::v1::OrganisationDelisted`].
pub const TOPIC_DELISTED: &str = "socialorg.organisation_delisted";

pub const SERVICE: kit::ServiceDef = kit::ServiceDef {
    name: "socialorg",
    mount: |ctx, m| Box::pin(mount(ctx, m)),
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How often the background sweep runs. It is idempotent per day, so running it more often
/// than daily only shortens the delay after a restart or a missed day.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

async fn mount(ctx: kit::ServiceContext, m: &mut kit::Mounter) -> anyhow::Result<()> {
    let db = ctx.open_db(&MIGRATOR).await?;
    let rpc = kit::rpc::Rpc::new(&ctx, db);
    let api = api::SocialOrgApi::new(rpc.clone());
    m.add(SocialOrgServiceServer::new(api).max_decoding_message_size(ctx.config.max_message_bytes));
    if ctx.config.service_setting("socialorg", "sweep") != Some("off") {
        ctx.spawn(daily_sweep(rpc));
    }
    Ok(())
}

/// Runs the listing sweep for today, then every [`SWEEP_EVERY`], until shutdown.
async fn daily_sweep(rpc: kit::rpc::Rpc) {
    let actor = api::system_principal();
    let authority = api::shared::authority(&rpc);
    loop {
        let sweep = api::listings::Sweep {
            calendar: rpc.calendar(),
            date: rpc.clock().today(),
            scope: "",
            actor: &actor,
            authority: &authority,
        };
        let result = async {
            let mut tx = rpc.db().begin().await?;
            let out = api::listings::sweep_all(&mut tx, &sweep).await?;
            tx.commit().await?;
            Ok::<_, kit::ServiceError>(out)
        }
        .await;
        match result {
            Ok(out) => tracing::info!(
                listed = out.listed.len(),
                delisted = out.delisted.len(),
                "listing sweep done"
            ),
            Err(e) => tracing::warn!(error = %e, "listing sweep failed; retrying later"),
        }
        tokio::time::sleep(SWEEP_EVERY).await;
    }
}
