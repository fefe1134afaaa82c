use time::macros::date;

use super::*;
use crate::domain::refusal::RecordRef;

fn existing<'a>(
    id: &'a str,
    name: &'a str,
    py: &'a str,
    category: Category,
    region: &'a str,
) -> Existing<'a> {
    Existing {
        id,
        code: "33072305000001",
        name,
        pinyin_full: py,
        category,
        region,
        status: NameStatus::InUse,
    }
}

fn proposal<'a>(name: &'a str, category: Category, region: &'a str) -> Proposal<'a> {
    Proposal {
        name,
        category,
        region,
        renaming: None,
        renaming_protected: false,
    }
}

#[test]
fn a_village_name_used_in_the_same_county_is_a_duplicate_art_9() {
    let p = pinyin_forms("南湖村").full;
    let others = [existing(
        "a",
        "南湖村",
        &p,
        Category::VillageSeat,
        "330723105201",
    )];
    let err = check_proposal(
        &NamingPolicy::default(),
        &proposal("南湖村", Category::VillageSeat, "330723001009"),
        others,
    )
    .expect_err("duplicate");
    assert_eq!(err.reason(), "PLACENAME_DUPLICATE");
    let Refusal::Duplicate { existing, .. } = err else {
        panic!("a duplicate");
    };
    assert_eq!(
        existing,
        RecordRef {
            id: "a".into(),
            code: "33072305000001".into(),
            region: "330723105201".into(),
        },
        "the refusal names the existing record"
    );
}

#[test]
fn a_village_name_used_in_another_county_is_not_a_duplicate_art_9() {
    let p = pinyin_forms("南湖村").full;
    let others = [existing(
        "a",
        "南湖村",
        &p,
        Category::VillageSeat,
        "330482105201",
    )];
    let warnings = check_proposal(
        &NamingPolicy::default(),
        &proposal("南湖村", Category::VillageSeat, "330723001009"),
        others,
    )
    .expect("allowed");
    assert!(warnings.is_empty());
}

#[test]
fn a_township_name_repeats_within_the_province_only_art_9() {
    let p = pinyin_forms("乍浦镇").full;
    let t = Category::AdministrativeDivision;
    let same_province = [existing("a", "乍浦镇", &p, t, "330482101")];
    assert!(
        check_proposal(
            &NamingPolicy::default(),
            &proposal("乍浦镇", t, "330723109"),
            same_province
        )
        .is_err()
    );
    let other_province = [existing("a", "乍浦镇", &p, t, "512021101")];
    assert!(
        check_proposal(
            &NamingPolicy::default(),
            &proposal("乍浦镇", t, "330723109"),
            other_province
        )
        .is_ok()
    );
}

#[test]
fn a_road_name_repeats_within_the_built_up_area_of_a_town_not_the_county_art_9() {
    let p = pinyin_forms("解放路").full;
    let others = [existing("a", "解放路", &p, Category::Road, "330723001")];
    assert!(
        check_proposal(
            &NamingPolicy::default(),
            &proposal("解放路", Category::Road, "330723101"),
            others.clone()
        )
        .is_ok(),
        "another town of the county is another built-up area"
    );
    let mut county_town = NamingPolicy::default();
    county_town
        .scopes
        .add_built_up_area(["330723001", "330723002", "330723003"]);
    assert!(
        check_proposal(
            &county_town,
            &proposal("解放路", Category::Road, "330723002"),
            others.clone()
        )
        .is_err(),
        "the county town's 街道 are one built-up area by county policy"
    );
    assert!(
        check_proposal(
            &NamingPolicy::default(),
            &proposal("解放路", Category::Road, "330482001"),
            others
        )
        .is_ok()
    );
}

#[test]
fn historic_names_and_the_renamed_record_itself_do_not_count_as_duplicates() {
    let p = pinyin_forms("解放路").full;
    let mut old = existing("a", "解放路", &p, Category::Road, "330723001");
    old.status = NameStatus::Historic;
    assert!(
        check_proposal(
            &NamingPolicy::default(),
            &proposal("解放路", Category::Road, "330723001"),
            [old]
        )
        .is_ok()
    );
    let own = existing("b", "解放路", &p, Category::Road, "330723001");
    let mut renaming = proposal("解放路", Category::Road, "330723001");
    renaming.renaming = Some("b");
    assert!(check_proposal(&NamingPolicy::default(), &renaming, [own]).is_ok());
}

#[test]
fn a_homophone_in_scope_warns_and_names_the_other_record() {
    // 南湖 and 楠湖 are both "nanhu".
    let p = pinyin_forms("南湖村").full;
    let others = [existing(
        "a",
        "南湖村",
        &p,
        Category::VillageSeat,
        "330723105201",
    )];
    let warnings = check_proposal(
        &NamingPolicy::default(),
        &proposal("楠湖村", Category::VillageSeat, "330723001009"),
        others,
    )
    .expect("a homophone only warns");
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].code, WARNING_HOMOPHONE);
    assert!(warnings[0].message.contains("南湖村"));
}

#[test]
fn person_foreign_rare_and_exaggerated_names_are_refused_art_10() {
    let policy = NamingPolicy::default();
    let cases = [
        ("雷锋路", "PLACENAME_PERSON_NAME"),
        ("维多利亚花园", "PLACENAME_FOREIGN_NAME"),
        ("曼哈顿小区", "PLACENAME_FOREIGN_NAME"),
        ("\u{3400}家村", "PLACENAME_RARE_CHARACTER"),
        ("帝景苑", "PLACENAME_EXAGGERATED"),
        ("皇家花园", "PLACENAME_EXAGGERATED"),
        ("宇宙中心大厦", "PLACENAME_EXAGGERATED"),
        ("国际公寓", "PLACENAME_EXAGGERATED"),
        ("世界城", "PLACENAME_EXAGGERATED"),
        ("中央公园", "PLACENAME_EXAGGERATED"),
    ];
    for (name, reason) in cases {
        let err = check_words(&policy, name).expect_err(name);
        assert_eq!(err.reason(), reason, "{name}");
    }
    assert_eq!(check_words(&policy, "解放路"), Ok(vec![]));
}

#[test]
fn milder_exaggerations_and_odd_words_warn_with_reasons() {
    let warnings = check_words(&NamingPolicy::default(), "第一豪庭").expect("warns only");
    assert_eq!(
        warnings
            .iter()
            .filter(|w| w.code == WARNING_EXAGGERATED)
            .count(),
        2
    );
    let warnings = check_words(&NamingPolicy::default(), "鬼屋巷").expect("warns only");
    assert_eq!(warnings[0].code, WARNING_ODD);
}

#[test]
fn the_lists_are_configurable() {
    let mut policy = NamingPolicy::default();
    policy.person_names.push("张三".into());
    policy.allowed_characters.push('\u{3400}');
    assert!(check_words(&policy, "张三路").is_err());
    assert!(check_words(&policy, "\u{3400}家村").is_ok());
}

#[test]
fn renaming_a_protected_historic_name_warns() {
    let mut p = proposal("新华路", Category::Road, "330723001");
    p.renaming = Some("old");
    p.renaming_protected = true;
    let warnings = check_proposal(&NamingPolicy::default(), &p, []).expect("ok");
    assert_eq!(warnings[0].code, WARNING_PROTECTED_HERITAGE);
}

fn w(code: &str) -> Warning {
    Warning {
        code: code.into(),
        message: String::new(),
    }
}

#[test]
fn a_favourable_review_must_address_every_warning() {
    let warnings = [w(WARNING_HOMOPHONE)];
    assert_eq!(
        review(Stage::Checked, &warnings, true, &[], false),
        Err(Refusal::WarningNotAddressed(vec![WARNING_HOMOPHONE.into()]))
    );
    assert_eq!(
        review(
            Stage::Checked,
            &warnings,
            true,
            &[WARNING_HOMOPHONE.into()],
            false
        ),
        Ok(Stage::Reviewed)
    );
}

#[test]
fn an_unfavourable_review_rejects_the_application() {
    assert_eq!(
        review(Stage::Checked, &[w(WARNING_HOMOPHONE)], false, &[], false),
        Ok(Stage::Rejected)
    );
}

#[test]
fn a_protected_name_needs_the_heritage_assessment_in_the_review() {
    let warnings = [w(WARNING_PROTECTED_HERITAGE)];
    let addressed = [WARNING_PROTECTED_HERITAGE.to_owned()];
    assert_eq!(
        review(Stage::Checked, &warnings, true, &addressed, false),
        Err(Refusal::HeritageReviewRequired)
    );
    assert_eq!(
        review(Stage::Checked, &warnings, true, &addressed, true),
        Ok(Stage::Reviewed)
    );
}

#[test]
fn a_review_happens_once() {
    assert!(matches!(
        review(Stage::Reviewed, &[], true, &[], false),
        Err(Refusal::WrongStage { .. })
    ));
}

#[test]
fn approval_needs_a_favourable_review_and_sets_fifteen_day_deadlines_art_13() {
    let cal = HolidayCalendar::embedded();
    assert!(matches!(
        approve(&cal, Stage::Checked, date!(2026 - 03 - 02)),
        Err(Refusal::WrongStage { .. })
    ));
    assert_eq!(
        approve(&cal, Stage::Rejected, date!(2026 - 03 - 02)),
        Err(Refusal::ReviewUnfavourable)
    );
    let d = approve(&cal, Stage::Reviewed, date!(2026 - 03 - 02)).expect("approved");
    assert_eq!(d.filing_due, date!(2026 - 03 - 17));
    // 2026-04-20 + 15 = 05-05 (Labour Day holiday) -> 05-06.
    let d = approve(&cal, Stage::Reviewed, date!(2026 - 04 - 20)).expect("approved");
    assert_eq!(d.announcement_due, date!(2026 - 05 - 06));
}

#[test]
fn filing_and_announcement_after_fifteen_days_are_recorded_late() {
    let d = Deadlines {
        filing_due: date!(2026 - 03 - 17),
        announcement_due: date!(2026 - 03 - 17),
    };
    let approved = date!(2026 - 03 - 02);
    assert_eq!(
        publish(
            Stage::Approved,
            approved,
            d,
            date!(2026 - 03 - 17),
            date!(2026 - 03 - 18)
        ),
        Ok((false, true))
    );
    assert_eq!(
        publish(
            Stage::Approved,
            approved,
            d,
            date!(2026 - 03 - 01),
            date!(2026 - 03 - 03)
        ),
        Err(Refusal::BeforeApproval)
    );
    assert!(publish(Stage::Reviewed, approved, d, approved, approved).is_err());
}
