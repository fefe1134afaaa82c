//! The scope in which a name must not repeat (地名管理条例 2022 art. 9; 地名管理条例实施办法
//! 2024): county-level divisions and above nationwide; townships within the province; villages
//! and residents' committees within the county; roads, streets, lanes, residential areas and
//! buildings within the same built-up area of a town (同一城镇区域). Which built-up area a
//! township belongs to, and the scope of the categories the regulation leaves open, are county
//! policy ([`ScopePolicy`]).

use std::collections::HashMap;

use super::name::Category;

/// Where a name of a category must be unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Nationwide,
    Province,
    County,
    /// 乡镇: the 9-digit township.
    Township,
    /// 城镇区域: the built-up area the township belongs to (by county policy; a township not
    /// listed is a built-up area of its own).
    BuiltUpArea,
}

impl Scope {
    /// Parses `county`, `built_up_area`, ... (county configuration).
    pub fn parse(s: &str) -> Option<Scope> {
        match s.trim().to_ascii_lowercase().as_str() {
            "nationwide" => Some(Scope::Nationwide),
            "province" => Some(Scope::Province),
            "county" => Some(Scope::County),
            "township" => Some(Scope::Township),
            "built_up_area" => Some(Scope::BuiltUpArea),
            _ => None,
        }
    }
}

/// County policy on the art. 9 scopes.
#[derive(Debug, Clone)]
pub struct ScopePolicy {
    per_category: HashMap<Category, Scope>,
    /// Township code -> the built-up area (named by its first township) it belongs to.
    areas: HashMap<String, String>,
}

impl Default for ScopePolicy {
    /// Roads and residential areas within the built-up area (art. 9); the other non-division
    /// categories within the county (villages by art. 9; natural features, parks,
    /// infrastructure and others by the county's choice, see docs/rules/placename.md).
    fn default() -> Self {
        let per_category = [
            (Category::Road, Scope::BuiltUpArea),
            (Category::Residential, Scope::BuiltUpArea),
        ]
        .into_iter()
        .collect();
        ScopePolicy {
            per_category,
            areas: HashMap::new(),
        }
    }
}

impl ScopePolicy {
    /// Sets the scope of a category (administrative divisions keep the regulation's scopes).
    pub fn set(&mut self, category: Category, scope: Scope) {
        if category != Category::AdministrativeDivision {
            self.per_category.insert(category, scope);
        }
    }

    /// Declares townships that form one built-up area (e.g. a county town's 街道).
    pub fn add_built_up_area<'a>(&mut self, townships: impl IntoIterator<Item = &'a str>) {
        let townships: Vec<&str> = townships.into_iter().collect();
        if let Some(first) = townships.first() {
            for t in &townships {
                self.areas.insert((*t).to_owned(), (*first).to_owned());
            }
        }
    }

    pub fn scope_of(&self, category: Category) -> Scope {
        self.per_category
            .get(&category)
            .copied()
            .unwrap_or(Scope::County)
    }

    /// The built-up area of a region, or `None` above township level (a record of the whole
    /// county competes with every built-up area of it).
    fn area_of<'a>(&'a self, region: &'a str) -> Option<&'a str> {
        let township = region.get(..9)?;
        Some(self.areas.get(township).map_or(township, String::as_str))
    }

    /// Whether two records compete for the same name: same category, and the other within the
    /// scope of the first.
    pub fn competes(
        &self,
        category: Category,
        region: &str,
        other_category: Category,
        other_region: &str,
    ) -> bool {
        if category != other_category {
            return false;
        }
        let prefix = |n: usize| region.get(..n).unwrap_or(region);
        let same = |n: usize| other_region.starts_with(prefix(n));
        if category == Category::AdministrativeDivision {
            // Divisions compete with divisions of the same level only.
            return region.len() == other_region.len()
                && match region.len() {
                    0..=6 => true,
                    9 => same(2),
                    _ => same(6),
                };
        }
        match self.scope_of(category) {
            Scope::Nationwide => true,
            Scope::Province => same(2),
            Scope::County => same(6),
            Scope::Township => {
                same(6)
                    && match (region.get(..9), other_region.get(..9)) {
                        (Some(a), Some(b)) => a == b,
                        _ => true,
                    }
            }
            Scope::BuiltUpArea => {
                same(6)
                    && match (self.area_of(region), self.area_of(other_region)) {
                        (Some(a), Some(b)) => a == b,
                        _ => true,
                    }
            }
        }
    }

    /// Describes the scope of a record for messages.
    pub fn describe(&self, category: Category, region: &str) -> String {
        let county = region.get(..6).unwrap_or(region);
        if category == Category::AdministrativeDivision {
            return match region.len() {
                0..=6 => "nationwide".into(),
                9 => format!("province {}", &region[..2]),
                _ => format!("county {county}"),
            };
        }
        match self.scope_of(category) {
            Scope::Nationwide => "nationwide".into(),
            Scope::Province => format!("province {}", region.get(..2).unwrap_or(region)),
            Scope::County => format!("county {county}"),
            Scope::Township => match region.get(..9) {
                Some(t) => format!("township {t}"),
                None => format!("county {county}"),
            },
            Scope::BuiltUpArea => match self.area_of(region) {
                Some(area) => format!("the built-up area of {area}"),
                None => format!("county {county}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn villages_repeat_within_the_county_only_art_9() {
        let p = ScopePolicy::default();
        let v = Category::VillageSeat;
        assert!(p.competes(v, "330723001001", v, "330723105201"));
        assert!(!p.competes(v, "330723001001", v, "330724001001"));
    }

    #[test]
    fn townships_repeat_within_the_province_and_counties_nationwide_art_9() {
        let p = ScopePolicy::default();
        let t = Category::AdministrativeDivision;
        assert!(p.competes(t, "330723001", t, "330482101"));
        assert!(!p.competes(t, "330723001", t, "512021101"));
        assert!(p.competes(t, "330723", t, "512021"));
        // A township and a county of the same name do not compete.
        assert!(!p.competes(t, "330723001", t, "330724"));
    }

    #[test]
    fn roads_repeat_within_the_built_up_area_of_a_town_not_the_county_art_9() {
        let mut p = ScopePolicy::default();
        let r = Category::Road;
        // Two towns of one county: two built-up areas.
        assert!(!p.competes(r, "330723001", r, "330723101"));
        assert!(p.competes(r, "330723001", r, "330723001"));
        // A road recorded for the whole county competes everywhere in it.
        assert!(p.competes(r, "330723001", r, "330723"));
        assert!(!p.competes(r, "330723001", r, "330482001"));
        // The county town's three 街道 form one built-up area by county policy.
        p.add_built_up_area(["330723001", "330723002", "330723003"]);
        assert!(p.competes(r, "330723001", r, "330723003001"));
        assert!(!p.competes(r, "330723001", r, "330723101"));
        assert!(!p.competes(r, "330723001", Category::Residential, "330723001"));
    }

    #[test]
    fn the_scope_of_a_category_is_county_policy() {
        let mut p = ScopePolicy::default();
        let park = Category::Park;
        assert!(p.competes(park, "330723001", park, "330723101"));
        p.set(park, Scope::Township);
        assert!(!p.competes(park, "330723001", park, "330723101"));
        p.set(Category::AdministrativeDivision, Scope::Township);
        let t = Category::AdministrativeDivision;
        assert!(
            p.competes(t, "330723001", t, "330482101"),
            "the law's scope"
        );
        assert_eq!(Scope::parse("built_up_area"), Some(Scope::BuiltUpArea));
        assert_eq!(Scope::parse("town"), None);
    }
}
