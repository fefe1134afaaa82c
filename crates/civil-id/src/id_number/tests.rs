use proptest::prelude::*;
use time::macros::date;

use super::*;

/// Builds a valid number from its first 17 digits by appending the computed check character.
fn with_check_char(first17: &str) -> String {
    format!("{first17}{}", IdNumber::check_char(first17))
}

fn parse_ok(number: &str) -> IdNumber {
    match IdNumber::parse(number) {
        Ok(id) => id,
        Err(error) => panic!("expected a valid number, got {error:?}"),
    }
}

#[test]
fn the_standard_example_from_gb_11643_is_valid() {
    // GB 11643-1999 annex example: 北京市朝阳区, born 1949-12-31, female, check char X.
    let id = parse_ok("11010519491231002X");
    assert_eq!(id.as_str(), "11010519491231002X");
    assert_eq!(id.region(), "110105");
    assert_eq!(id.birth_date(), date!(1949 - 12 - 31));
    assert_eq!(id.sex(), Sex::Female);
}

#[test]
fn check_char_follows_iso_7064_mod_11_2() {
    // Sum mod 11 = 0 maps to '1' and 2 maps to 'X' (RULES.md, identity numbers).
    assert_eq!(IdNumber::check_char("11010519491231002"), 'X');
    assert_eq!(IdNumber::check_char("00000000000000000"), '1');
    // 1 * weight 2 in the last position: sum 2 -> 'X'.
    assert_eq!(IdNumber::check_char("00000000000000001"), 'X');
    // 1 * weight 7 in the first position: sum 7 -> '5'.
    assert_eq!(IdNumber::check_char("10000000000000000"), '5');
}

#[test]
fn a_lower_case_x_is_accepted_and_stored_upper_case() {
    let id = parse_ok("11010519491231002x");
    assert_eq!(id.as_str(), "11010519491231002X");
    assert_eq!(id, parse_ok("11010519491231002X"));
}

#[test]
fn a_wrong_check_char_is_rejected() {
    assert_eq!(
        IdNumber::parse("110105194912310021"),
        Err(IdError::CheckChar)
    );
    assert_eq!(
        IdNumber::parse("110105194912310021").map_err(|e| e.reason()),
        Err("ID_NUMBER_CHECK_CHAR")
    );
}

#[test]
fn thirtieth_of_february_is_not_a_birth_date() {
    // Check char is computed so that only the date is wrong.
    let number = with_check_char("33072319900230123");
    assert_eq!(IdNumber::parse(&number), Err(IdError::BirthDate));
}

#[test]
fn month_thirteen_and_day_zero_are_not_birth_dates() {
    for first17 in [
        "33072319901301123",
        "33072319900100123",
        "33072300000101123",
    ] {
        assert_eq!(
            IdNumber::parse(&with_check_char(first17)),
            Err(IdError::BirthDate),
            "{first17}"
        );
    }
}

#[test]
fn birth_dates_before_1880_are_rejected() {
    assert_eq!(
        IdNumber::parse(&with_check_char("33072318791231123")),
        Err(IdError::BirthDate)
    );
    assert_eq!(
        parse_ok(&with_check_char("33072318800101123")).birth_date(),
        date!(1880 - 01 - 01)
    );
}

#[test]
fn a_leap_day_birth_is_valid_only_in_leap_years() {
    let id = parse_ok(&with_check_char("33072320000229123"));
    assert_eq!(id.birth_date(), date!(2000 - 02 - 29));
    assert_eq!(
        IdNumber::parse(&with_check_char("33072319000229123")),
        Err(IdError::BirthDate)
    );
}

#[test]
fn an_unknown_province_is_rejected() {
    assert_eq!(
        IdNumber::parse(&with_check_char("99072319900307123")),
        Err(IdError::Region)
    );
    assert_eq!(
        IdNumber::parse(&with_check_char("00072319900307123")),
        Err(IdError::Region)
    );
}

#[test]
fn taiwan_hong_kong_and_macao_provinces_are_accepted() {
    for first17 in [
        "71000019900307123",
        "81000019900307123",
        "82000019900307123",
    ] {
        parse_ok(&with_check_char(first17));
    }
}

#[test]
fn an_unknown_county_in_a_real_province_is_accepted_because_codes_of_birth_are_retired() {
    // 330799 is not a county of 金华市, but numbers keep the code of birth (data/regions/README.md).
    let id = parse_ok(&with_check_char("33079919900307123"));
    assert_eq!(id.region(), "330799");
}

#[test]
fn wrong_lengths_are_rejected_with_the_length_found() {
    assert_eq!(IdNumber::parse(""), Err(IdError::Length { found: 0 }));
    assert_eq!(
        IdNumber::parse("11010519491231002"),
        Err(IdError::Length { found: 17 })
    );
    assert_eq!(
        IdNumber::parse("11010519491231002X0"),
        Err(IdError::Length { found: 19 })
    );
    // First-generation 15-digit numbers are no longer valid identity documents.
    assert_eq!(
        IdNumber::parse("110105491231002"),
        Err(IdError::Length { found: 15 })
    );
}

#[test]
fn letters_other_than_a_final_x_are_rejected() {
    assert_eq!(IdNumber::parse("1101051949123100XX"), Err(IdError::Charset));
    assert_eq!(IdNumber::parse("11010519491231002Y"), Err(IdError::Charset));
    assert_eq!(IdNumber::parse(" 1010519491231002X"), Err(IdError::Charset));
    // 18 characters, some of them multi-byte.
    assert_eq!(
        IdNumber::parse("１1010519491231002X"),
        Err(IdError::Charset)
    );
}

#[test]
fn every_error_has_a_distinct_stable_reason() {
    let reasons = [
        IdError::Length { found: 0 }.reason(),
        IdError::Charset.reason(),
        IdError::CheckChar.reason(),
        IdError::BirthDate.reason(),
        IdError::Region.reason(),
    ];
    assert_eq!(
        reasons,
        [
            "ID_NUMBER_LENGTH",
            "ID_NUMBER_CHARSET",
            "ID_NUMBER_CHECK_CHAR",
            "ID_NUMBER_BIRTH_DATE",
            "ID_NUMBER_REGION"
        ]
    );
}

#[test]
fn an_odd_seventeenth_digit_is_male_and_an_even_one_female() {
    assert_eq!(
        parse_ok(&with_check_char("33072319900307123")).sex(),
        Sex::Male
    );
    assert_eq!(
        parse_ok(&with_check_char("33072319900307124")).sex(),
        Sex::Female
    );
    assert_eq!(
        parse_ok(&with_check_char("33072319900307120")).sex(),
        Sex::Female
    );
}

#[test]
fn masking_shows_the_first_four_and_last_four_characters() {
    let id = parse_ok("11010519491231002x");
    assert_eq!(id.masked(), "1101**********002X");
}

#[test]
fn display_and_debug_never_print_the_full_number() {
    let id = parse_ok("11010519491231002X");
    assert_eq!(id.to_string(), "1101**********002X");
    let debug = format!("{:?}", Some(&id));
    assert!(!debug.contains("19491231"), "{debug}");
    assert!(debug.contains("1101**********002X"), "{debug}");
}

#[test]
fn masking_a_raw_string_always_hides_at_least_ten_characters() {
    assert_eq!(mask_id_number(""), "");
    assert_eq!(mask_id_number("123"), "***");
    assert_eq!(mask_id_number("1234567890"), "**********");
    assert_eq!(mask_id_number("110105491231002"), "11***********02");
    assert_eq!(mask_id_number("11010519491231002X0"), "1101***********02X0");
    assert_eq!(
        mask_id_number("一二三四五六七八九十甲乙丙丁戊己庚辛"),
        "一二三四**********戊己庚辛"
    );
}

#[test]
fn the_embedded_provinces_match_the_region_data() {
    let csv = include_str!("../../../../data/regions/provinces.csv");
    let from_data: Vec<&str> = csv
        .lines()
        .skip(1)
        .filter_map(|line| line.split(',').next())
        .collect();
    assert_eq!(from_data.len(), 31);
    assert_eq!(&PROVINCE_CODES[..31], from_data.as_slice());
    assert_eq!(&PROVINCE_CODES[31..], ["71", "81", "82"]);
}

/// Valid first 17 digits: a real province, any county, a birth date 1880-2100 and any sequence.
fn valid_first17() -> impl Strategy<Value = String> {
    (
        prop::sample::select(PROVINCE_CODES.to_vec()),
        0u32..10_000,
        1880i32..=2100,
        1u8..=12,
        1u8..=31,
        0u32..1000,
    )
        .prop_filter_map(
            "not a real date",
            |(province, county, year, month, day, sequence)| {
                let month = Month::try_from(month).ok()?;
                Date::from_calendar_date(year, month, day).ok()?;
                Some(format!(
                    "{province}{county:04}{year:04}{:02}{day:02}{sequence:03}",
                    u8::from(month)
                ))
            },
        )
}

proptest! {
    #[test]
    fn any_valid_prefix_with_its_check_char_parses_and_round_trips(first17 in valid_first17()) {
        let number = with_check_char(&first17);
        let id = IdNumber::parse(&number).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(id.as_str(), number.as_str());
        prop_assert_eq!(IdNumber::parse(&number.to_ascii_lowercase()), Ok(id.clone()));
        prop_assert_eq!(id.region(), &first17[..6]);
        let expected_sex = if (first17.as_bytes()[16] - b'0') % 2 == 1 { Sex::Male } else { Sex::Female };
        prop_assert_eq!(id.sex(), expected_sex);
        prop_assert_eq!(
            format!("{:04}{:02}{:02}", id.birth_date().year(), u8::from(id.birth_date().month()), id.birth_date().day()),
            &first17[6..14]
        );
    }

    #[test]
    fn any_single_character_change_to_a_valid_number_is_rejected(
        first17 in valid_first17(),
        position in 0usize..18,
        replacement in prop::sample::select("0123456789X".chars().collect::<Vec<_>>()),
    ) {
        let number = with_check_char(&first17);
        let mut changed: Vec<char> = number.chars().collect();
        prop_assume!(changed[position] != replacement);
        changed[position] = replacement;
        let changed: String = changed.into_iter().collect();
        prop_assert!(IdNumber::parse(&changed).is_err(), "{} accepted", changed);
    }

    #[test]
    fn parse_never_panics_on_arbitrary_strings(input in any::<String>()) {
        let _ = IdNumber::parse(&input);
        let _ = mask_id_number(&input);
    }

    #[test]
    fn parse_never_panics_on_near_miss_numbers(input in "[0-9Xx]{16,19}") {
        let _ = IdNumber::parse(&input);
    }

    #[test]
    fn masking_keeps_the_length_in_characters(input in any::<String>()) {
        prop_assert_eq!(mask_id_number(&input).chars().count(), input.chars().count());
    }
}

#[test]
fn a_birth_date_after_today_is_refused() {
    // A number is issued for a person already born (GB 11643-1999 §5: characters 7-14 are the
    // date of birth).
    let tomorrow = with_check_char("11010520260505001");
    let today = date!(2026 - 05 - 04);
    assert_eq!(
        IdNumber::parse_on(&tomorrow, today),
        Err(IdError::BirthInFuture)
    );
    assert_eq!(IdError::BirthInFuture.reason(), "ID_NUMBER_BIRTH_IN_FUTURE");
    let born_today = with_check_char("11010520260504001");
    assert!(IdNumber::parse_on(&born_today, today).is_ok());
    assert!(
        IdNumber::parse(&tomorrow).is_ok(),
        "parse alone knows no date"
    );
}
