//! The one clock seam: every handler and job takes `now` and `today` from a [`Clock`], so a
//! test moves time forward instead of editing stored dates. Legal dates are calendar dates in
//! China Standard Time (UTC+8, no daylight saving).
//!
//! Also the one text form of a calendar date in storage (`YYYY-MM-DD`): [`date_text`] and
//! [`parse_date`].

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::{Date, OffsetDateTime, UtcOffset};

/// China Standard Time.
pub const CST: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// The system clock, shifted by an offset a test may set. Cheap to clone; clones share the
/// offset, so a test that moves the suite's clock moves every service's.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The real time.
    pub fn system() -> Self {
        Self::default()
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        crate::now_ms().saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    /// The current instant.
    pub fn now(&self) -> OffsetDateTime {
        let nanos = i128::from(self.now_ms()) * 1_000_000;
        OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// Today's date in China Standard Time.
    pub fn today(&self) -> Date {
        self.now().to_offset(CST).date()
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: time::Duration) {
        let ms = i64::try_from(by.whole_milliseconds()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// Sets the clock to `at_ms` (time then flows on from there).
    pub fn set_now_ms(&self, at_ms: i64) {
        self.offset_ms
            .store(at_ms.saturating_sub(crate::now_ms()), Ordering::Relaxed);
    }

    /// Sets the clock to 10:00 China Standard Time on `day`.
    pub fn set_today(&self, day: Date) {
        let at = day
            .with_hms(10, 0, 0)
            .map(|t| t.assume_offset(CST))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let ms = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        self.set_now_ms(ms);
    }
}

/// `YYYY-MM-DD`: how calendar dates are stored.
pub fn date_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Parses [`date_text`]'s form; `None` for anything else.
pub fn parse_date(text: &str) -> Option<Date> {
    let mut parts = text.trim().splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()
}

/// [`parse_date`] for a stored column: a bad value is an internal error, not a panic.
pub fn stored_date(text: &str) -> Result<Date, crate::ServiceError> {
    parse_date(text).ok_or_else(|| {
        crate::ServiceError::Internal(anyhow::anyhow!("stored date is not YYYY-MM-DD: {text}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_date_survives_its_text_form() {
        let d = date!(2026 - 02 - 28);
        assert_eq!(date_text(d), "2026-02-28");
        assert_eq!(parse_date("2026-02-28"), Some(d));
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("20260228"), None);
    }

    #[test]
    fn a_set_day_is_today_in_china_standard_time_and_time_moves_on() {
        let clock = Clock::system();
        clock.set_today(date!(2030 - 01 - 01));
        assert_eq!(clock.today(), date!(2030 - 01 - 01));
        clock.advance(time::Duration::days(31));
        assert_eq!(clock.today(), date!(2030 - 02 - 01));
    }

    #[test]
    fn the_day_changes_at_midnight_in_beijing_not_in_greenwich() {
        let clock = Clock::system();
        // 2026-03-01 16:30 UTC is 2026-03-02 00:30 in Beijing.
        let at = date!(2026 - 03 - 01)
            .with_hms(16, 30, 0)
            .expect("time")
            .assume_utc();
        clock.set_now_ms(i64::try_from(at.unix_timestamp_nanos() / 1_000_000).expect("ms"));
        assert_eq!(clock.today(), date!(2026 - 03 - 02));
    }
}
