//! A place name: 专名 + 通名, its pinyin, category, status and the scope in which it must not
//! repeat (地名管理条例 2022 arts. 3, 9).

use pinyin::ToPinyin;

/// Categories of art. 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    NaturalFeature,
    AdministrativeDivision,
    VillageSeat,
    Park,
    Road,
    Residential,
    Infrastructure,
    Other,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::NaturalFeature,
        Category::AdministrativeDivision,
        Category::VillageSeat,
        Category::Park,
        Category::Road,
        Category::Residential,
        Category::Infrastructure,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::NaturalFeature => "NATURAL_FEATURE",
            Category::AdministrativeDivision => "ADMINISTRATIVE_DIVISION",
            Category::VillageSeat => "VILLAGE_SEAT",
            Category::Park => "PARK",
            Category::Road => "ROAD",
            Category::Residential => "RESIDENTIAL",
            Category::Infrastructure => "INFRASTRUCTURE",
            Category::Other => "OTHER",
        }
    }

    /// The proto number (1-8), also the two-digit category of the place-name code.
    pub fn number(self) -> i32 {
        Category::ALL
            .iter()
            .position(|c| *c == self)
            .map_or(0, |i| i as i32 + 1)
    }

    pub fn from_number(n: i32) -> Option<Self> {
        usize::try_from(n - 1)
            .ok()
            .and_then(|i| Category::ALL.get(i).copied())
    }

    /// Parses `ROAD`, `CATEGORY_ROAD` or `5`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let s = s.strip_prefix("CATEGORY_").unwrap_or(s);
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .or_else(|| s.parse().ok().and_then(Category::from_number))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameStatus {
    Proposed,
    InUse,
    Historic,
}

impl NameStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NameStatus::Proposed => "PROPOSED",
            NameStatus::InUse => "IN_USE",
            NameStatus::Historic => "HISTORIC",
        }
    }

    /// Parses `IN_USE`, `NAME_STATUS_IN_USE` or `2`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let s = s.strip_prefix("NAME_STATUS_").unwrap_or(s);
        let all = [
            NameStatus::Proposed,
            NameStatus::InUse,
            NameStatus::Historic,
        ];
        all.into_iter().find(|c| c.as_str() == s).or(match s {
            "1" => Some(NameStatus::Proposed),
            "2" => Some(NameStatus::InUse),
            "3" => Some(NameStatus::Historic),
            _ => None,
        })
    }
}

/// Returns the toneless pinyin syllables of a name (default reading of each character; ü as
/// v), skipping characters without pinyin (digits keep themselves).
pub fn syllables(name: &str) -> Vec<String> {
    name.chars()
        .zip(name.to_pinyin())
        .filter_map(|(ch, py)| match py {
            Some(p) => Some(p.plain().replace('ü', "v")),
            None if ch.is_ascii_alphanumeric() => Some(ch.to_ascii_lowercase().to_string()),
            None => None,
        })
        .collect()
}

/// Pinyin forms a name is searched by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinyinForms {
    /// Syllables separated by spaces, for display: "jie fang lu".
    pub spaced: String,
    /// Syllables joined: "jiefanglu" (homophones compare on this).
    pub full: String,
    /// First letters: "jfl".
    pub initials: String,
}

pub fn pinyin_forms(name: &str) -> PinyinForms {
    let syl = syllables(name);
    PinyinForms {
        spaced: syl.join(" "),
        full: syl.concat(),
        initials: syl.iter().filter_map(|s| s.chars().next()).collect(),
    }
}

/// Normalises a pinyin query: lower case, without spaces, apostrophes and tone digits.
pub fn normalise_pinyin_query(q: &str) -> String {
    q.chars()
        .filter(|c| c.is_ascii_alphabetic())
        .map(|c| c.to_ascii_lowercase())
        .collect::<String>()
        .replace('ü', "v")
}

/// 通名 recognised when a census or seed record gives only the full name, longest first.
const GENERICS: [&str; 38] = [
    "社区居民委员会",
    "村民委员会",
    "居民委员会",
    "社区居委会",
    "村委会",
    "居委会",
    "管委会",
    "街道",
    "社区",
    "大道",
    "大街",
    "胡同",
    "小区",
    "花园",
    "公园",
    "水库",
    "大桥",
    "乡",
    "镇",
    "村",
    "路",
    "街",
    "巷",
    "弄",
    "山",
    "河",
    "江",
    "湖",
    "溪",
    "岛",
    "桥",
    "苑",
    "园",
    "区",
    "县",
    "市",
    "场",
    "站",
];

/// Splits a full name into 专名 and 通名 by the longest known generic suffix; a name with no
/// known suffix is all 专名.
pub fn split_generic(name: &str) -> (&str, &str) {
    let mut best: Option<&str> = None;
    for g in GENERICS {
        if name.ends_with(g) && name.len() > g.len() && best.is_none_or(|b| g.len() > b.len()) {
            best = Some(g);
        }
    }
    match best {
        Some(g) => name.split_at(name.len() - g.len()),
        None => (name, ""),
    }
}

/// Returns the characters of `name` outside the standard character table, approximated by the
/// CJK Unified Ideographs basic block (U+4E00-U+9FFF) plus ASCII digits, 〇 and `allow`.
pub fn rare_characters(name: &str, allow: &[char]) -> String {
    name.chars()
        .filter(|c| {
            !(('\u{4E00}'..='\u{9FFF}').contains(c)
                || c.is_ascii_digit()
                || *c == '〇'
                || allow.contains(c))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinyin_is_toneless_with_full_and_initial_forms() {
        let p = pinyin_forms("解放路");
        assert_eq!(p.spaced, "jie fang lu");
        assert_eq!(p.full, "jiefanglu");
        assert_eq!(p.initials, "jfl");
        assert_eq!(pinyin_forms("绿洲路").full, "lvzhoulu");
        assert_eq!(pinyin_forms("108国道").full, "108guodao");
    }

    #[test]
    fn queries_are_normalised_to_bare_lower_case_letters() {
        assert_eq!(normalise_pinyin_query("Jie'Fang Lu"), "jiefanglu");
    }

    #[test]
    fn the_longest_generic_suffix_is_the_tongming() {
        assert_eq!(split_generic("水洞埭社区居委会"), ("水洞埭", "社区居委会"));
        assert_eq!(split_generic("壶山街道"), ("壶山", "街道"));
        assert_eq!(split_generic("解放路"), ("解放", "路"));
        assert_eq!(split_generic("路"), ("路", ""));
    }

    #[test]
    fn characters_outside_the_basic_cjk_block_are_rare_unless_allowed() {
        assert_eq!(rare_characters("解放路", &[]), "");
        assert_eq!(rare_characters("108国道", &[]), "");
        // U+3400 is CJK Extension A; U+20000 is Extension B.
        assert_eq!(rare_characters("\u{3400}家村", &[]), "\u{3400}");
        assert_eq!(rare_characters("\u{20000}村", &[]), "\u{20000}");
        assert_eq!(rare_characters("\u{3400}家村", &['\u{3400}']), "");
        assert_eq!(rare_characters("Park路", &[]), "Park");
    }

    #[test]
    fn categories_and_statuses_parse_from_names_and_numbers() {
        assert_eq!(Category::parse("ROAD"), Some(Category::Road));
        assert_eq!(Category::parse("CATEGORY_PARK"), Some(Category::Park));
        assert_eq!(Category::parse("3"), Some(Category::VillageSeat));
        assert_eq!(Category::parse("9"), None);
        assert_eq!(NameStatus::parse("IN_USE"), Some(NameStatus::InUse));
        assert_eq!(NameStatus::parse("x"), None);
        for c in Category::ALL {
            assert_eq!(Category::from_number(c.number()), Some(c));
        }
    }
}
