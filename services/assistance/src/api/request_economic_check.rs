//! RequestEconomicCheck (家庭经济状况核对): the township clerk has the county checking centre
//! check an investigated household, with the household's signed authorisation.

use contracts::civil::assistance::v1 as pb;
use kit::rpc::Text as _;
use kit::{ServiceError, Violations};
use time::Date;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::{CLERK, application_in_scope, saved};
use crate::api::refuse;
use crate::checking::{CheckReport, CheckRequest};
use crate::domain::application::ApplicationState;
use crate::procedure::{not_in_future, record_check};
use crate::store;

/// The household's signed authorisation.
pub struct Authorisation {
    reference: String,
    signed_on: Date,
}

impl TryFrom<pb::RequestEconomicCheckRequest> for Authorisation {
    type Error = ServiceError;

    fn try_from(r: pb::RequestEconomicCheckRequest) -> Result<Self, ServiceError> {
        if r.authorisation_reference.trim().is_empty() {
            return Err(refuse(
                "ASSISTANCE_AUTHORISATION_MISSING",
                "the household's signed authorisation is required",
            ));
        }
        let mut v = Violations::new();
        v.text(
            &r.authorisation_reference,
            "authorisation_reference",
            kit::rpc::SHORT_MAX,
        );
        let signed_on = v.date(
            r.authorisation_signed_on.as_ref(),
            "authorisation_signed_on",
        );
        v.finish()?;
        let signed_on = signed_on
            .ok_or_else(|| ServiceError::invalid("authorisation_signed_on", "is required"))?;
        Ok(Authorisation {
            reference: r.authorisation_reference,
            signed_on,
        })
    }
}

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::RequestEconomicCheckRequest>,
) -> Result<Response<pb::Application>, Status> {
    // The centre is called before the write's transaction: a network call must not hold the
    // database. Its request id derives from the application, so a retry gets the same report.
    let report = ask_centre(api, &request).await;
    api.rpc
        .write(
            request,
            async |c, req| application_in_scope(c, CLERK, &req.application_id).await,
            async |c, auth: Authorisation, mut rec| {
                not_in_future(auth.signed_on, c.today())?;
                record_check(&mut rec, report?, auth.reference, auth.signed_on)?;
                saved(c, &rec).await
            },
        )
        .await
}

/// The centre's report on an investigated application the caller may check (`None` when the
/// request goes no further: the write then answers why).
async fn ask_centre(
    api: &AssistanceApi,
    request: &Request<pb::RequestEconomicCheckRequest>,
) -> Result<Option<CheckReport>, ServiceError> {
    let Ok(p) = auth::principal(request) else {
        return Ok(None);
    };
    let req = request.get_ref();
    let Ok(auth) = Authorisation::try_from(req.clone()) else {
        return Ok(None);
    };
    let mut conn = api.rpc.db().pool.acquire().await?;
    let rec = store::load_application(&mut conn, api.rpc.sealer(), &req.application_id).await;
    drop(conn);
    let Ok(rec) = rec else { return Ok(None) };
    let today = api.rpc.clock().today();
    let allowed = p.authorize(CLERK, Some(&rec.household.region)).is_ok();
    if !allowed || auth.signed_on > today || rec.state != ApplicationState::Investigated {
        return Ok(None);
    }
    let check = CheckRequest {
        request_id: format!("{}:check:{}", rec.id, rec.visits.len()),
        region: rec.household.region.clone(),
        members: (rec.household.members.iter())
            .map(|m| (m.id_number.clone(), m.name.clone()))
            .collect(),
        authorisation_reference: auth.reference,
        authorisation_signed_on: auth.signed_on,
    };
    Ok(Some(api.inner.checker.check(check, &p.subject).await?))
}
