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
                // Benefits in payment (active, or in a phase-out period), and those the person
                // received when they died (assistance may already have ended them for the death).
                Ok(status) => {
                    let status = status.into_inner();
                    let in_payment = status
                        .active_benefits
                        .iter()
                        .filter(|b| {
                            matches!(
                                BenefitState::try_from(b.state),
                                Ok(BenefitState::Active | BenefitState::PhaseOut)
                            )
                        })
                        .map(|b| b.kind);
                    let at_death = status.at_death.iter().map(|e| e.kind);
                    let mut kinds: Vec<String> = Vec::new();
                    for kind in in_payment.chain(at_death) {
                        let name = BenefitKind::try_from(kind)
                            .unwrap_or_default()
                            .as_str_name()
                            .to_owned();
                        if !kinds.contains(&name) {
                            kinds.push(name);
                        }
                    }
                    Ok(kinds)
                }
                Err(s) if s.code() == tonic::Code::NotFound => Ok(Vec::new()),
                Err(s) => Err(s),
            }
        })
    }
}
