//! Where the fee waiver finds out which benefits a person receives: assistance's records, over
//! gRPC, never the family's word. The trait is owned here so tests and other deployments can
//! put another source behind it.

use contracts::civil::assistance::v1::assistance_service_client::AssistanceServiceClient;
use contracts::civil::assistance::v1::{BenefitKind, BenefitState, GetRecipientStatusRequest};
use futures::future::BoxFuture;

/// A source of benefit records.
pub trait WaiverEvidenceSource: Send + Sync {
    /// The name recorded as the decision's evidence source.
    fn source_name(&self) -> &'static str;

    /// Benefit kinds the person currently receives, as the source names them. A person the
    /// source does not know receives none.
    fn active_benefits<'a>(
        &'a self,
        id_number: &'a str,
        on_behalf_of: &'a str,
    ) -> BoxFuture<'a, Result<Vec<String>, tonic::Status>>;
}

/// `civil.assistance.v1.AssistanceService/GetRecipientStatus`, with this service's credential.
pub struct AssistanceEvidence {
    ctx: kit::ServiceContext,
}

impl AssistanceEvidence {
    pub fn new(ctx: kit::ServiceContext) -> Self {
        Self { ctx }
    }
}

impl WaiverEvidenceSource for AssistanceEvidence {
    fn source_name(&self) -> &'static str {
        "assistance"
    }

    fn active_benefits<'a>(
        &'a self,
        id_number: &'a str,
        on_behalf_of: &'a str,
    ) -> BoxFuture<'a, Result<Vec<String>, tonic::Status>> {
        Box::pin(async move {
            let mut client = AssistanceServiceClient::new(self.ctx.channel("assistance"));
            let message = GetRecipientStatusRequest {
                id_number: id_number.to_owned(),
                purpose: "funeral fee waiver".into(),
            };
            let request = self.ctx.outbound(message, on_behalf_of);
            match client.get_recipient_status(request).await {
                // Benefits in payment: active, or in a phase-out period (still a recipient).
                Ok(status) => Ok(status
                    .into_inner()
                    .active_benefits
                    .into_iter()
                    .filter(|b| {
                        matches!(
                            BenefitState::try_from(b.state),
                            Ok(BenefitState::Active | BenefitState::PhaseOut)
                        )
                    })
                    .map(|b| {
                        BenefitKind::try_from(b.kind)
                            .unwrap_or_default()
                            .as_str_name()
                            .to_owned()
                    })
                    .collect()),
                Err(s) if s.code() == tonic::Code::NotFound => Ok(Vec::new()),
                Err(s) => Err(s),
            }
        })
    }
}
