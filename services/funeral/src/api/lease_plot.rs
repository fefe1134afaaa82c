//! LeasePlot: a plot for a deceased person's ashes, 20 years from its first day, or a place in a
//! family plot where the county allows them; the ashes reach their final place there.

use civil_id::IdNumber;
use contracts::civil::funeral::v1 as pb;
use kit::ServiceError;
use kit::Violations;
use kit::clock::date_text;
use kit::rpc::{Call, Rpc, Text as _};
use time::Date;
use tonic::{Request, Response, Status};

use super::shared::{add_ashes, authorized_cemetery, last_ashes_since, plot_out};
use crate::domain::case::Step;
use crate::domain::{Refusal, ashes, plot, text};
use crate::store::{self, CaseRow, CemeteryRow, PlotRow};

pub struct Lease {
    plot_number: String,
    area_dm2: i32,
    occupant: IdNumber,
    start: Date,
    holder: Option<(IdNumber, String)>,
    join_clan_plot: bool,
}

impl TryFrom<pb::LeasePlotRequest> for Lease {
    type Error = Violations;

    fn try_from(req: pb::LeasePlotRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let plot_number = v.text(&req.plot_number, "plot_number", text::NUMBER_MAX);
        v.check(req.area_dm2 > 0, "area_dm2", "must be positive");
        let occupant = v.id_number(&req.occupant_id_number, "occupant_id_number");
        let start = v.date(req.start_date.as_ref(), "start_date");
        let holder = req.holder.map(|h| {
            let id = v.id_number(&h.id_number, "holder.id_number");
            let name = v.text(&h.name, "holder.name", text::NAME_MAX);
            id.map(|id| (id, name))
        });
        match (occupant, start) {
            (Some(occupant), Some(start)) if v.is_empty() => Ok(Self {
                plot_number,
                area_dm2: req.area_dm2,
                occupant,
                start,
                holder: holder.flatten(),
                join_clan_plot: req.join_clan_plot,
            }),
            _ => Err(v),
        }
    }
}

/// The county's plot limits.
#[derive(Clone, Copy)]
pub struct Limits {
    pub area_dm2: i32,
    pub clan_plot_max_occupants: u32,
}

pub async fn handle(
    rpc: &Rpc,
    limits: Limits,
    request: Request<pb::LeasePlotRequest>,
) -> Result<Response<pb::PlotLease>, Status> {
    rpc.write(
        request,
        async |c, req: &pb::LeasePlotRequest| authorized_cemetery(c, &req.cemetery).await,
        async |c, l: Lease, cem| {
            if l.join_clan_plot {
                join_clan_plot(c, &cem, l, limits.clan_plot_max_occupants).await
            } else {
                lease(c, &cem, l, limits.area_dm2).await
            }
        },
    )
    .await
}

async fn lease(
    c: &mut Call,
    cem: &CemeteryRow,
    l: Lease,
    area_limit_dm2: i32,
) -> Result<pb::PlotLease, ServiceError> {
    let (sealed, index) = c.sealer().protect(&l.occupant);
    let case = store::case_by_person(c.db(), &index).await?;
    let current = store::plot(c.db(), &cem.id, &l.plot_number).await?;
    let holding = current.as_ref().map(PlotRow::holding);
    plot::check_lease(
        holding.as_ref(),
        &index,
        case.is_some(),
        l.area_dm2,
        area_limit_dm2,
    )?;
    let case = case.ok_or(Refusal::PlotForLiving)?;
    let next = case.state.apply(Step::PlaceAshes)?;
    let (holder_sealed, holder_name_sealed) = sealed_holder(c, l.holder.as_ref());
    let row = PlotRow {
        plot_number: l.plot_number,
        state: "leased".into(),
        area_dm2: l.area_dm2,
        person_index: index,
        person_sealed: sealed,
        start_date: date_text(l.start),
        end_date: date_text(plot::lease_end(l.start)),
        beside_plot: current.map(|c| c.beside_plot).unwrap_or_default(),
        holder_sealed,
        holder_name_sealed,
    };
    store::upsert_plot(c.db(), &cem.id, &row).await?;
    let (sealed, name) = (&row.holder_sealed, &row.holder_name_sealed);
    store::set_holder(c.db(), &cem.id, &row.plot_number, sealed, name).await?;
    place_ashes(c, cem, &case, next, &row.plot_number, l.start).await?;
    plot_out(c, &cem.id, &row).await
}

fn sealed_holder(c: &Call, holder: Option<&(IdNumber, String)>) -> (String, String) {
    match holder {
        Some((id, name)) => (c.sealer().protect(id).0, c.sealer().seal(name)),
        None => Default::default(),
    }
}

/// A further deceased in a family plot: the lease stays as it is.
async fn join_clan_plot(
    c: &mut Call,
    cem: &CemeteryRow,
    l: Lease,
    max_occupants: u32,
) -> Result<pb::PlotLease, ServiceError> {
    let (sealed, index) = c.sealer().protect(&l.occupant);
    let case = store::case_by_person(c.db(), &index).await?;
    let current = store::plot(c.db(), &cem.id, &l.plot_number).await?;
    let others = store::occupants_of(c.db(), &cem.id, &l.plot_number).await?;
    let occupants = u32::try_from(others.len())
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    let holding = current.as_ref().map(PlotRow::holding);
    plot::check_clan_join(max_occupants, holding.as_ref(), occupants, case.is_some())?;
    let (Some(case), Some(row)) = (case, current) else {
        return Err(Refusal::PlotNotLeased.into());
    };
    let next = case.state.apply(Step::PlaceAshes)?;
    let today = date_text(c.today());
    store::insert_occupant(c.db(), &cem.id, &row.plot_number, &index, &sealed, &today).await?;
    let since = c.today();
    place_ashes(c, cem, &case, next, &row.plot_number, since).await?;
    plot_out(c, &cem.id, &row).await
}

/// The case reaches its final place in the plot; the ashes trail ends there.
async fn place_ashes(
    c: &mut Call,
    cem: &CemeteryRow,
    case: &CaseRow,
    next: crate::domain::case::CaseState,
    plot_number: &str,
    day: Date,
) -> Result<(), ServiceError> {
    let now = c.now_ms();
    store::transition(c.db(), &case.id, case.state, next, now).await?;
    let place = format!("cemeteries/{}/plots/{plot_number}", cem.id);
    c.object(place.clone());
    store::set_final_place(c.db(), &case.id, &place).await?;
    let since = ashes::placed_since(last_ashes_since(c.db(), &case.id).await?, day);
    let kind = pb::AshesHolderKind::Cemetery;
    add_ashes(c, &case.id, kind, &cem.display_name, &place, since).await
}
