//! Finding entries by text: `keyward search`. The metadata of every entry, lowercased,
//! sits in one buffer, so a search reads memory in order (one vectorised substring
//! scan) instead of visiting every field of every entry on the heap: at 10,000
//! entries that is the difference between milliseconds and a fraction of one.

use super::Entry;

/// Ends an entry's name, each field, and the entry: no match can span two of them,
/// since a search term never holds it (command-line arguments cannot).
const SEP: char = '\0';

/// The searchable text of a list of entries, in the list's order. Never holds a
/// secret; wiped when dropped (it is decrypted metadata).
#[derive(Default)]
pub struct SearchIndex {
    text: String,
    /// Per entry: where its name ends, and where the entry ends.
    ends: Vec<(usize, usize)>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SearchIndex({} entries)", self.ends.len())
    }
}

impl Drop for SearchIndex {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.text);
    }
}

impl SearchIndex {
    /// Indexes the name and the text of the metadata (provider, environment,
    /// variable, notes, tags, URL, model, tier) of each entry; never the key.
    pub fn build(entries: &[Entry]) -> Self {
        let mut index = SearchIndex {
            text: String::new(),
            ends: Vec::with_capacity(entries.len()),
        };
        let push = |text: &mut String, field: &str| {
            if field.is_ascii() {
                text.extend(field.chars().map(|c| c.to_ascii_lowercase()));
            } else {
                text.push_str(&field.to_lowercase());
            }
            text.push(SEP);
        };
        for e in entries {
            let m = &e.meta;
            push(&mut index.text, &m.name);
            let name_end = index.text.len() - 1;
            for field in [&m.provider, &m.environment, &m.env_var, &m.notes]
                .into_iter()
                .chain(&m.tags)
                .chain(&m.base_url)
                .chain(&m.model)
                .chain(&m.tier)
            {
                push(&mut index.text, field);
            }
            index.ends.push((name_end, index.text.len()));
        }
        index
    }

    /// The positions (in the indexed list) of the entries whose name (or, unless
    /// `names_only`, any indexed field) contains `needle`, which is lowercase.
    pub fn find(&self, needle: &str, names_only: bool) -> Vec<usize> {
        if needle.is_empty() {
            return (0..self.ends.len()).collect();
        }
        if needle.contains(SEP) {
            return Vec::new();
        }
        let mut hits: Vec<usize> = Vec::new();
        for at in memchr::memmem::find_iter(self.text.as_bytes(), needle.as_bytes()) {
            let i = self.ends.partition_point(|&(_, end)| end <= at);
            let (name_end, _) = self.ends[i];
            if names_only && at + needle.len() > name_end {
                continue;
            }
            if hits.last() != Some(&i) {
                hits.push(i);
            }
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EntryId, EntryMeta};

    fn entry(name: &str, notes: &str, tags: &[&str]) -> Entry {
        Entry {
            id: EntryId([0; 16]),
            meta: EntryMeta {
                name: name.into(),
                provider: "openai".into(),
                environment: "prod".into(),
                env_var: "OPENAI_API_KEY".into(),
                notes: notes.into(),
                tags: tags.iter().map(|t| t.to_string()).collect(),
                base_url: Some("https://api.openai.com/v1".into()),
                ..Default::default()
            },
            rev: 0,
        }
    }

    #[test]
    fn finds_names_and_metadata_case_insensitively_never_across_fields() {
        let list = [
            entry(
                "OpenAI-Prod",
                "owned by Équipe Données; ticket OPS-0042",
                &["billing"],
            ),
            entry("svc00420", "nothing", &["Team-1"]),
            entry("svc0041", "ops-00421 here", &[]),
            entry("straße", "", &[]),
        ];
        let index = SearchIndex::build(&list);
        assert_eq!(index.find("ai-pr", true), [0]);
        assert_eq!(index.find("svc0042", true), [1]);
        assert_eq!(index.find("ops-0042", false), [0, 2]);
        assert_eq!(index.find("ops-0042", true), Vec::<usize>::new());
        assert_eq!(index.find("données", false), [0]);
        assert_eq!(index.find("team-1", false), [1]);
        assert_eq!(index.find("openai_api", false), [0, 1, 2, 3]);
        assert_eq!(index.find("api.openai.com", false).len(), 4);
        assert_eq!(index.find("straße", true), [3]);
        assert_eq!(index.find("strasse", true), Vec::<usize>::new());
        // A field's end and the next field's start are not one text.
        assert_eq!(index.find("prodopenai", false), Vec::<usize>::new());
        assert_eq!(index.find("billingsvc", false), Vec::<usize>::new());
        assert_eq!(index.find("", true).len(), 4);
        assert_eq!(index.find("a\0b", false), Vec::<usize>::new());
    }
}
