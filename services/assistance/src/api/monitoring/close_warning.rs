//! CloseWarning: a visited warning closes only with its evidence: a new application of the
//! household, a change of a member's benefit, a referral, or an approver's reasoned dismissal.

use auth::Role;
use contracts::civil::assistance::v1 as pb;
use kit::rpc::{Call, LONG_MAX, NAME_MAX, Text as _};
use kit::{ServiceError, Violations};
use tonic::{Request, Response, Status};

use super::MonitoringApi;
use super::shared::{saved, warning_in_scope};
use crate::domain::monitoring::warning::{self, Closer, Evidence, EvidenceFacts};
use crate::records::parse_date;
use crate::store;
use crate::store::monitoring as mon;

pub struct CloseIn {
    /// None: no outcome or no evidence named (refused by the rule with its own reason).
    evidence: Option<Evidence>,
    reason: String,
}

impl TryFrom<pb::CloseWarningRequest> for CloseIn {
    type Error = Violations;

    fn try_from(r: pb::CloseWarningRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let reason = v.optional_text(&r.reason, "reason", LONG_MAX);
        let named = |id: &str| (!id.trim().is_empty()).then(|| id.trim().to_owned());
        let evidence = match pb::ClosureKind::try_from(r.kind).unwrap_or_default() {
            pb::ClosureKind::Unspecified => None,
            pb::ClosureKind::Application => {
                named(&r.application_id).map(|id| Evidence::Application { id })
            }
            pb::ClosureKind::BenefitChange => {
                named(&r.benefit_id).map(|id| Evidence::BenefitChange { id })
            }
            pb::ClosureKind::Referral => {
                let to = v.text(&r.referred_to, "referred_to", NAME_MAX);
                v.check(!reason.is_empty(), "reason", "a referral gives its reasons");
                Some(Evidence::Referral { to })
            }
            pb::ClosureKind::Dismissal => {
                v.check(
                    !reason.is_empty(),
                    "reason",
                    "a dismissal gives its reasons",
                );
                Some(Evidence::Dismissal)
            }
        };
        if v.is_empty() {
            Ok(CloseIn { evidence, reason })
        } else {
            Err(v)
        }
    }
}

/// Whether the application or benefit named covers a member of the household, and its date.
async fn facts(
    c: &mut Call,
    household_id: &str,
    evidence: &Evidence,
) -> Result<Option<EvidenceFacts>, ServiceError> {
    let sealer = c.sealer().clone();
    let members = mon::household_members(c.db(), household_id).await?;
    let (indexes, dated) = match evidence {
        Evidence::Application { id } => {
            let app = store::load_application(c.db(), &sealer, id).await?;
            let indexes = app
                .household
                .members
                .iter()
                .filter_map(|m| civil_id::IdNumber::parse(&m.id_number).ok())
                .map(|id| sealer.index(&id))
                .collect::<Vec<_>>();
            (indexes, parse_date(&app.submitted_on))
        }
        Evidence::BenefitChange { id } => {
            let benefit = store::load_benefit(c.db(), &sealer, id).await?;
            let changed = benefit
                .history
                .last()
                .and_then(|h| parse_date(&h.decided_on));
            (store::member_indexes(c.db(), id).await?, changed)
        }
        Evidence::Referral { .. } | Evidence::Dismissal => return Ok(None),
    };
    c.also_audit(match evidence {
        Evidence::Application { id } | Evidence::BenefitChange { id } => id.clone(),
        _ => String::new(),
    });
    Ok(Some(EvidenceFacts {
        of_household: indexes.iter().any(|i| members.contains(i)),
        dated,
    }))
}

pub async fn handle(
    api: &MonitoringApi,
    request: Request<pb::CloseWarningRequest>,
) -> Result<Response<pb::Warning>, Status> {
    api.rpc
        .write(
            request,
            async |c, req| warning_in_scope(c, &req.warning_id).await,
            async |c, close: CloseIn, mut row| {
                let facts = match &close.evidence {
                    Some(e) if warning::is_open(&row.warning) => {
                        facts(c, &row.household_id, e).await?
                    }
                    _ => None,
                };
                let closer = Closer {
                    subject: c.principal().subject.clone(),
                    is_approver: c.principal().has_role(Role::CountyApprover),
                };
                let today = c.today();
                warning::close(
                    &mut row.warning,
                    close.evidence,
                    facts.as_ref(),
                    &closer,
                    &close.reason,
                    today,
                )?;
                saved(c, &row).await
            },
        )
        .await
}
