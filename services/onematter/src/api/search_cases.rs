//! SearchCases: an operator's console search over the cases of their region, newest first,
//! by matter, state, step (and its state), township or village, creation dates and overdue.
//! A person is looked up only by identity number with a stated purpose: the server computes
//! the blind index; the number is never stored, echoed or logged.

use tonic::{Request, Response, Status};

use auth::Role;
use contracts::civil::onematter::v1 as pb;
use kit::{ServiceError, Violations};

use super::OneMatterApi;
use crate::convert::{case_state_of, kind_name};
use crate::executor::StepState;
use crate::executor::store::{self, CaseSearch};

/// AIP-158: 50 by default; a larger page size is capped at 500, not refused.
const PAGING: kit::paging::Paging = kit::paging::Paging::new(50, 500);

/// The search, decoded: every field checked at once (the region is the scope's, checked when
/// authorizing).
pub struct Search {
    page_size: i32,
    page_token: String,
    pub(super) search: CaseSearch,
    pub(super) overdue: bool,
    /// The person looked up, and why (recorded as the audit row's purpose).
    person: Option<(civil_id::IdNumber, String)>,
}

impl Search {
    /// Sets the blind index of the person looked up and names it (and the purpose) in the
    /// audit row; the number itself goes nowhere.
    pub(super) fn resolve_person(&mut self, c: &mut kit::rpc::Call) {
        if let Some((id, purpose)) = self.person.take() {
            let index = c.sealer().index(&id);
            c.also_audit(format!("person:{index}"));
            c.purpose(format!("person lookup: {purpose}"));
            self.search.person_index = Some(index);
        }
    }
}

impl TryFrom<pb::SearchCasesRequest> for Search {
    type Error = Violations;
    fn try_from(req: pb::SearchCasesRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        if req.page_size < 0 {
            v.add("page_size", "must not be negative");
        }
        let step = (!req.step.is_empty()).then(|| req.step.clone());
        if let Some(step) = &step
            && !known_step(req.kind(), step)
        {
            v.add("step", "is not a step of the matter's plan");
        }
        let step_state = match req.step_state() {
            pb::StepState::Unspecified => None,
            pb::StepState::Compensating => {
                v.add(
                    "step_state",
                    "COMPENSATING is not searchable per step; search the case state COMPENSATING",
                );
                None
            }
            other => stored_step_state(other).map(|s| s.as_str().to_owned()),
        };
        if step_state.is_some() && step.is_none() {
            v.add("step_state", "needs a step");
        }
        if req.created_from_ms < 0 {
            v.add("created_from_ms", "must not be negative");
        }
        if req.created_before_ms < 0 {
            v.add("created_before_ms", "must not be negative");
        }
        if req.created_from_ms > 0
            && req.created_before_ms > 0
            && req.created_before_ms <= req.created_from_ms
        {
            v.add("created_before_ms", "must be after created_from_ms");
        }
        let person = person(&mut v, &req);
        let search = CaseSearch {
            kind: kind_name(req.kind()).map(str::to_owned),
            state: case_state_of(req.state()).map(|s| s.as_str().to_owned()),
            step,
            step_state,
            created_from_ms: (req.created_from_ms > 0).then_some(req.created_from_ms),
            created_before_ms: (req.created_before_ms > 0).then_some(req.created_before_ms),
            ..Default::default()
        };
        super::decoded(
            v,
            Search {
                page_size: req.page_size,
                page_token: req.page_token,
                search,
                overdue: req.overdue,
                person,
            },
        )
    }
}

/// The person looked up: a valid identity number and a purpose (the number is never echoed).
fn person(
    v: &mut Violations,
    req: &pb::SearchCasesRequest,
) -> Option<(civil_id::IdNumber, String)> {
    use kit::rpc::Text as _;
    if req.person_id_number.is_empty() {
        if !req.lookup_purpose.is_empty() {
            v.add("lookup_purpose", "needs person_id_number");
        }
        return None;
    }
    let purpose = v.text(&req.lookup_purpose, "lookup_purpose", 200);
    match civil_id::IdNumber::parse(&req.person_id_number) {
        Ok(id) => Some((id, purpose)),
        Err(_) => {
            v.add(
                "person_id_number",
                "must be a valid resident identity number",
            );
            None
        }
    }
}

/// A step of a version of the plan of `kind`, or of any plan when the matter is not given.
fn known_step(kind: pb::MatterKind, step: &str) -> bool {
    let plans: Vec<&crate::executor::Plan> = match kind_name(kind) {
        Some(k) => crate::workflows::versions(k),
        None => [
            pb::MatterKind::AfterDeath,
            pb::MatterKind::MarriageBirthHousehold,
            pb::MatterKind::OneApplicationManyBenefits,
        ]
        .into_iter()
        .filter_map(kind_name)
        .flat_map(crate::workflows::versions)
        .collect(),
    };
    plans.iter().any(|p| p.step(step).is_some())
}

fn stored_step_state(state: pb::StepState) -> Option<StepState> {
    Some(match state {
        pb::StepState::Blocked => StepState::Blocked,
        pb::StepState::Ready => StepState::Ready,
        pb::StepState::Running => StepState::Running,
        pb::StepState::Succeeded => StepState::Succeeded,
        pb::StepState::Failed => StepState::Failed,
        pb::StepState::Compensated => StepState::Compensated,
        pb::StepState::Skipped => StepState::Skipped,
        pb::StepState::Cancelled => StepState::Cancelled,
        pb::StepState::Unspecified | pb::StepState::Compensating => return None,
    })
}

/// The region searched (the caller's scope when empty), after checking the caller may.
pub(super) fn scope(c: &kit::rpc::Call, region: &str) -> Result<String, ServiceError> {
    if !region.is_empty() && civil_id::RegionCode::parse(region).is_err() {
        let mut v = Violations::new();
        v.add("region", "must be a division code of 6, 9 or 12 digits");
        v.finish()?;
    }
    let region = if region.is_empty() {
        c.principal().region.clone()
    } else {
        region.to_owned()
    };
    c.authorize(&[Role::Operator], Some(&region))?;
    Ok(region)
}

pub(super) async fn handle(
    api: &OneMatterApi,
    request: Request<pb::SearchCasesRequest>,
) -> Result<Response<pb::SearchCasesResponse>, Status> {
    api.rpc
        .read(
            request,
            async |c, req| scope(c, &req.region),
            async |c, mut s: Search, region| {
                s.resolve_person(c);
                let mut search = s.search;
                search.region_prefix = region;
                let key = search.key();
                let key: Vec<&str> = key.iter().map(String::as_str).collect();
                let page = PAGING.decode(s.page_size, &s.page_token, &key)?;
                search.before_id = page.cursor().map(str::to_owned);
                search.overdue_at_ms = s.overdue.then(|| c.now_ms());
                let size = page.limit();
                let mut cases = store::search_cases(c.db(), &search, size + 1).await?;
                let more = cases.len() as i64 > size;
                cases.truncate(page.size() as usize);
                let next_page_token = match cases.last() {
                    Some(last) if more => page.next_token(&last.id),
                    _ => String::new(),
                };
                c.object(format!("{} cases", cases.len()));
                if search.person_index.is_none() {
                    c.purpose("operator search");
                }
                let cases = cases
                    .iter()
                    .map(|r| crate::convert::case(r, c.sealer()))
                    .collect();
                Ok(pb::SearchCasesResponse {
                    cases,
                    next_page_token,
                })
            },
        )
        .await
}
