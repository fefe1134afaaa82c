//! Cremation booking by day and furnace slot, and the cremation certificate (火化证明).
//!
//! A day has `slots_per_day` time slots; each slot can take one body per furnace. The store
//! enforces the quota with a conditional UPDATE (`booked < capacity`), so two concurrent
//! bookings cannot both take the last furnace; [`take_furnace`] is the same rule in memory.

use time::Date;

use super::Refusal;

/// The county's furnace schedule (county policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FurnaceSchedule {
    pub slots_per_day: i32,
    pub furnaces: i32,
}

impl Default for FurnaceSchedule {
    fn default() -> Self {
        Self {
            slots_per_day: 8,
            furnaces: 2,
        }
    }
}

/// Checks a booking request before any furnace is taken.
pub fn check_booking(
    schedule: FurnaceSchedule,
    day: Date,
    slot: i32,
    today: Date,
) -> Result<(), Refusal> {
    if !(1..=schedule.slots_per_day).contains(&slot) {
        return Err(Refusal::SlotUnknown(slot));
    }
    if day < today {
        return Err(Refusal::BookingInPast);
    }
    Ok(())
}

/// Takes one furnace of a slot that has `booked` of `capacity` furnaces taken; returns the new
/// count. The quota is never exceeded.
pub fn take_furnace(booked: i32, capacity: i32) -> Result<i32, Refusal> {
    if booked < capacity {
        Ok(booked + 1)
    } else {
        Err(Refusal::SlotFull)
    }
}

/// Formats a cremation certificate number: `HZ{county}-{year}-{sequence:06}`. The sequence is
/// unique per county and year (a counter row in the store), so the number is unique.
pub fn certificate_number(county: &str, year: i32, sequence: i64) -> String {
    format!("HZ{county}-{year}-{sequence:06}")
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn a_slot_takes_one_body_per_furnace_and_no_more() {
        let capacity = FurnaceSchedule::default().furnaces;
        let mut booked = 0;
        for _ in 0..capacity {
            booked = take_furnace(booked, capacity).expect("a furnace is free");
        }
        assert_eq!(booked, capacity);
        assert_eq!(take_furnace(booked, capacity), Err(Refusal::SlotFull));
    }

    #[test]
    fn slots_outside_the_schedule_are_unknown() {
        let s = FurnaceSchedule {
            slots_per_day: 4,
            furnaces: 1,
        };
        let today = date!(2026 - 03 - 02);
        assert_eq!(
            check_booking(s, today, 0, today),
            Err(Refusal::SlotUnknown(0))
        );
        assert_eq!(
            check_booking(s, today, 5, today),
            Err(Refusal::SlotUnknown(5))
        );
        assert_eq!(check_booking(s, today, 4, today), Ok(()));
    }

    #[test]
    fn a_past_day_cannot_be_booked_but_today_can() {
        let s = FurnaceSchedule::default();
        let today = date!(2026 - 03 - 02);
        assert_eq!(
            check_booking(s, date!(2026 - 03 - 01), 1, today),
            Err(Refusal::BookingInPast)
        );
        assert_eq!(check_booking(s, today, 1, today), Ok(()));
    }

    #[test]
    fn certificate_numbers_carry_county_year_and_sequence() {
        assert_eq!(
            certificate_number("330723", 2026, 42),
            "HZ330723-2026-000042"
        );
        assert_ne!(
            certificate_number("330723", 2026, 42),
            certificate_number("330723", 2026, 43)
        );
    }
}
