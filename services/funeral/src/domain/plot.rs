//! Cemeteries and plots (殡葬管理条例 arts. 10-12, 民政部 公墓管理 rules).
//!
//! Plots hold the ashes of the deceased, are leased in 20-year cycles, and are small (an ash
//! grave at most 1 m2; a county may set a stricter limit). No plots for the living, no resale:
//! a plot beside a deceased person may only be reserved for the surviving spouse, and that
//! reservation cannot pass to anyone else.

use civil_calendar::birthday_in_year;
use time::Date;

use super::Refusal;

/// Years in one lease cycle.
pub const LEASE_CYCLE_YEARS: i32 = 20;

/// National ceiling for an ash grave: 1 m2 = 100 dm2.
pub const NATIONAL_MAX_AREA_DM2: i32 = 100;

/// Land use of a proposed cemetery site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LandUse {
    Designated,
    Farmland,
    Park,
    ScenicArea,
    Reservoir,
    TrunkRoad,
}

/// No graves on farmland, in parks or scenic areas, near reservoirs or along trunk roads
/// (殡葬管理条例 art. 10).
pub fn check_site(land_use: LandUse) -> Result<(), Refusal> {
    match land_use {
        LandUse::Designated => Ok(()),
        _ => Err(Refusal::SiteForbidden),
    }
}

/// Returns the last day of the lease cycle that starts on `start`. The start day is the first
/// day of the term, the way leases are written (自 2026-10-01 起至 2046-09-30 止): the term ends
/// the day before the corresponding day 20 years later. When that day before is 29 February in
/// a common year (a start on 1 March 2080), the term ends on 28 February.
pub fn lease_end(start: Date) -> Date {
    let day_before = start.previous_day().unwrap_or(start);
    birthday_in_year(day_before, day_before.year() + LEASE_CYCLE_YEARS)
}

/// A renewed lease's next cycle starts the day after the previous end and runs 20 years.
pub fn renewed_end(previous_end: Date) -> Date {
    lease_end(previous_end.next_day().unwrap_or(previous_end))
}

/// The county's size limit, never above the national ceiling.
pub fn area_limit_dm2(county_limit_dm2: i32) -> i32 {
    county_limit_dm2.clamp(1, NATIONAL_MAX_AREA_DM2)
}

fn check_area(area_dm2: i32, county_limit_dm2: i32) -> Result<(), Refusal> {
    let limit_dm2 = area_limit_dm2(county_limit_dm2);
    if area_dm2 > limit_dm2 {
        Err(Refusal::PlotTooLarge {
            area_dm2,
            limit_dm2,
        })
    } else {
        Ok(())
    }
}

/// Who holds a plot now. Person keys are blind indexes of identity numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holding {
    Leased { occupant: String },
    ReservedForSpouse { spouse: String },
}

/// Checks a lease of a plot for the ashes of `occupant`.
pub fn check_lease(
    current: Option<&Holding>,
    occupant: &str,
    occupant_deceased: bool,
    area_dm2: i32,
    county_limit_dm2: i32,
) -> Result<(), Refusal> {
    if !occupant_deceased {
        return Err(Refusal::PlotForLiving);
    }
    check_area(area_dm2, county_limit_dm2)?;
    match current {
        None => Ok(()),
        Some(Holding::ReservedForSpouse { spouse }) if spouse == occupant => Ok(()),
        Some(Holding::ReservedForSpouse { .. }) => Err(Refusal::PlotResale),
        Some(Holding::Leased { .. }) => Err(Refusal::PlotTaken),
    }
}

/// Checks a reservation of `target` beside the plot `beside` for the deceased's spouse.
pub fn check_spouse_reservation(
    beside: Option<&Holding>,
    beside_has_reservation: bool,
    target: Option<&Holding>,
    spouse_deceased: bool,
    area_dm2: i32,
    county_limit_dm2: i32,
) -> Result<(), Refusal> {
    if !matches!(beside, Some(Holding::Leased { .. })) {
        return Err(Refusal::PlotNotLeased);
    }
    if spouse_deceased {
        return Err(Refusal::SpouseDeceased);
    }
    if beside_has_reservation {
        return Err(Refusal::ReservationExists);
    }
    if target.is_some() {
        return Err(Refusal::PlotTaken);
    }
    check_area(area_dm2, county_limit_dm2)
}

/// Who may take over a plot lease (county policy `plot_transfer`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TransferPolicy {
    /// No transfers (the default: RULES.md "no resale").
    #[default]
    None,
    /// To a relative of the occupant (墓穴使用权 passing within the family), never a sale.
    Relatives,
}

/// Checks a transfer of the lease of a plot held as `holding` to someone who is (or is not) a
/// relative of the occupant.
pub fn check_transfer(
    policy: TransferPolicy,
    holding: Option<&Holding>,
    to_relative: bool,
) -> Result<(), Refusal> {
    if policy == TransferPolicy::None {
        return Err(Refusal::TransferNotAllowed);
    }
    match holding {
        None => Err(Refusal::PlotNotLeased),
        Some(Holding::ReservedForSpouse { .. }) => Err(Refusal::PlotResale),
        Some(Holding::Leased { .. }) if !to_relative => Err(Refusal::PlotResale),
        Some(Holding::Leased { .. }) => Ok(()),
    }
}

/// Checks placing one more deceased in a family plot (家族墓) that holds `occupants` now, where
/// the county allows at most `max_occupants` per plot (1: no family plots, the default).
pub fn check_clan_join(
    max_occupants: u32,
    holding: Option<&Holding>,
    occupants: u32,
    occupant_deceased: bool,
) -> Result<(), Refusal> {
    if max_occupants <= 1 {
        return Err(Refusal::ClanPlotNotAllowed);
    }
    if !occupant_deceased {
        return Err(Refusal::PlotForLiving);
    }
    match holding {
        None => Err(Refusal::PlotNotLeased),
        Some(Holding::ReservedForSpouse { .. }) => Err(Refusal::PlotResale),
        Some(Holding::Leased { .. }) if occupants >= max_occupants => {
            Err(Refusal::ClanPlotFull { max: max_occupants })
        }
        Some(Holding::Leased { .. }) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn leased(p: &str) -> Holding {
        Holding::Leased { occupant: p.into() }
    }

    #[test]
    fn a_lease_term_counts_its_start_day_as_the_first_day_of_twenty_years() {
        assert_eq!(lease_end(date!(2026 - 10 - 01)), date!(2046 - 09 - 30));
        assert_eq!(lease_end(date!(2026 - 04 - 05)), date!(2046 - 04 - 04));
        assert_eq!(lease_end(date!(2026 - 01 - 01)), date!(2045 - 12 - 31));
        assert_eq!(renewed_end(date!(2046 - 09 - 30)), date!(2066 - 09 - 30));
    }

    #[test]
    fn a_lease_term_around_29_february_ends_the_day_before_its_anniversary() {
        assert_eq!(lease_end(date!(2024 - 02 - 29)), date!(2044 - 02 - 28));
        assert_eq!(lease_end(date!(2024 - 03 - 01)), date!(2044 - 02 - 29));
        assert_eq!(lease_end(date!(2025 - 03 - 01)), date!(2045 - 02 - 28));
        assert_eq!(renewed_end(date!(2044 - 02 - 29)), date!(2064 - 02 - 29));
        assert_eq!(
            lease_end(date!(2080 - 03 - 01)),
            date!(2100 - 02 - 28),
            "2100 is a common year"
        );
    }

    #[test]
    fn a_plot_for_a_living_person_is_refused() {
        assert_eq!(
            check_lease(None, "p1", false, 80, 100),
            Err(Refusal::PlotForLiving)
        );
        assert_eq!(check_lease(None, "p1", true, 80, 100), Ok(()));
    }

    #[test]
    fn an_ash_grave_is_at_most_one_square_metre_or_the_stricter_county_limit() {
        assert_eq!(check_lease(None, "p1", true, 100, 100), Ok(()));
        assert_eq!(
            check_lease(None, "p1", true, 101, 100),
            Err(Refusal::PlotTooLarge {
                area_dm2: 101,
                limit_dm2: 100
            })
        );
        assert_eq!(
            check_lease(None, "p1", true, 80, 70),
            Err(Refusal::PlotTooLarge {
                area_dm2: 80,
                limit_dm2: 70
            })
        );
        assert_eq!(
            check_lease(None, "p1", true, 120, 150),
            Err(Refusal::PlotTooLarge {
                area_dm2: 120,
                limit_dm2: 100
            }),
            "a county cannot loosen the national ceiling"
        );
    }

    #[test]
    fn a_leased_plot_cannot_be_leased_again() {
        assert_eq!(
            check_lease(Some(&leased("p1")), "p2", true, 80, 100),
            Err(Refusal::PlotTaken)
        );
    }

    #[test]
    fn a_spouse_reservation_cannot_be_resold_to_anyone_else() {
        let reserved = Holding::ReservedForSpouse {
            spouse: "wife".into(),
        };
        assert_eq!(
            check_lease(Some(&reserved), "stranger", true, 80, 100),
            Err(Refusal::PlotResale)
        );
        assert_eq!(
            check_lease(Some(&reserved), "wife", true, 80, 100),
            Ok(()),
            "the spouse takes her plot"
        );
    }

    #[test]
    fn a_plot_beside_a_deceased_may_be_reserved_for_the_living_spouse_once() {
        let beside = leased("husband");
        assert_eq!(
            check_spouse_reservation(Some(&beside), false, None, false, 80, 100),
            Ok(())
        );
        assert_eq!(
            check_spouse_reservation(Some(&beside), true, None, false, 80, 100),
            Err(Refusal::ReservationExists)
        );
        assert_eq!(
            check_spouse_reservation(Some(&beside), false, Some(&leased("x")), false, 80, 100),
            Err(Refusal::PlotTaken)
        );
    }

    #[test]
    fn a_reservation_needs_a_deceased_neighbour_and_a_living_spouse() {
        assert_eq!(
            check_spouse_reservation(None, false, None, false, 80, 100),
            Err(Refusal::PlotNotLeased)
        );
        let reserved = Holding::ReservedForSpouse { spouse: "s".into() };
        assert_eq!(
            check_spouse_reservation(Some(&reserved), false, None, false, 80, 100),
            Err(Refusal::PlotNotLeased),
            "no chain of reservations for the living"
        );
        assert_eq!(
            check_spouse_reservation(Some(&leased("h")), false, None, true, 80, 100),
            Err(Refusal::SpouseDeceased)
        );
    }

    #[test]
    fn a_lease_passes_only_within_the_family_and_only_where_the_county_allows_it() {
        let leased = leased("father");
        assert_eq!(
            check_transfer(TransferPolicy::None, Some(&leased), true),
            Err(Refusal::TransferNotAllowed)
        );
        assert_eq!(
            check_transfer(TransferPolicy::Relatives, Some(&leased), true),
            Ok(())
        );
        assert_eq!(
            check_transfer(TransferPolicy::Relatives, Some(&leased), false),
            Err(Refusal::PlotResale),
            "outside the family a transfer is a resale"
        );
        let reserved = Holding::ReservedForSpouse { spouse: "w".into() };
        assert_eq!(
            check_transfer(TransferPolicy::Relatives, Some(&reserved), true),
            Err(Refusal::PlotResale)
        );
        assert_eq!(
            check_transfer(TransferPolicy::Relatives, None, true),
            Err(Refusal::PlotNotLeased)
        );
    }

    #[test]
    fn a_family_plot_takes_deceased_up_to_the_county_maximum_only_where_allowed() {
        let leased = leased("grandfather");
        assert_eq!(
            check_clan_join(1, Some(&leased), 1, true),
            Err(Refusal::ClanPlotNotAllowed)
        );
        assert_eq!(check_clan_join(4, Some(&leased), 3, true), Ok(()));
        assert_eq!(
            check_clan_join(4, Some(&leased), 4, true),
            Err(Refusal::ClanPlotFull { max: 4 })
        );
        assert_eq!(
            check_clan_join(4, Some(&leased), 1, false),
            Err(Refusal::PlotForLiving)
        );
        assert_eq!(
            check_clan_join(4, None, 0, true),
            Err(Refusal::PlotNotLeased)
        );
    }

    #[test]
    fn graves_are_refused_on_farmland_parks_scenic_areas_reservoirs_and_trunk_roads_art_10() {
        for land in [
            LandUse::Farmland,
            LandUse::Park,
            LandUse::ScenicArea,
            LandUse::Reservoir,
            LandUse::TrunkRoad,
        ] {
            assert_eq!(check_site(land), Err(Refusal::SiteForbidden), "{land:?}");
        }
        assert_eq!(check_site(LandUse::Designated), Ok(()));
    }
}
