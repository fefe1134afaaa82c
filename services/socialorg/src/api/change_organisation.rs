//! ChangeOrganisation: 变更登记 of name, address and/or legal representative, each kept in the
//! history with who, from, to, when and why.

use contracts::civil::socialorg::v1 as pb;
use kit::rpc::{Call, LONG_MAX, NAME_MAX, Rpc, SHORT_MAX, Text as _};
use kit::{ServiceError, Violations};
use time::Date;
use tonic::{Request, Response, Status};

use super::shared::{authorized_org, locked_active, org_out, seal_person};
use crate::domain::Refusal;
use crate::domain::registration;
use crate::store::{self, ChangeRow, OrgRow};

/// A change request that passed every field check; empty fields change nothing.
pub struct Change {
    name: String,
    address: String,
    rep: Option<(civil_id::IdNumber, String)>,
    changed_on: Date,
    reason: String,
}

impl TryFrom<pb::ChangeOrganisationRequest> for Change {
    type Error = Violations;

    fn try_from(req: pb::ChangeOrganisationRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let changed_on = v.date(req.changed_on.as_ref(), "changed_on");
        let name = v.optional_text(&req.new_name, "new_name", NAME_MAX);
        let address = v.optional_text(&req.new_address, "new_address", SHORT_MAX);
        let reason = v.optional_text(&req.reason, "reason", LONG_MAX);
        let rep = match &req.new_legal_representative {
            Some(rep) if !(rep.id_number.is_empty() && rep.name.is_empty()) => {
                let id = v.id_number(&rep.id_number, "new_legal_representative.id_number");
                let name = v.text(&rep.name, "new_legal_representative.name", NAME_MAX);
                id.map(|id| (id, name))
            }
            _ => None,
        };
        match changed_on {
            Some(changed_on) if v.is_empty() => Ok(Change {
                name,
                address,
                rep,
                changed_on,
                reason,
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    rpc: &Rpc,
    request: Request<pb::ChangeOrganisationRequest>,
) -> Result<Response<pb::Organisation>, Status> {
    rpc.write(
        request,
        async |c, req| authorized_org(c, &req.organisation_id, false).await,
        async |c, change: Change, org| {
            if !change.name.is_empty() {
                registration::check_local_name(&change.name)?;
            }
            let mut o = locked_active(c.db(), &org.id).await?;
            let changes = apply(c, &mut o, change).await?;
            if changes.is_empty() {
                return Err(Refusal::NothingToChange.into());
            }
            let now = c.now_ms();
            store::update_org(c.db(), &o, now).await?;
            for row in &changes {
                store::insert_change(c.db(), &o.id, row).await?;
            }
            if changes.iter().any(|ch| ch.what == "legal_representative") {
                let now = c.now_ms();
                store::close_tasks(c.db(), &o.id, now).await?;
            }
            org_out(c, &o).await
        },
    )
    .await
}

/// Applies the change to the row; returns one history row per field that changed.
async fn apply(c: &mut Call, o: &mut OrgRow, ch: Change) -> Result<Vec<ChangeRow>, ServiceError> {
    let base = ChangeRow {
        changed_on: Some(ch.changed_on),
        recorded_by: c.principal().subject.clone(),
        reason: ch.reason.clone(),
        ..ChangeRow::default()
    };
    let mut rows = Vec::new();
    if !ch.name.is_empty() && ch.name != o.name {
        if store::active_name_taken(c.db(), &o.region, &ch.name, &o.id).await? {
            return Err(Refusal::NameTaken.into());
        }
        let from = std::mem::replace(&mut o.name, ch.name);
        rows.push(ChangeRow {
            what: "name".into(),
            old_value: from,
            new_value: o.name.clone(),
            ..base.clone()
        });
    }
    if !ch.address.is_empty() && ch.address != o.address {
        let from = std::mem::replace(&mut o.address, ch.address);
        rows.push(ChangeRow {
            what: "address".into(),
            old_value: from,
            new_value: o.address.clone(),
            ..base.clone()
        });
    }
    if let Some((id, name)) = ch.rep {
        let (id_sealed, index) = c.sealer().protect(&id);
        if index != o.rep_index {
            rows.push(representative_change(c, o, &id, &name, base).await?);
            o.rep_index = index;
            o.rep_id_sealed = id_sealed;
            o.rep_name_sealed = c.sealer().seal(&name);
        }
    }
    Ok(rows)
}

/// The history row of a new legal representative: blind indexes as old / new values (no
/// number in the clear), the two people sealed, and the open task's reason when none is given.
async fn representative_change(
    c: &mut Call,
    o: &OrgRow,
    id: &civil_id::IdNumber,
    name: &str,
    base: ChangeRow,
) -> Result<ChangeRow, ServiceError> {
    let old_id = c.sealer().open(&o.rep_id_sealed).unwrap_or_default();
    let old_name = c.sealer().open(&o.rep_name_sealed).unwrap_or_default();
    let reason = match base.reason.is_empty() {
        true => store::open_task(c.db(), &o.id)
            .await?
            .map(|t| t.reason)
            .unwrap_or_default(),
        false => base.reason.clone(),
    };
    Ok(ChangeRow {
        what: "legal_representative".into(),
        old_value: o.rep_index.clone(),
        new_value: c.sealer().index(id),
        from_sealed: seal_person(c, &old_id, &old_name),
        to_sealed: seal_person(c, id.as_str(), name),
        reason,
        ..base
    })
}
