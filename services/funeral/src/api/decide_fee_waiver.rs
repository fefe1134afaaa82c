//! DecideFeeWaiver: the basic-service fee waiver, decided from assistance's records and the
//! county's extension list, recorded with its evidence, the county's prices, the payable amount
//! and the benefits that grounded it. The first decision stands.

use auth::Principal;
use contracts::civil::funeral::v1 as pb;
use kit::ServiceError;
use kit::rpc::Rpc;
use tonic::{Request, Response, Status};

use super::shared::{CASE_ROLES, authorized_case, case_id, recorded_waiver};
use crate::convert;
use crate::domain::policy::FuneralPolicy;
use crate::domain::{fees, waiver};
use crate::evidence::WaiverEvidenceSource;
use crate::store::{self, CaseRow};

pub async fn handle(
    rpc: &Rpc,
    policy: &FuneralPolicy,
    source: &dyn WaiverEvidenceSource,
    request: Request<pb::DecideFeeWaiverRequest>,
) -> Result<Response<pb::FeeWaiver>, Status> {
    let evidence = prefetch(rpc, policy, source, &request).await;
    rpc.write(
        request,
        async |c, req: &pb::DecideFeeWaiverRequest| {
            c.purpose("basic funeral fee waiver");
            authorized_case(c, &req.death_case, "death_case", CASE_ROLES).await
        },
        async |c, _: pb::DecideFeeWaiverRequest, case| {
            if let Some(w) = recorded_waiver(c.db(), &case.id).await? {
                return Ok(w);
            }
            let evidence = evidence.unwrap_or_else(|| Err(unavailable()))?;
            let resident = resident(rpc, &case);
            let decision = waiver::decide(evidence, policy.waiver, resident);
            let fees = fees::assess(&policy.prices, decision.waived)
                .map_err(|e| ServiceError::Internal(e.into()))?;
            let subject = c.principal().subject.clone();
            if store::insert_waiver(c.db(), &case.id, &waiver_row(&decision), &subject).await? {
                store::insert_fees(c.db(), &case.id, &fee_rows(&fees), &benefit_rows(&decision))
                    .await?;
            }
            // The first decision stands (a concurrent decider may have written it).
            recorded_waiver(c.db(), &case.id)
                .await?
                .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("waiver not stored")))
        },
    )
    .await
}

fn unavailable() -> ServiceError {
    ServiceError::Unavailable(
        "assistance records could not be read; retry (the waiver is never guessed)".into(),
    )
}

/// Residence is the deceased's household (户籍) region, not where the case is handled.
fn resident(rpc: &Rpc, case: &CaseRow) -> bool {
    case.household_region
        .starts_with(rpc.ctx().config.county.as_str())
}

/// Reads the evidence before the write's transaction opens (a slow assistance must not hold
/// it), only for a caller who may decide this case and only while no decision is recorded.
/// `None`: nothing was looked up (the write then authorises, or answers the recorded decision).
async fn prefetch(
    rpc: &Rpc,
    policy: &FuneralPolicy,
    source: &dyn WaiverEvidenceSource,
    request: &Request<pb::DecideFeeWaiverRequest>,
) -> Option<Result<waiver::Evidence, ServiceError>> {
    let principal = auth::principal(request).ok()?;
    let id = case_id(&request.get_ref().death_case, "death_case").ok()?;
    let case = {
        let mut conn = rpc.db().pool.acquire().await.ok()?;
        let case = store::case_by_id(&mut conn, &id).await.ok()??;
        principal.authorize(CASE_ROLES, Some(&case.region)).ok()?;
        if store::waiver_of(&mut conn, &id).await.ok()?.is_some() {
            return None;
        }
        case
    };
    let ext = policy.waiver;
    let now = rpc.clock().now_ms();
    if ext.all_residents && (resident(rpc, &case) || ext.non_residents) {
        return Some(Ok(waiver::Evidence {
            source: "county_policy".into(),
            benefit_kinds_seen: Vec::new(),
            benefits: Vec::new(),
            checked_at_ms: now,
        }));
    }
    Some(assistance_evidence(rpc, source, principal, &case).await)
}

async fn assistance_evidence(
    rpc: &Rpc,
    source: &dyn WaiverEvidenceSource,
    principal: &Principal,
    case: &CaseRow,
) -> Result<waiver::Evidence, ServiceError> {
    let id = rpc
        .sealer()
        .open(&case.id_sealed)
        .map_err(|e| ServiceError::Internal(e.into()))?;
    let benefits = source
        .active_benefits(&id, &principal.subject)
        .await
        .map_err(|s| {
            tracing::warn!(code = ?s.code(), "waiver evidence source failed");
            unavailable()
        })?;
    let mut kinds: Vec<String> = Vec::new();
    for b in &benefits {
        if !kinds.contains(&b.kind) {
            kinds.push(b.kind.clone());
        }
    }
    Ok(waiver::Evidence {
        source: source.source_name().into(),
        benefit_kinds_seen: kinds,
        benefits,
        checked_at_ms: rpc.clock().now_ms(),
    })
}

fn waiver_row(d: &waiver::WaiverDecision) -> store::WaiverRow {
    store::WaiverRow {
        waived: d.waived,
        grounds: d
            .grounds
            .iter()
            .map(|g| convert::ground_out(*g).as_str_name().to_owned())
            .collect(),
        source: d.evidence.source.clone(),
        benefit_kinds_seen: d.evidence.benefit_kinds_seen.clone(),
        checked_at_ms: d.evidence.checked_at_ms,
    }
}

fn fee_rows(f: &fees::Fees) -> Vec<store::FeeLineRow> {
    f.lines
        .iter()
        .map(|l| store::FeeLineRow {
            service: l.service.clone(),
            price_fen: l.price.get(),
            waived_fen: l.waived.get(),
            payable_fen: l.payable.get(),
        })
        .collect()
}

fn benefit_rows(d: &waiver::WaiverDecision) -> Vec<store::WaiverBenefitRow> {
    d.grounded_on
        .iter()
        .map(|g| store::WaiverBenefitRow {
            benefit_id: g.benefit.benefit_id.clone(),
            kind: g.benefit.kind.clone(),
            ground: convert::ground_out(g.ground).as_str_name().to_owned(),
        })
        .collect()
}
