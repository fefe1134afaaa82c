//! The funeral step of the after-death plan: the cremation is booked (or the body burial
//! recorded) at funeral, and the step waits for the cremation certificate (火化证明) that
//! household deregistration relies on (RULES.md, funeral: "cremation issues a cremation
//! certificate, which household deregistration relies on"; DESIGN §5).
//!
//! What the step does, from the death case funeral holds:
//! - cremated (or the ashes already placed): done, the certificate number is its output;
//! - buried: done, no certificate (public security deregisters on the death certificate);
//! - registered, the family arranged a cremation: books it (day, furnace slot) and waits;
//! - registered, the family arranged a body burial: records it, done;
//! - registered without an arrangement, or booked: waits for the funeral home.
//!
//! Waiting is [`StepOutcome::Pending`]: no attempt is spent; funeral's `CremationCompleted`
//! event wakes the step at once (crate::proactive), the recheck is the fallback.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use contracts::civil::funeral::v1 as funeral;
use contracts::civil::onematter::v1::{AfterDeathMatter, FuneralArrangement};

use super::{AfterDeath, DEATH_CASE, DeathCaseOutput};
use crate::executor::{StepCall, StepError, StepOutcome};
use crate::workflows::matter;

/// Fallback recheck of a waiting funeral step (the cremation event normally wakes it first).
pub const RECHECK: Duration = Duration::from_secs(3600);

/// What the funeral step keeps for household deregistration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisposalOutput {
    /// 火化证明 number; empty for a body burial.
    #[serde(default)]
    pub cremation_certificate_number: String,
    #[serde(default)]
    pub buried: bool,
}

/// What the step does next, from the death case's state and the family's arrangement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Done(DisposalOutput),
    Book(funeral::BookCremationRequest),
    Bury(funeral::RecordBurialRequest),
    Wait(&'static str),
}

/// The decision as a plain function over funeral's answer (unit-tested below).
pub fn next(
    case: &funeral::DeathCase,
    arrangement: Option<&FuneralArrangement>,
    key: &str,
) -> Next {
    use funeral::CaseState as S;
    let number = case.cremation_certificate_number.trim();
    match case.state() {
        S::Cremated | S::AshesPlaced if !number.is_empty() => Next::Done(DisposalOutput {
            cremation_certificate_number: number.to_owned(),
            buried: false,
        }),
        S::Buried => Next::Done(DisposalOutput {
            cremation_certificate_number: String::new(),
            buried: true,
        }),
        S::Registered => match arrangement {
            Some(a) if a.cremation_day.is_some() => Next::Book(funeral::BookCremationRequest {
                request_id: key.to_owned(),
                death_case: case.name.clone(),
                day: a.cremation_day,
                slot: a.cremation_slot,
            }),
            Some(a) if !a.burial_region.is_empty() => Next::Bury(funeral::RecordBurialRequest {
                request_id: key.to_owned(),
                death_case: case.name.clone(),
                burial_region: a.burial_region.clone(),
                place: a.burial_place.clone(),
            }),
            _ => Next::Wait(
                "waiting for the funeral home to book the cremation or record the burial",
            ),
        },
        _ => Next::Wait("cremation booked; waiting for the cremation certificate"),
    }
}

impl AfterDeath {
    pub(super) async fn disposal(&self, call: &StepCall) -> Result<StepOutcome, StepError> {
        let m: AfterDeathMatter = matter(call)?;
        let name = call.output_as::<DeathCaseOutput>(DEATH_CASE)?.death_case;
        let case = self
            .funeral()
            .get_death_case(self.0.request(call, funeral::GetDeathCaseRequest { name }))
            .await?
            .into_inner();
        match next(&case, m.arrangement.as_ref(), &call.key) {
            Next::Done(out) => Ok(done(&out)),
            Next::Book(day) => {
                let booked = self
                    .funeral()
                    .book_cremation(self.0.request(call, day))
                    .await?
                    .into_inner();
                let day = booked
                    .day
                    .as_ref()
                    .map(crate::workflows::date_text)
                    .unwrap_or_default();
                Ok(StepOutcome::Pending {
                    summary: format!(
                        "cremation booked for {day}, slot {}; waiting for the cremation certificate",
                        booked.slot
                    ),
                    recheck_after: RECHECK,
                })
            }
            Next::Bury(burial) => {
                self.funeral()
                    .record_burial(self.0.request(call, burial))
                    .await?;
                Ok(done(&DisposalOutput {
                    cremation_certificate_number: String::new(),
                    buried: true,
                }))
            }
            Next::Wait(why) => Ok(StepOutcome::Pending {
                summary: why.to_owned(),
                recheck_after: RECHECK,
            }),
        }
    }
}

fn done(out: &DisposalOutput) -> StepOutcome {
    let summary = if out.buried {
        "body burial recorded".to_owned()
    } else {
        format!(
            "cremated; cremation certificate {}",
            out.cremation_certificate_number
        )
    };
    StepOutcome::typed(summary, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::civil::common::v1::Date;

    fn case(state: funeral::CaseState, number: &str) -> funeral::DeathCase {
        funeral::DeathCase {
            name: "cases/f1".into(),
            state: state as i32,
            cremation_certificate_number: number.into(),
            ..Default::default()
        }
    }

    fn cremation() -> FuneralArrangement {
        FuneralArrangement {
            cremation_day: Some(Date {
                year: 2026,
                month: 1,
                day: 7,
            }),
            cremation_slot: 2,
            ..Default::default()
        }
    }

    #[test]
    fn deregistration_waits_until_the_cremation_certificate_exists() {
        use funeral::CaseState as S;
        assert!(matches!(
            next(&case(S::Registered, ""), None, "k"),
            Next::Wait(_)
        ));
        assert!(matches!(
            next(&case(S::CremationBooked, ""), None, "k"),
            Next::Wait(_)
        ));
        assert_eq!(
            next(&case(S::Cremated, "HH330723-2026-000001"), None, "k"),
            Next::Done(DisposalOutput {
                cremation_certificate_number: "HH330723-2026-000001".into(),
                buried: false
            })
        );
    }

    #[test]
    fn the_plan_books_the_cremation_the_family_arranged_under_the_steps_key() {
        let Next::Book(day) = next(
            &case(funeral::CaseState::Registered, ""),
            Some(&cremation()),
            "case:funeral_disposal:do",
        ) else {
            panic!("books");
        };
        assert_eq!(
            (day.request_id.as_str(), day.death_case.as_str(), day.slot),
            ("case:funeral_disposal:do", "cases/f1", 2)
        );
        // Once booked, it is not booked again: the step waits.
        assert!(matches!(
            next(
                &case(funeral::CaseState::CremationBooked, ""),
                Some(&cremation()),
                "k"
            ),
            Next::Wait(_)
        ));
    }

    #[test]
    fn a_body_burial_is_recorded_and_deregistration_goes_ahead_without_a_cremation_certificate() {
        let burial = FuneralArrangement {
            burial_region: "330723105".into(),
            burial_place: "东山公墓".into(),
            ..Default::default()
        };
        assert!(matches!(
            next(
                &case(funeral::CaseState::Registered, ""),
                Some(&burial),
                "k"
            ),
            Next::Bury(_)
        ));
        assert_eq!(
            next(&case(funeral::CaseState::Buried, ""), Some(&burial), "k"),
            Next::Done(DisposalOutput {
                cremation_certificate_number: String::new(),
                buried: true
            })
        );
    }
}
