//! ExportBankFile: the bank disbursement file (CIVILPAY/1) of an approved roll.

use contracts::civil::assistance::v1 as pb;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::roll_in_scope;
use crate::payments;

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::ExportBankFileRequest>,
) -> Result<Response<pb::BankFile>, Status> {
    let county = api.inner.policy.county.clone();
    api.rpc
        .write(
            request,
            async |c, req| roll_in_scope(c, &county, &req.roll_id).await,
            async |c, _: pb::ExportBankFileRequest, roll| {
                // Full account numbers leave for the paying bank.
                c.purpose("payment");
                payments::export(c, &county, roll).await
            },
        )
        .await
}
