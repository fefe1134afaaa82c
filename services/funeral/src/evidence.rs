//! Where the fee waiver finds out which benefits a person receives: assistance's records, over
//! gRPC, never the family's word. The trait is owned here so tests and other deployments can
//! put another source behind it.

use contracts::civil::assistance::v1::assistance_service_client::AssistanceServiceClient;
use contracts::civil::assistance::v1::{
    BenefitKind, BenefitState, GetRecipientStatusRequest, RecipientStatus,
};

use crate::domain::waiver::SeenBenefit;

/// A source of benefit records.
#[tonic::async_trait]
pub trait WaiverEvidenceSource: Send + Sync {
    /// The name recorded as the decision's evidence source.
    fn source_name(&self) -> &'static str;

    /// Benefits the person currently receives (kind as the source names it, and the benefit's
    /// id). A person the source does not know receives none.
    async fn active_benefits(
        &self,
        id_number: &str,
        on_behalf_of: &str,
    ) -> Result<Vec<SeenBenefit>, tonic::Status>;
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

#[tonic::async_trait]
impl WaiverEvidenceSource for AssistanceEvidence {
    fn source_name(&self) -> &'static str {
        "assistance"
    }

    async fn active_benefits(
        &self,
        id_number: &str,
        on_behalf_of: &str,
    ) -> Result<Vec<SeenBenefit>, tonic::Status> {
        let mut client = AssistanceServiceClient::new(self.ctx.channel("assistance"));
        let message = GetRecipientStatusRequest {
            id_number: id_number.to_owned(),
            purpose: "funeral fee waiver".into(),
        };
        let request = self.ctx.outbound(message, on_behalf_of);
        match client.get_recipient_status(request).await {
            Ok(status) => Ok(seen_benefits(&status.into_inner())),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(Vec::new()),
            Err(s) => Err(s),
        }
    }
}

/// Benefits in payment (active, or in a phase-out period), and those the person received when
/// they died (assistance may already have ended them for the death), each once.
fn seen_benefits(status: &RecipientStatus) -> Vec<SeenBenefit> {
    let in_payment = status
        .active_benefits
        .iter()
        .filter(|b| {
            matches!(
                BenefitState::try_from(b.state),
                Ok(BenefitState::Active | BenefitState::PhaseOut)
            )
        })
        .map(|b| (b.kind, &b.benefit_id));
    let at_death = status.at_death.iter().map(|e| (e.kind, &e.benefit_id));
    let mut seen: Vec<SeenBenefit> = Vec::new();
    for (kind, id) in in_payment.chain(at_death) {
        let benefit = SeenBenefit {
            kind: BenefitKind::try_from(kind)
                .unwrap_or_default()
                .as_str_name()
                .to_owned(),
            benefit_id: id.clone(),
        };
        if !seen.contains(&benefit) {
            seen.push(benefit);
        }
    }
    seen
}
