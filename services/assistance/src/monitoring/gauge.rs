//! The gauge `civil_assistance_monitoring_warnings{state="open"|"overdue"}`: open warnings, and
//! of them those past their due date, refreshed every 30 seconds (alert
//! AssistanceMonitoringWarningsOverdue in deploy/prometheus/alerts.yml).

use std::time::Duration;

use kit::store::Db;

use crate::store::monitoring_views::open_and_overdue;

pub(crate) fn spawn(ctx: &kit::ServiceContext, db: Db) {
    let (clock, shutdown) = (ctx.clock.clone(), ctx.shutdown.clone());
    tokio::spawn(async move {
        loop {
            if let Err(e) = refresh(&db, &clock).await {
                tracing::warn!(error = %e, "monitoring gauge not refreshed");
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(Duration::from_secs(30)) => {}
            }
        }
    });
}

async fn refresh(db: &Db, clock: &kit::clock::Clock) -> anyhow::Result<()> {
    let mut conn = db.pool.acquire().await?;
    let today = kit::clock::date_text(clock.today());
    let (open, overdue) = open_and_overdue(&mut conn, &today).await?;
    metrics::gauge!("civil_assistance_monitoring_warnings", "state" => "open").set(open as f64);
    metrics::gauge!("civil_assistance_monitoring_warnings", "state" => "overdue")
        .set(overdue as f64);
    Ok(())
}
