//! GetDivorceApplication: an application as it stands today; one past its issuance deadline is
//! recorded as deemed withdrawn first (art. 1077).

use contracts::civil::marriage::v1 as pb;
use kit::Violations;
use tonic::{Request, Response, Status};

use super::MarriageApi;
use super::applications::{authorized_application, marriage_of};
use crate::convert::{self, Mask};
use crate::expiry::expire_application;
use crate::store;

pub struct ApplicationQuery;

impl TryFrom<pb::GetDivorceApplicationRequest> for ApplicationQuery {
    type Error = Violations;

    fn try_from(_: pb::GetDivorceApplicationRequest) -> Result<Self, Violations> {
        Ok(ApplicationQuery)
    }
}

pub async fn handle(
    api: &MarriageApi,
    request: Request<pb::GetDivorceApplicationRequest>,
) -> Result<Response<pb::DivorceApplication>, Status> {
    api.rpc
        .read(
            request,
            async |c, req| authorized_application(c, api, &req.application_id).await,
            async |c, ApplicationQuery, (app, _office)| {
                let entry = auth::audit::AuditEntry::new(
                    c.principal(),
                    "marriage.ExpireDivorceApplication",
                    &app.application_id,
                )
                .with_trace_id(kit::telemetry::current_trace_id())
                .with_purpose("deemed withdrawn, recorded on access");
                let today = c.today();
                expire_application(c.db(), &app.application_id, today, entry).await?;
                let app = store::get_application(c.db(), &app.application_id)
                    .await?
                    .unwrap_or(app);
                let marriage = marriage_of(c, &app).await?;
                let full = c.principal().sees_full_identity_numbers();
                Ok(convert::application(c.sealer(), &app, &marriage).masked_unless(full))
            },
        )
        .await
}
