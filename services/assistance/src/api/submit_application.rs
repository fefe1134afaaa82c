//! SubmitApplication (申请): a citizen online, a township clerk at the counter, or the one-matter
//! service for a citizen, within the household's region.

use contracts::civil::assistance::v1 as pb;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::{APPLICANTS, by_region};
use crate::convert::application_to_proto;
use crate::procedure::{self, decode_submission};

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::SubmitApplicationRequest>,
) -> Result<Response<pb::Application>, Status> {
    api.rpc
        .write(
            request,
            async |c, req| {
                let region = req.household.as_ref().map_or("", |h| h.region.as_str());
                by_region(c, APPLICANTS, region)?;
                // Decoded here: a citizen's channel depends on the caller.
                let submission = decode_submission(c.principal(), req)?;
                c.authorize(APPLICANTS, Some(submission.region()))?;
                Ok(submission)
            },
            async |c, _: pb::SubmitApplicationRequest, submission| {
                let rec = procedure::submit(c, submission).await?;
                let full = c.principal().sees_full_identity_numbers();
                Ok(application_to_proto(&rec, full))
            },
        )
        .await
}
