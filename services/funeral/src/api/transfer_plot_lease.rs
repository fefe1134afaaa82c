//! TransferPlotLease: the lease passes to another holder (墓穴使用权过户) within the family,
//! where the county allows it; every transfer is kept.

use civil_id::IdNumber;
use contracts::civil::funeral::v1 as pb;
use kit::Violations;
use kit::clock::date_text;
use kit::rpc::{Rpc, Text as _};
use time::Date;
use tonic::{Request, Response, Status};

use super::shared::{authorized_cemetery, plot_out};
use crate::domain::plot::{self, TransferPolicy};
use crate::domain::text;
use crate::store::{self, PlotRow, TransferRow};

pub struct Transfer {
    plot_number: String,
    holder: IdNumber,
    name: String,
    relationship: pb::DeclarantRelationship,
    on: Date,
    reason: String,
}

impl TryFrom<pb::TransferPlotLeaseRequest> for Transfer {
    type Error = Violations;

    fn try_from(req: pb::TransferPlotLeaseRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let plot_number = v.text(&req.plot_number, "plot_number", text::NUMBER_MAX);
        let holder = req.new_holder.unwrap_or_default();
        let id = v.id_number(&holder.id_number, "new_holder.id_number");
        let name = v.text(&holder.name, "new_holder.name", text::NAME_MAX);
        let relationship = pb::DeclarantRelationship::try_from(req.relationship)
            .ok()
            .filter(|r| *r != pb::DeclarantRelationship::Unspecified);
        v.check(relationship.is_some(), "relationship", "is required");
        let on = v.date(req.transferred_on.as_ref(), "transferred_on");
        let reason = v.text(&req.reason, "reason", kit::rpc::SHORT_MAX);
        match (id, relationship, on) {
            (Some(holder), Some(relationship), Some(on)) if v.is_empty() => Ok(Self {
                plot_number,
                holder,
                name,
                relationship,
                on,
                reason,
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    rpc: &Rpc,
    policy: TransferPolicy,
    request: Request<pb::TransferPlotLeaseRequest>,
) -> Result<Response<pb::PlotLease>, Status> {
    rpc.write(
        request,
        async |c, req: &pb::TransferPlotLeaseRequest| authorized_cemetery(c, &req.cemetery).await,
        async |c, t: Transfer, cem| {
            let current = store::plot(c.db(), &cem.id, &t.plot_number).await?;
            let relative = t.relationship != pb::DeclarantRelationship::NonRelative;
            let holding = current.as_ref().map(PlotRow::holding);
            plot::check_transfer(policy, holding.as_ref(), relative)?;
            let Some(mut row) = current else {
                return Err(crate::domain::Refusal::PlotNotLeased.into());
            };
            c.object(format!("cemeteries/{}/plots/{}", cem.id, row.plot_number));
            let transfer = TransferRow {
                from_sealed: row.holder_sealed.clone(),
                from_name_sealed: row.holder_name_sealed.clone(),
                to_sealed: c.sealer().protect(&t.holder).0,
                to_name_sealed: c.sealer().seal(&t.name),
                relationship: t.relationship.as_str_name().to_owned(),
                transferred_on: date_text(t.on),
                reason: t.reason,
            };
            let (by, now) = (c.principal().subject.clone(), c.now_ms());
            store::insert_transfer(c.db(), &cem.id, &row.plot_number, &transfer, &by, now).await?;
            let (sealed, name) = (&transfer.to_sealed, &transfer.to_name_sealed);
            store::set_holder(c.db(), &cem.id, &row.plot_number, sealed, name).await?;
            row.holder_sealed = transfer.to_sealed;
            row.holder_name_sealed = transfer.to_name_sealed;
            plot_out(c, &cem.id, &row).await
        },
    )
    .await
}
