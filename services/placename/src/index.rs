//! The in-memory search index of the place-name database.
//!
//! Built from the store on start and updated on every write, so searches never touch the
//! database. Three sorted permutations of the entries (by name, by full toneless pinyin, by
//! pinyin initials) turn exact and prefix searches into a binary search plus a range scan:
//! O(log n + page) over the ~620k national village names. Fuzzy search scans linearly.
//!
//! Paging tokens carry the sort key and id of the last result, so a page continues right after
//! it even when names were added or removed in between.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::domain::name::{Category, NameStatus, normalise_pinyin_query, pinyin_forms};

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
        let token = decode_token(q.page_token)?;
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
            Mode::Fuzzy => self.fuzzy(q.text, &token, page_size + 1, &keep, &mut out)?,
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

    /// Names containing the text, or its characters in order; pinyin for Latin queries.
    fn fuzzy(
        &self,
        text: &str,
        token: &Option<Token>,
        limit: usize,
        keep: &dyn Fn(&Entry) -> bool,
        out: &mut Vec<(u8, u32)>,
    ) -> Result<(), BadToken> {
        let latin = text
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == ' ' || c == '\'');
        let py = normalise_pinyin_query(text);
        let wanted: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let start = match token {
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
            let hit = if latin {
                e.pinyin_full.contains(py.as_str()) || e.initials.contains(py.as_str())
            } else {
                is_subsequence(&wanted, &e.name)
            };
            if hit && keep(e) {
                out.push((0, slot));
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

fn is_subsequence(wanted: &[char], name: &str) -> bool {
    let mut it = wanted.iter().peekable();
    for c in name.chars() {
        if it.peek() == Some(&&c) {
            it.next();
        }
    }
    it.peek().is_none()
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    phase: u8,
    key: String,
    id: String,
}

fn encode_token(phase: u8, key: &str, id: &str) -> String {
    hex::encode(format!("{phase}\u{1f}{key}\u{1f}{id}"))
}

fn decode_token(token: &str) -> Result<Option<Token>, BadToken> {
    if token.is_empty() {
        return Ok(None);
    }
    let bytes = hex::decode(token).map_err(|_| BadToken)?;
    let text = String::from_utf8(bytes).map_err(|_| BadToken)?;
    let mut parts = text.splitn(3, '\u{1f}');
    let (Some(phase), Some(key), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(BadToken);
    };
    let phase = phase.parse().map_err(|_| BadToken)?;
    Ok(Some(Token {
        phase,
        key: key.to_owned(),
        id: id.to_owned(),
    }))
}

#[cfg(test)]
mod tests;
