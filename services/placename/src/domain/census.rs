//! 地名普查 census records: CSV rows validated one by one, so an import either takes every row
//! or reports every bad row.

use std::collections::HashMap;

use civil_id::RegionCode;

use super::name::{Category, NameStatus, rare_characters};
use super::scope::ScopePolicy;

/// Columns of the census CSV, in order.
pub const HEADER: [&str; 10] = [
    "name",
    "generic_part",
    "category",
    "region_code",
    "longitude_e6",
    "latitude_e6",
    "location",
    "origin_meaning",
    "status",
    "approval_document",
];

/// A row that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CensusRecord {
    pub line: usize,
    pub name: String,
    pub specific_part: String,
    pub generic_part: String,
    pub category: Category,
    pub region: String,
    pub longitude_e6: i64,
    pub latitude_e6: i64,
    pub location: String,
    pub origin_meaning: String,
    pub status: NameStatus,
    pub approval_document: String,
    /// 地名文化遗产 (optional 11th column, 0/1).
    pub protected_heritage: bool,
}

/// The optional 11th column.
pub const HERITAGE_COLUMN: &str = "protected_heritage";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line; the header is line 1.
    pub line: usize,
    pub column: String,
    pub message: String,
}

fn err(line: usize, column: &str, message: impl Into<String>) -> RowError {
    RowError {
        line,
        column: column.to_owned(),
        message: message.into(),
    }
}

/// Splits CSV text into records of fields (RFC 4180: quoted fields, "" escapes, CRLF or LF).
/// Returns each record with its 1-based starting line.
pub fn parse_csv(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut records = Vec::new();
    let mut field = String::new();
    let mut fields = Vec::new();
    let mut in_quotes = false;
    let mut line = 1;
    let mut start_line = 1;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        match c {
            '"' if in_quotes && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => fields.push(std::mem::take(&mut field)),
            '\r' if !in_quotes => {}
            '\n' if !in_quotes => {
                fields.push(std::mem::take(&mut field));
                records.push((start_line, std::mem::take(&mut fields)));
                line += 1;
                start_line = line;
                any = false;
            }
            '\n' => {
                line += 1;
                field.push(c);
            }
            _ => field.push(c),
        }
    }
    if any {
        fields.push(field);
        records.push((start_line, fields));
    }
    records.retain(|(_, f)| !(f.len() == 1 && f[0].trim().is_empty()));
    records
}

/// Validates every row: fields, name = 专名 + 通名, characters, and no two rows with the same
/// name in one art. 9 scope. `in_scope` tells whether the caller may write in a region;
/// `taken` the code of a record of the database holding the name in the scope.
pub fn validate(
    text: &str,
    allowed_characters: &[char],
    scopes: &ScopePolicy,
    in_scope: impl Fn(&RegionCode) -> bool,
    taken: impl Fn(&str, Category, &str) -> Option<String>,
) -> Result<Vec<CensusRecord>, Vec<RowError>> {
    let mut rows = parse_csv(text).into_iter();
    let mut errors = Vec::new();
    let with_heritage = HEADER.iter().copied().chain([HERITAGE_COLUMN]);
    let columns = match rows.next() {
        Some((_, header)) if header.iter().map(|h| h.trim()).eq(HEADER) => HEADER.len(),
        Some((_, header)) if header.iter().map(|h| h.trim()).eq(with_heritage) => HEADER.len() + 1,
        _ => {
            let message = format!(
                "must be {} (optionally ,{HERITAGE_COLUMN})",
                HEADER.join(",")
            );
            return Err(vec![err(1, "header", message)]);
        }
    };
    let mut records: Vec<CensusRecord> = Vec::new();
    let mut seen: HashMap<String, Vec<usize>> = HashMap::new();
    for (line, fields) in rows {
        if fields.len() != columns {
            errors.push(err(
                line,
                "",
                format!("expected {columns} columns, got {}", fields.len()),
            ));
            continue;
        }
        let before = errors.len();
        let f: Vec<&str> = fields.iter().map(|s| s.trim()).collect();
        let name = f[0];
        let generic = f[1];
        if name.is_empty() {
            errors.push(err(line, "name", "is required"));
        }
        if generic.is_empty() || !name.ends_with(generic) || name.len() == generic.len() {
            errors.push(err(
                line,
                "generic_part",
                "must be a non-empty ending of name, after a non-empty 专名",
            ));
        }
        for (i, column, max) in [
            (0, "name", 40),
            (6, "location", 200),
            (7, "origin_meaning", 10_000),
            (9, "approval_document", 200),
        ] {
            if f[i].chars().count() > max {
                errors.push(err(
                    line,
                    column,
                    format!("must be at most {max} characters"),
                ));
            } else if f[i]
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\t'))
            {
                errors.push(err(line, column, "must not contain control characters"));
            }
        }
        let rare = rare_characters(name, allowed_characters);
        if !rare.is_empty() {
            errors.push(err(
                line,
                "name",
                format!("rare characters {rare:?} outside the standard table"),
            ));
        }
        let category = Category::parse(f[2]);
        if category.is_none() {
            errors.push(err(line, "category", "unknown category"));
        }
        let region = match RegionCode::parse(f[3]) {
            Ok(r) if r.as_str().len() >= 6 && in_scope(&r) => Some(r),
            Ok(r) if r.as_str().len() >= 6 => {
                errors.push(err(line, "region_code", "outside the caller's region"));
                None
            }
            Ok(_) => {
                errors.push(err(
                    line,
                    "region_code",
                    "must be a county, township or village code",
                ));
                None
            }
            Err(e) => {
                errors.push(err(line, "region_code", e.to_string()));
                None
            }
        };
        let mut coordinate = |i: usize, column: &str| -> i64 {
            if f[i].is_empty() {
                return 0;
            }
            f[i].parse().unwrap_or_else(|_| {
                errors.push(err(line, column, "must be an integer (degrees x 1e6)"));
                0
            })
        };
        let longitude_e6 = coordinate(4, "longitude_e6");
        let latitude_e6 = coordinate(5, "latitude_e6");
        let protected_heritage = match f.get(10).copied().unwrap_or("") {
            "" | "0" => false,
            "1" => true,
            _ => {
                errors.push(err(line, HERITAGE_COLUMN, "must be 0 or 1"));
                false
            }
        };
        let status = NameStatus::parse(f[8]);
        if status.is_none() {
            errors.push(err(line, "status", "must be PROPOSED, IN_USE or HISTORIC"));
        }
        if errors.len() > before {
            continue;
        }
        let (Some(category), Some(region), Some(status)) = (category, region, status) else {
            continue;
        };
        let region = region.as_str().to_owned();
        if status != NameStatus::Historic {
            let clash = seen.get(name).into_iter().flatten().find(|&&i| {
                let other = &records[i];
                other.status != NameStatus::Historic
                    && scopes.competes(category, &region, other.category, &other.region)
            });
            if let Some(&i) = clash {
                errors.push(err(
                    line,
                    "name",
                    format!("repeats line {} in the art. 9 scope", records[i].line),
                ));
                continue;
            }
            if let Some(code) = taken(name, category, &region) {
                let scope = scopes.describe(category, &region);
                errors.push(err(
                    line,
                    "name",
                    format!("already in the database within {scope}: record {code}"),
                ));
                continue;
            }
        }
        seen.entry(name.to_owned()).or_default().push(records.len());
        records.push(CensusRecord {
            line,
            name: name.to_owned(),
            specific_part: name[..name.len() - generic.len()].to_owned(),
            generic_part: generic.to_owned(),
            category,
            region,
            longitude_e6,
            latitude_e6,
            location: f[6].to_owned(),
            origin_meaning: f[7].to_owned(),
            status,
            approval_document: f[9].to_owned(),
            protected_heritage,
        });
    }
    if errors.is_empty() {
        Ok(records)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "name,generic_part,category,region_code,longitude_e6,latitude_e6,location,origin_meaning,status,approval_document\n";

    #[test]
    fn csv_fields_may_be_quoted_with_commas_quotes_and_newlines() {
        let rows = parse_csv("a,\"b,c\",\"d\"\"e\"\r\n\"f\ng\",h\n\n");
        assert_eq!(
            rows,
            vec![
                (1, vec!["a".into(), "b,c".into(), "d\"e".into()]),
                (2, vec!["f\ng".into(), "h".into()])
            ]
        );
    }

    #[test]
    fn good_rows_import_with_their_parts() {
        let csv = format!(
            "{HEAD}解放路,路,ROAD,330723001,119816000,28893000,东起城东路,纪念解放,IN_USE,武政〔1985〕12号\n"
        );
        let records =
            validate(&csv, &[], &ScopePolicy::default(), |_| true, |_, _, _| None).expect("valid");
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].specific_part, "解放");
        assert_eq!(records[0].category, Category::Road);
        assert_eq!(records[0].longitude_e6, 119_816_000);
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line_and_column() {
        let csv = format!(
            "{HEAD}解放路,街,ROAD,330723001,,,,,IN_USE,\n\
             中山路,路,NOPE,330723001,,,,,IN_USE,\n\
             人民路,路,ROAD,33072,,,,,IN_USE,\n\
             东风路,路,ROAD,330723001,x,,,,IN_USE,\n\
             \u{3400}家路,路,ROAD,330723001,,,,,IN_USE,\n\
             只有,两列\n\
             好路,路,ROAD,330723001,,,,,IN_USE,\n\
             好路,路,ROAD,330723001001,,,,,IN_USE,\n"
        );
        let errors = validate(&csv, &[], &ScopePolicy::default(), |_| true, |_, _, _| None)
            .expect_err("bad rows");
        let got: Vec<(usize, &str)> = errors.iter().map(|e| (e.line, e.column.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (2, "generic_part"),
                (3, "category"),
                (4, "region_code"),
                (5, "longitude_e6"),
                (6, "name"),
                (7, ""),
                (9, "name")
            ]
        );
    }

    #[test]
    fn names_already_in_the_database_and_regions_outside_the_caller_are_errors() {
        let csv = format!(
            "{HEAD}解放路,路,ROAD,330723001,,,,,IN_USE,\n人民路,路,ROAD,330482001,,,,,IN_USE,\n"
        );
        let errors = validate(
            &csv,
            &[],
            &ScopePolicy::default(),
            |r| r.as_str().starts_with("330723"),
            |n, _, _| (n == "解放路").then(|| "33072305000001".to_owned()),
        )
        .expect_err("bad rows");
        assert_eq!(errors.len(), 2);
        assert!(errors[0].message.contains("already"));
        assert!(errors[1].message.contains("outside"));
    }

    #[test]
    fn the_optional_heritage_column_marks_protected_names() {
        let head = format!("{},protected_heritage\n", HEAD.trim_end());
        let csv = format!("{head}解放路,路,ROAD,330723001,,,,,IN_USE,,1\n");
        let records =
            validate(&csv, &[], &ScopePolicy::default(), |_| true, |_, _, _| None).expect("valid");
        assert!(records[0].protected_heritage);
        let csv = format!("{head}解放路,路,ROAD,330723001,,,,,IN_USE,,x\n");
        let errors = validate(&csv, &[], &ScopePolicy::default(), |_| true, |_, _, _| None)
            .expect_err("bad");
        assert_eq!(errors[0].column, HERITAGE_COLUMN);
    }

    #[test]
    fn a_wrong_header_is_reported_on_line_one() {
        let errors = validate(
            "a,b\n",
            &[],
            &ScopePolicy::default(),
            |_| true,
            |_, _, _| None,
        )
        .expect_err("bad header");
        assert_eq!(errors[0].line, 1);
    }
}
