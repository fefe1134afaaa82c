//! ReserveSpousePlot: the plot beside a deceased person's, held for the living spouse
//! (配偶预留); the reservation runs with the deceased's lease cycle and is not transferable.

use civil_id::IdNumber;
use contracts::civil::funeral::v1 as pb;
use kit::Violations;
use kit::rpc::{Rpc, Text as _};
use tonic::{Request, Response, Status};

use super::shared::{authorized_cemetery, plot_out};
use crate::domain::{Refusal, plot, text};
use crate::store::{self, PlotRow};

pub struct Reservation {
    plot_number: String,
    beside: String,
    area_dm2: i32,
    spouse: IdNumber,
}

impl TryFrom<pb::ReserveSpousePlotRequest> for Reservation {
    type Error = Violations;

    fn try_from(req: pb::ReserveSpousePlotRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let plot_number = v.text(&req.plot_number, "plot_number", text::NUMBER_MAX);
        let beside = v.text(
            &req.beside_plot_number,
            "beside_plot_number",
            text::NUMBER_MAX,
        );
        v.check(req.area_dm2 > 0, "area_dm2", "must be positive");
        let spouse = req.spouse.unwrap_or_default();
        let spouse = v.id_number(&spouse.id_number, "spouse.id_number");
        match spouse {
            Some(spouse) if v.is_empty() => Ok(Self {
                plot_number,
                beside,
                area_dm2: req.area_dm2,
                spouse,
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    rpc: &Rpc,
    area_limit_dm2: i32,
    request: Request<pb::ReserveSpousePlotRequest>,
) -> Result<Response<pb::PlotLease>, Status> {
    rpc.write(
        request,
        async |c, req: &pb::ReserveSpousePlotRequest| authorized_cemetery(c, &req.cemetery).await,
        async |c, r: Reservation, cem| {
            let (sealed, index) = c.sealer().protect(&r.spouse);
            let beside = store::plot(c.db(), &cem.id, &r.beside).await?;
            let reserved = store::has_reservation_beside(c.db(), &cem.id, &r.beside).await?;
            let target = store::plot(c.db(), &cem.id, &r.plot_number).await?;
            let spouse_deceased = store::case_by_person(c.db(), &index).await?.is_some();
            plot::check_spouse_reservation(
                beside.as_ref().map(PlotRow::holding).as_ref(),
                reserved,
                target.as_ref().map(PlotRow::holding).as_ref(),
                spouse_deceased,
                r.area_dm2,
                area_limit_dm2,
            )?;
            let beside = beside.ok_or(Refusal::PlotNotLeased)?;
            let row = reservation_row(r, index, sealed, &beside);
            store::upsert_plot(c.db(), &cem.id, &row).await?;
            c.object(format!("cemeteries/{}/plots/{}", cem.id, row.plot_number));
            plot_out(c, &cem.id, &row).await
        },
    )
    .await
}

/// The reservation runs with the deceased's lease cycle.
fn reservation_row(r: Reservation, index: String, sealed: String, beside: &PlotRow) -> PlotRow {
    PlotRow {
        plot_number: r.plot_number,
        state: "reserved".into(),
        area_dm2: r.area_dm2,
        person_index: index,
        person_sealed: sealed,
        start_date: beside.start_date.clone(),
        end_date: beside.end_date.clone(),
        beside_plot: beside.plot_number.clone(),
        holder_sealed: String::new(),
        holder_name_sealed: String::new(),
    }
}
