//! Appointment slots: each office has a quota per time slot per day, and peak days (5月20日,
//! 七夕, 国庆) must never be over-booked whatever the concurrency. The quota arithmetic lives
//! here; the atomic seat-taking is a single conditional UPDATE in the store.

use std::fmt;

use time::Date;

use super::refusal::Refusal;

/// Upper bound of one slot's quota (a sanity limit on input, not a policy).
pub const MAX_QUOTA: i64 = 10_000;

/// A time slot of a day, written "HH:MM-HH:MM" (start before end).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SlotCode(String);

impl SlotCode {
    /// Parses "HH:MM-HH:MM"; `None` if malformed or the start is not before the end.
    pub fn parse(input: &str) -> Option<SlotCode> {
        let (start, end) = input.trim().split_once('-')?;
        let minutes = |s: &str| -> Option<u32> {
            let (h, m) = s.split_once(':')?;
            if h.len() != 2 || m.len() != 2 {
                return None;
            }
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            (h < 24 && m < 60).then_some(h * 60 + m)
        };
        let (start, end) = (minutes(start)?, minutes(end)?);
        (start < end).then(|| SlotCode(input.trim().to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SlotCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A slot may be booked only on its day or later.
pub fn check_bookable(slot_date: Date, today: Date) -> Result<(), Refusal> {
    if slot_date < today {
        return Err(Refusal::SlotInPast);
    }
    Ok(())
}

/// A new quota may not strand seats already booked.
pub fn check_quota_change(new_quota: i64, booked: i64) -> Result<(), Refusal> {
    if new_quota < booked {
        return Err(Refusal::QuotaBelowBooked { booked });
    }
    Ok(())
}

/// Seats left in a slot (never negative).
pub fn free_seats(quota: i64, booked: i64) -> i64 {
    (quota - booked).max(0)
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn a_slot_is_written_as_start_and_end_time() {
        assert_eq!(
            SlotCode::parse("09:00-09:30").map(|s| s.to_string()),
            Some("09:00-09:30".into())
        );
        for bad in [
            "",
            "09:00",
            "9:00-9:30",
            "09:30-09:00",
            "09:00-09:00",
            "24:00-24:30",
            "09:60-10:00",
            "aa:bb-cc:dd",
        ] {
            assert_eq!(SlotCode::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_slot_of_a_past_day_cannot_be_booked() {
        assert_eq!(
            check_bookable(date!(2026 - 05 - 19), date!(2026 - 05 - 20)),
            Err(Refusal::SlotInPast)
        );
        assert_eq!(
            check_bookable(date!(2026 - 05 - 20), date!(2026 - 05 - 20)),
            Ok(())
        );
    }

    #[test]
    fn a_quota_cannot_drop_below_the_seats_booked() {
        assert_eq!(
            check_quota_change(9, 10).map_err(|r| r.reason()),
            Err("MARRIAGE_QUOTA_BELOW_BOOKED")
        );
        assert_eq!(check_quota_change(10, 10), Ok(()));
    }

    #[test]
    fn free_seats_are_never_negative() {
        assert_eq!(free_seats(10, 3), 7);
        assert_eq!(free_seats(10, 12), 0);
    }
}
