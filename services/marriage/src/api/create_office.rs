//! CreateOffice: a registration office (婚姻登记处) in the registrar's region.

use contracts::civil::marriage::v1 as pb;
use kit::rpc::Text as _;
use kit::{ServiceError, Violations};
use tonic::{Request, Response, Status};

use super::MarriageApi;
use super::shared::{REGISTRAR, SHORT_TEXT};
use crate::convert;
use crate::store::{self, OfficeRow};

fn valid_office_id(id: &str) -> bool {
    (3..=40).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl TryFrom<pb::CreateOfficeRequest> for OfficeRow {
    type Error = Violations;

    fn try_from(req: pb::CreateOfficeRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let rule = "must be 3-40 lower-case letters, digits or '-'";
        v.check(valid_office_id(&req.office_id), "office_id", rule);
        let display_name = v.text(&req.display_name, "display_name", SHORT_TEXT);
        if let Some(region) = v.region(&req.region_code, "region_code") {
            let rule = "must be a county (6) or township (9) code";
            v.check(matches!(region.as_str().len(), 6 | 9), "region_code", rule);
        }
        if !v.is_empty() {
            return Err(v);
        }
        Ok(OfficeRow {
            office_id: req.office_id,
            display_name,
            region_code: req.region_code,
        })
    }
}

pub async fn handle(
    api: &MarriageApi,
    request: Request<pb::CreateOfficeRequest>,
) -> Result<Response<pb::Office>, Status> {
    api.rpc
        .write(
            request,
            async |c, req| {
                c.object(format!("offices/{}", req.office_id));
                // The region is in the request: out of scope is refused before the body is
                // checked (a malformed code is left to the field checks).
                if civil_id::RegionCode::parse(&req.region_code).is_ok() {
                    c.authorize(REGISTRAR, Some(&req.region_code))?;
                }
                Ok(())
            },
            async |c, row: OfficeRow, ()| {
                let now = c.now_ms();
                if !store::insert_office(c.db(), &row, now).await? {
                    let existing = format!("office {:?}", row.office_id);
                    return Err(ServiceError::AlreadyExists(existing));
                }
                Ok(convert::office(&row))
            },
        )
        .await
}
