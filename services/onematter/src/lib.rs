//! 一件事: the one-matter aggregator. A citizen matter that spans bureaus (after-death affairs,
//! marriage-birth-household, one application for many benefits) is a case whose workflow runs on
//! the durable executor in [`executor`], over the aggregator's own store.
//!
//! - [`executor`]: plans, claim / lease / fencing, retries, compensation, parking.
//! - [`workflows`]: the three matters as static plans and the code of their steps.
//! - [`adapters`]: outside systems (public security, social and medical insurance, birth
//!   services) behind traits with gRPC implementations of our contracts.
//! - [`api`]: the portal API; [`proactive`]: cases started from funeral's death registrations.

pub mod adapters;
pub mod api;
pub mod convert;
pub mod events;
pub mod executor;
pub mod family;
pub mod proactive;
pub mod validate;
pub mod workflows;

use std::sync::Arc;
use std::time::Duration;

use contracts::civil::onematter::v1::one_matter_service_server::OneMatterServiceServer;

/// The aggregator's schema (cases, steps, case updates).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The service as the `civil` binary and the tests mount it.
pub const SERVICE: kit::ServiceDef = kit::ServiceDef {
    name: "onematter",
    mount: |ctx, m| Box::pin(mount(ctx, m)),
};

/// Executor tuning from `CIVIL_ONEMATTER_LEASE_MS`, `CIVIL_ONEMATTER_POLL_MS`, `CIVIL_ONEMATTER_BATCH`,
/// `CIVIL_ONEMATTER_WATCH_POLL_MS` (WatchCase's fallback poll).
fn executor_config(config: &kit::config::Config) -> anyhow::Result<executor::ExecutorConfig> {
    let mut c = executor::ExecutorConfig::default();
    let setting = |key: &str| config.service_setting("onematter", key);
    if let Some(v) = setting("lease_ms") {
        c.lease = Duration::from_millis(v.parse()?);
        c.heartbeat = c.lease / 4;
    }
    if let Some(v) = setting("poll_ms") {
        c.poll = Duration::from_millis(v.parse()?);
    }
    if let Some(v) = setting("batch") {
        c.batch = v.parse()?;
    }
    if let Some(v) = setting("watch_poll_ms") {
        c.watch_poll = Duration::from_millis(v.parse()?);
    }
    Ok(c)
}

async fn mount(ctx: kit::ServiceContext, m: &mut kit::Mounter) -> anyhow::Result<()> {
    let db = ctx.open_db(&MIGRATOR).await?;
    let externals = adapters::Externals::grpc(&ctx);
    let deps = workflows::Deps {
        ctx: ctx.clone(),
        externals: externals.clone(),
    };
    let clock = Arc::new(executor::DbClock(db.dialect));
    let executor = Arc::new(
        executor::Executor::new(
            db,
            clock,
            workflows::registry(deps),
            ctx.sealer.clone(),
            executor_config(&ctx.config)?,
        )
        .with_announcer(Arc::new(events::CaseFinishedOutbox)),
    );
    ctx.spawn((*executor).clone().run(ctx.shutdown.clone()));
    let every = match ctx.config.service_setting("onematter", "gauge_ms") {
        Some(v) => Duration::from_millis(v.parse()?),
        None => Duration::from_secs(5),
    };
    ctx.spawn(overdue_requests_gauge(
        ctx.clone(),
        executor.db().clone(),
        every,
    ));
    proactive::subscribe(&ctx, executor.clone());
    let api = api::OneMatterApi::new(&ctx, executor, externals);
    m.add(OneMatterServiceServer::new(api).max_decoding_message_size(ctx.config.max_message_bytes));
    Ok(())
}

/// Sets `civil_onematter_family_requests_overdue`: 补件 requests still open past their due
/// date on the county's today (alert OneMatterFamilyRequestsOverdue). Every replica reports
/// the same count from the shared store.
async fn overdue_requests_gauge(ctx: kit::ServiceContext, db: kit::store::Db, every: Duration) {
    loop {
        let today = kit::clock::date_text(ctx.clock.today());
        if let Ok(mut conn) = db.pool.acquire().await
            && let Ok(n) = executor::store::count_overdue_requests(&mut conn, &today).await
        {
            metrics::gauge!("civil_onematter_family_requests_overdue").set(n as f64);
        }
        tokio::select! {
            _ = ctx.shutdown.cancelled() => break,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
