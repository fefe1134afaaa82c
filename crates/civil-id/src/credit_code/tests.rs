use proptest::prelude::*;

use super::*;

fn parse_ok(code: &str) -> CreditCode {
    match CreditCode::parse(code) {
        Ok(code) => code,
        Err(error) => panic!("expected a valid code, got {error:?}"),
    }
}

#[test]
fn a_commonly_cited_real_code_is_valid() {
    // 91350100M000100Y43: enterprise (9 = market regulation, 1 = enterprise) in 福州市 350100.
    let code = parse_ok("91350100M000100Y43");
    assert_eq!(code.authority(), '9');
    assert_eq!(code.kind(), '1');
    assert_eq!(code.region(), "350100");
    assert_eq!(code.as_str(), "91350100M000100Y43");
    assert_eq!(code.to_string(), "91350100M000100Y43");
}

#[test]
fn issuing_the_real_code_from_its_parts_computes_its_check_char() {
    // GB 32100-2015: check = (31 - sum mod 31) mod 31 over weights 3^i mod 31.
    let issued = CreditCode::issue('9', '1', "350100", "M000100Y4");
    assert_eq!(
        issued.map(|c| c.as_str().to_owned()),
        Ok("91350100M000100Y43".to_owned())
    );
}

#[test]
fn a_civil_affairs_social_group_is_issued_with_authority_5_and_kind_1() {
    let code = match CreditCode::issue('5', '1', "330723", "MJ1234567") {
        Ok(code) => code,
        Err(error) => panic!("{error:?}"),
    };
    assert_eq!(
        (code.authority(), code.kind(), code.region()),
        ('5', '1', "330723")
    );
    assert_eq!(CreditCode::parse(code.as_str()), Ok(code));
}

#[test]
fn lower_case_input_is_upper_cased_before_validation() {
    assert_eq!(
        parse_ok("91350100m000100y43").as_str(),
        "91350100M000100Y43"
    );
}

#[test]
fn a_wrong_check_char_is_rejected() {
    assert_eq!(
        CreditCode::parse("91350100M000100Y44"),
        Err(CreditCodeError::CheckChar)
    );
}

#[test]
fn letters_outside_the_alphabet_are_rejected() {
    // I, O, S, V, Z are excluded by GB 32100 as easily confused with digits.
    for code in [
        "91350100I000100Y43",
        "91350100O000100Y43",
        "91350100S000100Y43",
        "91350100V000100Y43",
        "91350100Z000100Y43",
    ] {
        assert_eq!(
            CreditCode::parse(code),
            Err(CreditCodeError::Charset),
            "{code}"
        );
    }
}

#[test]
fn letters_in_the_region_part_are_rejected() {
    assert_eq!(
        CreditCode::parse("9135A100M000100Y43"),
        Err(CreditCodeError::Region)
    );
    assert_eq!(
        CreditCode::issue('5', '1', "3307A3", "MJ1234567"),
        Err(CreditCodeError::Region)
    );
    assert_eq!(
        CreditCode::issue('5', '1', "33072", "3MJ123456"),
        Err(CreditCodeError::Region)
    );
}

#[test]
fn wrong_lengths_are_rejected() {
    assert_eq!(
        CreditCode::parse("91350100M000100Y4"),
        Err(CreditCodeError::Length { found: 17 })
    );
    assert_eq!(
        CreditCode::parse(""),
        Err(CreditCodeError::Length { found: 0 })
    );
    assert_eq!(
        CreditCode::issue('5', '1', "330723", "MJ12345"),
        Err(CreditCodeError::Length { found: 16 })
    );
}

#[test]
fn every_error_has_a_distinct_stable_reason() {
    let reasons = [
        CreditCodeError::Length { found: 0 }.reason(),
        CreditCodeError::Charset.reason(),
        CreditCodeError::Region.reason(),
        CreditCodeError::CheckChar.reason(),
    ];
    assert_eq!(
        reasons,
        [
            "CREDIT_CODE_LENGTH",
            "CREDIT_CODE_CHARSET",
            "CREDIT_CODE_REGION",
            "CREDIT_CODE_CHECK_CHAR"
        ]
    );
}

fn alphabet_char() -> impl Strategy<Value = char> {
    prop::sample::select(ALPHABET.iter().map(|&b| char::from(b)).collect::<Vec<_>>())
}

proptest! {
    #[test]
    fn an_issued_code_parses_back_to_the_same_parts(
        authority in alphabet_char(),
        kind in alphabet_char(),
        region in "[0-9]{6}",
        body in prop::collection::vec(alphabet_char(), 9),
    ) {
        let body: String = body.into_iter().collect();
        let issued = CreditCode::issue(authority, kind, &region, &body)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let parsed = CreditCode::parse(issued.as_str()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&parsed, &issued);
        prop_assert_eq!(parsed.authority(), authority);
        prop_assert_eq!(parsed.kind(), kind);
        prop_assert_eq!(parsed.region(), region.as_str());
        prop_assert_eq!(&parsed.as_str()[8..17], body.as_str());
    }

    #[test]
    fn any_single_character_change_to_an_issued_code_is_rejected(
        region in "[0-9]{6}",
        body in prop::collection::vec(alphabet_char(), 9),
        position in 0usize..18,
        replacement in alphabet_char(),
    ) {
        let body: String = body.into_iter().collect();
        let issued = CreditCode::issue('5', '1', &region, &body).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut changed: Vec<char> = issued.as_str().chars().collect();
        prop_assume!(changed[position] != replacement);
        changed[position] = replacement;
        let changed: String = changed.into_iter().collect();
        prop_assert!(CreditCode::parse(&changed).is_err(), "{} accepted", changed);
    }

    #[test]
    fn parse_never_panics_on_arbitrary_strings(input in any::<String>()) {
        let _ = CreditCode::parse(&input);
    }

    #[test]
    fn issue_never_panics_on_arbitrary_parts(
        authority in any::<char>(),
        kind in any::<char>(),
        region in any::<String>(),
        body in any::<String>(),
    ) {
        let _ = CreditCode::issue(authority, kind, &region, &body);
    }
}
