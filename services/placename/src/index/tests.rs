use super::*;

fn entry(id: &str, name: &str, region: &str, category: Category) -> Entry {
    Entry::new(
        id.into(),
        name.into(),
        region.into(),
        category,
        NameStatus::InUse,
    )
}

fn sample() -> SearchIndex {
    SearchIndex::build(vec![
        entry("1", "解放路", "330723001", Category::Road),
        entry("2", "解放街", "330723002", Category::Road),
        entry("3", "解放村", "330482101201", Category::VillageSeat),
        entry("4", "金华路", "330723001", Category::Road),
        entry("5", "城西路", "330723001", Category::Road),
        entry("6", "南湖村", "330723105201", Category::VillageSeat),
    ])
}

fn q(text: &str, mode: Mode) -> Query<'_> {
    Query {
        text,
        mode,
        region_prefix: "",
        category: None,
        include_historic: false,
        page_size: 20,
        page_token: "",
    }
}

fn ids(index: &SearchIndex, query: &Query<'_>) -> Vec<String> {
    index.search(query).expect("search").ids
}

#[test]
fn exact_search_finds_only_the_same_name() {
    assert_eq!(ids(&sample(), &q("解放路", Mode::Exact)), ["1"]);
}

#[test]
fn prefix_search_returns_names_in_order() {
    assert_eq!(ids(&sample(), &q("解放", Mode::Prefix)), ["3", "2", "1"]);
}

#[test]
fn pinyin_search_matches_full_pinyin_and_initials() {
    assert_eq!(ids(&sample(), &q("jiefang", Mode::Pinyin)), ["3", "2", "1"]);
    assert_eq!(ids(&sample(), &q("JieFang Lu", Mode::Pinyin)), ["1"]);
    // "jf" is a prefix of no full pinyin, but of the initials jfl, jfj, jfc.
    assert_eq!(ids(&sample(), &q("jfl", Mode::Pinyin)), ["1"]);
    // "j" matches full pinyin first, then initials not already found (jhl = 金华路 has full
    // pinyin jinhualu, also starting with j, so it appears once).
    let all = ids(&sample(), &q("j", Mode::Pinyin));
    assert_eq!(all.len(), 4);
}

#[test]
fn fuzzy_search_finds_characters_in_order_and_pinyin_inside() {
    assert_eq!(ids(&sample(), &q("放村", Mode::Fuzzy)), ["3"]);
    assert_eq!(ids(&sample(), &q("西路", Mode::Fuzzy)), ["5"]);
    assert_eq!(ids(&sample(), &q("hua", Mode::Fuzzy)), ["4"]);
}

#[test]
fn filters_apply_to_region_prefix_category_and_status() {
    let index = sample();
    let mut query = q("解放", Mode::Prefix);
    query.region_prefix = "330723";
    assert_eq!(ids(&index, &query), ["2", "1"]);
    query.region_prefix = "";
    query.category = Some(Category::VillageSeat);
    assert_eq!(ids(&index, &query), ["3"]);
    let mut index = index;
    index.upsert(Entry {
        status: NameStatus::Historic,
        ..entry("3", "解放村", "330482101201", Category::VillageSeat)
    });
    assert!(ids(&index, &query).is_empty());
    query.include_historic = true;
    assert_eq!(ids(&index, &query), ["3"]);
}

#[test]
fn pages_continue_after_the_last_result_without_repeats() {
    let mut entries = Vec::new();
    for i in 0..55 {
        entries.push(entry(
            &format!("{i:03}"),
            &format!("新村{i:03}"),
            "330723001001",
            Category::VillageSeat,
        ));
    }
    let index = SearchIndex::build(entries);
    for mode in [Mode::Prefix, Mode::Pinyin, Mode::Fuzzy] {
        let text = if mode == Mode::Pinyin { "xc" } else { "新村" };
        let mut token = String::new();
        let mut seen = Vec::new();
        loop {
            let query = Query {
                page_size: 20,
                page_token: &token,
                ..q(text, mode)
            };
            let page = index.search(&query).expect("search");
            seen.extend(page.ids);
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        assert_eq!(seen.len(), 55, "{mode:?}");
        let mut dedup = seen.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), 55, "{mode:?}");
    }
}

#[test]
fn a_forged_token_is_refused() {
    let query = Query {
        page_token: "zz",
        ..q("解放", Mode::Prefix)
    };
    assert_eq!(sample().search(&query), Err(BadToken));
}

#[test]
fn upsert_and_remove_keep_every_order_consistent() {
    let mut index = sample();
    index.upsert(entry("7", "解放桥", "330723001", Category::Infrastructure));
    index.upsert(entry("1", "新华路", "330723001", Category::Road));
    assert_eq!(ids(&index, &q("解放", Mode::Prefix)), ["3", "7", "2"]);
    assert_eq!(ids(&index, &q("xinhua", Mode::Pinyin)), ["1"]);
    index.remove("7");
    assert_eq!(ids(&index, &q("jfq", Mode::Pinyin)), Vec::<String>::new());
    assert_eq!(index.len(), 6);
    assert_eq!(index.with_name("新华路").count(), 1);
    assert_eq!(index.with_pinyin("jiefangjie").count(), 1);
}

#[test]
fn fuzzy_search_tolerates_one_wrong_character_ranked() {
    let index = SearchIndex::build(vec![
        entry("1", "青山村", "330723105201", Category::VillageSeat),
        entry("2", "青山村委会", "330723105202", Category::VillageSeat),
        entry("3", "清山村", "330723105203", Category::VillageSeat),
        entry("4", "青田村", "330723105204", Category::VillageSeat),
        entry("5", "青云山村", "330723105205", Category::VillageSeat),
        entry("6", "南湖村", "330723105206", Category::VillageSeat),
    ]);
    // A typo (三 for 山) finds 青山村 and the other one-character variants, shorter first.
    assert_eq!(ids(&index, &q("青三村", Mode::Fuzzy)), ["1", "4", "2"]);
    // Ranked: the exact name, a longer name starting with it, then a homophone (清 qing for
    // 青 qing), then another wrong character.
    assert_eq!(
        ids(&index, &q("青山村", Mode::Fuzzy)),
        ["1", "2", "5", "3", "4"]
    );
    assert_eq!(
        rank(&['青', '山', '村'], "清山村"),
        Some(RANK_ONE_HOMOPHONE)
    );
    assert_eq!(rank(&['青', '三', '村'], "青山村"), Some(RANK_ONE_TYPO));
    assert_eq!(rank(&['青', '三', '镇'], "青山村"), None, "two wrong");
    assert_eq!(
        rank(&['青'], "清山村"),
        None,
        "one character tolerates none"
    );
}

#[test]
fn ranked_fuzzy_pages_continue_without_repeats() {
    let names = [
        "青山村",
        "清山村",
        "青田村",
        "青山村委会",
        "青石村",
        "轻山村",
    ];
    let index = SearchIndex::build(
        names
            .iter()
            .enumerate()
            .map(|(i, n)| entry(&i.to_string(), n, "330723105201", Category::VillageSeat))
            .collect(),
    );
    let all = ids(&index, &q("青山村", Mode::Fuzzy));
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let query = Query {
            page_size: 2,
            page_token: &token,
            ..q("青山村", Mode::Fuzzy)
        };
        let page = index.search(&query).expect("page");
        paged.extend(page.ids);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(paged, all);
    assert_eq!(all.len(), names.len());
}
