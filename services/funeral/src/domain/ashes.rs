//! The ashes trail (骨灰去向): who held the ashes, where, from which day, until their final
//! place (RULES.md: "ashes are tracked to their final place"). Entries only move forward in time.

use time::Date;

use super::Refusal;

/// A new holder's first day must not precede the trail's last entry.
pub fn check_next(last_since: Option<Date>, since: Date) -> Result<(), Refusal> {
    match last_since {
        Some(last) if since < last => Err(Refusal::AshesTrailOrder {
            last: last.to_string(),
        }),
        _ => Ok(()),
    }
}

/// The day the ashes reach a final place recorded with its own date (a lease's first day, an
/// eco-burial's day): that date, but never before the trail's last entry (a lease dated from
/// an earlier day does not move the ashes back in time).
pub fn placed_since(last_since: Option<Date>, date: Date) -> Date {
    last_since.map_or(date, |last| last.max(date))
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn a_holder_follows_the_previous_one_on_the_same_day_or_later() {
        assert_eq!(check_next(None, date!(2026 - 03 - 01)), Ok(()));
        assert_eq!(
            check_next(Some(date!(2026 - 03 - 01)), date!(2026 - 03 - 01)),
            Ok(())
        );
        assert!(matches!(
            check_next(Some(date!(2026 - 03 - 02)), date!(2026 - 03 - 01)),
            Err(Refusal::AshesTrailOrder { .. })
        ));
    }

    #[test]
    fn a_final_place_dated_before_the_last_holder_is_reached_on_the_last_holder_s_day() {
        let last = Some(date!(2026 - 12 - 04));
        assert_eq!(
            placed_since(last, date!(2026 - 10 - 01)),
            date!(2026 - 12 - 04)
        );
        assert_eq!(
            placed_since(last, date!(2026 - 12 - 10)),
            date!(2026 - 12 - 10)
        );
        assert_eq!(
            placed_since(None, date!(2026 - 10 - 01)),
            date!(2026 - 10 - 01)
        );
    }
}
