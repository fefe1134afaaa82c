use time::macros::date;

use super::*;

fn national() -> HolidayCalendar {
    HolidayCalendar::embedded()
}

fn parse_ok(csv: &str) -> HolidayCalendar {
    match HolidayCalendar::from_csv(csv) {
        Ok(calendar) => calendar,
        Err(error) => panic!("{error}"),
    }
}

#[test]
fn withdrawal_period_for_an_application_received_friday_20_march_2026_ends_monday_20_april() {
    // RULES.md conventions; 民法典 art. 201 (starts the next day), art. 203 (day 30 is Sunday
    // 2026-04-19, a rest day, so the period ends on the next working day).
    let received = date!(2026 - 03 - 20);
    assert_eq!(received.weekday(), Weekday::Friday);
    let end = national().period_end(received, 30);
    assert_eq!(end, date!(2026 - 04 - 20));
    assert_eq!(end.weekday(), Weekday::Monday);
}

#[test]
fn certificate_request_period_following_the_withdrawal_period_ends_wednesday_20_may_2026() {
    // RULES.md conventions: the following period starts the day after the moved end (04-20).
    let calendar = national();
    let withdrawal_end = calendar.period_end(date!(2026 - 03 - 20), 30);
    let request_end = calendar.following_period_end(withdrawal_end, 30);
    assert_eq!(request_end, date!(2026 - 05 - 20));
    assert_eq!(request_end.weekday(), Weekday::Wednesday);
}

#[test]
fn thirty_working_days_after_monday_21_september_2026_is_9_november_skipping_national_day() {
    // RULES.md conventions: periods in working days count working days only; the Mid-autumn and
    // National Day holidays (09-25..27, 10-01..07) do not count, the adjusted Saturday 10-10 does.
    assert_eq!(
        national().add_working_days(date!(2026 - 09 - 21), 30),
        date!(2026 - 11 - 09)
    );
    // Without the notice the same count would end a week earlier.
    assert_eq!(
        HolidayCalendar::default().add_working_days(date!(2026 - 09 - 21), 30),
        date!(2026 - 11 - 02)
    );
}

#[test]
fn a_period_ending_in_the_2026_spring_festival_holiday_moves_to_the_first_working_day_after_it() {
    // 民法典 art. 203: day 30 after 2026-01-17 is Monday 2026-02-16, inside the 02-15..02-23
    // holiday; the next working day is Tuesday 2026-02-24.
    assert_eq!(
        national().period_end(date!(2026 - 01 - 17), 30),
        date!(2026 - 02 - 24)
    );
}

#[test]
fn a_period_ending_on_an_adjusted_working_saturday_ends_that_saturday() {
    // 民法典 art. 203 moves only rest days; Saturday 2026-02-14 is a working day (调休上班).
    let calendar = national();
    assert!(calendar.is_working_day(date!(2026 - 02 - 14)));
    assert_eq!(
        calendar.period_end(date!(2026 - 01 - 15), 30),
        date!(2026 - 02 - 14)
    );
}

#[test]
fn a_period_ending_on_a_working_day_is_not_moved() {
    // 民法典 art. 201: the day of the event is not counted, so 30 days after 03-02 is 04-01.
    assert_eq!(
        national().period_end(date!(2026 - 03 - 02), 30),
        date!(2026 - 04 - 01)
    );
}

#[test]
fn a_period_ending_on_an_ordinary_saturday_moves_to_monday() {
    // 2026-03-07 is a Saturday the notice does not mention.
    assert_eq!(
        national().period_end(date!(2026 - 03 - 06), 1),
        date!(2026 - 03 - 09)
    );
}

#[test]
fn holidays_are_rest_days_adjusted_weekends_working_days_and_other_weeks_plain() {
    let calendar = national();
    assert!(
        !calendar.is_working_day(date!(2026 - 10 - 01)),
        "National Day, a Thursday"
    );
    assert!(
        !calendar.is_working_day(date!(2026 - 02 - 16)),
        "Spring Festival, a Monday"
    );
    assert!(
        calendar.is_working_day(date!(2026 - 09 - 20)),
        "adjusted Sunday"
    );
    assert!(
        calendar.is_working_day(date!(2026 - 03 - 11)),
        "ordinary Wednesday"
    );
    assert!(
        !calendar.is_working_day(date!(2026 - 03 - 14)),
        "ordinary Saturday"
    );
    assert!(
        !calendar.is_working_day(date!(2026 - 03 - 15)),
        "ordinary Sunday"
    );
}

#[test]
fn working_days_are_counted_from_the_day_after() {
    let calendar = national();
    let friday = date!(2026 - 03 - 13);
    assert_eq!(calendar.add_working_days(friday, 0), friday);
    assert_eq!(calendar.add_working_days(friday, 1), date!(2026 - 03 - 16));
    // Across Labour Day 2026: 05-01..05 off, then 05-06, 05-07, 05-08 and the adjusted
    // Saturday 05-09 are working days 1-4; Sunday 05-10 is not.
    assert_eq!(
        calendar.add_working_days(date!(2026 - 04 - 30), 4),
        date!(2026 - 05 - 09)
    );
    assert_eq!(
        calendar.add_working_days(date!(2026 - 04 - 30), 5),
        date!(2026 - 05 - 11)
    );
}

#[test]
fn the_embedded_calendar_lists_2024_to_2026() {
    let calendar = national();
    assert!(calendar.covers_year(2024));
    assert!(calendar.covers_year(2025));
    assert!(calendar.covers_year(2026));
    assert!(!calendar.covers_year(2027));
    assert_eq!(
        calendar.day_kind(date!(2025 - 01 - 26)),
        Some(DayKind::Workday)
    );
    assert_eq!(
        calendar.day_kind(date!(2025 - 01 - 28)),
        Some(DayKind::Holiday)
    );
    assert_eq!(calendar.day_kind(date!(2025 - 03 - 03)), None);
}

#[test]
fn merging_a_county_configured_year_adds_its_days() {
    // data/calendar/README.md: each new year comes from configuration.
    let mut calendar = national();
    let new_year_2027 = date!(2027 - 01 - 01);
    assert!(
        calendar.is_working_day(new_year_2027),
        "a Friday before the 2027 notice"
    );
    let year_2027 = parse_ok(
        "date,kind,name\n2027-01-01,holiday,New Year's Day\n2027-02-20,workday,Spring Festival\n",
    );
    assert_eq!(calendar.merge(year_2027), Ok(()));
    assert!(calendar.covers_year(2027));
    assert!(!calendar.is_working_day(new_year_2027));
    assert!(
        calendar.is_working_day(date!(2027 - 02 - 20)),
        "an adjusted Saturday"
    );
    assert!(
        !calendar.is_working_day(date!(2026 - 10 - 01)),
        "2026 is kept"
    );
}

#[test]
fn merging_a_day_listed_the_other_way_is_refused_and_changes_nothing() {
    let mut calendar = national();
    let before = calendar.clone();
    let conflicting = parse_ok("2027-01-01,holiday,New Year's Day\n2026-10-01,workday,typo\n");
    assert_eq!(
        calendar.merge(conflicting),
        Err(CalendarError::Conflict {
            date: date!(2026 - 10 - 01)
        })
    );
    assert_eq!(calendar, before);
}

#[test]
fn merging_the_same_rows_again_is_harmless() {
    let mut calendar = national();
    assert_eq!(calendar.merge(national()), Ok(()));
    assert_eq!(calendar, national());
}

#[test]
fn malformed_rows_are_reported_with_their_line() {
    assert_eq!(
        HolidayCalendar::from_csv("date,kind,name\n2026-13-01,holiday,x"),
        Err(CalendarError::Date { line: 2 })
    );
    assert_eq!(
        HolidayCalendar::from_csv("2026-10-01,day-off,x"),
        Err(CalendarError::Kind { line: 1 })
    );
    assert_eq!(
        HolidayCalendar::from_csv("2026-10-01,holiday"),
        Err(CalendarError::Columns { line: 1 })
    );
    assert_eq!(
        HolidayCalendar::from_csv("2026-10-01,holiday,a\n2026-10-01,workday,b"),
        Err(CalendarError::Conflict {
            date: date!(2026 - 10 - 01)
        })
    );
}

#[test]
fn names_may_contain_commas_and_blank_lines_and_comments_are_skipped() {
    let calendar = parse_ok("# 2027 notice\n\n2027-10-01,holiday,\"National Day, Mid-autumn\"\n");
    assert_eq!(
        calendar.day_kind(date!(2027 - 10 - 01)),
        Some(DayKind::Holiday)
    );
}

#[test]
fn periods_near_the_end_of_time_do_not_panic() {
    let calendar = national();
    assert_eq!(calendar.period_end(Date::MAX, 30), Date::MAX);
    assert_eq!(calendar.add_working_days(Date::MAX, 3), Date::MAX);
}
