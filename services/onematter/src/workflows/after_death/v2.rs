//! Version 2 of the after-death plan: the household deregistration also waits for the family
//! to hand in the deceased's resident identity card (补件), which public security collects
//! when it cancels the registration. Asked once the death case exists, due in ten working
//! days (docs/rules/onematter-family-requests.md). Cases started on version 1 finish on it.

use super::defs::{outside, suite};
use super::{
    ASSISTANCE, AfterDeath, DEATH_CASE, DISPOSAL, ELDERCARE, FEE_WAIVER, HOUSEHOLD, KIND, MARRIAGE,
    MEDICAL, PENSION, SOCIALORG, WAIT_FOR_FUNERAL,
};
use crate::executor::{OnFailure, Plan, StepCall, StepDef, StepError, StepOutcome};

/// 补件: the family hands in the deceased's resident identity card.
pub const ID_CARD: &str = "family_id_card";

/// Working days the family has to hand the card in.
pub const ID_CARD_WORKING_DAYS: u32 = 10;

static STEPS_V2: [StepDef; 11] = [
    suite(DEATH_CASE, &[]),
    WAIT_FOR_FUNERAL,
    suite(FEE_WAIVER, &[DEATH_CASE]),
    suite(ASSISTANCE, &[DEATH_CASE]),
    suite(ELDERCARE, &[DEATH_CASE]),
    suite(MARRIAGE, &[DEATH_CASE]),
    suite(SOCIALORG, &[DEATH_CASE]),
    suite(ID_CARD, &[DEATH_CASE]),
    outside(HOUSEHOLD, &[DEATH_CASE, DISPOSAL, ID_CARD]),
    outside(PENSION, &[DEATH_CASE]),
    outside(MEDICAL, &[DEATH_CASE]),
];

pub static PLAN_V2: Plan = Plan {
    kind: KIND,
    version: 2,
    steps: &STEPS_V2,
    on_failure: OnFailure::Park,
};

impl AfterDeath {
    /// Asks the family for the card; done once they answered (how and where they handed it in).
    pub(super) fn id_card(&self, call: &StepCall) -> Result<StepOutcome, StepError> {
        if call.answer.is_some() {
            return Ok(StepOutcome::done(
                "the family handed in the deceased's resident identity card",
            ));
        }
        let ctx = &self.0.ctx;
        let due = ctx
            .calendar
            .add_working_days(ctx.clock.today(), ID_CARD_WORKING_DAYS);
        Ok(StepOutcome::AskFamily {
            what: "请交回逝者的居民身份证（户口注销时由公安机关收回）".into(),
            due_date: kit::clock::date_text(due),
        })
    }
}
