//! SetPayeeAccount: records the account a benefit is paid into (一卡通), replacing the one held.

use contracts::civil::assistance::v1 as pb;
use kit::Violations;
use kit::rpc::Text as _;
use tonic::{Request, Response, Status};

use super::AssistanceApi;
use super::shared::{APPROVER, CLERK};
use crate::benefits::benefit_in_scope;
use crate::domain::payment::{Account, account_problems};
use crate::payments;

pub(crate) struct NewAccount {
    benefit_id: String,
    account: Account,
}

impl TryFrom<pb::SetPayeeAccountRequest> for NewAccount {
    type Error = Violations;

    fn try_from(r: pb::SetPayeeAccountRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let holder = v.text(&r.account_holder, "account_holder", kit::rpc::NAME_MAX);
        let account = Account {
            bank_code: r.bank_code.trim().to_owned(),
            number: r.account_number.trim().to_owned(),
            holder,
        };
        for (field, problem) in account_problems(&account) {
            v.add(field, problem);
        }
        if v.is_empty() {
            Ok(NewAccount {
                benefit_id: r.benefit_id,
                account,
            })
        } else {
            Err(v)
        }
    }
}

pub async fn handle(
    api: &AssistanceApi,
    request: Request<pb::SetPayeeAccountRequest>,
) -> Result<Response<pb::PayeeAccount>, Status> {
    api.rpc
        .write(
            request,
            async |c, req| {
                let roles = [CLERK[0], APPROVER[0]];
                benefit_in_scope(c, &roles, &req.benefit_id)
                    .await
                    .map(|_| ())
            },
            async |c, new: NewAccount, ()| {
                payments::set_account(c, &new.benefit_id, new.account).await
            },
        )
        .await
}
