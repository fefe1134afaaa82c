//! Naming and renaming (地名管理条例 2022 arts. 9-14): the checks of a proposed name and the
//! stages of an application: checks -> expert review -> approval -> filing + announcement.

use civil_calendar::HolidayCalendar;
use time::Date;

use super::name::{Category, NameStatus, pinyin_forms, rare_characters};
use super::refusal::{RecordRef, Refusal};
use super::scope::ScopePolicy;

/// Days after approval for filing with the level above and for the announcement (art. 13).
pub const FILING_DAYS: u32 = 15;

pub const WARNING_HOMOPHONE: &str = "PLACENAME_HOMOPHONE";
pub const WARNING_EXAGGERATED: &str = "PLACENAME_EXAGGERATED";
pub const WARNING_ODD: &str = "PLACENAME_ODD";
pub const WARNING_PROTECTED_HERITAGE: &str = "PLACENAME_PROTECTED_HERITAGE";

/// Word lists of art. 10 (no names of people, no foreign names, avoid 大洋古怪重). County
/// configuration may extend them; the defaults are examples of each pattern.
#[derive(Debug, Clone)]
pub struct NamingPolicy {
    /// Names of people (refuse).
    pub person_names: Vec<String>,
    /// Foreign personal and place names (洋; refuse).
    pub foreign_names: Vec<String>,
    /// Exaggerated words (大) that refuse.
    pub exaggerated_refuse: Vec<String>,
    /// Exaggerated words (大) that warn.
    pub exaggerated_warn: Vec<String>,
    /// Odd or vulgar words (怪) that warn.
    pub odd_warn: Vec<String>,
    /// Characters outside the basic CJK block accepted anyway (local characters in the
    /// standard table, e.g. some Extension A characters of old village names).
    pub allowed_characters: Vec<char>,
    /// The art. 9 scopes (county policy for built-up areas and open categories).
    pub scopes: ScopePolicy,
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

impl Default for NamingPolicy {
    fn default() -> Self {
        NamingPolicy {
            person_names: strings(&["毛泽东", "周恩来", "孙中山", "鲁迅", "雷锋", "邓小平"]),
            foreign_names: strings(&[
                "维多利亚",
                "曼哈顿",
                "威尼斯",
                "巴黎",
                "罗马",
                "纽约",
                "伦敦",
                "加州",
                "香榭丽舍",
                "枫丹白露",
                "比华利",
                "普罗旺斯",
                "地中海",
                "莱茵",
                "拉斐",
                "温莎",
                "哈佛",
                "剑桥",
            ]),
            exaggerated_refuse: strings(&[
                "帝", "皇", "宇宙", "国际", "世界", "中央", "环球", "全球", "天下", "至尊",
            ]),
            exaggerated_warn: strings(&["超级", "第一", "顶级", "巅峰", "豪庭", "王府", "首府"]),
            odd_warn: strings(&["怪", "鬼", "魔", "妖", "屌"]),
            allowed_characters: Vec::new(),
            scopes: ScopePolicy::default(),
        }
    }
}

/// A check finding to address in the expert review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub code: String,
    pub message: String,
}

impl Warning {
    fn new(code: &str, message: String) -> Self {
        Warning {
            code: code.to_owned(),
            message,
        }
    }
}

/// An existing record as the checks see it.
#[derive(Debug, Clone)]
pub struct Existing<'a> {
    pub id: &'a str,
    pub code: &'a str,
    pub name: &'a str,
    pub pinyin_full: &'a str,
    pub category: Category,
    pub region: &'a str,
    pub status: NameStatus,
}

/// What is proposed.
#[derive(Debug, Clone)]
pub struct Proposal<'a> {
    pub name: &'a str,
    pub category: Category,
    pub region: &'a str,
    /// The record being renamed, which does not compete with its own new name.
    pub renaming: Option<&'a str>,
    /// The record being renamed is a protected historic name (地名文化遗产).
    pub renaming_protected: bool,
}

/// Checks the words of a name against the policy: refusals first (people, foreign names,
/// rare characters, refused exaggerations), then warnings.
pub fn check_words(policy: &NamingPolicy, name: &str) -> Result<Vec<Warning>, Refusal> {
    if let Some(p) = policy
        .person_names
        .iter()
        .find(|p| name.contains(p.as_str()))
    {
        return Err(Refusal::PersonName(p.clone()));
    }
    if let Some(f) = policy
        .foreign_names
        .iter()
        .find(|f| name.contains(f.as_str()))
    {
        return Err(Refusal::ForeignName(f.clone()));
    }
    let rare = rare_characters(name, &policy.allowed_characters);
    if !rare.is_empty() {
        return Err(Refusal::RareCharacter(rare));
    }
    if let Some(w) = policy
        .exaggerated_refuse
        .iter()
        .find(|w| name.contains(w.as_str()))
    {
        return Err(Refusal::Exaggerated(w.clone()));
    }
    let mut warnings = Vec::new();
    for w in policy
        .exaggerated_warn
        .iter()
        .filter(|w| name.contains(w.as_str()))
    {
        warnings.push(Warning::new(
            WARNING_EXAGGERATED,
            format!("{w:?} exaggerates (大); explain why it fits"),
        ));
    }
    for w in policy.odd_warn.iter().filter(|w| name.contains(w.as_str())) {
        warnings.push(Warning::new(
            WARNING_ODD,
            format!("{w:?} is odd or vulgar (怪); explain why it fits"),
        ));
    }
    Ok(warnings)
}

/// Runs every check of a proposed name against the records that share its name or its
/// toneless pinyin. Same name in the art. 9 scope refuses; same sound warns.
pub fn check_proposal<'a>(
    policy: &NamingPolicy,
    proposal: &Proposal<'_>,
    candidates: impl IntoIterator<Item = Existing<'a>>,
) -> Result<Vec<Warning>, Refusal> {
    let mut warnings = check_words(policy, proposal.name)?;
    let pinyin = pinyin_forms(proposal.name).full;
    let mut homophones = Vec::new();
    for other in candidates {
        if Some(other.id) == proposal.renaming || other.status == NameStatus::Historic {
            continue;
        }
        if !policy.scopes.competes(
            proposal.category,
            proposal.region,
            other.category,
            other.region,
        ) {
            continue;
        }
        if other.name == proposal.name {
            return Err(Refusal::Duplicate {
                name: proposal.name.to_owned(),
                scope: policy.scopes.describe(proposal.category, proposal.region),
                existing: RecordRef {
                    id: other.id.to_owned(),
                    code: other.code.to_owned(),
                    region: other.region.to_owned(),
                },
            });
        }
        if other.pinyin_full == pinyin {
            homophones.push(format!("{} ({})", other.name, other.region));
        }
    }
    if !homophones.is_empty() {
        warnings.push(Warning::new(
            WARNING_HOMOPHONE,
            format!(
                "sounds like {} ({pinyin}) in the same scope",
                homophones.join(", ")
            ),
        ));
    }
    if proposal.renaming_protected {
        warnings.push(Warning::new(
            WARNING_PROTECTED_HERITAGE,
            "the name to replace is a protected historic name (地名文化遗产); the review must assess it".into(),
        ));
    }
    Ok(warnings)
}

/// Stages of an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Checked,
    Reviewed,
    Approved,
    InUse,
    Rejected,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Checked => "CHECKED",
            Stage::Reviewed => "REVIEWED",
            Stage::Approved => "APPROVED",
            Stage::InUse => "IN_USE",
            Stage::Rejected => "REJECTED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Stage::Checked,
            Stage::Reviewed,
            Stage::Approved,
            Stage::InUse,
            Stage::Rejected,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    fn expect(self, expected: Stage) -> Result<(), Refusal> {
        if self == expected {
            Ok(())
        } else {
            Err(Refusal::WrongStage {
                stage: self.as_str(),
                expected: expected.as_str(),
            })
        }
    }
}

/// The expert review (专家论证): a favourable review must address every warning, and the
/// renaming of a protected historic name needs a heritage assessment. Returns the next stage.
pub fn review(
    stage: Stage,
    warnings: &[Warning],
    favourable: bool,
    addressed: &[String],
    heritage_assessed: bool,
) -> Result<Stage, Refusal> {
    stage.expect(Stage::Checked)?;
    if !favourable {
        return Ok(Stage::Rejected);
    }
    let mut missing: Vec<String> = warnings
        .iter()
        .map(|w| w.code.clone())
        .filter(|c| !addressed.contains(c))
        .collect();
    missing.dedup();
    if !missing.is_empty() {
        return Err(Refusal::WarningNotAddressed(missing));
    }
    if warnings
        .iter()
        .any(|w| w.code == WARNING_PROTECTED_HERITAGE)
        && !heritage_assessed
    {
        return Err(Refusal::HeritageReviewRequired);
    }
    Ok(Stage::Reviewed)
}

/// Deadlines that follow an approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    pub filing_due: Date,
    pub announcement_due: Date,
}

/// The approval: only after a favourable review. Filing and announcement are each due 15 days
/// later (art. 13), a rest day moving the last day on (民法典 art. 203).
pub fn approve(
    calendar: &HolidayCalendar,
    stage: Stage,
    approved_on: Date,
) -> Result<Deadlines, Refusal> {
    if stage == Stage::Rejected {
        return Err(Refusal::ReviewUnfavourable);
    }
    stage.expect(Stage::Reviewed)?;
    let due = calendar.period_end(approved_on, FILING_DAYS);
    Ok(Deadlines {
        filing_due: due,
        announcement_due: due,
    })
}

/// Filing and announcement: returns (filed late, announced late).
pub fn publish(
    stage: Stage,
    approved_on: Date,
    deadlines: Deadlines,
    filed_on: Date,
    announced_on: Date,
) -> Result<(bool, bool), Refusal> {
    stage.expect(Stage::Approved)?;
    if filed_on < approved_on || announced_on < approved_on {
        return Err(Refusal::BeforeApproval);
    }
    Ok((
        filed_on > deadlines.filing_due,
        announced_on > deadlines.announcement_due,
    ))
}

#[cfg(test)]
mod tests;
