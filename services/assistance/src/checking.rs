//! The household economic check (家庭经济状况核对) is done by the county checking centre, a
//! system outside the suite. Assistance owns this seam: [`EconomicChecker`] is what the
//! application procedure needs, [`GrpcChecker`] calls the centre through our contract
//! `civil.external.v1.CheckingCentreService`, and tests run a real double of that server.

use contracts::civil::common::v1::{Date as ProtoDate, PersonRef};
use contracts::civil::external::v1::CheckHouseholdRequest;
use contracts::civil::external::v1::checking_centre_service_client::CheckingCentreServiceClient;
use futures::FutureExt as _;
use futures::future::BoxFuture;
use kit::ServiceError;

/// A check request: every member, and the household's signed authorisation.
#[derive(Debug, Clone)]
pub struct CheckRequest {
    /// Derived from the application, so a retry is the same request at the centre.
    pub request_id: String,
    pub region: String,
    /// (full identity number, name).
    pub members: Vec<(String, String)>,
    pub authorisation_reference: String,
    pub authorisation_signed_on: time::Date,
}

pub use crate::domain::household::Verified as Finding;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub report_id: String,
    pub findings: Vec<Finding>,
}

/// The economic check, as the application procedure needs it.
pub trait EconomicChecker: Send + Sync + 'static {
    fn check<'a>(
        &'a self,
        request: CheckRequest,
        on_behalf_of: &'a str,
    ) -> BoxFuture<'a, Result<CheckReport, ServiceError>>;
}

/// Calls the centre over gRPC (`CIVIL_UPSTREAM_CHECKING_CENTRE`), with this service's
/// credential and the clerk it acts for.
pub struct GrpcChecker {
    ctx: kit::ServiceContext,
}

impl GrpcChecker {
    pub fn new(ctx: kit::ServiceContext) -> Self {
        Self { ctx }
    }
}

impl EconomicChecker for GrpcChecker {
    fn check<'a>(
        &'a self,
        request: CheckRequest,
        on_behalf_of: &'a str,
    ) -> BoxFuture<'a, Result<CheckReport, ServiceError>> {
        async move {
            let d = request.authorisation_signed_on;
            let message = CheckHouseholdRequest {
                request_id: request.request_id,
                region: request.region,
                members: request
                    .members
                    .into_iter()
                    .map(|(id_number, name)| PersonRef { id_number, name })
                    .collect(),
                authorisation_reference: request.authorisation_reference,
                authorisation_signed_on: Some(ProtoDate {
                    year: d.year(),
                    month: i32::from(u8::from(d.month())),
                    day: i32::from(d.day()),
                }),
            };
            let mut client = CheckingCentreServiceClient::new(self.ctx.channel("checking_centre"));
            let report = client
                .check_household(self.ctx.outbound(message, on_behalf_of))
                .await
                .map_err(|status| match status.code() {
                    tonic::Code::Unavailable
                    | tonic::Code::DeadlineExceeded
                    | tonic::Code::Unknown => {
                        tracing::warn!(code = ?status.code(), "economic check failed");
                        ServiceError::Unavailable(
                            "the checking centre cannot be reached; retry later".into(),
                        )
                    }
                    _ => ServiceError::Status(status),
                })?
                .into_inner();
            // The centre's figures are bounded like any money field: an answer out of range is
            // not a figure the decision may rest on.
            let mut findings = Vec::with_capacity(report.members.len());
            for m in report.members {
                let amounts = money::Fen::from_proto(m.monthly_income_fen, "monthly_income_fen")
                    .and_then(|income| {
                        money::Fen::from_proto(m.financial_assets_fen, "financial_assets_fen")
                            .map(|assets| (income, assets))
                    });
                let Ok((monthly_income_fen, financial_assets_fen)) = amounts else {
                    tracing::warn!("economic check answered an amount out of range");
                    return Err(ServiceError::Unavailable(
                        "the checking centre answered an amount out of range; retry later".into(),
                    ));
                };
                findings.push(Finding {
                    id_number: m.id_number,
                    monthly_income_fen,
                    financial_assets_fen,
                    houses: u32::try_from(m.houses).unwrap_or(0),
                    vehicles: u32::try_from(m.vehicles).unwrap_or(0),
                });
            }
            Ok(CheckReport {
                report_id: report.report_id,
                findings,
            })
        }
        .boxed()
    }
}
