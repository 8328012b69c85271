//! The list's filter and sort, pure. A query matches an entry when it fuzzy-matches
//! the name (nucleo-matcher, ranked by score), or when each of its words is found
//! (ignoring case) in the name, provider, environment, tags or notes (ranked after).
//! Fuzzy matching long notes would be slow at 100,000 entries and match noise.
//! Quick filters by provider and environment; four sort orders. Typing refines the
//! previous matches; Backspace is answered from a cache of the query's prefixes.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use std::time::{Duration, Instant};

use nucleo_matcher::{Config, Matcher, Utf32Str};

use crate::model::Entry;

/// The list's sort order (`s` cycles it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// By name.
    #[default]
    Name,
    /// By provider, then name.
    Provider,
    /// Most recently used first.
    LastUsed,
    /// Oldest first.
    Age,
}

impl SortBy {
    /// The next order in the cycle.
    pub fn next(self) -> Self {
        match self {
            SortBy::Name => SortBy::Provider,
            SortBy::Provider => SortBy::LastUsed,
            SortBy::LastUsed => SortBy::Age,
            SortBy::Age => SortBy::Name,
        }
    }

    /// How the header names it.
    pub fn label(self) -> &'static str {
        match self {
            SortBy::Name => "name",
            SortBy::Provider => "provider",
            SortBy::LastUsed => "last used",
            SortBy::Age => "age",
        }
    }
}

/// Character positions of `text` that `query` matches, for highlighting (the view
/// uses this: it needs its own matcher as it only reads the app).
pub fn highlight_positions(query: &str, text: &str) -> Vec<usize> {
    thread_local! {
        static MATCHER: std::cell::RefCell<Matcher> = std::cell::RefCell::new(Matcher::new(Config::DEFAULT));
    }
    let query = query.trim();
    if query.is_empty() {
        return Vec::new();
    }
    MATCHER.with(|m| {
        let mut buf = Vec::new();
        let mut idx = Vec::new();
        pattern(query).indices(Utf32Str::new(text, &mut buf), &mut m.borrow_mut(), &mut idx);
        idx.sort_unstable();
        idx.dedup();
        idx.into_iter().map(|i| i as usize).collect()
    })
}

/// Filter settings plus the caches that make a keystroke cheap at 100,000 entries.
pub struct Filter {
    /// The fuzzy query.
    pub query: String,
    /// Only this provider.
    pub provider: Option<String>,
    /// Only this environment.
    pub env: Option<String>,
    /// Sort order when there is no query (with one, best matches first).
    pub sort: SortBy,
    matcher: Matcher,
    /// Names alone: most queries match here, and short haystacks score fast.
    names: Arena,
    /// Name, provider, environment, tags and notes, lowercased, for word matches.
    haystacks: Arena,
    /// Entries passing the quick filters, in sort order.
    base: Vec<usize>,
    /// Results for each prefix of the current query (shortest first): typing refines
    /// the last one, Backspace finds its answer here.
    chain: Vec<Matched>,
    /// A scan stopped by its time budget.
    pending: Option<Pending>,
}

/// A scan in progress.
struct Pending {
    query: String,
    pattern: Pattern,
    words: Vec<String>,
    candidates: Vec<usize>,
    next: usize,
    scored: Vec<(u32, usize)>,
}

/// Many strings in one buffer: scanning 100,000 of them reads memory in order instead
/// of chasing 100,000 heap pointers.
#[derive(Debug, Default)]
struct Arena {
    text: String,
    ends: Vec<usize>,
}

impl Drop for Arena {
    /// Names, tags and notes are decrypted metadata: wiped when the filter goes
    /// (on lock).
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.text);
    }
}

impl Arena {
    fn build(items: impl Iterator<Item = String>) -> Self {
        let mut a = Arena::default();
        for item in items {
            a.text.push_str(&item);
            a.ends.push(a.text.len());
        }
        a
    }

    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }
}

/// What one query matched.
#[derive(Debug, Clone)]
struct Matched {
    query: String,
    /// Matches in base order (what a longer query refines).
    in_base_order: Vec<usize>,
    /// Matches best first (what is shown).
    ranked: Vec<usize>,
}

/// Entries scanned between two looks at the clock.
const SCAN_CHUNK: usize = 2048;

/// A fuzzy name match ranks above any match found only as words in the other fields.
const NAME_BONUS: u32 = 1 << 20;

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter")
            .field("query", &self.query)
            .field("provider", &self.provider)
            .field("env", &self.env)
            .field("sort", &self.sort)
            .finish_non_exhaustive()
    }
}

impl Default for Filter {
    fn default() -> Self {
        Self {
            query: String::new(),
            provider: None,
            env: None,
            sort: SortBy::default(),
            matcher: Matcher::new(Config::DEFAULT),
            names: Arena::default(),
            haystacks: Arena::default(),
            base: Vec::new(),
            chain: Vec::new(),
            pending: None,
        }
    }
}

fn haystack(e: &Entry) -> String {
    let m = &e.meta;
    let mut s = String::with_capacity(m.name.len() + m.notes.len() + 32);
    for part in [&m.name, &m.provider, &m.environment] {
        s.push_str(part);
        s.push(' ');
    }
    for t in &m.tags {
        s.push_str(t);
        s.push(' ');
    }
    s.push_str(&m.notes);
    s.to_lowercase()
}

fn pattern(query: &str) -> Pattern {
    Pattern::parse(query, CaseMatching::Ignore, Normalization::Smart)
}

impl Filter {
    /// Rebuilds the caches after the entries changed.
    pub fn reindex(&mut self, entries: &[Entry]) {
        self.names = Arena::build(entries.iter().map(|e| e.meta.name.clone()));
        self.haystacks = Arena::build(entries.iter().map(haystack));
        self.rebase(entries);
    }

    /// Recomputes the quick-filtered, sorted base after a quick filter or sort changed.
    pub fn rebase(&mut self, entries: &[Entry]) {
        let mut base: Vec<usize> = (0..entries.len())
            .filter(|&i| {
                let m = &entries[i].meta;
                self.provider.as_ref().is_none_or(|p| &m.provider == p)
                    && self.env.as_ref().is_none_or(|v| &m.environment == v)
            })
            .collect();
        let name = |i: &usize| entries[*i].meta.name.as_str();
        match self.sort {
            SortBy::Name => base.sort_by(|a, b| name(a).cmp(name(b))),
            SortBy::Provider => base.sort_by(|a, b| {
                (entries[*a].meta.provider.as_str(), name(a))
                    .cmp(&(entries[*b].meta.provider.as_str(), name(b)))
            }),
            SortBy::LastUsed => base.sort_by(|a, b| {
                entries[*b]
                    .meta
                    .last_used_at
                    .cmp(&entries[*a].meta.last_used_at)
                    .then_with(|| name(a).cmp(name(b)))
            }),
            SortBy::Age => base.sort_by(|a, b| {
                entries[*a]
                    .meta
                    .created_at
                    .cmp(&entries[*b].meta.created_at)
                    .then_with(|| name(a).cmp(name(b)))
            }),
        }
        self.base = base;
        self.chain.clear();
        self.pending = None;
    }

    /// The visible rows (indices into `entries`) for the current settings, scanning
    /// to the end.
    pub fn view(&mut self) -> Vec<usize> {
        self.view_within(None).0
    }

    /// Like [`Filter::view`], but stops scanning after `budget`: then it returns the
    /// matches found so far (in sort order) and `false`, and the next call goes on
    /// where this one stopped. A keystroke thus gets its frame within one frame's time
    /// at any size; the ranking is complete a few frames later.
    pub fn view_within(&mut self, budget: Option<Duration>) -> (Vec<usize>, bool) {
        let started = Instant::now();
        let query = self.query.trim().to_string();
        // Keep only the results of prefixes of this query.
        self.chain.retain(|m| query.starts_with(m.query.as_str()));
        if query.is_empty() {
            self.pending = None;
            return (self.base.clone(), true);
        }
        if let Some(m) = self.chain.last().filter(|m| m.query == query) {
            self.pending = None;
            return (m.ranked.clone(), true); // Backspace, or the same query again
        }
        if self.pending.as_ref().is_none_or(|p| p.query != query) {
            // A longer query matches a subset of what a prefix of it matched.
            let candidates = match self.chain.last() {
                Some(m) => m.in_base_order.clone(),
                None => self.base.clone(),
            };
            let lowered = query.to_lowercase();
            self.pending = Some(Pending {
                pattern: pattern(&query),
                words: lowered.split_whitespace().map(String::from).collect(),
                query,
                candidates,
                next: 0,
                scored: Vec::new(),
            });
        }
        let Some(p) = self.pending.as_mut() else {
            return (self.base.clone(), true);
        };
        let mut buf = Vec::new();
        while p.next < p.candidates.len() {
            let end = (p.next + SCAN_CHUNK).min(p.candidates.len());
            for &i in &p.candidates[p.next..end] {
                let by_name = p
                    .pattern
                    .score(
                        Utf32Str::new(self.names.get(i), &mut buf),
                        &mut self.matcher,
                    )
                    .map(|s| s + NAME_BONUS);
                let score = by_name.or_else(|| {
                    let hay = self.haystacks.get(i);
                    p.words
                        .iter()
                        .all(|w| hay.contains(w.as_str()))
                        .then_some(0)
                });
                if let Some(s) = score {
                    p.scored.push((s, i));
                }
            }
            p.next = end;
            if budget.is_some_and(|b| started.elapsed() >= b) && p.next < p.candidates.len() {
                return (p.scored.iter().map(|(_, i)| *i).collect(), false);
            }
        }
        let Some(done) = self.pending.take() else {
            return (self.base.clone(), true);
        };
        // Candidates came in base order, so the matches are in it too.
        let in_base_order: Vec<usize> = done.scored.iter().map(|(_, i)| *i).collect();
        // Best first; equal scores keep the sort order (the position breaks ties, so
        // an unstable sort gives the stable answer).
        let mut ranked: Vec<(std::cmp::Reverse<u32>, usize, usize)> = done
            .scored
            .into_iter()
            .enumerate()
            .map(|(pos, (score, i))| (std::cmp::Reverse(score), pos, i))
            .collect();
        ranked.sort_unstable();
        let ranked: Vec<usize> = ranked.into_iter().map(|(_, _, i)| i).collect();
        self.chain.push(Matched {
            query: done.query,
            in_base_order,
            ranked: ranked.clone(),
        });
        (ranked, true)
    }

    /// True while a scan is unfinished (the loop should call again soon).
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Cycles `current` through `None` and the sorted distinct values of `values`.
    pub fn cycle(current: &Option<String>, values: impl Iterator<Item = String>) -> Option<String> {
        let mut all: Vec<String> = values.collect();
        all.sort();
        all.dedup();
        match current {
            None => all.into_iter().next(),
            Some(c) => all.into_iter().skip_while(|v| v != c).nth(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, provider: &str, env: &str, created: i64) -> Entry {
        let mut e = crate::tui::test_support::entry(name, provider, env);
        e.meta.created_at = created;
        e
    }

    fn names(entries: &[Entry], view: &[usize]) -> Vec<String> {
        view.iter().map(|&i| entries[i].meta.name.clone()).collect()
    }

    #[test]
    fn fuzzy_query_quick_filters_and_sort() {
        let entries = vec![
            entry("openai-prod", "openai", "prod", 3),
            entry("anthropic-dev", "anthropic", "dev", 1),
            entry("openai-dev", "openai", "dev", 2),
        ];
        let mut f = Filter::default();
        f.reindex(&entries);
        assert_eq!(
            names(&entries, &f.view()),
            ["anthropic-dev", "openai-dev", "openai-prod"]
        );
        // Like fzf, loose matches stay listed, ranked after the close ones.
        f.query = "openai dev".into();
        assert_eq!(names(&entries, &f.view())[0], "openai-dev");
        f.query = "zzz".into();
        assert!(f.view().is_empty());
        f.query = "dev".into();
        assert_eq!(f.view().len(), 2);
        f.query.clear();
        f.env = Some("prod".into());
        f.rebase(&entries);
        assert_eq!(names(&entries, &f.view()), ["openai-prod"]);
        f.env = None;
        f.sort = SortBy::Age;
        f.rebase(&entries);
        assert_eq!(
            names(&entries, &f.view()),
            ["anthropic-dev", "openai-dev", "openai-prod"]
        );
        // tags are searched too
        f.query = "prod-tag".into();
        assert_eq!(names(&entries, &f.view())[0], "openai-prod");
    }

    #[test]
    fn refining_gives_the_same_result_as_a_fresh_scan() {
        let entries: Vec<Entry> = (0..500)
            .map(|i| {
                entry(
                    &format!("svc{i}-{}", ["prod", "dev"][i % 2]),
                    "custom",
                    "prod",
                    i as i64,
                )
            })
            .collect();
        let mut f = Filter::default();
        f.reindex(&entries);
        let mut typed = String::new();
        for c in "svc1dev".chars() {
            typed.push(c);
            f.query = typed.clone();
            let refined = f.view();
            let mut fresh = Filter::default();
            fresh.reindex(&entries);
            fresh.query = typed.clone();
            assert_eq!(refined, fresh.view(), "after typing {typed}");
        }
    }

    #[test]
    fn backspace_gives_the_same_result_as_a_fresh_scan() {
        let entries: Vec<Entry> = (0..300)
            .map(|i| entry(&format!("svc{i}"), "custom", "prod", i as i64))
            .collect();
        let mut f = Filter::default();
        f.reindex(&entries);
        let mut seen = Vec::new();
        for q in [
            "s", "sv", "svc", "svc2", "svc", "sv", "svc", "svc1", "x", "",
        ] {
            f.query = q.into();
            let got = f.view();
            let mut fresh = Filter::default();
            fresh.reindex(&entries);
            fresh.query = q.into();
            assert_eq!(got, fresh.view(), "query {q:?}");
            seen.push(got.len());
        }
        assert_eq!(seen[9], 300);
    }

    #[test]
    fn a_budgeted_scan_finishes_over_several_calls_with_the_same_answer() {
        let entries: Vec<Entry> = (0..20_000)
            .map(|i| entry(&format!("svc{i}"), "custom", "prod", i as i64))
            .collect();
        let mut f = Filter::default();
        f.reindex(&entries);
        f.query = "svc1".into();
        let (partial, done) = f.view_within(Some(Duration::ZERO));
        assert!(!done && f.is_pending());
        assert!(partial.len() < 20_000);
        let mut calls = 1;
        let result = loop {
            calls += 1;
            let (rows, done) = f.view_within(Some(Duration::ZERO));
            if done {
                break rows;
            }
        };
        assert!(calls > 2, "{calls}");
        assert!(!f.is_pending());
        let mut fresh = Filter::default();
        fresh.reindex(&entries);
        fresh.query = "svc1".into();
        assert_eq!(result, fresh.view());
    }

    #[test]
    fn name_matches_rank_first() {
        let mut a = entry("alpha", "custom", "prod", 1);
        a.meta.notes = "deploy key for the billing service".into();
        let b = entry("billing", "custom", "prod", 2);
        let entries = vec![a, b];
        let mut f = Filter::default();
        f.reindex(&entries);
        f.query = "billing".into();
        assert_eq!(names(&entries, &f.view()), ["billing", "alpha"]);
    }

    #[test]
    fn highlight_and_cycle() {
        assert_eq!(highlight_positions("oai", "openai"), vec![0, 4, 5]);
        let vals = || ["b", "a", "b"].into_iter().map(String::from);
        assert_eq!(Filter::cycle(&None, vals()), Some("a".into()));
        assert_eq!(Filter::cycle(&Some("a".into()), vals()), Some("b".into()));
        assert_eq!(Filter::cycle(&Some("b".into()), vals()), None);
    }
}
