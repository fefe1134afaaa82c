//! GetMarriage: a marriage record by certificate number, for a registrar of the office's
//! region or another service of the suite.

use auth::Role;
use contracts::civil::marriage::v1 as pb;
use kit::{ServiceError, Violations};
use tonic::{Request, Response, Status};

use super::MarriageApi;
use crate::convert::{self, Mask};
use crate::domain::certificate::CertificateNumber;
use crate::store::{self, MarriageRow};

pub struct CertificateQuery;

impl TryFrom<pb::GetMarriageRequest> for CertificateQuery {
    type Error = Violations;

    fn try_from(_: pb::GetMarriageRequest) -> Result<Self, Violations> {
        Ok(CertificateQuery)
    }
}

pub async fn handle(
    api: &MarriageApi,
    request: Request<pb::GetMarriageRequest>,
) -> Result<Response<pb::Marriage>, Status> {
    api.rpc
        .read(
            request,
            async |c, req| {
                let number = req.certificate_number.trim();
                if CertificateNumber::parse(number).is_none() {
                    let rule = "is not a certificate number";
                    return Err(ServiceError::invalid("certificate_number", rule));
                }
                c.object(number.to_owned());
                let marriage = store::get_marriage(c.db(), number)
                    .await?
                    .ok_or_else(|| ServiceError::not_found("marriage"))?;
                // Registrars act within their region; other services anywhere (they carry the
                // person they act for, recorded in the audit trail).
                if !c.principal().has_role(Role::Service) {
                    let office = api.offices.get(c.db(), &marriage.office_id).await?;
                    c.authorize(&[Role::Registrar], Some(&office.region_code))?;
                }
                Ok(marriage)
            },
            async |c, CertificateQuery, marriage: MarriageRow| {
                let remarks = store::remarks(c.db(), &marriage.certificate_number).await?;
                let full = c.principal().sees_full_identity_numbers();
                Ok(convert::marriage(c.sealer(), &marriage, remarks).masked_unless(full))
            },
        )
        .await
}
