//! WithdrawDivorceApplication: either party alone, through the last day of cooling-off
//! (art. 1077 para. 1); a refusal is recorded with its reason.

use contracts::civil::marriage::v1 as pb;
use kit::rpc::Call;
use kit::{ServiceError, Violations};
use tonic::{Request, Response, Status};

use super::MarriageApi;
use super::applications::{authorized_application, marriage_of, withdrawn_event};
use super::shared::{Counterparty, DeskCase, party_in, record_refusal};
use crate::convert::{self, Mask};
use crate::domain::Refusal;
use crate::domain::cooling_off::ApplicationState;
use crate::events;
use crate::store::{self, ApplicationRow};

pub struct Withdrawal {
    party: Counterparty,
}

impl TryFrom<pb::WithdrawDivorceApplicationRequest> for Withdrawal {
    type Error = Violations;

    fn try_from(req: pb::WithdrawDivorceApplicationRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        match party_in(&mut v, req.party.as_ref(), "party") {
            Some(party) if v.is_empty() => Ok(Withdrawal { party }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &MarriageApi,
    request: Request<pb::WithdrawDivorceApplicationRequest>,
) -> Result<Response<pb::DivorceApplication>, Status> {
    let principal = auth::principal(&request)?.clone();
    let party = super::shared::raw_index(api.rpc.sealer(), request.get_ref().party.as_ref());
    let request_id = request.get_ref().request_id.clone();
    let mut office_id = String::new();
    let result = api
        .rpc
        .write(
            request,
            async |c, req| {
                let (app, office) = authorized_application(c, api, &req.application_id).await?;
                office_id = office.office_id;
                Ok(app)
            },
            async |c, w: Withdrawal, app| withdraw(c, w, app).await,
        )
        .await;
    let case = DeskCase {
        rpc: "WithdrawDivorceApplication",
        request_id,
        office_id,
        parties: (party, String::new()),
    };
    record_refusal(api, &principal, case, result).await
}

async fn withdraw(
    c: &mut Call,
    w: Withdrawal,
    mut app: ApplicationRow,
) -> Result<pb::DivorceApplication, ServiceError> {
    let today = c.today();
    let marriage = marriage_of(c, &app).await?;
    if !w.party.in_person {
        return Err(Refusal::NotInPerson.into());
    }
    if marriage.sides(&c.sealer().index(&w.party.id)).is_none() {
        return Err(Refusal::PartiesMismatch.into());
    }
    app.rules().check_withdrawal(today)?;
    let id = app.application_id.clone();
    if !store::close_application(c.db(), &id, ApplicationState::Withdrawn, today, None).await? {
        return Err(Refusal::ApplicationClosed.into());
    }
    (app.state, app.closed_on) = (ApplicationState::Withdrawn, Some(today));
    events::application_withdrawn(c.db(), &withdrawn_event(&app, today)).await?;
    let full = c.principal().sees_full_identity_numbers();
    Ok(convert::application(c.sealer(), &app, &marriage).masked_unless(full))
}
