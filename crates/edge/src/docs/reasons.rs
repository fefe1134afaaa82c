//! Error reasons: named in RPC comments, documented on constants in the code, or listed here.

use std::collections::{BTreeMap, BTreeSet};

/// Service reasons named neither in an RPC comment of the protos nor in a documented reason
/// constant of the code: documented here (from the code's message) until the RPC comment
/// names them. Cross-cutting reasons (auth, idempotency) come from their constants' doc
/// comments, the edge's from [`crate::error::EDGE_REASONS`].
pub const OTHER_REASONS: &[(&str, &str, &str)] = &[
    (
        "ASSISTANCE_NOT_APPLICABLE",
        "FAILED_PRECONDITION",
        "the operation does not apply to this kind of benefit (e.g. temporary assistance is granted directly, not computed from an application or changed through an income change); not yet named in the RPC comments",
    ),
    (
        "MARRIAGE_DIVORCE_AGREEMENT_MISSING",
        "FAILED_PRECONDITION",
        "a divorce by registration needs a written agreement; not yet named in the RPC comments",
    ),
    (
        "MARRIAGE_SERIALS_EXHAUSTED",
        "FAILED_PRECONDITION",
        "no certificate serial number is left for this office and year; not yet named in the RPC comments",
    ),
    (
        "ONEMATTER_UNKNOWN_MATTER",
        "FAILED_PRECONDITION",
        "no workflow is registered for the matter kind asked for; not yet named in the RPC comments",
    ),
    (
        "PLACENAME_ODD",
        "`Warning` value",
        "naming warning (地名管理条例 art. 10, avoid 怪: odd or bizarre wording) returned with the application; the officer addresses it, it refuses nothing",
    ),
];

/// Prefixes of `ErrorInfo.reason` strings: each service's, the auth layer's, the edge's, the
/// idempotency reason and the maker-checker rule.
pub const REASON_PREFIXES: &[&str] = &[
    "MARRIAGE_",
    "ASSISTANCE_",
    "FUNERAL_",
    "ELDERCARE_",
    "SOCIALORG_",
    "PLACENAME_",
    "ONEMATTER_",
    "AUTH_",
    "EDGE_",
    "REQUEST_ID_",
    "MAKER_CHECKER_",
];

/// Whether a string literal is an error reason by its shape and prefix.
pub fn is_reason(literal: &str) -> bool {
    literal.len() >= 4
        && !literal.ends_with('_')
        && literal
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && REASON_PREFIXES.iter().any(|p| literal.starts_with(p))
}

/// The workspace root (the generator and its tests read the code's reason constants there).
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Non-test `.rs` files under `services/` and `crates/`, sorted.
pub fn rust_sources(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                // Test code may name reasons the product never answers with.
                if p.file_name()
                    .is_some_and(|n| n == "tests" || n == "benches" || n == "target")
                {
                    continue;
                }
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("tests.rs") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for top in ["services", "crates"] {
        walk(&root.join(top), &mut out);
    }
    out.sort();
    out
}

/// Reason constants with a doc comment in the code (`/// meaning` above
/// `pub const X: &str = "X";`): reason -> (gRPC code if the file pairs it with one, meaning,
/// file relative to the root).
pub fn documented_constants(root: &std::path::Path) -> BTreeMap<String, (String, String, String)> {
    let mut out = BTreeMap::new();
    for file in rust_sources(root) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let code_part = text.split("#[cfg(test)]").next().unwrap_or("");
        if file.starts_with(root.join("crates/edge")) {
            continue; // the edge's own reasons: crate::error::EDGE_REASONS
        }
        let rel = file
            .strip_prefix(root)
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let lines: Vec<&str> = code_part.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            let l = line.trim();
            if !l.starts_with("pub const ") || !l.contains(": &str = \"") {
                continue;
            }
            let Some(value) = l.split('"').nth(1) else {
                continue;
            };
            let ident = l["pub const ".len()..]
                .split(':')
                .next()
                .unwrap_or("")
                .trim();
            if !is_reason(value) {
                continue;
            }
            let mut doc = Vec::new();
            let mut k = n;
            while k > 0 && lines[k - 1].trim().starts_with("///") {
                k -= 1;
                doc.insert(0, lines[k].trim().trim_start_matches("///").trim());
            }
            if doc.is_empty() {
                continue;
            }
            out.insert(
                value.to_owned(),
                (
                    code_paired_with(code_part, ident),
                    doc.join(" "),
                    rel.clone(),
                ),
            );
        }
    }
    out
}

/// The gRPC code a file writes just before `ident` (`Code::PermissionDenied, AUTH_X`), if any.
fn code_paired_with(text: &str, ident: &str) -> String {
    for (i, _) in text.match_indices(ident) {
        // 120 bytes back, moved forward onto a character boundary (comments hold Chinese).
        let mut start = i.saturating_sub(120);
        while !text.is_char_boundary(start) {
            start += 1;
        }
        let before = &text[start..i];
        if let Some(at) = before.rfind("Code::") {
            let name: String = before[at + 6..]
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            let mut snake = String::new();
            for (n, c) in name.chars().enumerate() {
                if c.is_ascii_uppercase() && n > 0 {
                    snake.push('_');
                }
                snake.push(c.to_ascii_uppercase());
            }
            if CODES.contains(&snake.as_str()) {
                return snake;
            }
        }
    }
    "see meaning".into()
}

/// gRPC code names: words in comments that are codes, not reasons.
pub(crate) const CODES: &[&str] = &[
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// One error reason named in a comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reason {
    pub reason: String,
    /// The gRPC code the comment gives it (FAILED_PRECONDITION unless it says otherwise).
    pub code: String,
    /// The words after it in the comment (a parenthesis or a `when` clause), if any.
    pub meaning: String,
}

/// The error reasons a comment names, in order.
pub fn reasons_in(comment: &str, not_reasons: &BTreeSet<String>) -> Vec<Reason> {
    let mut out = Vec::new();
    let mut code = String::new();
    let chars: Vec<char> = comment.chars().collect();
    let mut i = 0;
    // Where the last code word ended: a code names the reason right after it
    // ("RESOURCE_EXHAUSTED `X`", "ALREADY_EXISTS with an ErrorInfo (reason X"), not one further
    // on in a list ("NOT_FOUND, and, for mutating RPCs, X").
    let mut code_end = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts = c.is_ascii_uppercase() && (i == 0 || !is_word(chars[i - 1]));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len()
            && (chars[j].is_ascii_uppercase() || chars[j].is_ascii_digit() || chars[j] == '_')
        {
            j += 1;
        }
        if j < chars.len() && is_word(chars[j]) {
            i = j;
            continue;
        }
        let word: String = chars[i..j].iter().collect();
        let word = word.trim_end_matches('_').to_owned();
        let start = i;
        i = j;
        if !word.contains('_') || word.starts_with('_') {
            continue;
        }
        if CODES.contains(&word.as_str()) {
            code = word;
            code_end = j;
            continue;
        }
        if not_reasons.contains(&word) {
            continue;
        }
        let gap = &chars[code_end.min(start)..start];
        let code = if code_end > 0
            && gap.len() <= 40
            && !gap.iter().any(|c| matches!(c, ',' | ';' | '.' | ':'))
        {
            code.clone()
        } else {
            "FAILED_PRECONDITION".to_owned()
        };
        let meaning = meaning_after(&chars[j..]);
        if !out.iter().any(|r: &Reason| r.reason == word) {
            out.push(Reason {
                reason: word,
                code,
                meaning,
            });
        }
    }
    out
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn meaning_after(rest: &[char]) -> String {
    let mut k = 0;
    while k < rest.len() && (rest[k] == '`' || rest[k] == ' ' || rest[k] == '\n') {
        k += 1;
    }
    let rest = &rest[k..];
    if rest.first() == Some(&'(') {
        let mut depth = 0;
        for (n, c) in rest.iter().enumerate() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return flat(&rest[1..n]);
                    }
                }
                _ => {}
            }
        }
        return String::new();
    }
    let text: String = rest.iter().collect();
    for lead in ["when ", "if "] {
        if text.starts_with(lead) {
            let mut depth = 0;
            for (n, c) in rest.iter().enumerate() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    ';' | '.' if depth == 0 => return flat(&rest[..n]),
                    _ => {}
                }
            }
            return flat(rest);
        }
    }
    String::new()
}

fn flat(chars: &[char]) -> String {
    chars
        .iter()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
