//! Keys into a command's environment: which entry provides which variable, the
//! masking writer behind `run --mask`, and the shell quoting of `env`. Pure: no
//! vault, no processes.
//!
//! # Which entry provides a variable
//!
//! Each candidate entry (active, and within `--env` / `--only`) wants its own env var
//! for its key. When several want the same variable, the **primary** one wins; among
//! equals (no primary, or two primaries of different environments) the first **by
//! name** wins. Alphabetical rather than "most recently used": what a command sees
//! must not change because some other key was read in between. The entries that lose
//! are not injected at all (nor counted as used).
//!
//! Extra fields with a natural variable (AWS: `access_key_id` → `AWS_ACCESS_KEY_ID`,
//! `region` → `AWS_REGION`, `session_token` → `AWS_SESSION_TOKEN`) come from the entry
//! whose key won, so an access key id never travels with another entry's secret; a
//! variable that some entry provides as its own key beats one derived from a field.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use zeroize::Zeroizing;

use crate::model::{EntryMeta, Secret};

/// Extra fields injected under a natural variable: provider, field, variable, and
/// whether the value is a secret (masked by `run --mask`).
const FIELD_VARS: &[(&str, &str, &str, bool)] = &[
    ("aws", "access_key_id", "AWS_ACCESS_KEY_ID", false),
    ("aws", "region", "AWS_REGION", false),
    ("aws", "session_token", "AWS_SESSION_TOKEN", true),
];

/// The variable an extra field is injected as, and whether it is a secret.
pub fn field_var(provider: &str, field: &str) -> Option<(&'static str, bool)> {
    FIELD_VARS
        .iter()
        .find(|(p, f, _, _)| *p == provider && *f == field)
        .map(|(_, _, var, secret)| (*var, *secret))
}

/// True for a portable variable name: a letter or `_`, then letters, digits, `_`.
/// Anything else is refused, since `env` prints names unquoted for a shell to run.
pub fn valid_var(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Where a variable's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueSource {
    /// The entry's key.
    Key,
    /// The entry's extra field of this name.
    Field(String),
}

/// One variable an entry provides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarSource {
    /// The variable.
    pub var: String,
    /// Where its value comes from.
    pub source: ValueSource,
    /// A secret (masked by `run --mask`), not an id or a region.
    pub secret: bool,
}

/// An entry chosen to be injected, with the variables it provides (its key's first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    /// Entry name.
    pub entry: String,
    /// Its variables.
    pub vars: Vec<VarSource>,
}

/// A variable several entries wanted for their key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shadowed {
    /// The variable.
    pub var: String,
    /// The entry that provides it.
    pub winner: String,
    /// The entries left out, by name.
    pub others: Vec<String>,
    /// True when the winner is the only primary among them (a choice the user made);
    /// false when the name order decided.
    pub by_primary: bool,
}

/// What [`plan`] decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Entries to inject, primary first, then by name.
    pub picks: Vec<Pick>,
    /// Variables several entries wanted, by variable.
    pub shadowed: Vec<Shadowed>,
    /// Entries left out because their variable is not a valid name: (entry, var).
    pub bad_vars: Vec<(String, String)>,
}

/// Decides which of `candidates` provides which variable (see the module docs).
pub fn plan(candidates: &[&EntryMeta]) -> Plan {
    let mut ranked = candidates.to_vec();
    ranked.sort_by(|a, b| b.primary.cmp(&a.primary).then_with(|| a.name.cmp(&b.name)));
    let mut out = Plan::default();
    let mut winners: Vec<&EntryMeta> = Vec::new();
    let mut shadowed: BTreeMap<String, Shadowed> = BTreeMap::new();
    let mut taken: BTreeMap<String, usize> = BTreeMap::new();
    for m in ranked {
        if !valid_var(&m.env_var) {
            out.bad_vars.push((m.name.clone(), m.env_var.clone()));
            continue;
        }
        if let Some(&i) = taken.get(&m.env_var) {
            let winner = winners[i];
            let s = shadowed
                .entry(m.env_var.clone())
                .or_insert_with(|| Shadowed {
                    var: m.env_var.clone(),
                    winner: winner.name.clone(),
                    others: Vec::new(),
                    by_primary: winner.primary,
                });
            s.others.push(m.name.clone());
            s.by_primary &= !m.primary;
            continue;
        }
        taken.insert(m.env_var.clone(), winners.len());
        winners.push(m);
        out.picks.push(Pick {
            entry: m.name.clone(),
            vars: vec![VarSource {
                var: m.env_var.clone(),
                source: ValueSource::Key,
                secret: true,
            }],
        });
    }
    // Fields fill what no entry's own key took, in the same order.
    for (pick, m) in out.picks.iter_mut().zip(&winners) {
        for field in &m.field_names {
            if let Some((var, secret)) = field_var(&m.provider, field)
                && !taken.contains_key(var)
            {
                taken.insert(var.to_string(), usize::MAX);
                pick.vars.push(VarSource {
                    var: var.to_string(),
                    source: ValueSource::Field(field.clone()),
                    secret,
                });
            }
        }
    }
    out.shadowed = shadowed.into_values().collect();
    out
}

/// One variable with its value, ready to be injected.
pub struct Injection {
    /// The variable.
    pub var: String,
    /// Its value (zeroized on drop).
    pub value: Zeroizing<String>,
    /// The entry it comes from.
    pub entry: String,
    /// A secret (masked by `run --mask`).
    pub secret: bool,
}

impl std::fmt::Debug for Injection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Injection")
            .field("var", &self.var)
            .field("entry", &self.entry)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

/// The variables of `pick` with their values from `secret`. A field the secret does
/// not hold (any more) is left out.
pub fn injections(pick: &Pick, secret: &Secret) -> Vec<Injection> {
    pick.vars
        .iter()
        .filter_map(|v| {
            let value = match &v.source {
                ValueSource::Key => secret.value.as_str(),
                ValueSource::Field(f) => secret.field(f)?,
            };
            Some(Injection {
                var: v.var.clone(),
                value: Zeroizing::new(value.to_string()),
                entry: pick.entry.clone(),
                secret: v.secret,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Masking
// ---------------------------------------------------------------------------

/// A secret to conceal and the entry it belongs to.
pub struct Concealed {
    /// The entry name shown in its place: `<concealed:NAME>`.
    pub name: String,
    /// The secret's bytes.
    pub secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Concealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Concealed")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The secrets of `injections` to conceal (the key and secret fields, not ids or
/// regions), one per distinct value.
pub fn concealed(injections: &[Injection]) -> Vec<Concealed> {
    let mut out: Vec<Concealed> = Vec::new();
    for i in injections
        .iter()
        .filter(|i| i.secret && !i.value.is_empty())
    {
        if !out
            .iter()
            .any(|c| c.secret.as_slice() == i.value.as_bytes())
        {
            out.push(Concealed {
                name: i.entry.clone(),
                secret: Zeroizing::new(i.value.as_bytes().to_vec()),
            });
        }
    }
    out
}

/// Appends to a zeroizing buffer without leaving a copy behind in a freed allocation.
fn append(buf: &mut Zeroizing<Vec<u8>>, data: &[u8]) {
    let needed = buf.len() + data.len();
    if needed > buf.capacity() {
        let mut bigger = Zeroizing::new(Vec::with_capacity(needed.max(buf.capacity() * 2)));
        bigger.extend_from_slice(buf);
        *buf = bigger; // the old buffer is zeroized as it drops
    }
    buf.extend_from_slice(data);
}

/// A writer that replaces every secret with `<concealed:NAME>` before passing bytes
/// on, also when a secret arrives split across several writes.
///
/// Bytes that could still be the start of a secret (at most the longest secret's
/// length minus one) wait for the next write; everything before them is passed on at
/// once, so output flows as it comes. Where two secrets could match at one place the
/// longer wins. [`MaskWriter::finish`] passes on what is still waiting, at the end of
/// the stream; dropping the writer without it discards those bytes.
pub struct MaskWriter<W: Write> {
    inner: W,
    /// (secret, replacement), longest secret first.
    patterns: Vec<(Zeroizing<Vec<u8>>, Vec<u8>)>,
    /// Which bytes start some secret.
    starts: [bool; 256],
    /// Bytes not yet decided: the tail of earlier writes.
    pending: Zeroizing<Vec<u8>>,
}

impl<W: Write> std::fmt::Debug for MaskWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaskWriter")
            .field("secrets", &self.patterns.len())
            .finish_non_exhaustive()
    }
}

impl<W: Write> MaskWriter<W> {
    /// A writer into `inner` concealing `secrets` (empty ones are ignored).
    pub fn new(inner: W, secrets: Vec<Concealed>) -> Self {
        let mut patterns: Vec<(Zeroizing<Vec<u8>>, Vec<u8>)> = Vec::new();
        for c in secrets {
            if c.secret.is_empty() || patterns.iter().any(|(s, _)| *s == c.secret) {
                continue;
            }
            let replacement = format!("<concealed:{}>", c.name).into_bytes();
            patterns.push((c.secret, replacement));
        }
        patterns.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
        let mut starts = [false; 256];
        for (s, _) in &patterns {
            starts[usize::from(s[0])] = true;
        }
        Self {
            inner,
            patterns,
            starts,
            pending: Zeroizing::new(Vec::new()),
        }
    }

    /// The longest secret's length in bytes (0 with none).
    pub fn max_secret_len(&self) -> usize {
        self.patterns.first().map_or(0, |(s, _)| s.len())
    }

    /// Bytes held back, waiting for the next write (at most `max_secret_len - 1`).
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Passes on what is decided; at `eof`, everything.
    fn process(&mut self, eof: bool) -> io::Result<()> {
        let buf = &self.pending;
        let mut out: Vec<u8> = Vec::with_capacity(buf.len());
        let mut i = 0;
        'scan: while i < buf.len() {
            // Copy the run of bytes that cannot start a secret in one go.
            let run = buf[i..]
                .iter()
                .position(|&b| self.starts[usize::from(b)])
                .unwrap_or(buf.len() - i);
            out.extend_from_slice(&buf[i..i + run]);
            i += run;
            if i == buf.len() {
                break;
            }
            let rest = &buf[i..];
            for (secret, replacement) in &self.patterns {
                if rest.len() >= secret.len() {
                    if rest.starts_with(secret) {
                        out.extend_from_slice(replacement);
                        i += secret.len();
                        continue 'scan;
                    }
                } else if !eof && secret.starts_with(rest) {
                    // Could still become this (longer) secret: wait for more.
                    break 'scan;
                }
            }
            out.push(rest[0]);
            i += 1;
        }
        let consumed = i;
        self.inner.write_all(&out)?;
        let kept = Zeroizing::new(self.pending[consumed..].to_vec());
        self.pending = kept;
        Ok(())
    }

    /// Passes on the bytes still waiting (the stream ended), flushes, and returns the
    /// inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.process(true)?;
        self.inner.flush()?;
        let Self { inner, .. } = self;
        Ok(inner)
    }
}

impl<W: Write> Write for MaskWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        append(&mut self.pending, buf);
        self.process(false)?;
        Ok(buf.len())
    }

    /// Flushes the inner writer; bytes that may start a secret keep waiting.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Whole-buffer masking, for tests and small texts.
pub fn mask_all(text: &[u8], secrets: Vec<Concealed>) -> Vec<u8> {
    let mut w = MaskWriter::new(Vec::new(), secrets);
    // Writing into a Vec cannot fail.
    let _ = w.write_all(text);
    w.finish().unwrap_or_default()
}

/// First bytes of the list of secrets handed to a `run --mask` filter.
const CONCEALED_MAGIC: &[u8; 8] = b"KWMASK1\n";
/// Bounds for reading that list (a damaged one fails instead of allocating).
const MAX_CONCEALED: u32 = 100_000;
const MAX_NAME_LEN: u32 = 4096;
const MAX_SECRET_LEN: u32 = 1 << 20;

/// Encodes secrets for a masking filter process: a magic line, a count, then for each
/// the name and the secret, length-prefixed (u32, little-endian).
pub fn encode_concealed(list: &[Concealed]) -> Zeroizing<Vec<u8>> {
    let size = CONCEALED_MAGIC.len()
        + 4
        + list
            .iter()
            .map(|c| 8 + c.name.len() + c.secret.len())
            .sum::<usize>();
    let mut out = Zeroizing::new(Vec::with_capacity(size));
    out.extend_from_slice(CONCEALED_MAGIC);
    out.extend_from_slice(&(list.len() as u32).to_le_bytes());
    for c in list {
        out.extend_from_slice(&(c.name.len() as u32).to_le_bytes());
        out.extend_from_slice(c.name.as_bytes());
        out.extend_from_slice(&(c.secret.len() as u32).to_le_bytes());
        out.extend_from_slice(&c.secret);
    }
    out
}

fn read_u32(r: &mut impl Read, max: u32, what: &str) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    let n = u32::from_le_bytes(b);
    if n > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{what} out of range"),
        ));
    }
    Ok(n)
}

/// Reads what [`encode_concealed`] wrote; reads nothing past it.
pub fn read_concealed(r: &mut impl Read) -> io::Result<Vec<Concealed>> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)?;
    if &magic != CONCEALED_MAGIC {
        return Err(bad("not a list of secrets"));
    }
    let count = read_u32(r, MAX_CONCEALED, "count")?;
    let mut out = Vec::new();
    for _ in 0..count {
        let n = read_u32(r, MAX_NAME_LEN, "name length")? as usize;
        let mut name = vec![0u8; n];
        r.read_exact(&mut name)?;
        let name = String::from_utf8(name).map_err(|_| bad("a name is not UTF-8"))?;
        let n = read_u32(r, MAX_SECRET_LEN, "secret length")? as usize;
        let mut secret = Zeroizing::new(vec![0u8; n]);
        r.read_exact(&mut secret)?;
        out.push(Concealed { name, secret });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Shell quoting
// ---------------------------------------------------------------------------

/// The shell `env` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// POSIX sh, bash, zsh: `export VAR='value'`.
    Sh,
    /// fish: `set -gx VAR 'value'`.
    Fish,
}

/// Appends `value` single-quoted for `shell`. sh: a `'` becomes `'\''` (close, an
/// escaped quote, reopen), nothing else is special. fish: `\` and `'` are escaped
/// with a backslash, nothing else is special.
pub fn quote_into(shell: Shell, value: &str, out: &mut String) {
    out.push('\'');
    for c in value.chars() {
        match (shell, c) {
            (Shell::Sh, '\'') => out.push_str("'\\''"),
            (Shell::Fish, '\'' | '\\') => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out.push('\'');
}

/// One line per variable that `shell` evaluates back to the exact values. Every name
/// must pass [`valid_var`] and no value may hold a NUL byte (no shell string can);
/// the caller checks both. The text is zeroized on drop.
pub fn export_script(shell: Shell, vars: &[(&str, &str)]) -> Zeroizing<String> {
    // Sized up front: a growing String would leave copies of values in freed memory.
    let size: usize = vars.iter().map(|(k, v)| k.len() + 4 * v.len() + 16).sum();
    let mut out = Zeroizing::new(String::with_capacity(size));
    for (var, value) in vars {
        out.push_str(match shell {
            Shell::Sh => "export ",
            Shell::Fish => "set -gx ",
        });
        out.push_str(var);
        out.push_str(match shell {
            Shell::Sh => "=",
            Shell::Fish => " ",
        });
        quote_into(shell, value, &mut out);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(name: &str, secret: &str) -> Concealed {
        Concealed {
            name: name.into(),
            secret: Zeroizing::new(secret.as_bytes().to_vec()),
        }
    }

    fn list() -> Vec<Concealed> {
        vec![
            c("openai", "sk-proj-SECRETabc123"),
            c("short", "sk-proj"), // a prefix of the other: the longer must win
            c("aws", "wJalr/XUtn+FEMI=="),
        ]
    }

    /// Masks `text` written in the given pieces.
    fn masked_in_pieces(pieces: &[&[u8]]) -> String {
        let mut w = MaskWriter::new(Vec::new(), list());
        for p in pieces {
            w.write_all(p).unwrap();
            assert!(w.pending_len() < w.max_secret_len());
        }
        String::from_utf8(w.finish().unwrap()).unwrap()
    }

    const TEXT: &str = "key=sk-proj-SECRETabc123; also sk-proj only; aws wJalr/XUtn+FEMI== end sk-proj-SECRETabc12";
    const WANT: &str = "key=<concealed:openai>; also <concealed:short> only; aws <concealed:aws> end <concealed:short>-SECRETabc12";

    #[test]
    fn whole_text() {
        assert_eq!(masked_in_pieces(&[TEXT.as_bytes()]), WANT);
        assert_eq!(
            String::from_utf8(mask_all(TEXT.as_bytes(), list())).unwrap(),
            WANT
        );
    }

    #[test]
    fn split_at_every_boundary() {
        let t = TEXT.as_bytes();
        for i in 0..=t.len() {
            assert_eq!(masked_in_pieces(&[&t[..i], &t[i..]]), WANT, "split at {i}");
        }
    }

    #[test]
    fn split_at_every_pair_of_boundaries() {
        let t = TEXT.as_bytes();
        for i in 0..=t.len() {
            for j in i..=t.len() {
                assert_eq!(
                    masked_in_pieces(&[&t[..i], &t[i..j], &t[j..]]),
                    WANT,
                    "split at {i} and {j}"
                );
            }
        }
    }

    #[test]
    fn byte_by_byte() {
        let pieces: Vec<&[u8]> = TEXT.as_bytes().chunks(1).collect();
        assert_eq!(masked_in_pieces(&pieces), WANT);
    }

    #[test]
    fn a_secret_split_in_two_is_concealed_at_every_split() {
        let secret = "sk-proj-SECRETabc123";
        for i in 0..=secret.len() {
            let first = format!("before {}", &secret[..i]);
            let second = format!("{} after\n", &secret[i..]);
            assert_eq!(
                masked_in_pieces(&[first.as_bytes(), second.as_bytes()]),
                "before <concealed:openai> after\n",
                "split at {i}"
            );
        }
    }

    #[test]
    fn passes_on_at_once_what_cannot_be_a_secret() {
        let mut w = MaskWriter::new(Vec::new(), list());
        w.write_all(b"Password: ").unwrap();
        assert_eq!(w.pending_len(), 0);
        w.write_all(b"prompt s").unwrap();
        // "s" may start a secret: it waits; the rest is through.
        assert_eq!(w.pending_len(), 1);
        w.write_all(b"x\n").unwrap();
        assert_eq!(w.pending_len(), 0);
        assert_eq!(w.finish().unwrap(), b"Password: prompt sx\n");
    }

    #[test]
    fn a_partial_secret_at_the_end_is_flushed_as_it_is() {
        assert_eq!(masked_in_pieces(&[b"tail sk-pr"]), "tail sk-pr");
        assert_eq!(
            masked_in_pieces(&[b"tail sk-proj-SEC"]),
            "tail <concealed:short>-SEC"
        );
        assert_eq!(
            masked_in_pieces(&[b"tail sk-pr", b"oj"]),
            "tail <concealed:short>"
        );
    }

    #[test]
    fn nothing_to_conceal_passes_everything() {
        let mut w = MaskWriter::new(Vec::new(), vec![c("empty", "")]);
        w.write_all(b"anything at all").unwrap();
        assert_eq!(w.max_secret_len(), 0);
        assert_eq!(w.finish().unwrap(), b"anything at all");
    }

    #[test]
    fn binary_and_repeated() {
        let secrets = vec![c("a", "aaa")];
        assert_eq!(
            mask_all(b"aaaaaaa", secrets),
            b"<concealed:a><concealed:a>a"
        );
        let bin = vec![0u8, 255, 1, 0, 255];
        let s = vec![Concealed {
            name: "b".into(),
            secret: Zeroizing::new(vec![255, 1]),
        }];
        assert_eq!(mask_all(&bin, s), b"\0<concealed:b>\0\xff");
    }

    #[test]
    fn concealed_list_round_trips() {
        let enc = encode_concealed(&list());
        let mut r: &[u8] = &enc;
        let mut tail = enc.to_vec();
        tail.extend_from_slice(b"data");
        let back = read_concealed(&mut r).unwrap();
        assert!(r.is_empty());
        assert_eq!(back.len(), 3);
        assert_eq!(back[0].name, "openai");
        assert_eq!(back[2].secret.as_slice(), b"wJalr/XUtn+FEMI==");
        let mut r: &[u8] = &tail;
        read_concealed(&mut r).unwrap();
        assert_eq!(r, b"data", "reads nothing past the list");
        let mut bad: &[u8] = b"KWMASK1\n\xff\xff\xff\xff";
        assert!(read_concealed(&mut bad).is_err());
        let mut short: &[u8] = &enc[..enc.len() - 1];
        assert_eq!(
            read_concealed(&mut short).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    fn meta(name: &str, provider: &str, var: &str, primary: bool, fields: &[&str]) -> EntryMeta {
        EntryMeta {
            name: name.into(),
            provider: provider.into(),
            environment: "prod".into(),
            env_var: var.into(),
            base_url: None,
            model: None,
            tier: None,
            tags: vec![],
            notes: String::new(),
            active: true,
            primary,
            expires_at: None,
            rotate_every_days: None,
            rotated_at: None,
            created_at: 0,
            updated_at: 0,
            last_used_at: None,
            use_count: 0,
            last_error: None,
            error_count: 0,
            masked: String::new(),
            field_names: fields.iter().map(|f| f.to_string()).collect(),
            version: 1,
            version_source: "cli".into(),
            fingerprint: vec![],
            last_checked_at: None,
        }
    }

    fn vars(p: &Pick) -> Vec<&str> {
        p.vars.iter().map(|v| v.var.as_str()).collect()
    }

    #[test]
    fn primary_wins_then_the_name() {
        let a = meta("a-openai", "openai", "OPENAI_API_KEY", false, &[]);
        let b = meta("b-openai", "openai", "OPENAI_API_KEY", true, &[]);
        let c = meta("c-openai", "openai", "OPENAI_API_KEY", false, &[]);
        let p = plan(&[&a, &b, &c]);
        assert_eq!(p.picks.len(), 1);
        assert_eq!(p.picks[0].entry, "b-openai");
        assert_eq!(p.shadowed.len(), 1);
        assert_eq!(p.shadowed[0].others, ["a-openai", "c-openai"]);
        assert!(p.shadowed[0].by_primary);

        let p = plan(&[&c, &a]);
        assert_eq!(p.picks[0].entry, "a-openai");
        assert!(!p.shadowed[0].by_primary);

        // Two primaries (other environments): the name decides, and says so.
        let mut d = meta("d-openai", "openai", "OPENAI_API_KEY", true, &[]);
        d.environment = "dev".into();
        let p = plan(&[&d, &b]);
        assert_eq!(p.picks[0].entry, "b-openai");
        assert!(!p.shadowed[0].by_primary);
    }

    #[test]
    fn aws_fields_travel_with_their_key() {
        let a = meta(
            "aws-a",
            "aws",
            "AWS_SECRET_ACCESS_KEY",
            false,
            &["access_key_id", "region", "session_token", "note"],
        );
        let b = meta(
            "aws-b",
            "aws",
            "AWS_SECRET_ACCESS_KEY",
            true,
            &["access_key_id"],
        );
        let p = plan(&[&a, &b]);
        assert_eq!(p.picks.len(), 1);
        assert_eq!(p.picks[0].entry, "aws-b");
        assert_eq!(
            vars(&p.picks[0]),
            ["AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"]
        );

        let p = plan(&[&a]);
        assert_eq!(
            vars(&p.picks[0]),
            [
                "AWS_SECRET_ACCESS_KEY",
                "AWS_ACCESS_KEY_ID",
                "AWS_REGION",
                "AWS_SESSION_TOKEN"
            ]
        );
        let secret: Vec<bool> = p.picks[0].vars.iter().map(|v| v.secret).collect();
        assert_eq!(secret, [true, false, false, true]);

        // An entry of its own for AWS_REGION beats the field, whatever the names.
        let r = meta("a-region", "custom", "AWS_REGION", false, &[]);
        let p = plan(&[&a, &r]);
        assert_eq!(p.picks.len(), 2);
        let aws = p.picks.iter().find(|p| p.entry == "aws-a").unwrap();
        assert!(!vars(aws).contains(&"AWS_REGION"));
        // Fields of other providers have no variable.
        let o = meta("o", "openai", "OPENAI_API_KEY", false, &["region"]);
        assert_eq!(vars(&plan(&[&o]).picks[0]), ["OPENAI_API_KEY"]);
    }

    #[test]
    fn invalid_variable_names_are_left_out() {
        for bad in ["", "1X", "A-B", "A B", "X;rm -rf ~", "É"] {
            assert!(!valid_var(bad), "{bad}");
            let m = meta("m", "custom", bad, false, &[]);
            let p = plan(&[&m]);
            assert!(p.picks.is_empty());
            assert_eq!(p.bad_vars, [("m".to_string(), bad.to_string())]);
        }
        for good in ["A", "_", "OPENAI_API_KEY", "x1_"] {
            assert!(valid_var(good), "{good}");
        }
    }

    #[test]
    fn injections_take_values_from_the_secret() {
        let a = meta(
            "aws-a",
            "aws",
            "AWS_SECRET_ACCESS_KEY",
            false,
            &["access_key_id", "region"],
        );
        let p = plan(&[&a]);
        let secret = Secret {
            value: "s3cr3t-value".into(),
            fields: vec![("access_key_id".into(), "AKIA".into())],
        };
        let inj = injections(&p.picks[0], &secret);
        let got: Vec<(&str, &str)> = inj
            .iter()
            .map(|i| (i.var.as_str(), i.value.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("AWS_SECRET_ACCESS_KEY", "s3cr3t-value"),
                ("AWS_ACCESS_KEY_ID", "AKIA")
            ]
        );
        assert!(!format!("{inj:?}").contains("s3cr3t"));
        let c = concealed(&inj);
        assert_eq!(c.len(), 1, "the access key id is not a secret");
        assert_eq!(c[0].name, "aws-a");
    }

    #[test]
    fn sh_quoting() {
        let s = export_script(
            Shell::Sh,
            &[("A", "it's"), ("B", ""), ("C", "$HOME `x` \\ \"q\" \n")],
        );
        assert_eq!(
            s.as_str(),
            "export A='it'\\''s'\nexport B=''\nexport C='$HOME `x` \\ \"q\" \n'\n"
        );
    }

    #[test]
    fn fish_quoting() {
        let s = export_script(Shell::Fish, &[("A", "it's \\ $x")]);
        assert_eq!(s.as_str(), "set -gx A 'it\\'s \\\\ $x'\n");
    }
}
