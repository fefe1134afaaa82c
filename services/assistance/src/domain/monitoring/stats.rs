//! Statistics per township and month of raising: raised, closed in time (by the due date),
//! closed late, still open (overdue or not, on the day asked), and the closures' outcomes.

use time::Date;

/// One warning as counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted<'a> {
    pub due_on: Date,
    /// The closure's kind and day; None while open.
    pub closed: Option<(&'a str, Date)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub raised: i64,
    pub closed_in_time: i64,
    pub closed_late: i64,
    pub open_overdue: i64,
    pub open_in_time: i64,
    pub by_application: i64,
    pub by_benefit_change: i64,
    pub by_referral: i64,
    pub by_dismissal: i64,
}

impl Tally {
    /// Counts one warning as of `today`.
    pub fn add(&mut self, w: &Counted<'_>, today: Date) {
        self.raised += 1;
        match w.closed {
            None if today > w.due_on => self.open_overdue += 1,
            None => self.open_in_time += 1,
            Some((kind, closed_on)) => {
                if closed_on <= w.due_on {
                    self.closed_in_time += 1;
                } else {
                    self.closed_late += 1;
                }
                match kind {
                    "application" => self.by_application += 1,
                    "benefit_change" => self.by_benefit_change += 1,
                    "referral" => self.by_referral += 1,
                    _ => self.by_dismissal += 1,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    const DUE: Date = date!(2026 - 03 - 11);

    #[test]
    fn a_warning_closed_on_its_due_date_is_in_time_and_the_day_after_is_late() {
        let mut t = Tally::default();
        t.add(
            &Counted {
                due_on: DUE,
                closed: Some(("application", DUE)),
            },
            DUE,
        );
        t.add(
            &Counted {
                due_on: DUE,
                closed: Some(("dismissal", date!(2026 - 03 - 12))),
            },
            DUE,
        );
        assert_eq!((t.raised, t.closed_in_time, t.closed_late), (2, 1, 1));
        assert_eq!((t.by_application, t.by_dismissal), (1, 1));
    }

    #[test]
    fn an_open_warning_counts_as_overdue_only_after_its_due_date() {
        let mut t = Tally::default();
        let open = Counted {
            due_on: DUE,
            closed: None,
        };
        t.add(&open, DUE);
        t.add(&open, date!(2026 - 03 - 12));
        assert_eq!((t.open_in_time, t.open_overdue), (1, 1));
    }
}
