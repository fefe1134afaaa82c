//! 成立登记: what a social organisation needs to be registered, and its credit code.
//!
//! Sources: 社会团体登记管理条例 arts. 3, 10, 12; 民办非企业单位登记管理暂行条例 arts. 5, 8;
//! 基金会管理条例 arts. 8, 11; 关于改革社会组织管理制度促进社会组织健康有序发展的意见 (2016) for
//! the four fields registered directly; GB 32100-2015 for the credit code.

use civil_calendar::HolidayCalendar;
use civil_id::{CreditCode, CreditCodeError};
use time::Date;

use super::refusal::Refusal;

/// The kind of organisation; its digit is the credit code's second character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrganisationKind {
    /// 社会团体.
    SocialGroup,
    /// 民办非企业单位 / 社会服务机构.
    PrivateNonEnterpriseUnit,
    /// 基金会.
    Foundation,
}

impl OrganisationKind {
    /// Returns the kind digit of the credit code (GB 32100 with the civil-affairs kinds).
    pub fn kind_digit(self) -> char {
        match self {
            OrganisationKind::SocialGroup => '1',
            OrganisationKind::PrivateNonEnterpriseUnit => '2',
            OrganisationKind::Foundation => '3',
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrganisationKind::SocialGroup => "SOCIAL_GROUP",
            OrganisationKind::PrivateNonEnterpriseUnit => "PRIVATE_NON_ENTERPRISE_UNIT",
            OrganisationKind::Foundation => "FOUNDATION",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::SocialGroup,
            Self::PrivateNonEnterpriseUnit,
            Self::Foundation,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// The field of activity, which decides whether a supervisory unit (业务主管单位) is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActivityField {
    TradeAssociation,
    ScienceTechnology,
    Charity,
    CommunityService,
    Other,
}

impl ActivityField {
    /// Returns whether organisations of this field register directly with the civil affairs
    /// bureau, without a supervisory unit: trade associations and chambers, science and
    /// technology, charity, urban-rural community service (2016 reform opinion, RULES.md).
    pub fn registers_directly(self) -> bool {
        !matches!(self, ActivityField::Other)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityField::TradeAssociation => "TRADE_ASSOCIATION",
            ActivityField::ScienceTechnology => "SCIENCE_TECHNOLOGY",
            ActivityField::Charity => "CHARITY",
            ActivityField::CommunityService => "COMMUNITY_SERVICE",
            ActivityField::Other => "OTHER",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::TradeAssociation,
            Self::ScienceTechnology,
            Self::Charity,
            Self::CommunityService,
            Self::Other,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Minimum members of a social group: 50 individuals, or 30 units, or 50 in total when mixed
/// (社会团体登记管理条例 art. 10(2)).
pub const MIN_INDIVIDUAL_MEMBERS: i32 = 50;
pub const MIN_UNIT_MEMBERS: i32 = 30;
pub const MIN_MIXED_MEMBERS: i32 = 50;
/// 地方性的社会团体 activity funds: 30,000 yuan (art. 10(5)).
pub const MIN_SOCIAL_GROUP_FUNDS_FEN: i64 = 3_000_000;
/// 地方性公募基金会 founding fund: 4,000,000 yuan (基金会管理条例 art. 8(2)).
pub const MIN_PUBLIC_FOUNDATION_FUND_FEN: i64 = 400_000_000;
/// 非公募基金会 founding fund: 2,000,000 yuan (art. 8(2)).
pub const MIN_PRIVATE_FOUNDATION_FUND_FEN: i64 = 200_000_000;
/// Days the bureau has to decide on a complete application (社会团体登记管理条例 art. 12,
/// 民办非企业单位登记管理暂行条例 art. 11 and 基金会管理条例 art. 11: 60 days).
pub const DECISION_PERIOD_DAYS: u32 = 60;

/// Words only national organisations may use: a locally registered organisation may not put
/// 中国 / 全国 / 中华 in its name (社会团体登记管理条例 art. 10; 社会团体名称管理办法 art. 6).
pub const NATIONAL_WORDS: [&str; 3] = ["中国", "全国", "中华"];

/// What an application states, as the rules need it.
#[derive(Debug, Clone)]
pub struct Application {
    pub kind: OrganisationKind,
    pub field: ActivityField,
    pub name: String,
    pub supervisory_unit: String,
    pub individual_members: i32,
    pub unit_members: i32,
    pub funds_fen: i64,
    pub public_fundraising: bool,
    pub received_on: Date,
    pub decided_on: Date,
}

/// Checks the requirements of registration, first refusal wins. The name's uniqueness needs the
/// store and is checked by the caller with [`Refusal::NameTaken`].
pub fn check_application(app: &Application) -> Result<(), Refusal> {
    if app.received_on > app.decided_on {
        return Err(Refusal::ApplicationInFuture);
    }
    check_local_name(&app.name)?;
    if app.kind == OrganisationKind::SocialGroup {
        check_members(app.individual_members, app.unit_members)?;
    }
    check_funds(app.kind, app.funds_fen, app.public_fundraising)?;
    if !app.field.registers_directly() && app.supervisory_unit.trim().is_empty() {
        return Err(Refusal::SupervisoryUnitRequired);
    }
    Ok(())
}

/// A locally registered organisation's name may not claim national standing.
pub fn check_local_name(name: &str) -> Result<(), Refusal> {
    match NATIONAL_WORDS.iter().find(|w| name.contains(*w)) {
        Some(word) => Err(Refusal::NameNotAllowed {
            word: (*word).to_owned(),
            why: "reserved for organisations registered nationally",
        }),
        None => Ok(()),
    }
}

/// Social group membership (社会团体登记管理条例 art. 10(2)).
pub fn check_members(individual: i32, unit: i32) -> Result<(), Refusal> {
    let individual = individual.max(0);
    let unit = unit.max(0);
    let enough = match (individual > 0, unit > 0) {
        (true, false) => individual >= MIN_INDIVIDUAL_MEMBERS,
        (false, true) => unit >= MIN_UNIT_MEMBERS,
        (true, true) => {
            individual + unit >= MIN_MIXED_MEMBERS
                || individual >= MIN_INDIVIDUAL_MEMBERS
                || unit >= MIN_UNIT_MEMBERS
        }
        (false, false) => false,
    };
    if enough {
        Ok(())
    } else {
        Err(Refusal::TooFewMembers)
    }
}

/// Minimum funds by kind. A private non-enterprise unit needs assets fitting its activity
/// (民办非企业单位登记管理暂行条例 art. 8(4)), which has no fixed amount.
pub fn check_funds(
    kind: OrganisationKind,
    funds_fen: i64,
    public_fundraising: bool,
) -> Result<(), Refusal> {
    let minimum_fen = match kind {
        OrganisationKind::SocialGroup => MIN_SOCIAL_GROUP_FUNDS_FEN,
        OrganisationKind::Foundation if public_fundraising => MIN_PUBLIC_FOUNDATION_FUND_FEN,
        OrganisationKind::Foundation => MIN_PRIVATE_FOUNDATION_FUND_FEN,
        OrganisationKind::PrivateNonEnterpriseUnit => 0,
    };
    if funds_fen < minimum_fen {
        return Err(Refusal::FundsTooLow {
            found_fen: funds_fen,
            minimum_fen,
        });
    }
    Ok(())
}

/// Returns the last day for the decision: 60 days after the complete application was received,
/// a rest day moving it to the next working day (民法典 arts. 201, 203).
pub fn decision_due(calendar: &HolidayCalendar, received_on: Date) -> Date {
    calendar.period_end(received_on, DECISION_PERIOD_DAYS)
}

/// Civil-affairs organisation codes start their body (主体标识码, 9 characters) with "MJ" (民政),
/// followed by a 6-character serial and the GB 11714 check character.
const BODY_PREFIX: &str = "MJ";
/// The 31 characters of GB 32100; the serial is written in base 31 with them.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const SERIAL_LEN: u32 = 6;
/// GB 11714-1997 weights of the 8 body characters.
const BODY_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// The GB 11714 check character of an 8-character organisation-code body: digits count their
/// value, letters A-Z 10-35; C9 = 11 - (sum of weighted values mod 11), 10 written X, 11 written 0.
pub fn organisation_code_check(body8: &str) -> Option<char> {
    if body8.len() != 8 {
        return None;
    }
    let mut sum = 0u32;
    for (c, w) in body8.chars().zip(BODY_WEIGHTS) {
        let value = c.to_digit(36)?;
        if c.is_ascii_lowercase() {
            return None;
        }
        sum += value * w;
    }
    Some(match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        n => char::from_digit(n, 10)?,
    })
}

/// The full GB 32100 check: the code parses (charset, region, check character over the 17) and
/// its body (characters 9-17) is an organisation code whose own check character is right.
pub fn passes_full_credit_code_check(code: &str) -> bool {
    let Ok(parsed) = CreditCode::parse(code) else {
        return false;
    };
    let body = &parsed.as_str()[8..17];
    organisation_code_check(&body[..8]).is_some_and(|c| body.ends_with(c))
}

/// Issues the credit code of the `sequence`-th organisation (1-based) registered by the county:
/// authority 5 (civil affairs), the kind digit, the county's code, body "MJ" + the serial in
/// base 31 + the GB 11714 check character, and the GB 32100 check character. Distinct sequences
/// of a county give distinct codes.
pub fn issue_credit_code(
    kind: OrganisationKind,
    county: &str,
    sequence: u64,
) -> Result<CreditCode, CreditCodeError> {
    let capacity = 31u64.pow(SERIAL_LEN);
    if sequence == 0 || sequence >= capacity {
        return Err(CreditCodeError::Length { found: 0 });
    }
    let mut serial = [b'0'; SERIAL_LEN as usize];
    let mut n = sequence;
    for slot in serial.iter_mut().rev() {
        *slot = ALPHABET[(n % 31) as usize];
        n /= 31;
    }
    let mut body = String::from(BODY_PREFIX);
    body.extend(serial.iter().map(|b| char::from(*b)));
    let check = organisation_code_check(&body).ok_or(CreditCodeError::Charset)?;
    body.push(check);
    CreditCode::issue('5', kind.kind_digit(), county, &body)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use time::macros::date;

    use super::*;

    fn group() -> Application {
        Application {
            kind: OrganisationKind::SocialGroup,
            field: ActivityField::Other,
            name: "武义县书法家协会".into(),
            supervisory_unit: "武义县文联".into(),
            individual_members: 50,
            unit_members: 0,
            funds_fen: MIN_SOCIAL_GROUP_FUNDS_FEN,
            public_fundraising: false,
            received_on: date!(2026 - 03 - 02),
            decided_on: date!(2026 - 03 - 20),
        }
    }

    #[test]
    fn a_social_group_with_fifty_individual_members_and_thirty_thousand_yuan_registers_art_10() {
        assert_eq!(check_application(&group()), Ok(()));
    }

    #[test]
    fn forty_nine_individual_members_are_too_few_art_10() {
        assert_eq!(check_members(49, 0), Err(Refusal::TooFewMembers));
        assert_eq!(check_members(0, 0), Err(Refusal::TooFewMembers));
    }

    #[test]
    fn thirty_unit_members_suffice_but_twenty_nine_do_not_art_10() {
        assert_eq!(check_members(0, 30), Ok(()));
        assert_eq!(check_members(0, 29), Err(Refusal::TooFewMembers));
    }

    #[test]
    fn mixed_membership_needs_fifty_in_total_art_10() {
        assert_eq!(check_members(30, 20), Ok(()));
        assert_eq!(check_members(30, 19), Err(Refusal::TooFewMembers));
    }

    #[test]
    fn social_group_funds_below_thirty_thousand_yuan_are_refused_art_10() {
        let mut app = group();
        app.funds_fen = MIN_SOCIAL_GROUP_FUNDS_FEN - 1;
        assert!(matches!(
            check_application(&app),
            Err(Refusal::FundsTooLow { .. })
        ));
    }

    #[test]
    fn foundation_founding_fund_depends_on_public_fundraising_foundation_regulation_art_8() {
        let k = OrganisationKind::Foundation;
        assert_eq!(
            check_funds(k, MIN_PRIVATE_FOUNDATION_FUND_FEN, false),
            Ok(())
        );
        assert!(check_funds(k, MIN_PRIVATE_FOUNDATION_FUND_FEN, true).is_err());
        assert_eq!(check_funds(k, MIN_PUBLIC_FOUNDATION_FUND_FEN, true), Ok(()));
    }

    #[test]
    fn a_local_name_may_not_use_zhongguo_quanguo_or_zhonghua_art_10() {
        for name in ["中国书法协会武义分会", "全国武义同乡会", "中华武术研究会"]
        {
            assert!(
                matches!(check_local_name(name), Err(Refusal::NameNotAllowed { .. })),
                "{name}"
            );
        }
        assert_eq!(check_local_name("武义县武术协会"), Ok(()));
    }

    #[test]
    fn other_fields_need_a_supervisory_unit_but_the_four_direct_fields_do_not() {
        let mut app = group();
        app.supervisory_unit = " ".into();
        assert_eq!(
            check_application(&app),
            Err(Refusal::SupervisoryUnitRequired)
        );
        for field in [
            ActivityField::TradeAssociation,
            ActivityField::ScienceTechnology,
            ActivityField::Charity,
            ActivityField::CommunityService,
        ] {
            app.field = field;
            assert_eq!(check_application(&app), Ok(()), "{field:?}");
        }
    }

    #[test]
    fn a_decision_before_the_application_is_refused() {
        let mut app = group();
        app.decided_on = date!(2026 - 03 - 01);
        assert_eq!(check_application(&app), Err(Refusal::ApplicationInFuture));
    }

    #[test]
    fn the_decision_is_due_sixty_days_after_receipt_moved_past_rest_days_art_12() {
        let cal = HolidayCalendar::embedded();
        // 2026-03-02 + 60 days = 2026-05-01, Labour Day holiday (05-01..05-05) -> 05-06.
        assert_eq!(
            decision_due(&cal, date!(2026 - 03 - 02)),
            date!(2026 - 05 - 06)
        );
        // 2026-03-10 + 60 = 2026-05-09, a Saturday made a working day for Labour Day.
        let due = decision_due(&cal, date!(2026 - 03 - 10));
        assert!(cal.is_working_day(due));
    }

    #[test]
    fn issued_credit_codes_are_valid_carry_authority_kind_and_county_gb_32100() {
        for (kind, digit) in [
            (OrganisationKind::SocialGroup, '1'),
            (OrganisationKind::PrivateNonEnterpriseUnit, '2'),
            (OrganisationKind::Foundation, '3'),
        ] {
            let code = issue_credit_code(kind, "330723", 42).expect("issues");
            let parsed = CreditCode::parse(code.as_str()).expect("check char valid");
            assert_eq!(parsed.authority(), '5');
            assert_eq!(parsed.kind(), digit);
            assert_eq!(parsed.region(), "330723");
            assert!(code.as_str()[8..].starts_with("MJ"));
        }
    }

    #[test]
    fn the_organisation_code_check_character_follows_gb_11714() {
        // Bodies of published credit codes (91330100716105852F, 9144030071526726XG).
        assert_eq!(organisation_code_check("71610585"), Some('2'));
        assert_eq!(organisation_code_check("71526726"), Some('X'));
        assert!(passes_full_credit_code_check("91330100716105852F"));
        assert!(passes_full_credit_code_check("9144030071526726XG"));
        assert_eq!(organisation_code_check("7161058"), None);
    }

    #[test]
    fn issued_codes_pass_the_full_gb_32100_check_body_included() {
        for seq in (1..3_000).chain([31u64.pow(6) - 1]) {
            let code =
                issue_credit_code(OrganisationKind::SocialGroup, "330723", seq).expect("issues");
            assert!(
                passes_full_credit_code_check(code.as_str()),
                "{}",
                code.as_str()
            );
        }
        // A code whose body check character is wrong passes the 18th-character check but not
        // the full one.
        let body_wrong = CreditCode::issue('5', '1', "330723", "MJ0000019").expect("issues");
        assert!(CreditCode::parse(body_wrong.as_str()).is_ok());
        assert!(!passes_full_credit_code_check(body_wrong.as_str()));
    }

    #[test]
    fn distinct_sequence_numbers_give_distinct_valid_codes() {
        let mut seen = HashSet::new();
        for seq in (1..5_000).chain([31u64.pow(6) - 1]) {
            let code =
                issue_credit_code(OrganisationKind::SocialGroup, "330723", seq).expect("issues");
            assert!(CreditCode::parse(code.as_str()).is_ok());
            assert!(
                seen.insert(code.as_str()[8..17].to_owned()),
                "body repeats at {seq}"
            );
        }
    }

    #[test]
    fn sequence_zero_and_overflow_are_not_issued() {
        assert!(issue_credit_code(OrganisationKind::SocialGroup, "330723", 0).is_err());
        assert!(issue_credit_code(OrganisationKind::SocialGroup, "330723", 31u64.pow(6)).is_err());
    }
}
