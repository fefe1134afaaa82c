//! 标准地址: the standard address, region + road + number + building + unit + room
//! (地名管理条例 art. 21: built only from standard names).

/// The parts of a standard address. Empty strings / zero mean "absent".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    /// Region names from the province down, e.g. "浙江省金华市武义县壶山街道".
    pub region: String,
    pub road: String,
    pub number: i32,
    pub sub_number: i32,
    /// 幢 (building): "3", "A".
    pub building: String,
    /// 单元.
    pub unit: String,
    /// 室.
    pub room: String,
}

/// Why a text is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("no house number (…号) found")]
    NoNumber,
    #[error("no road name (ending in 路, 街, 巷, 大道 …) before the number")]
    NoRoad,
    #[error("unreadable text after the number: {0:?}")]
    Trailing(String),
}

/// Suffixes of region names, so the region and the road can be told apart.
const REGION_SUFFIXES: [&str; 13] = [
    "省",
    "自治区",
    "市",
    "自治州",
    "州",
    "盟",
    "地区",
    "县",
    "区",
    "旗",
    "镇",
    "乡",
    "街道",
];
/// Generic parts of roads.
const ROAD_GENERICS: [&str; 7] = ["大道", "大街", "胡同", "路", "街", "巷", "弄"];
const BUILDING_MARKS: [char; 3] = ['幢', '栋', '座'];

/// Composes the address text. Building, unit and room are omitted when empty.
pub fn compose(a: &Address) -> String {
    let mut s = format!(
        "{}{}{}",
        a.region,
        a.road,
        super::house_number::label(a.number, a.sub_number)
    );
    if !a.building.is_empty() {
        s.push_str(&a.building);
        s.push('幢');
    }
    if !a.unit.is_empty() {
        s.push_str(&a.unit);
        s.push_str("单元");
    }
    if !a.room.is_empty() {
        s.push_str(&a.room);
        s.push('室');
    }
    s
}

/// Parses an address text. `known_road` tells whether a candidate road name is a standard road
/// (the service asks its database); when none is known, the split between region and road is
/// the last region suffix that leaves a road of at least three characters.
pub fn parse(text: &str, known_road: impl Fn(&str) -> bool) -> Result<Address, AddressError> {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let (prefix, number, sub_number, rest) = split_number(&text).ok_or(AddressError::NoNumber)?;
    let (region, road) = split_region_road(prefix, known_road).ok_or(AddressError::NoRoad)?;
    let (building, unit, room) = parse_rest(rest)?;
    Ok(Address {
        region: region.to_owned(),
        road: road.to_owned(),
        number,
        sub_number,
        building,
        unit,
        room,
    })
}

/// Finds the first "<digits>[-<digits>]号" and returns (text before, number, sub-number, text
/// after). A 号 without a numeral before it (say in a name) is skipped.
fn split_number(text: &str) -> Option<(&str, i32, i32, &str)> {
    text.match_indices('号').find_map(|(at, _)| {
        let before = &text[..at];
        let digits_start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_digit() || *c == '-')
            .last()
            .map(|(i, _)| i)?;
        let numeral = &before[digits_start..];
        let (main, sub) = match numeral.split_once('-') {
            Some((m, s)) => (m.parse().ok()?, s.parse().ok()?),
            None => (numeral.parse().ok()?, 0),
        };
        Some((
            &before[..digits_start],
            main,
            sub,
            &text[at + '号'.len_utf8()..],
        ))
    })
}

fn split_region_road(prefix: &str, known_road: impl Fn(&str) -> bool) -> Option<(&str, &str)> {
    let is_road = |r: &str| !r.is_empty() && ROAD_GENERICS.iter().any(|g| r.ends_with(g));
    // Candidate split points: after each region suffix, and the very start (no region).
    let mut splits: Vec<usize> = vec![0];
    for (i, _) in prefix.char_indices().chain([(prefix.len(), ' ')]) {
        if REGION_SUFFIXES.iter().any(|s| prefix[..i].ends_with(s)) {
            splits.push(i);
        }
    }
    splits.dedup();
    let candidates: Vec<usize> = splits
        .into_iter()
        .filter(|&i| is_road(&prefix[i..]))
        .collect();
    let chosen = candidates
        .iter()
        .rev()
        .find(|&&i| known_road(&prefix[i..]))
        .or_else(|| {
            candidates
                .iter()
                .rev()
                .find(|&&i| prefix[i..].chars().count() >= 3)
        })
        .or_else(|| candidates.last())?;
    Some(prefix.split_at(*chosen))
}

fn parse_rest(rest: &str) -> Result<(String, String, String), AddressError> {
    let mut rest = rest;
    let mut building = String::new();
    if let Some((i, c)) = rest
        .char_indices()
        .find(|(_, c)| BUILDING_MARKS.contains(c))
    {
        building = rest[..i].to_owned();
        rest = &rest[i + c.len_utf8()..];
    }
    let mut unit = String::new();
    if let Some(i) = rest.find("单元") {
        unit = rest[..i].to_owned();
        rest = &rest[i + "单元".len()..];
    }
    let mut room = String::new();
    if let Some(i) = rest.find('室') {
        room = rest[..i].to_owned();
        rest = &rest[i + '室'.len_utf8()..];
    }
    if !rest.is_empty() {
        return Err(AddressError::Trailing(rest.to_owned()));
    }
    Ok((building, unit, room))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Address {
        Address {
            region: "浙江省金华市武义县壶山街道".into(),
            road: "解放路".into(),
            number: 12,
            sub_number: 1,
            building: "3".into(),
            unit: "2".into(),
            room: "501".into(),
        }
    }

    #[test]
    fn an_address_is_region_road_number_building_unit_room_art_21() {
        assert_eq!(
            compose(&full()),
            "浙江省金华市武义县壶山街道解放路12-1号3幢2单元501室"
        );
    }

    #[test]
    fn compose_then_parse_round_trips() {
        let cases = [
            full(),
            Address {
                sub_number: 0,
                building: String::new(),
                unit: String::new(),
                room: String::new(),
                ..full()
            },
            Address {
                road: "市场路".into(),
                region: "浙江省金华市武义县".into(),
                ..full()
            },
            Address {
                road: "县前街".into(),
                region: "武义县".into(),
                number: 8,
                sub_number: 0,
                ..full()
            },
            Address {
                road: "人民大道".into(),
                building: "A".into(),
                ..full()
            },
        ];
        for a in cases {
            let text = compose(&a);
            assert_eq!(parse(&text, |_| false), Ok(a), "{text}");
        }
    }

    #[test]
    fn a_known_road_decides_an_ambiguous_split() {
        // "场路" would be a road after "…市"; the database knows "市场路" only.
        let a = parse("武义县市场路3号", |r| r == "市场路").expect("parses");
        assert_eq!((a.region.as_str(), a.road.as_str()), ("武义县", "市场路"));
    }

    #[test]
    fn building_variants_and_spaces_are_accepted() {
        let a = parse("武义县 解放路 5号 2栋 1单元 302室", |_| false).expect("parses");
        assert_eq!(
            (
                a.number,
                a.building.as_str(),
                a.unit.as_str(),
                a.room.as_str()
            ),
            (5, "2", "1", "302")
        );
    }

    #[test]
    fn text_without_a_number_or_a_road_is_refused() {
        assert_eq!(
            parse("武义县解放路", |_| false),
            Err(AddressError::NoNumber)
        );
        assert_eq!(parse("武义县12号", |_| false), Err(AddressError::NoRoad));
        assert!(matches!(
            parse("武义县解放路12号楼顶", |_| false),
            Err(AddressError::Trailing(_))
        ));
    }
}
