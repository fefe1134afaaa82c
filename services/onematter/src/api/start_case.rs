//! StartCase: a citizen (or an operator at the counter) starts a matter, or a verified family
//! member joins the after-death case the funeral registration started.
//!
//! The family's evidence (crate::family) needs calls to funeral and the household register:
//! they are made before the write's transaction opens (a slow outside system must not hold
//! the store), and before the request id or an existing case is looked at.

use tonic::{Request, Response, Status};

use auth::{Principal, Role};
use contracts::civil::onematter::v1 as pb;
use kit::ServiceError;
use kit::rpc::Call;

use super::{OneMatterApi, view};
use crate::convert::{kind_name, seal_person};
use crate::executor::store::{self, Adoption, NewCase};
use crate::family::{self, Evidence};
use crate::validate::{self, Validated};

pub(super) async fn handle(
    api: &OneMatterApi,
    request: Request<pb::StartCaseRequest>,
) -> Result<Response<pb::Case>, Status> {
    let prepared = prepare(api, &request).await;
    let executor = api.executor.clone();
    let answer = api
        .rpc
        .write(
            request,
            async |_, _| prepared,
            async |c, _: pb::StartCaseRequest, new: NewCase| {
                let id = if executor.create_case(c.db(), &new).await? {
                    new.id.clone()
                } else {
                    join(c, &new).await?
                };
                c.object(format!("cases/{id}"));
                view(c, &id).await
            },
        )
        .await?;
    api.notify(answer.get_ref());
    Ok(answer)
}

/// Region scope, input, evidence: the case to create (or to join).
async fn prepare(
    api: &OneMatterApi,
    request: &Request<pb::StartCaseRequest>,
) -> Result<NewCase, ServiceError> {
    let p = auth::principal(request)?;
    let req = request.get_ref();
    let at_counter = !p.has_role(Role::Citizen);
    if at_counter {
        p.authorize(&[Role::Operator], Some(req.region.trim()))?;
    }
    let county = &api.rpc.ctx().config.county;
    let v = validate::start_case(req, county, api.rpc.clock().today())?;
    let evidence = evidence(api, p, &v, at_counter).await?;
    new_case(api, p, &v, req, evidence)
}

/// Why the caller may act for the matter: the after-death matter of a deceased person needs
/// evidence that the declarant is family (crate::family); other matters are the caller's own.
async fn evidence(
    api: &OneMatterApi,
    p: &Principal,
    v: &Validated,
    at_counter: bool,
) -> Result<Evidence, ServiceError> {
    if v.kind != pb::MatterKind::AfterDeath {
        return Ok(Evidence::OwnMatter);
    }
    if at_counter {
        return Ok(Evidence::Clerk);
    }
    let (declarant, deceased) = (&v.declarant.1, &v.subject.1);
    let ctx = api.rpc.ctx();
    family::verify(ctx, &api.externals, &p.subject, declarant, deceased).await
}

fn new_case(
    api: &OneMatterApi,
    p: &Principal,
    v: &Validated,
    req: &pb::StartCaseRequest,
    evidence: Evidence,
) -> Result<NewCase, ServiceError> {
    let kind = kind_name(v.kind).ok_or_else(|| ServiceError::invalid("kind", "is required"))?;
    let sealer = api.rpc.sealer();
    let id = uuid::Uuid::now_v7().to_string();
    Ok(NewCase {
        dedupe_key: v.dedupe_key(sealer, &id),
        id,
        kind,
        region: v.region.clone(),
        applicant: p.subject.clone(),
        applicant_evidence: evidence.as_str(),
        declarant_sealed: seal_person(sealer, &v.declarant.1),
        declarant_index: sealer.index(&v.declarant.0),
        declarant_relationship: req.declarant_relationship.trim().to_owned(),
        subject_sealed: seal_person(sealer, &v.subject.1),
        subject_index: sealer.index(&v.subject.0),
        input_sealed: api.executor.seal_input(&v.input),
        facts: serde_json::json!({}),
        origin: "application".into(),
        traceparent: kit::telemetry::current_traceparent(),
    })
}

/// The matter has a case: a verified caller joins it when it has no applicant yet.
async fn join(c: &mut Call, new: &NewCase) -> Result<String, ServiceError> {
    let retry = || ServiceError::Aborted("retry".into());
    let existing = store::find_by_dedupe_key(c.db(), &new.dedupe_key)
        .await?
        .ok_or_else(retry)?;
    let found = store::load_case(c.db(), &existing)
        .await?
        .ok_or_else(retry)?;
    let subject = c.principal().subject.clone();
    if found.applicant.is_empty() {
        let adoption = Adoption {
            applicant: &subject,
            evidence: new.applicant_evidence,
            declarant_sealed: &new.declarant_sealed,
            declarant_index: &new.declarant_index,
            relationship: &new.declarant_relationship,
        };
        store::adopt(c.db(), &existing, &adoption).await?;
        let message = "the family applied for the case started without application";
        let now = c.now_ms();
        store::append_event(c.db(), &existing, "case_joined", "", message, now).await?;
        c.purpose("join");
    } else if found.applicant != subject {
        return Err(ServiceError::refused(
            "ONEMATTER_CASE_EXISTS",
            format!("a case for this matter exists: cases/{existing}"),
        ));
    }
    Ok(existing)
}
