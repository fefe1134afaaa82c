//! 社会救助: social assistance (低保, 低保边缘, 特困, 临时救助) for the county civil-affairs suite.
//!
//! - [`domain`]: the rules, as plain functions over plain types, with the county policy.
//! - `api`: one file per RPC (kit::rpc); `procedure`, `benefits`, `death`, `status`, `roll`,
//!   `payments` (the PaymentRollService service: maker-checker rolls, bank files, reconciliation):
//!   `grievances` (the GrievanceService: 异议, 投诉, 信访, 行政复议 with deadlines), `dedup`: the
//!   effects they run; `monitoring` (低收入人口动态监测: LowIncomeMonitoringService and the
//!   civil.external.v1 SignalIntakeService the departments push to).
//! - [`checking`]: the seam to the county checking centre (家庭经济状况核对).
//! - `store`: sqlx queries; household data is sealed at rest.

mod api;
mod benefits;
pub mod checking;
mod convert;
mod death;
mod decision;
mod dedup;
pub mod domain;
mod grievances;
mod monitoring;
mod notice;
mod payments;
mod procedure;
mod records;
mod roll;
#[doc(hidden)]
pub mod seed;
mod status;
mod store;

use std::sync::Arc;

use contracts::civil::assistance::v1::assistance_service_server::AssistanceServiceServer;
use contracts::civil::assistance::v1::grievance_service_server::GrievanceServiceServer;
use contracts::civil::assistance::v1::low_income_monitoring_service_server::LowIncomeMonitoringServiceServer;
use contracts::civil::assistance::v1::payment_roll_service_server::PaymentRollServiceServer;
use contracts::civil::external::v1::signal_intake_service_server::SignalIntakeServiceServer;

pub use api::AssistanceApi;
use api::MonitoringApi;
use domain::monitoring::rules::MonitoringPolicy;
use domain::policy::Policy;

pub const SERVICE: kit::ServiceDef = kit::ServiceDef {
    name: "assistance",
    mount: |ctx, m| Box::pin(mount(ctx, m)),
};

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Loads the county policy: the file named by `CIVIL_ASSISTANCE_POLICY_FILE`, else the shipped
/// example policy.
pub fn load_policy(config: &kit::config::Config) -> anyhow::Result<Policy> {
    let policy = match config.service_setting("assistance", "policy_file") {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("assistance policy file {path}: {e}"))?;
            Policy::from_toml(&text)?
        }
        None => Policy::default_policy(),
    };
    if policy.example {
        tracing::warn!(county = %policy.county, "assistance runs on the example policy; set CIVIL_ASSISTANCE_POLICY_FILE");
    }
    Ok(policy)
}

async fn mount(ctx: kit::ServiceContext, m: &mut kit::Mounter) -> anyhow::Result<()> {
    let policy = load_policy(&ctx.config)?;
    let db = ctx.open_db(&MIGRATOR).await?;
    ctx.spawn(grievances::overdue_gauge(db.clone()));
    let rpc = kit::rpc::Rpc::new(&ctx, db);
    let inner = api::Inner {
        policy: Arc::new(policy),
        checker: Arc::new(checking::GrpcChecker::new(ctx.clone())),
        invalidations: Default::default(),
    };
    let monitoring = monitoring_service(&ctx, &rpc)?;
    let api = AssistanceApi::new(inner, rpc);
    m.add(
        AssistanceServiceServer::new(api.clone())
            .max_decoding_message_size(ctx.config.max_message_bytes),
    );
    // Bank return files are larger than other requests: up to 16 MiB.
    m.add(
        GrievanceServiceServer::new(api.clone())
            .max_decoding_message_size(ctx.config.max_message_bytes),
    );
    m.add(
        PaymentRollServiceServer::new(api)
            .max_decoding_message_size(ctx.config.max_message_bytes.max(16 * 1024 * 1024)),
    );
    m.add(LowIncomeMonitoringServiceServer::new(monitoring.clone()));
    m.add(SignalIntakeServiceServer::new(monitoring));
    Ok(())
}

/// The monitoring services (monitoring.proto, civil.external.v1 SignalIntakeService): the
/// county's rules (`assistance.monitoring_file`, else the shipped example), the consumer of
/// assistance's terminations, and the open / overdue warning gauge.
fn monitoring_service(
    ctx: &kit::ServiceContext,
    rpc: &kit::rpc::Rpc,
) -> anyhow::Result<MonitoringApi> {
    let policy = match ctx.config.service_setting("assistance", "monitoring_file") {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("assistance monitoring file {path}: {e}"))?;
            MonitoringPolicy::from_toml(&text)?
        }
        None => MonitoringPolicy::example(),
    };
    if policy.example {
        tracing::warn!(county = %policy.county, "monitoring runs on the example rules; set CIVIL_ASSISTANCE_MONITORING_FILE");
    }
    let policy = Arc::new(policy);
    monitoring::internal::subscribe(ctx, rpc.db().clone(), policy.clone());
    monitoring::gauge::spawn(ctx, rpc.db().clone());
    Ok(MonitoringApi::new(rpc.clone(), policy))
}
