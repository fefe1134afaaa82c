//! The in-memory search index of the place-name database.
//!
//! Built from the store on start and updated on every write, so searches never touch the
//! database. Three sorted permutations of the entries (by name, by full toneless pinyin, by
//! pinyin initials) turn exact and prefix searches into a binary search plus a range scan:
//! O(log n + page) over the ~620k national village names. Fuzzy search of Chinese text looks
//! only at the names sharing all but one of the query's characters (a posting list per
//! character) and ranks them; fuzzy Latin text (pinyin inside a name) scans linearly.
//!
//! Paging tokens carry the sort key and id of the last result, so a page continues right after
//! it even when names were added or removed in between.

use std::cmp::Ordering;
use std::collections::HashMap;

pub use fuzzy::{
    MIN_TYPO_QUERY, RANK_CONTAINS, RANK_EXACT, RANK_IN_ORDER, RANK_ONE_HOMOPHONE, RANK_ONE_TYPO,
    RANK_PREFIX, rank,
};

use crate::domain::name::{Category, NameStatus, normalise_pinyin_query, pinyin_forms};
use fuzzy::is_latin;

/// What the index keeps of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    /// 地名代码.
    pub code: String,
    pub name: String,
    /// Byte length of the 通名 at the end of `name`.
    pub generic_len: usize,
    pub pinyin_full: String,
    pub initials: String,
    pub region: String,
    pub category: Category,
    pub status: NameStatus,
}

impl Entry {
    pub fn new(
        id: String,
        name: String,
        region: String,
        category: Category,
        status: NameStatus,
    ) -> Entry {
        let p = pinyin_forms(&name);
        Entry {
            id,
            code: String::new(),
            name,
            generic_len: 0,
            pinyin_full: p.full,
            initials: p.initials,
            region,
            category,
            status,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Exact,
    Prefix,
    Pinyin,
    Fuzzy,
}

/// Filters and paging of a search.
#[derive(Debug, Clone)]
pub struct Query<'a> {
    pub text: &'a str,
    pub mode: Mode,
    pub region_prefix: &'a str,
    pub category: Option<Category>,
    pub include_historic: bool,
    pub page_size: usize,
    pub page_token: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub ids: Vec<String>,
    pub next_page_token: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("page_token is not a token of this search")]
pub struct BadToken;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Key {
    Name,
    Pinyin,
    Initials,
}

#[derive(Debug, Default)]
pub struct SearchIndex {
    entries: Vec<Entry>,
    /// Slots of removed entries, reused.
    free: Vec<u32>,
    by_id: HashMap<String, u32>,
    by_name: Vec<u32>,
    by_pinyin: Vec<u32>,
    by_initials: Vec<u32>,
    /// For each character, the slots whose name contains it (sorted): fuzzy search looks only
    /// at names sharing all but one of the query's characters.
    by_char: HashMap<char, Vec<u32>>,
    /// For each pair of adjacent characters, the slots whose name holds it (sorted): a name
    /// one character off the query holds the query's pairs on either side of that character.
    by_pair: HashMap<u64, Vec<u32>>,
    /// Toneless reading -> the characters of the index with it (同音字), for fuzzy search.
    by_sound: HashMap<String, Vec<char>>,
}

impl SearchIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds the index from many entries at once (sorting once, not per insert).
    pub fn build(entries: Vec<Entry>) -> Self {
        let mut index = SearchIndex {
            entries,
            ..Self::default()
        };
        index.by_id = index
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.clone(), i as u32))
            .collect();
        let all: Vec<u32> = (0..index.entries.len() as u32).collect();
        for key in [Key::Name, Key::Pinyin, Key::Initials] {
            let mut order = all.clone();
            order.sort_unstable_by(|&a, &b| index.cmp_slots(key, a, b));
            *index.order_mut(key) = order;
        }
        for (slot, e) in index.entries.iter().enumerate() {
            for c in distinct_chars(&e.name) {
                index.by_char.entry(c).or_default().push(slot as u32);
            }
            for pair in distinct_pairs(&e.name) {
                index.by_pair.entry(pair).or_default().push(slot as u32);
            }
        }
        let chars: Vec<char> = index.by_char.keys().copied().collect();
        for c in chars {
            index.add_sound(c);
        }
        index
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.by_id.get(id).map(|&i| &self.entries[i as usize])
    }

    /// Inserts or replaces the entry with the same id.
    pub fn upsert(&mut self, entry: Entry) {
        self.remove(&entry.id);
        let slot = match self.free.pop() {
            Some(s) => {
                self.entries[s as usize] = entry;
                s
            }
            None => {
                self.entries.push(entry);
                (self.entries.len() - 1) as u32
            }
        };
        self.by_id
            .insert(self.entries[slot as usize].id.clone(), slot);
        for key in [Key::Name, Key::Pinyin, Key::Initials] {
            let pos = self
                .order(key)
                .partition_point(|&s| self.cmp_slots(key, s, slot) == Ordering::Less);
            self.order_mut(key).insert(pos, slot);
        }
        for c in distinct_chars(&self.entries[slot as usize].name) {
            if !self.by_char.contains_key(&c) {
                self.add_sound(c);
            }
            let posting = self.by_char.entry(c).or_default();
            if let Err(pos) = posting.binary_search(&slot) {
                posting.insert(pos, slot);
            }
        }
        for pair in distinct_pairs(&self.entries[slot as usize].name) {
            let posting = self.by_pair.entry(pair).or_default();
            if let Err(pos) = posting.binary_search(&slot) {
                posting.insert(pos, slot);
            }
        }
    }

    pub fn remove(&mut self, id: &str) {
        let Some(slot) = self.by_id.remove(id) else {
            return;
        };
        for key in [Key::Name, Key::Pinyin, Key::Initials] {
            let pos = self
                .order(key)
                .partition_point(|&s| self.cmp_slots(key, s, slot) == Ordering::Less);
            if self.order(key).get(pos) == Some(&slot) {
                self.order_mut(key).remove(pos);
            }
        }
        for c in distinct_chars(&self.entries[slot as usize].name) {
            if let Some(posting) = self.by_char.get_mut(&c)
                && let Ok(pos) = posting.binary_search(&slot)
            {
                posting.remove(pos);
            }
        }
        for pair in distinct_pairs(&self.entries[slot as usize].name) {
            if let Some(posting) = self.by_pair.get_mut(&pair)
                && let Ok(pos) = posting.binary_search(&slot)
            {
                posting.remove(pos);
            }
        }
        self.free.push(slot);
    }

    /// Entries with exactly this name.
    pub fn with_name<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.range(Key::Name, name, false)
            .map(|s| &self.entries[s as usize])
    }

    /// Entries whose full toneless pinyin equals `pinyin_full`.
    pub fn with_pinyin<'a>(&'a self, pinyin_full: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.range(Key::Pinyin, pinyin_full, false)
            .map(|s| &self.entries[s as usize])
    }

    /// Runs a search and returns one page of ids.
    pub fn search(&self, q: &Query<'_>) -> Result<Page, BadToken> {
        let page_size = q.page_size.max(1);
        let filter = q.fingerprint();
        let token = decode_token(q.page_token, &filter)?;
        let keep = |e: &Entry| {
            e.region.starts_with(q.region_prefix)
                && q.category.is_none_or(|c| c == e.category)
                && (q.include_historic || e.status != NameStatus::Historic)
        };
        let mut out: Vec<(u8, u32)> = Vec::with_capacity(page_size + 1);
        match q.mode {
            Mode::Exact | Mode::Prefix => {
                let prefix = q.mode == Mode::Prefix;
                self.collect(
                    0,
                    Key::Name,
                    q.text,
                    prefix,
                    &token,
                    page_size + 1,
                    &keep,
                    &mut out,
                )?;
            }
            Mode::Pinyin => {
                let py = normalise_pinyin_query(q.text);
                if !py.is_empty() {
                    self.collect(
                        0,
                        Key::Pinyin,
                        &py,
                        true,
                        &token,
                        page_size + 1,
                        &keep,
                        &mut out,
                    )?;
                    if out.len() <= page_size {
                        // Initials that were not already found by their full pinyin.
                        let more = |e: &Entry| keep(e) && !e.pinyin_full.starts_with(py.as_str());
                        let need = page_size + 1 - out.len();
                        self.collect(1, Key::Initials, &py, true, &token, need, &more, &mut out)?;
                    }
                }
            }
            Mode::Fuzzy if is_latin(q.text) => {
                self.fuzzy_pinyin(q.text, &token, page_size + 1, &keep, &mut out)?
            }
            Mode::Fuzzy => self.fuzzy(q.text, &token, page_size + 1, &keep, &mut out),
        }
        let mut next_page_token = String::new();
        if out.len() > page_size {
            out.truncate(page_size);
            if let Some(&(phase, slot)) = out.last() {
                let key = match (q.mode, phase) {
                    (Mode::Pinyin, 1) => Key::Initials,
                    (Mode::Pinyin, _) => Key::Pinyin,
                    _ => Key::Name,
                };
                next_page_token = encode_token(
                    phase,
                    &filter,
                    self.key_of(key, slot),
                    &self.entries[slot as usize].id,
                );
            }
        }
        Ok(Page {
            ids: out
                .into_iter()
                .map(|(_, s)| self.entries[s as usize].id.clone())
                .collect(),
            next_page_token,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn collect(
        &self,
        phase: u8,
        key: Key,
        text: &str,
        prefix: bool,
        token: &Option<Token>,
        limit: usize,
        keep: &dyn Fn(&Entry) -> bool,
        out: &mut Vec<(u8, u32)>,
    ) -> Result<(), BadToken> {
        let order = self.order(key);
        let mut start = order.partition_point(|&s| self.key_of(key, s) < text);
        if let Some(t) = token {
            match t.phase.cmp(&phase) {
                Ordering::Greater => return Ok(()),
                Ordering::Equal => {
                    start = order.partition_point(|&s| {
                        (self.key_of(key, s), self.entries[s as usize].id.as_str())
                            <= (t.key.as_str(), t.id.as_str())
                    });
                }
                Ordering::Less => {}
            }
        }
        for &slot in &order[start.min(order.len())..] {
            let k = self.key_of(key, slot);
            let matches = if prefix {
                k.starts_with(text)
            } else {
                k == text
            };
            if !matches {
                break;
            }
            if keep(&self.entries[slot as usize]) {
                out.push((phase, slot));
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(())
    }

    fn order(&self, key: Key) -> &Vec<u32> {
        match key {
            Key::Name => &self.by_name,
            Key::Pinyin => &self.by_pinyin,
            Key::Initials => &self.by_initials,
        }
    }

    fn order_mut(&mut self, key: Key) -> &mut Vec<u32> {
        match key {
            Key::Name => &mut self.by_name,
            Key::Pinyin => &mut self.by_pinyin,
            Key::Initials => &mut self.by_initials,
        }
    }

    fn key_of(&self, key: Key, slot: u32) -> &str {
        let e = &self.entries[slot as usize];
        match key {
            Key::Name => &e.name,
            Key::Pinyin => &e.pinyin_full,
            Key::Initials => &e.initials,
        }
    }

    fn cmp_slots(&self, key: Key, a: u32, b: u32) -> Ordering {
        (self.key_of(key, a), self.entries[a as usize].id.as_str())
            .cmp(&(self.key_of(key, b), self.entries[b as usize].id.as_str()))
    }

    fn range<'a>(
        &'a self,
        key: Key,
        text: &'a str,
        prefix: bool,
    ) -> impl Iterator<Item = u32> + 'a {
        let order = self.order(key);
        let start = order.partition_point(|&s| self.key_of(key, s) < text);
        order[start..].iter().copied().take_while(move |&s| {
            if prefix {
                self.key_of(key, s).starts_with(text)
            } else {
                self.key_of(key, s) == text
            }
        })
    }
}

fn distinct_chars(name: &str) -> Vec<char> {
    let mut chars: Vec<char> = name.chars().collect();
    chars.sort_unstable();
    chars.dedup();
    chars
}

/// Two adjacent characters as one key.
fn pair_key(a: char, b: char) -> u64 {
    (u64::from(u32::from(a)) << 32) | u64::from(u32::from(b))
}

fn distinct_pairs(name: &str) -> Vec<u64> {
    let chars: Vec<char> = name.chars().collect();
    let mut pairs: Vec<u64> = chars.windows(2).map(|w| pair_key(w[0], w[1])).collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    phase: u8,
    key: String,
    id: String,
}

impl Query<'_> {
    /// A stable fingerprint of what the search asks for (not its paging): a page token carries
    /// it, so a token is refused with another query or filter (AIP-158).
    fn fingerprint(&self) -> String {
        let mode = match self.mode {
            Mode::Exact => 'e',
            Mode::Prefix => 'p',
            Mode::Pinyin => 'y',
            Mode::Fuzzy => 'f',
        };
        let text = format!(
            "{mode}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
            self.text,
            self.region_prefix,
            self.category.map_or(0, Category::number),
            u8::from(self.include_historic)
        );
        // FNV-1a, 64 bits: stable across builds and replicas, unlike std's hasher.
        let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        format!("{hash:016x}")
    }
}

fn encode_token(phase: u8, filter: &str, key: &str, id: &str) -> String {
    hex::encode(format!("{phase}\u{1f}{filter}\u{1f}{key}\u{1f}{id}"))
}

fn decode_token(token: &str, filter: &str) -> Result<Option<Token>, BadToken> {
    if token.is_empty() {
        return Ok(None);
    }
    let bytes = hex::decode(token).map_err(|_| BadToken)?;
    let text = String::from_utf8(bytes).map_err(|_| BadToken)?;
    let mut parts = text.splitn(4, '\u{1f}');
    let (Some(phase), Some(issued_for), Some(key), Some(id)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(BadToken);
    };
    if issued_for != filter || id.is_empty() {
        return Err(BadToken);
    }
    let phase = phase.parse().map_err(|_| BadToken)?;
    Ok(Some(Token {
        phase,
        key: key.to_owned(),
        id: id.to_owned(),
    }))
}

mod fuzzy;
#[cfg(test)]
mod tests;
