//! Fuzzy search: ranked Chinese text with one wrong character tolerated, through the
//! character postings; Latin text inside the pinyin by a linear scan.

use super::{BadToken, Entry, SearchIndex, Token};
use crate::domain::name::normalise_pinyin_query;

impl SearchIndex {
    /// Fuzzy search of Chinese text, ranked (see [`rank`]): the exact name, names starting
    /// with it, containing it, containing its characters in order, then names with one wrong
    /// character (a homophone before any other). Within a rank shorter names come first.
    /// Candidates are the names sharing all but one of the query's characters (the character
    /// postings), so a search never scans the whole database.
    pub(super) fn fuzzy(
        &self,
        text: &str,
        token: &Option<Token>,
        limit: usize,
        keep: &dyn Fn(&Entry) -> bool,
        out: &mut Vec<(u8, u32)>,
    ) {
        let wanted: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
        if wanted.is_empty() {
            return;
        }
        let after = token.as_ref().map(|t| {
            (
                t.phase,
                t.key.chars().count(),
                t.key.as_str(),
                t.id.as_str(),
            )
        });
        let mut hits: Vec<(u8, usize, u32)> = Vec::new();
        for slot in self.fuzzy_candidates(&wanted) {
            let e = &self.entries[slot as usize];
            let Some(tier) = rank(&wanted, &e.name) else {
                continue;
            };
            let len = e.name.chars().count();
            if after.is_some_and(|a| (tier, len, e.name.as_str(), e.id.as_str()) <= a) {
                continue;
            }
            if keep(e) {
                hits.push((tier, len, slot));
            }
        }
        let order = |a: &(u8, usize, u32), b: &(u8, usize, u32)| {
            let (ea, eb) = (&self.entries[a.2 as usize], &self.entries[b.2 as usize]);
            (a.0, a.1, &ea.name, &ea.id).cmp(&(b.0, b.1, &eb.name, &eb.id))
        };
        if hits.len() > limit {
            hits.select_nth_unstable_by(limit, order);
            hits.truncate(limit);
        }
        hits.sort_unstable_by(order);
        out.extend(hits.into_iter().map(|(tier, _, slot)| (tier, slot)));
    }

    /// Slots of the names that may match: holding every query character, or, in a query of
    /// [`MIN_TYPO_QUERY`] characters or more, one character off at some position: such a name
    /// holds the query's runs on either side of that position, so their adjacent pairs (or a
    /// lone character) select it. When those runs alone select more than [`TYPO_DRIVER_CAP`]
    /// names, only a homophone of the query's character is looked for there (a typo in the
    /// one distinctive character of 永村委会 would otherwise match every 村委会 of the
    /// country). Sorted, unique.
    fn fuzzy_candidates(&self, wanted: &[char]) -> Vec<u32> {
        let mut all = self.holding(wanted.to_vec());
        if wanted.len() >= MIN_TYPO_QUERY {
            for at in 0..wanted.len() {
                let (left, right) = (&wanted[..at], &wanted[at + 1..]);
                let mut rest = self.run_postings(left);
                rest.extend(self.run_postings(right));
                if rest.iter().map(|l| l.len()).min() <= Some(TYPO_DRIVER_CAP) {
                    all.extend(intersect(rest));
                    continue;
                }
                for homophone in self.homophones(wanted[at]) {
                    let mut with = rest.clone();
                    if let Some(&before) = left.last() {
                        with.push(self.pair_posting(before, homophone));
                    }
                    if let Some(&after) = right.first() {
                        with.push(self.pair_posting(homophone, after));
                    }
                    all.extend(intersect(with));
                }
            }
        }
        all.sort_unstable();
        all.dedup();
        all
    }

    fn posting(&self, c: &char) -> &[u32] {
        self.by_char.get(c).map_or(&[], Vec::as_slice)
    }

    fn pair_posting(&self, a: char, b: char) -> &[u32] {
        self.by_pair
            .get(&super::pair_key(a, b))
            .map_or(&[], Vec::as_slice)
    }

    /// The postings a name holding this run of characters is in: its adjacent pairs, or its
    /// one character.
    fn run_postings(&self, run: &[char]) -> Vec<&[u32]> {
        match run {
            [] => Vec::new(),
            [c] => vec![self.posting(c)],
            _ => run
                .windows(2)
                .map(|w| self.pair_posting(w[0], w[1]))
                .collect(),
        }
    }

    /// Slots whose name holds every one of `chars`, driven by the rarest.
    fn holding(&self, mut chars: Vec<char>) -> Vec<u32> {
        chars.sort_unstable();
        chars.dedup();
        intersect(chars.iter().map(|c| self.posting(c)).collect())
    }

    /// The other characters of the index with the same toneless reading.
    fn homophones(&self, c: char) -> Vec<char> {
        use pinyin::ToPinyin;
        let Some(reading) = c.to_pinyin() else {
            return Vec::new();
        };
        self.by_sound
            .get(reading.plain())
            .map(|v| v.iter().copied().filter(|h| *h != c).collect())
            .unwrap_or_default()
    }

    /// Files a character of the index under its reading.
    pub(super) fn add_sound(&mut self, c: char) {
        use pinyin::ToPinyin;
        if let Some(reading) = c.to_pinyin() {
            self.by_sound
                .entry(reading.plain().to_owned())
                .or_default()
                .push(c);
        }
    }

    /// Latin fuzzy text: names whose toneless pinyin or initials contain it, by name.
    pub(super) fn fuzzy_pinyin(
        &self,
        text: &str,
        token: &Option<Token>,
        limit: usize,
        keep: &dyn Fn(&Entry) -> bool,
        out: &mut Vec<(u8, u32)>,
    ) -> Result<(), BadToken> {
        let py = normalise_pinyin_query(text);
        if py.is_empty() {
            return Ok(());
        }
        let start = match token {
            Some(t) if t.phase != 0 => return Err(BadToken),
            Some(t) => self.by_name.partition_point(|&s| {
                (
                    self.entries[s as usize].name.as_str(),
                    self.entries[s as usize].id.as_str(),
                ) <= (t.key.as_str(), t.id.as_str())
            }),
            None => 0,
        };
        for &slot in &self.by_name[start..] {
            let e = &self.entries[slot as usize];
            let hit = e.pinyin_full.contains(py.as_str()) || e.initials.contains(py.as_str());
            if hit && keep(e) {
                out.push((0, slot));
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(())
    }
}

/// The slots in every list (each sorted), driven by the shortest.
fn intersect(mut lists: Vec<&[u32]>) -> Vec<u32> {
    lists.sort_by_key(|l| l.len());
    let Some((first, rest)) = lists.split_first() else {
        return Vec::new();
    };
    first
        .iter()
        .copied()
        .filter(|s| rest.iter().all(|l| l.binary_search(s).is_ok()))
        .collect()
}

/// Ranks of a fuzzy hit, best first.
pub const RANK_EXACT: u8 = 0;
pub const RANK_PREFIX: u8 = 1;
pub const RANK_CONTAINS: u8 = 2;
pub const RANK_IN_ORDER: u8 = 3;
pub const RANK_ONE_HOMOPHONE: u8 = 4;
pub const RANK_ONE_TYPO: u8 = 5;

/// Shortest query in which one wrong character is tolerated (in two characters, one wrong
/// would match half the database).
pub const MIN_TYPO_QUERY: usize = 3;

/// Largest number of names the rest of a query may match for a non-homophone typo to be
/// looked for at that position.
pub const TYPO_DRIVER_CAP: usize = 5_000;

/// How well a name matches a fuzzy query, or `None`. One wrong character is tolerated in a
/// query of [`MIN_TYPO_QUERY`] characters or more: some run of the name's characters as long as the query
/// differs from it in one place; a character of the same toneless pinyin (同音字) ranks
/// before any other typo.
pub fn rank(wanted: &[char], name: &str) -> Option<u8> {
    let chars: Vec<char> = name.chars().collect();
    if chars == wanted {
        return Some(RANK_EXACT);
    }
    if chars.starts_with(wanted) {
        return Some(RANK_PREFIX);
    }
    if chars.windows(wanted.len()).any(|w| w == wanted) {
        return Some(RANK_CONTAINS);
    }
    if is_subsequence(wanted, name) {
        return Some(RANK_IN_ORDER);
    }
    if wanted.len() < MIN_TYPO_QUERY {
        return None;
    }
    let mut best = None;
    for window in chars.windows(wanted.len()) {
        let mut differ = window.iter().zip(wanted).filter(|(a, b)| a != b);
        if let (Some((found, asked)), None) = (differ.next(), differ.next()) {
            if same_sound(*found, *asked) {
                return Some(RANK_ONE_HOMOPHONE);
            }
            best = Some(RANK_ONE_TYPO);
        }
    }
    best
}

/// Whether two characters share a toneless reading (default readings).
fn same_sound(a: char, b: char) -> bool {
    use pinyin::ToPinyin;
    match (a.to_pinyin(), b.to_pinyin()) {
        (Some(x), Some(y)) => x.plain() == y.plain(),
        _ => false,
    }
}

pub(super) fn is_latin(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_alphabetic() || c == ' ' || c == '\'')
}

fn is_subsequence(wanted: &[char], name: &str) -> bool {
    let mut it = wanted.iter().peekable();
    for c in name.chars() {
        if it.peek() == Some(&&c) {
            it.next();
        }
    }
    it.peek().is_none()
}
