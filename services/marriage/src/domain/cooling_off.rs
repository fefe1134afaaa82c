//! 离婚冷静期: the divorce-by-registration procedure (民法典 arts. 1076-1078; 婚姻登记工作规范).
//!
//! Apply -> receipt (day 0) -> days 1-30: either party alone may withdraw -> days 31-60: both
//! appear at the accepting office to request the certificate -> no joint appearance by day 60:
//! deemed withdrawn. Periods count from the day after receipt (art. 201), and a period whose
//! last day is a rest day ends on the next working day (art. 203); the second period starts the
//! day after the first one's (possibly moved) end.
//!
//! Expiry is a fact of the calendar, not of a timer: [`DivorceApplication::effective_state`] says
//! an open application past its issuance deadline is expired whatever the stored state, so a
//! process that was down at the deadline records it on the next read or sweep.

use civil_calendar::HolidayCalendar;
use time::Date;

use super::refusal::Refusal;

/// Days either party may withdraw after receipt (art. 1077 para. 1).
pub const COOLING_OFF_DAYS: u32 = 30;
/// Days after cooling-off within which both must appear (art. 1077 para. 2).
pub const ISSUANCE_DAYS: u32 = 30;

/// The two deadlines fixed at receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    pub received_on: Date,
    /// Last day either party alone may withdraw.
    pub withdrawal_deadline: Date,
    /// Last day both may request the certificate.
    pub issuance_deadline: Date,
}

impl Deadlines {
    /// Computes the deadlines of an application received on `received_on`.
    pub fn from_receipt(received_on: Date, calendar: &HolidayCalendar) -> Deadlines {
        let withdrawal_deadline = calendar.period_end(received_on, COOLING_OFF_DAYS);
        let issuance_deadline = calendar.following_period_end(withdrawal_deadline, ISSUANCE_DAYS);
        Deadlines {
            received_on,
            withdrawal_deadline,
            issuance_deadline,
        }
    }

    /// The day an application with no joint appearance is deemed withdrawn (art. 1077 para. 2):
    /// the day after the issuance deadline, whenever the registry records it. RULES.md
    /// "Conventions": received Friday 2026-03-20, certificate requestable through 2026-05-20,
    /// deemed withdrawn from 2026-05-21.
    pub fn deemed_withdrawn_on(&self) -> Date {
        self.issuance_deadline
            .next_day()
            .unwrap_or(self.issuance_deadline)
    }
}

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationState {
    /// Received; cooling-off running or certificate not yet requested.
    Pending,
    Withdrawn,
    /// 视为撤回: no joint appearance by the issuance deadline.
    Expired,
    Registered,
    /// The marriage ended otherwise (death, court) while the application was open.
    Moot,
}

impl ApplicationState {
    pub fn code(self) -> &'static str {
        match self {
            ApplicationState::Pending => "pending",
            ApplicationState::Withdrawn => "withdrawn",
            ApplicationState::Expired => "expired",
            ApplicationState::Registered => "registered",
            ApplicationState::Moot => "moot",
        }
    }

    pub fn from_code(code: &str) -> Option<ApplicationState> {
        Some(match code {
            "pending" => ApplicationState::Pending,
            "withdrawn" => ApplicationState::Withdrawn,
            "expired" => ApplicationState::Expired,
            "registered" => ApplicationState::Registered,
            "moot" => ApplicationState::Moot,
            _ => return None,
        })
    }
}

/// A divorce application as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DivorceApplication {
    pub deadlines: Deadlines,
    pub state: ApplicationState,
}

impl DivorceApplication {
    /// Returns the state on `today`: a pending application past its issuance deadline is expired
    /// even if that is not recorded yet.
    pub fn effective_state(&self, today: Date) -> ApplicationState {
        if self.state == ApplicationState::Pending && today > self.deadlines.issuance_deadline {
            ApplicationState::Expired
        } else {
            self.state
        }
    }

    /// True when the application must be recorded as expired on `today`.
    pub fn needs_expiry(&self, today: Date) -> bool {
        self.state == ApplicationState::Pending
            && self.effective_state(today) == ApplicationState::Expired
    }

    /// Either party alone may withdraw through the last day of cooling-off (art. 1077 para. 1).
    pub fn check_withdrawal(&self, today: Date) -> Result<(), Refusal> {
        match self.effective_state(today) {
            ApplicationState::Pending if today <= self.deadlines.withdrawal_deadline => Ok(()),
            ApplicationState::Pending => Err(Refusal::WithdrawalPeriodOver {
                deadline: self.deadlines.withdrawal_deadline,
            }),
            ApplicationState::Expired => Err(Refusal::ApplicationExpired {
                deadline: self.deadlines.issuance_deadline,
            }),
            _ => Err(Refusal::ApplicationClosed),
        }
    }

    /// Both may request the certificate after cooling-off and through the issuance deadline
    /// (art. 1077 para. 2).
    pub fn check_registration(&self, today: Date) -> Result<(), Refusal> {
        match self.effective_state(today) {
            ApplicationState::Pending if today <= self.deadlines.withdrawal_deadline => {
                Err(Refusal::CoolingOffNotElapsed {
                    deadline: self.deadlines.withdrawal_deadline,
                })
            }
            ApplicationState::Pending => Ok(()),
            ApplicationState::Expired => Err(Refusal::ApplicationExpired {
                deadline: self.deadlines.issuance_deadline,
            }),
            _ => Err(Refusal::ApplicationClosed),
        }
    }
}

/// What an application needs to be accepted (arts. 1076, 1078; 婚姻登记条例).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DivorceFiling<'a> {
    pub both_in_person: bool,
    pub agreement_summary: &'a str,
    pub both_of_full_civil_capacity: bool,
    /// The marriage (registered in mainland China, in this archive) is still in effect.
    pub marriage_in_effect: bool,
    /// An application for the marriage is pending.
    pub open_application: bool,
}

/// Checks whether a divorce application may be accepted.
pub fn check_filing(filing: DivorceFiling<'_>) -> Result<(), Refusal> {
    if !filing.both_in_person {
        return Err(Refusal::NotInPerson);
    }
    if !filing.marriage_in_effect {
        return Err(Refusal::NotInEffect);
    }
    // Art. 1076: 签订书面离婚协议.
    if filing.agreement_summary.trim().is_empty() {
        return Err(Refusal::AgreementMissing);
    }
    // 婚姻登记条例: not accepted if either party lacks full civil capacity.
    if !filing.both_of_full_civil_capacity {
        return Err(Refusal::CivilCapacity);
    }
    if filing.open_application {
        return Err(Refusal::DivorcePending);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn pending(received_on: Date) -> DivorceApplication {
        DivorceApplication {
            deadlines: Deadlines::from_receipt(received_on, &HolidayCalendar::embedded()),
            state: ApplicationState::Pending,
        }
    }

    #[test]
    fn the_rules_example_received_2026_03_20_ends_on_04_20_and_05_20_art_203() {
        let d = Deadlines::from_receipt(date!(2026 - 03 - 20), &HolidayCalendar::embedded());
        // Day 30 is Sunday 2026-04-19: the period ends on Monday 04-20.
        assert_eq!(d.withdrawal_deadline, date!(2026 - 04 - 20));
        // The second period starts 04-21 and ends on day 30, Wednesday 05-20.
        assert_eq!(d.issuance_deadline, date!(2026 - 05 - 20));
    }

    #[test]
    fn the_day_of_deemed_withdrawal_is_the_day_after_the_issuance_deadline_art_1077() {
        let d = Deadlines::from_receipt(date!(2026 - 03 - 20), &HolidayCalendar::embedded());
        assert_eq!(d.deemed_withdrawn_on(), date!(2026 - 05 - 21));
    }

    #[test]
    fn the_rules_example_application_is_deemed_withdrawn_from_2026_05_21() {
        let app = pending(date!(2026 - 03 - 20));
        assert_eq!(app.check_registration(date!(2026 - 05 - 20)), Ok(()));
        assert_eq!(
            app.effective_state(date!(2026 - 05 - 20)),
            ApplicationState::Pending
        );
        assert_eq!(
            app.effective_state(date!(2026 - 05 - 21)),
            ApplicationState::Expired
        );
        assert!(app.needs_expiry(date!(2026 - 05 - 21)));
        assert_eq!(
            app.check_registration(date!(2026 - 05 - 21))
                .map_err(|r| r.reason()),
            Err("MARRIAGE_DIVORCE_APPLICATION_EXPIRED")
        );
    }

    #[test]
    fn the_rules_example_withdrawal_is_accepted_on_the_moved_day_2026_04_20() {
        let app = pending(date!(2026 - 03 - 20));
        assert_eq!(app.check_withdrawal(date!(2026 - 04 - 20)), Ok(()));
        assert!(app.check_withdrawal(date!(2026 - 04 - 21)).is_err());
    }

    #[test]
    fn a_withdrawal_on_day_30_is_accepted_art_1077() {
        // Received Monday 2026-06-01; day 30 is Wednesday 07-01, a working day.
        let app = pending(date!(2026 - 06 - 01));
        assert_eq!(app.deadlines.withdrawal_deadline, date!(2026 - 07 - 01));
        assert_eq!(app.check_withdrawal(date!(2026 - 07 - 01)), Ok(()));
        assert_eq!(app.check_withdrawal(date!(2026 - 06 - 02)), Ok(()), "day 1");
    }

    #[test]
    fn a_withdrawal_on_day_31_is_refused_art_1077() {
        let app = pending(date!(2026 - 06 - 01));
        let refusal = app
            .check_withdrawal(date!(2026 - 07 - 02))
            .expect_err("day 31");
        assert_eq!(refusal.reason(), "MARRIAGE_WITHDRAWAL_PERIOD_OVER");
    }

    #[test]
    fn the_certificate_is_not_issued_during_cooling_off_art_1077() {
        let app = pending(date!(2026 - 06 - 01));
        for day in [date!(2026 - 06 - 01), date!(2026 - 07 - 01)] {
            let refusal = app.check_registration(day).expect_err("cooling off");
            assert_eq!(refusal.reason(), "MARRIAGE_COOLING_OFF_NOT_ELAPSED");
        }
        assert_eq!(
            app.check_registration(date!(2026 - 07 - 02)),
            Ok(()),
            "day 31"
        );
    }

    #[test]
    fn the_certificate_is_issued_on_day_60_and_the_application_expires_from_day_61() {
        // Day 60 after 2026-06-01 is Friday 07-31.
        let app = pending(date!(2026 - 06 - 01));
        assert_eq!(app.deadlines.issuance_deadline, date!(2026 - 07 - 31));
        assert_eq!(app.check_registration(date!(2026 - 07 - 31)), Ok(()));
        assert_eq!(
            app.effective_state(date!(2026 - 08 - 01)),
            ApplicationState::Expired
        );
        assert_eq!(
            app.check_registration(date!(2026 - 08 - 01))
                .map_err(|r| r.reason()),
            Err("MARRIAGE_DIVORCE_APPLICATION_EXPIRED")
        );
    }

    #[test]
    fn a_period_ending_on_a_public_holiday_ends_on_the_next_working_day_art_203() {
        // Received 2026-09-01: day 30 is 10-01, National Day (10-01..10-07 holiday): ends 10-08.
        // The second period's day 30 is Saturday 11-07: it ends on Monday 11-09.
        let app = pending(date!(2026 - 09 - 01));
        assert_eq!(app.deadlines.withdrawal_deadline, date!(2026 - 10 - 08));
        assert_eq!(app.deadlines.issuance_deadline, date!(2026 - 11 - 09));
        assert_eq!(
            app.check_withdrawal(date!(2026 - 10 - 05)),
            Ok(()),
            "on the holiday"
        );
        assert_eq!(app.check_withdrawal(date!(2026 - 10 - 08)), Ok(()));
        assert!(app.check_withdrawal(date!(2026 - 10 - 09)).is_err());
        assert_eq!(app.check_registration(date!(2026 - 11 - 09)), Ok(()));
        assert_eq!(
            app.effective_state(date!(2026 - 11 - 10)),
            ApplicationState::Expired
        );
    }

    #[test]
    fn a_closed_application_can_be_neither_withdrawn_nor_registered() {
        for state in [
            ApplicationState::Withdrawn,
            ApplicationState::Registered,
            ApplicationState::Moot,
        ] {
            let app = DivorceApplication {
                state,
                ..pending(date!(2026 - 06 - 01))
            };
            assert_eq!(
                app.check_withdrawal(date!(2026 - 06 - 10)),
                Err(Refusal::ApplicationClosed)
            );
            assert_eq!(
                app.check_registration(date!(2026 - 07 - 10)),
                Err(Refusal::ApplicationClosed)
            );
            assert!(
                !app.needs_expiry(date!(2027 - 01 - 01)),
                "{state:?} never expires"
            );
        }
    }

    #[test]
    fn an_expired_application_cannot_be_withdrawn_either() {
        let app = pending(date!(2026 - 06 - 01));
        let refusal = app
            .check_withdrawal(date!(2026 - 08 - 01))
            .expect_err("expired");
        assert_eq!(refusal.reason(), "MARRIAGE_DIVORCE_APPLICATION_EXPIRED");
    }

    fn filing() -> DivorceFiling<'static> {
        DivorceFiling {
            both_in_person: true,
            agreement_summary: "child with mother; flat sold, proceeds halved",
            both_of_full_civil_capacity: true,
            marriage_in_effect: true,
            open_application: false,
        }
    }

    #[test]
    fn an_application_with_agreement_capacity_and_presence_is_accepted_art_1076() {
        assert_eq!(check_filing(filing()), Ok(()));
    }

    #[test]
    fn an_application_is_refused_for_each_missing_condition() {
        let cases = [
            (
                DivorceFiling {
                    both_in_person: false,
                    ..filing()
                },
                "MARRIAGE_NOT_IN_PERSON",
            ),
            (
                DivorceFiling {
                    marriage_in_effect: false,
                    ..filing()
                },
                "MARRIAGE_NOT_IN_EFFECT",
            ),
            (
                DivorceFiling {
                    agreement_summary: "  ",
                    ..filing()
                },
                "MARRIAGE_DIVORCE_AGREEMENT_MISSING",
            ),
            (
                DivorceFiling {
                    both_of_full_civil_capacity: false,
                    ..filing()
                },
                "MARRIAGE_CIVIL_CAPACITY",
            ),
            (
                DivorceFiling {
                    open_application: true,
                    ..filing()
                },
                "MARRIAGE_DIVORCE_PENDING",
            ),
        ];
        for (f, reason) in cases {
            assert_eq!(check_filing(f).map_err(|r| r.reason()), Err(reason));
        }
    }
}
