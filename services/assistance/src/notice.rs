//! The text of a public notice (公示) as the village posts it: only the necessary fields, never a
//! minor, identities masked (最低生活保障审核确认办法 art. 19; RULES.md "Process").

use time::Date;

use crate::domain::benefit::BenefitKind;
use crate::domain::household::Member;
use crate::domain::policy::PolicyVersion;
use crate::records::{ApplicationRecord, fmt_date};

/// Age from which a member may be named on a notice (minors are never listed).
const ADULT_AGE: u32 = 18;

fn kind_name(kind: BenefitKind) -> &'static str {
    match kind {
        BenefitKind::MinimumLiving => "最低生活保障",
        BenefitKind::NearThreshold => "低保边缘家庭",
        BenefitKind::ExtremePoverty => "特困人员救助供养",
        BenefitKind::Temporary => "临时救助",
    }
}

/// A name shown with only its first character (张某某).
fn masked_name(member: &Member) -> String {
    let mut chars = member.name.chars();
    let first = chars.next().map(String::from).unwrap_or_default();
    format!("{first}{}", "某".repeat(chars.count().clamp(1, 3)))
}

/// Composes the notice text for an application posted on `start` and ending on `end`.
pub fn compose(rec: &ApplicationRecord, policy: &PolicyVersion, start: Date, end: Date) -> String {
    let adults: Vec<String> = rec
        .household
        .members
        .iter()
        .filter(|m| m.age_on(start) >= ADULT_AGE)
        .map(masked_name)
        .collect();
    let applicant = rec
        .household
        .applicant()
        .filter(|m| m.age_on(start) >= ADULT_AGE)
        .map(masked_name)
        .unwrap_or_else(|| "（未成年人不予公示）".into());
    format!(
        "{kind}公示：{region} 申请人 {applicant}，家庭人口 {count} 人（成年成员：{adults}）。\
         执行标准政策 {policy}。公示期 {start} 至 {end}，如有异议请向乡镇（街道）反映。",
        kind = kind_name(rec.kind),
        region = rec.household.region,
        count = rec.household.members.len(),
        adults = adults.join("、"),
        policy = policy.id,
        start = fmt_date(start),
        end = fmt_date(end),
    )
}
