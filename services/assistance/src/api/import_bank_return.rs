//! ImportBankReturn: the bank's return file (CIVILPAYRET/1), applied whole or not at all.

use contracts::civil::assistance::v1 as pb;
use kit::Violations;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::roll_in_scope;
use crate::domain::payment::{parse_return, sha256_hex};
use crate::payments::{self, ReturnImport};

/// Return files are at most 16 MiB of text (about 200,000 lines).
const MAX_FILE: usize = 16 * 1024 * 1024;

impl TryFrom<pb::ImportBankReturnRequest> for ReturnImport {
    type Error = Violations;

    fn try_from(r: pb::ImportBankReturnRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        if r.content.len() > MAX_FILE {
            v.add(
                "content",
                format!(
                    "is {} bytes; at most {MAX_FILE} are allowed",
                    r.content.len()
                ),
            );
            return Err(v);
        }
        match parse_return(&r.content) {
            Ok(file) => Ok(ReturnImport {
                sha256: sha256_hex(r.content.as_bytes()),
                file,
            }),
            Err(problems) => {
                for p in problems.into_iter().take(100) {
                    v.add("content", p);
                }
                Err(v)
            }
        }
    }
}

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::ImportBankReturnRequest>,
) -> Result<Response<pb::Roll>, Status> {
    let county = api.inner.policy.county.clone();
    api.rpc
        .write(
            request,
            async |c, req| roll_in_scope(c, &county, &req.roll_id).await,
            async |c, import: ReturnImport, roll| payments::import_return(c, roll, import).await,
        )
        .await
}
