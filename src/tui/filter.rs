//! The list's filter and sort, pure: fuzzy matching (nucleo-matcher) over name,
//! provider, environment, tags and notes; quick filters by provider and environment;
//! four sort orders. Refining a query only rescans the entries that matched before.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str, Utf32String};

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
    haystacks: Vec<Utf32String>,
    /// Entries passing the quick filters, in sort order.
    base: Vec<usize>,
    /// The last query and what it matched, for refining.
    last: Option<(String, Vec<usize>)>,
}

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
            haystacks: Vec::new(),
            base: Vec::new(),
            last: None,
        }
    }
}

fn haystack(e: &Entry) -> Utf32String {
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
    Utf32String::from(s)
}

fn pattern(query: &str) -> Pattern {
    Pattern::parse(query, CaseMatching::Ignore, Normalization::Smart)
}

impl Filter {
    /// Rebuilds the caches after the entries changed.
    pub fn reindex(&mut self, entries: &[Entry]) {
        self.haystacks = entries.iter().map(haystack).collect();
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
        self.last = None;
    }

    /// The visible rows (indices into `entries`) for the current settings.
    pub fn view(&mut self) -> Vec<usize> {
        let query = self.query.trim().to_string();
        if query.is_empty() {
            self.last = None;
            return self.base.clone();
        }
        // A longer query matches a subset of what a prefix of it matched.
        let candidates = match &self.last {
            Some((prev, matched)) if query.starts_with(prev.as_str()) && !prev.is_empty() => {
                matched.clone()
            }
            _ => self.base.clone(),
        };
        let pat = pattern(&query);
        // Candidates come in base order, so what passes keeps it: that is the list a
        // longer query refines.
        let mut scored: Vec<(u32, usize)> = candidates
            .into_iter()
            .filter_map(|i| {
                pat.score(self.haystacks[i].slice(..), &mut self.matcher)
                    .map(|s| (s, i))
            })
            .collect();
        let in_base_order: Vec<usize> = scored.iter().map(|(_, i)| *i).collect();
        // Stable: equal scores keep the sort order.
        scored.sort_by_key(|s| std::cmp::Reverse(s.0));
        let matched: Vec<usize> = scored.into_iter().map(|(_, i)| i).collect();
        self.last = Some((query, in_base_order));
        matched
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
    fn highlight_and_cycle() {
        assert_eq!(highlight_positions("oai", "openai"), vec![0, 4, 5]);
        let vals = || ["b", "a", "b"].into_iter().map(String::from);
        assert_eq!(Filter::cycle(&None, vals()), Some("a".into()));
        assert_eq!(Filter::cycle(&Some("a".into()), vals()), Some("b".into()));
        assert_eq!(Filter::cycle(&Some("b".into()), vals()), None);
    }
}
