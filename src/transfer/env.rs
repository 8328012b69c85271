//! Env files: `KEY=value` lines, read into entries and written back.
//!
//! Read: `KEY=value` and `export KEY=value`; blanks around `=`; single quotes
//! (literal), double quotes (escapes `\n` `\t` `\r` `\\` `\"` `\$` and `` \` ``; other
//! backslashes are kept), both may span lines; unquoted values lose a ` # comment`
//! (a `#` after a blank) and surrounding blanks; `#` comment lines, blank lines, CRLF
//! line ends and a UTF-8 byte-order mark. A malformed line and a key set twice are
//! problems, reported by line number.
//!
//! Which lines are keys: the variable names the provider (`OPENAI_API_KEY`, …; the AWS
//! pair and its region and session token make one `aws` entry), else the value's
//! prefix does (`sk-ant-…`), else a variable named like a secret (`…KEY`, `…TOKEN`,
//! `…SECRET`, `…PASSWORD`, `…API…`) is a `custom` entry. Values that hold no secret
//! (empty, numbers, booleans, dates, paths, URLs without credentials) and settings
//! named like `…_URL` or `…_PORT` are left out, and said so.
//!
//! A `# NAME (PROVIDER, ENV)` comment on the line right above an assignment, as
//! `export` writes, names the entry, its provider and environment: an exported env
//! file reads back as the same entries.

use std::collections::HashMap;

use zeroize::Zeroizing;

use super::{Item, LeftOut, Parsed, Problem, Record, strip_bom};
use crate::model::Secret;
use crate::model::provider::{self, aws_access_key_id};

/// One `KEY=value` assignment of an env file.
#[derive(Clone)]
pub struct Var {
    /// Line number where it starts (from 1).
    pub line: usize,
    /// The variable.
    pub key: String,
    /// Its value, unquoted and unescaped.
    pub value: Zeroizing<String>,
    /// What a `# NAME (PROVIDER, ENV)` comment right above it says (as `export`
    /// writes), if there is one.
    pub hint: Option<Hint>,
}

/// The entry an exported line belongs to, from the comment `export` writes above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    /// Entry name.
    pub name: String,
    /// Provider id (a known one).
    pub provider: String,
    /// Environment.
    pub environment: String,
}

/// Reads `# NAME (PROVIDER, ENV)`; `None` for any other comment.
fn parse_hint(comment: &str) -> Option<Hint> {
    let text = comment.trim_start_matches('#').trim();
    let (name, rest) = text.split_once(" (")?;
    let inner = rest.strip_suffix(')')?;
    let (prov, env) = inner.split_once(", ")?;
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    let known = provider::PROVIDERS.iter().any(|p| p.id == prov);
    (name_ok && known && !env.trim().is_empty()).then(|| Hint {
        name: name.to_string(),
        provider: prov.to_string(),
        environment: env.to_string(),
    })
}

impl std::fmt::Debug for Var {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Var({} on line {}, <value hidden>)", self.key, self.line)
    }
}

/// Variables that name their provider.
const KNOWN_VARS: &[(&str, &str)] = &[
    ("OPENAI_API_KEY", "openai"),
    ("ANTHROPIC_API_KEY", "anthropic"),
    ("GOOGLE_API_KEY", "gemini"),
    ("GEMINI_API_KEY", "gemini"),
    ("GROQ_API_KEY", "groq"),
    ("DEEPSEEK_API_KEY", "deepseek"),
    ("XAI_API_KEY", "xai"),
    ("MISTRAL_API_KEY", "mistral"),
    ("OPENROUTER_API_KEY", "openrouter"),
    ("GITHUB_TOKEN", "github"),
    ("GH_TOKEN", "github"),
    ("STRIPE_SECRET_KEY", "stripe"),
];

const AWS_SECRET: &str = "AWS_SECRET_ACCESS_KEY";
const AWS_ID: &str = "AWS_ACCESS_KEY_ID";
const AWS_REGION: &str = "AWS_REGION";
const AWS_DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";
const AWS_TOKEN: &str = "AWS_SESSION_TOKEN";

/// The provider a variable's name says, if it is one of the known ones.
pub fn provider_of_var(key: &str) -> Option<&'static str> {
    if key == AWS_SECRET {
        return Some("aws");
    }
    KNOWN_VARS.iter().find(|(k, _)| *k == key).map(|(_, p)| *p)
}

/// Parses env text into entries: [`parse_vars`], then which variables are keys.
pub fn parse(text: &str, environment: &str) -> Parsed {
    let (vars, problems) = parse_vars(text);
    let mut parsed = classify(vars, environment);
    parsed.problems.extend(problems);
    parsed.problems.sort_by_key(|p| p.line);
    super::derive_names(&mut parsed.items);
    parsed
}

fn is_key_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The rest of a closing-quote line is fine when blank or a comment.
fn rest_is_blank(rest: &str) -> bool {
    let r = rest.trim_start_matches([' ', '\t']);
    r.is_empty() || r.starts_with('#')
}

/// Reads a quoted value starting just after its opening `quote` on `lines[start]`
/// (from byte `from`). Returns the value, the index of the line where it closes and
/// the text after the closing quote; `None` if it never closes.
fn read_quoted<'a>(
    lines: &[&'a str],
    start: usize,
    from: usize,
    quote: char,
) -> Option<(Zeroizing<String>, usize, &'a str)> {
    let mut value = Zeroizing::new(String::new());
    let mut idx = start;
    let mut text = &lines[start][from..];
    loop {
        let mut chars = text.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == quote {
                return Some((value, idx, &text[i + c.len_utf8()..]));
            }
            if quote == '"' && c == '\\' {
                match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, 't')) => value.push('\t'),
                    Some((_, 'r')) => value.push('\r'),
                    Some((_, e @ ('\\' | '"' | '$' | '`'))) => value.push(e),
                    Some((_, other)) => {
                        value.push('\\');
                        value.push(other);
                    }
                    None => value.push('\\'),
                }
                continue;
            }
            value.push(c);
        }
        idx += 1;
        if idx >= lines.len() {
            return None;
        }
        value.push('\n');
        text = lines[idx];
    }
}

/// Reads the assignments of an env file, in order, and the problems: malformed lines
/// and variables set twice (the later line is the problem; the first one counts).
pub fn parse_vars(text: &str) -> (Vec<Var>, Vec<Problem>) {
    let text = strip_bom(text);
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut vars: Vec<Var> = Vec::new();
    let mut problems = Vec::new();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    // The comment on the line just above, if any (it may name the entry).
    let mut comment: Option<(usize, &str)> = None;
    let mut i = 0;
    while i < lines.len() {
        let n = i + 1;
        let raw = lines[i];
        i += 1;
        let line = raw.trim_start_matches([' ', '\t']);
        let above = comment.take().filter(|(at, _)| *at + 1 == n);
        if line.starts_with('#') {
            comment = Some((n, line));
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let mut rest = line;
        if let Some(after) = rest.strip_prefix("export")
            && after.starts_with([' ', '\t'])
        {
            rest = after.trim_start_matches([' ', '\t']);
        }
        let key_len = rest
            .char_indices()
            .find(|&(_, c)| !is_key_char(c))
            .map_or(rest.len(), |(j, _)| j);
        let key = &rest[..key_len];
        if !key.starts_with(is_key_start) {
            problems.push(Problem::new(
                n,
                "",
                "not a KEY=value line (a variable is letters, digits and _, not starting with a digit)",
            ));
            continue;
        }
        let after_key = rest[key_len..].trim_start_matches([' ', '\t']);
        let Some(after_eq) = after_key.strip_prefix('=') else {
            // No label: a line without `=` may be a pasted key.
            let message = if after_key.is_empty() {
                "no '=' and no value (not a KEY=value line)"
            } else {
                "not a KEY=value line"
            };
            problems.push(Problem::new(n, "", message));
            continue;
        };
        let value_text = after_eq.trim_start_matches([' ', '\t']);
        let blank_before = value_text.len() != after_eq.len();
        let offset = raw.len() - value_text.len();
        let value = match value_text.chars().next() {
            Some(q @ ('\'' | '"')) => match read_quoted(&lines, n - 1, offset + 1, q) {
                Some((value, end, rest)) if rest_is_blank(rest) => {
                    i = end + 1;
                    value
                }
                Some(_) => {
                    problems.push(Problem::new(
                        n,
                        key,
                        "unexpected text after the closing quote",
                    ));
                    continue;
                }
                None => {
                    problems.push(Problem::new(
                        n,
                        key,
                        "the quote opened here is never closed",
                    ));
                    continue;
                }
            },
            Some('#') if blank_before => Zeroizing::new(String::new()),
            _ => {
                // A `#` after a blank starts a comment.
                let mut end = value_text.len();
                let bytes = value_text.as_bytes();
                for j in 1..bytes.len() {
                    if bytes[j] == b'#' && (bytes[j - 1] == b' ' || bytes[j - 1] == b'\t') {
                        end = j;
                        break;
                    }
                }
                Zeroizing::new(value_text[..end].trim_end_matches([' ', '\t']).to_string())
            }
        };
        if let Some(first) = first_line.get(key) {
            problems.push(Problem::new(
                n,
                key,
                format!("set again (first on line {first}); keep one of the two"),
            ));
            continue;
        }
        first_line.insert(key.to_string(), n);
        vars.push(Var {
            line: n,
            key: key.to_string(),
            value,
            hint: above.and_then(|(_, c)| parse_hint(c)),
        });
    }
    (vars, problems)
}

/// Why a value is no secret, when it obviously is none.
fn not_a_secret_value(value: &str) -> Option<&'static str> {
    let v = value.trim();
    if v.is_empty() {
        return Some("an empty value");
    }
    if ["true", "false", "yes", "no", "on", "off"]
        .iter()
        .any(|b| v.eq_ignore_ascii_case(b))
    {
        return Some("a boolean");
    }
    let number = v.strip_prefix(['-', '+', 'v']).unwrap_or(v);
    if v.len() <= 8
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && number.bytes().any(|b| b.is_ascii_digit())
    {
        return Some("a number");
    }
    if v.len() == 10 && v.parse::<jiff::civil::Date>().is_ok() {
        return Some("a date");
    }
    if (v.starts_with('/') || v.starts_with("./") || v.starts_with("~/") || v.starts_with("../"))
        && !v.contains(char::is_whitespace)
    {
        return Some("a file path");
    }
    None
}

/// `Some(true)` for a URL with credentials (a password, or a query parameter named
/// like a key), `Some(false)` for one without, `None` when `value` is no URL.
fn url_has_credentials(value: &str) -> Option<bool> {
    let (scheme, rest) = value.split_once("://")?;
    if scheme.is_empty()
        || !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
        || rest.contains(char::is_whitespace)
    {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if let Some((userinfo, _)) = authority.rsplit_once('@')
        && userinfo
            .split_once(':')
            .is_some_and(|(_, pass)| !pass.is_empty())
    {
        return Some(true);
    }
    if let Some((_, query)) = rest.split_once('?') {
        let query = query.split('#').next().unwrap_or("");
        for pair in query.split('&') {
            let name = pair.split('=').next().unwrap_or("").to_ascii_lowercase();
            if ["key", "token", "secret", "password", "sig", "auth"]
                .iter()
                .any(|w| name.contains(w))
            {
                return Some(true);
            }
        }
    }
    Some(false)
}

/// Variables named like settings (`…_URL`, `…_PORT`, public values) hold no secret.
fn setting_name(key: &str) -> bool {
    const PUBLIC: &[&str] = &[
        "NEXT_PUBLIC_",
        "EXPO_PUBLIC_",
        "PUBLIC_",
        "VITE_",
        "REACT_APP_",
    ];
    const SUFFIXES: &[&str] = &[
        "_URL",
        "_URI",
        "_HOST",
        "_HOSTNAME",
        "_PORT",
        "_REGION",
        "_MODEL",
        "_VERSION",
        "_ENDPOINT",
        "_USER",
        "_USERNAME",
        "_EMAIL",
        "_ORG",
        "_ORG_ID",
        "_PROJECT",
        "_ID",
        "_DOMAIN",
        "_PATH",
        "_DIR",
        "_FILE",
        "_ENV",
        "_MODE",
        "_LEVEL",
        "_TIMEOUT",
        "_NAME",
        "_BUCKET",
    ];
    let k = key.to_ascii_uppercase();
    PUBLIC.iter().any(|p| k.starts_with(p))
        || k.contains("PUBLISHABLE")
        || k.contains("PUBLIC_KEY")
        || SUFFIXES.iter().any(|s| k.ends_with(s))
}

/// Variables named like passwords: even a number in them is a secret.
fn strong_secret_name(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    ["PASSWORD", "PASSWD", "SECRET", "_PIN"]
        .iter()
        .any(|w| k.contains(w))
        || k == "PASS"
        || k.ends_with("_PASS")
}

/// Variables named like secrets.
fn secret_name(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    [
        "KEY",
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "API",
        "CREDENTIAL",
        "PRIVATE",
    ]
    .iter()
    .any(|w| k.contains(w))
        || k == "PASS"
        || k.ends_with("_PASS")
}

/// What a single variable is: a key of a provider, a custom secret, or no secret.
enum Kind {
    Key(&'static str),
    NotSecret(String),
    Invalid(String),
}

fn kind_of(key: &str, value: &str) -> Kind {
    let value = value.trim();
    if let Some(id) = provider_of_var(key) {
        if value.is_empty() {
            return Kind::NotSecret("an empty value".into());
        }
        let Some(p) = provider::find(id) else {
            return Kind::Invalid(format!("unknown provider {id}"));
        };
        if p.accepts(value) {
            return Kind::Key(p.id);
        }
        // OPENAI_API_KEY holding an OpenRouter key (the OpenAI SDK pointed elsewhere).
        if let Some(q) = provider::infer(value).filter(|q| q.accepts(value)) {
            return Kind::Key(q.id);
        }
        return Kind::Invalid(p.check_format(value).err().unwrap_or_default());
    }
    if let Some(p) = provider::infer(value).filter(|p| p.accepts(value)) {
        return Kind::Key(p.id);
    }
    match url_has_credentials(value) {
        Some(true) => return Kind::Key("custom"),
        Some(false) => return Kind::NotSecret("a URL without credentials".into()),
        None => {}
    }
    if let Some(why) = not_a_secret_value(value) {
        // A number or a path-like value can be a password; elsewhere it is a
        // setting (MAX_TOKENS=4096, CREDENTIALS_FILE=/etc/app.json).
        if !(matches!(why, "a number" | "a file path") && strong_secret_name(key)) {
            return Kind::NotSecret(why.into());
        }
    }
    if setting_name(key) {
        return Kind::NotSecret("a setting, by its name".into());
    }
    if secret_name(key) {
        return Kind::Key("custom");
    }
    Kind::NotSecret("neither its name nor its value looks like a key".into())
}

/// Applies a hint: the entry's name, provider and environment as exported.
fn hinted(mut item: Item, hint: Option<Hint>) -> Item {
    if let Some(h) = hint {
        item.record.name = h.name;
        item.record.provider = h.provider;
        item.record.environment = h.environment;
        item.derived_name = false;
    }
    item
}

fn record(provider: &str, environment: &str, var: &str, secret: Secret) -> Record {
    Record {
        provider: provider.to_string(),
        environment: environment.to_string(),
        env_var: var.to_string(),
        active: true,
        secret,
        ..Default::default()
    }
}

/// Decides which variables are keys and makes their records (names not yet set).
pub fn classify(vars: Vec<Var>, environment: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let find = |k: &str| vars.iter().position(|v| v.key == k);
    let mut used = vec![false; vars.len()];
    // The AWS variables make one entry.
    if let Some(s) = find(AWS_SECRET) {
        let secret_var = &vars[s];
        used[s] = true;
        let id = find(AWS_ID);
        if let Some(i) = id {
            used[i] = true;
        }
        if secret_var.value.trim().is_empty() {
            parsed.left_out.push(LeftOut {
                line: secret_var.line,
                key: AWS_SECRET.into(),
                why: "an empty value".into(),
            });
            if let Some(i) = id {
                parsed.left_out.push(LeftOut {
                    line: vars[i].line,
                    key: AWS_ID.into(),
                    why: "an access key id without its secret".into(),
                });
            }
        } else {
            match id {
                None => parsed.problems.push(Problem::new(
                    secret_var.line,
                    AWS_SECRET,
                    format!("{AWS_ID} is missing; an AWS key needs both in the same file"),
                )),
                Some(i) if !aws_access_key_id(vars[i].value.trim()) => {
                    parsed.problems.push(Problem::new(
                        vars[i].line,
                        AWS_ID,
                        "not an access key id: expected 20 characters starting AKIA or ASIA",
                    ))
                }
                Some(i) => {
                    let mut label = format!("{AWS_SECRET} + {AWS_ID}");
                    let mut fields = vec![(
                        "access_key_id".to_string(),
                        vars[i].value.trim().to_string(),
                    )];
                    let region = find(AWS_REGION).or_else(|| find(AWS_DEFAULT_REGION));
                    for (idx, field) in [(region, "region"), (find(AWS_TOKEN), "session_token")] {
                        if let Some(r) = idx {
                            used[r] = true;
                            let v = vars[r].value.trim();
                            if !v.is_empty() {
                                label.push_str(&format!(" + {}", vars[r].key));
                                fields.push((field.to_string(), v.to_string()));
                            }
                        }
                    }
                    let secret = Secret {
                        value: secret_var.value.trim().to_string(),
                        fields,
                    };
                    let group = [Some(s), Some(i), region, find(AWS_TOKEN)];
                    let hint = group
                        .into_iter()
                        .flatten()
                        .find_map(|k| vars[k].hint.clone())
                        .filter(|h| h.provider == "aws");
                    parsed.items.push(hinted(
                        Item {
                            line: secret_var.line,
                            label,
                            record: record("aws", environment, AWS_SECRET, secret),
                            derived_name: true,
                        },
                        hint,
                    ));
                }
            }
        }
    } else if let Some(i) = find(AWS_ID) {
        used[i] = true;
        parsed.left_out.push(LeftOut {
            line: vars[i].line,
            key: AWS_ID.into(),
            why: format!("an access key id without {AWS_SECRET}"),
        });
    }
    for (var, _) in vars.iter().zip(&used).filter(|(_, u)| !**u) {
        let kind = match &var.hint {
            // A line `export` wrote: a key of the provider it names.
            Some(h) if !var.value.trim().is_empty() => match kind_of(&var.key, &var.value) {
                Kind::Invalid(m) if h.provider != "custom" => Kind::Invalid(m),
                _ => Kind::Key(provider::find(&h.provider).map_or("custom", |p| p.id)),
            },
            _ => kind_of(&var.key, &var.value),
        };
        match kind {
            Kind::Key(p) => parsed.items.push(hinted(
                Item {
                    line: var.line,
                    label: var.key.clone(),
                    record: record(p, environment, &var.key, Secret::new(&var.value)),
                    derived_name: true,
                },
                var.hint.clone(),
            )),
            Kind::NotSecret(why) => parsed.left_out.push(LeftOut {
                line: var.line,
                key: var.key.clone(),
                why,
            }),
            Kind::Invalid(message) => {
                parsed
                    .problems
                    .push(Problem::new(var.line, var.key.clone(), message))
            }
        }
    }
    parsed.items.sort_by_key(|i| i.line);
    parsed.left_out.sort_by_key(|l| l.line);
    parsed
}

/// A value as an env file writes it so that [`parse_vars`] reads it back: bare when
/// plain, else in single quotes, else in double quotes with escapes.
pub fn quote(value: &str) -> Zeroizing<String> {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./+=:@,%^~".contains(&b));
    let mut out = Zeroizing::new(String::with_capacity(value.len() + 8));
    if plain {
        out.push_str(value);
    } else if !value.contains(['\'', '\n', '\r']) {
        out.push('\'');
        out.push_str(value);
        out.push('\'');
    } else {
        out.push('"');
        for c in value.chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\\' | '"' | '$' | '`' => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out
}

/// An env export: the text and the entries it could not hold.
pub struct EnvExport {
    /// `VAR=value` lines.
    pub text: Zeroizing<String>,
    /// Entries left out, with why (inactive, or their variable is taken).
    pub left_out: Vec<(String, String)>,
}

/// The variables an entry sets: its own, and for AWS the access key id, region and
/// session token next to it.
fn lines_of(r: &Record) -> Vec<(String, &str)> {
    let var = if r.env_var.is_empty() {
        provider::find(&r.provider)
            .map(|p| p.env_var.to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| provider::custom_env_var(&r.name))
    } else {
        r.env_var.clone()
    };
    let mut out = Vec::new();
    if r.provider == "aws" {
        for (field, name) in [
            ("access_key_id", AWS_ID),
            ("region", AWS_REGION),
            ("session_token", AWS_TOKEN),
        ] {
            if let Some(v) = r.secret.field(field) {
                out.push((name.to_string(), v));
            }
        }
    }
    out.push((var, r.secret.value.as_str()));
    out
}

/// Writes the active records as `VAR=value` lines. One entry per variable: when two
/// set the same variable the primary wins, else the first. Inactive entries are left
/// out (they must not be injected), and so are the losers; both are listed.
pub fn write(records: &[Record]) -> EnvExport {
    let mut left_out = Vec::new();
    let active: Vec<&Record> = records
        .iter()
        .filter(|r| {
            if !r.active {
                left_out.push((r.name.clone(), "inactive".to_string()));
            }
            r.active
        })
        .collect();
    // Primaries first claim their variables, then the others in order.
    let mut owner: HashMap<String, usize> = HashMap::new();
    let mut chosen = vec![false; active.len()];
    let order = (0..active.len())
        .filter(|&i| active[i].primary)
        .chain((0..active.len()).filter(|&i| !active[i].primary));
    for i in order {
        let vars: Vec<String> = lines_of(active[i]).into_iter().map(|(v, _)| v).collect();
        match vars.iter().find_map(|v| owner.get(v).map(|&j| (v, j))) {
            Some((v, j)) => left_out.push((
                active[i].name.clone(),
                format!("{v} is already set by {}", active[j].name),
            )),
            None => {
                for v in vars {
                    owner.insert(v, i);
                }
                chosen[i] = true;
            }
        }
    }
    let mut text = Zeroizing::new(String::new());
    let size: usize = active
        .iter()
        .map(|r| r.secret.value.len() * 2 + r.env_var.len() + 160)
        .sum();
    text.reserve(size);
    for (r, _) in active.iter().zip(&chosen).filter(|(_, c)| **c) {
        let comment = format!("# {} ({}, {})", r.name, r.provider, r.environment);
        text.push_str(&comment.replace(['\n', '\r'], " "));
        text.push('\n');
        for (var, value) in lines_of(r) {
            text.push_str(&var);
            text.push('=');
            text.push_str(&quote(value));
            text.push('\n');
        }
    }
    EnvExport { text, left_out }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENAI: &str = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z";
    const ANTHROPIC: &str = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz012345";
    const AWS_S: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn vars(text: &str) -> Vec<(usize, String, String)> {
        let (v, p) = parse_vars(text);
        assert!(p.is_empty(), "{p:?}");
        v.into_iter()
            .map(|v| (v.line, v.key, v.value.to_string()))
            .collect()
    }

    fn one(text: &str) -> String {
        let v = vars(text);
        assert_eq!(v.len(), 1, "{text}");
        v[0].2.clone()
    }

    #[test]
    fn values_quotes_and_escapes() {
        assert_eq!(one("A=plain"), "plain");
        assert_eq!(one("export A=plain"), "plain");
        assert_eq!(one("export\tA = spaced  "), "spaced");
        assert_eq!(
            one("A='lit \\n $x # no comment'"),
            "lit \\n $x # no comment"
        );
        assert_eq!(one(r#"A="a\nb\tc\\d\"e\$f\qg""#), "a\nb\tc\\d\"e$f\\qg");
        assert_eq!(one("A=value # comment"), "value");
        assert_eq!(one("A=val#ue"), "val#ue");
        assert_eq!(one("A= # only a comment"), "");
        assert_eq!(one("A=#hash"), "#hash");
        assert_eq!(one("A=\"quoted\" # comment"), "quoted");
        assert_eq!(one("A='x'#c"), "x");
        assert_eq!(one("A="), "");
        assert_eq!(one("A=two words"), "two words");
        assert_eq!(one("A=\"multi\nline\""), "multi\nline");
        assert_eq!(one("A=it's"), "it's");
    }

    #[test]
    fn comments_blanks_crlf_bom() {
        let text = "\u{feff}# top\r\n\r\n  A=1\r\nexport B='two'\r\n   # indented\r\nC=\"3\"\r\n";
        assert_eq!(
            vars(text),
            [
                (3, "A".into(), "1".into()),
                (4, "B".into(), "two".into()),
                (6, "C".into(), "3".into())
            ]
        );
    }

    #[test]
    fn malformed_lines_and_duplicates_by_number() {
        let text =
            "A=1\njust words\n9X=1\nB\nC=\"open\nD=2\nE='x' tail\nA=dupvalue\nexport\nF=ok\n";
        let (v, p) = parse_vars(text);
        let keys: Vec<&str> = v.iter().map(|v| v.key.as_str()).collect();
        assert_eq!(keys, ["A", "D", "F"]);
        let lines: Vec<usize> = p.iter().map(|p| p.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 7, 8, 9], "{p:?}");
        assert!(p[3].message.contains("never closed"), "{:?}", p[3]);
        assert!(p[5].message.contains("first on line 1"), "{:?}", p[5]);
        // No message echoes a value.
        for prob in &p {
            assert!(!prob.message.contains("dupvalue") && !prob.message.contains("tail"));
        }
    }

    #[test]
    fn providers_from_names_and_prefixes() {
        let text = format!(
            "OPENAI_API_KEY={OPENAI}\nLLM={ANTHROPIC}\nGOOGLE_API_KEY=AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q\n\
             SESSION_SECRET=abcdef123456\nPORT=3000\nNODE_ENV=production\nAPI_URL=https://api.example.com/v1\n\
             DEBUG=true\nDATABASE_URL=postgres://u:pw@db/x\nMAX_TOKENS=4096\nEMPTY_KEY=\nOPENAI_BASE_URL=https://x.test\n"
        );
        let p = parse(&text, "dev");
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let got: Vec<(&str, &str, &str)> = p
            .items
            .iter()
            .map(|i| {
                (
                    i.label.as_str(),
                    i.record.provider.as_str(),
                    i.record.env_var.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("OPENAI_API_KEY", "openai", "OPENAI_API_KEY"),
                ("LLM", "anthropic", "LLM"),
                ("GOOGLE_API_KEY", "gemini", "GOOGLE_API_KEY"),
                ("SESSION_SECRET", "custom", "SESSION_SECRET"),
                ("DATABASE_URL", "custom", "DATABASE_URL"),
            ]
        );
        assert!(p.items.iter().all(|i| i.record.environment == "dev"));
        let left: Vec<&str> = p.left_out.iter().map(|l| l.key.as_str()).collect();
        assert_eq!(
            left,
            [
                "PORT",
                "NODE_ENV",
                "API_URL",
                "DEBUG",
                "MAX_TOKENS",
                "EMPTY_KEY",
                "OPENAI_BASE_URL"
            ]
        );
    }

    #[test]
    fn a_bad_key_under_a_known_name_is_a_problem() {
        let p = parse("\n\nOPENAI_API_KEY=sk-short\n", "prod");
        assert!(p.items.is_empty());
        assert_eq!(p.problems.len(), 1);
        assert_eq!(p.problems[0].line, 3);
        assert!(p.problems[0].message.contains("OpenAI format"));
        assert!(!p.problems[0].message.contains("sk-short"));
        // An OpenRouter key under OPENAI_API_KEY is an OpenRouter entry.
        let or = "sk-or-v1-0123456789abcdef0123456789abcdef";
        let p = parse(&format!("OPENAI_API_KEY={or}"), "prod");
        assert_eq!(p.items[0].record.provider, "openrouter");
        assert_eq!(p.items[0].record.env_var, "OPENAI_API_KEY");
    }

    #[test]
    fn the_aws_variables_make_one_entry() {
        let text = format!(
            "AWS_REGION=eu-west-1\nAWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nAWS_SECRET_ACCESS_KEY={AWS_S}\nAWS_SESSION_TOKEN=tok/en+=\n"
        );
        let p = parse(&text, "prod");
        assert!(p.problems.is_empty() && p.left_out.is_empty(), "{p:?}");
        assert_eq!(p.items.len(), 1);
        let r = &p.items[0].record;
        assert_eq!((r.provider.as_str(), r.name.as_str()), ("aws", "aws-prod"));
        assert_eq!(r.secret.value, AWS_S);
        assert_eq!(
            r.secret.field("access_key_id"),
            Some("AKIAIOSFODNN7EXAMPLE")
        );
        assert_eq!(r.secret.field("region"), Some("eu-west-1"));
        assert_eq!(r.secret.field("session_token"), Some("tok/en+="));
        assert_eq!(p.items[0].line, 3);
        // The secret without its id is a problem; the id alone is no secret.
        let p = parse(&format!("AWS_SECRET_ACCESS_KEY={AWS_S}"), "prod");
        assert_eq!(p.problems.len(), 1);
        let p = parse(
            "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nAWS_REGION=us-east-1",
            "prod",
        );
        assert!(p.items.is_empty() && p.problems.is_empty());
        assert_eq!(p.left_out.len(), 2);
    }

    #[test]
    fn second_keys_of_a_provider_get_numbered_names() {
        let other = "sk-proj-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp";
        let p = super::super::parse(
            super::super::Format::Env,
            &format!("OPENAI_API_KEY={OPENAI}\nOPENAI_API_KEY_2={other}\nMY_TOKEN=abcdefgh12\n"),
            "staging",
        )
        .unwrap();
        let names: Vec<&str> = p.items.iter().map(|i| i.record.name.as_str()).collect();
        assert_eq!(
            names,
            ["openai-staging", "openai-staging-2", "my-token-staging"]
        );
    }

    #[test]
    fn export_comments_name_the_entry() {
        let text = "# my-key (custom, odd env, x)\nSOME_SETTING=abc\n\n# not-a-hint\nOTHER=1\n# k (nope, prod)\nPLAIN=x\n";
        let p = parse(text, "prod");
        assert_eq!(p.items.len(), 1, "{p:?}");
        let r = &p.items[0].record;
        assert_eq!(
            (r.name.as_str(), r.provider.as_str(), r.environment.as_str()),
            ("my-key", "custom", "odd env, x")
        );
        assert!(!p.items[0].derived_name);
        assert_eq!(p.left_out.len(), 2);
        // A blank line between them: no hint.
        let p = parse("# my-key (custom, prod)\n\nSOME_SETTING=abc\n", "prod");
        assert!(p.items.is_empty());
    }

    #[test]
    fn quoting_reads_back() {
        for v in [
            "plain-Value_1.2/3+4=5:6@7",
            "with space",
            "it's",
            "a\"b",
            "line\nbreak",
            "back\\slash $HOME `x`",
            "tab\there",
            "#hash",
            "trail ",
            "é ünïcode",
            "quote' and \"both\"\nand newline",
        ] {
            let text = format!("K={}\n", &*quote(v));
            assert_eq!(one(&text), v, "{text}");
        }
    }

    #[test]
    fn write_keeps_active_and_one_per_variable() {
        let rec = |name: &str, var: &str, primary: bool, active: bool| Record {
            name: name.into(),
            provider: "openai".into(),
            environment: "prod".into(),
            env_var: var.into(),
            active,
            primary,
            secret: Secret::new(OPENAI),
            ..Default::default()
        };
        let out = write(&[
            rec("a", "OPENAI_API_KEY", false, true),
            rec("b", "OPENAI_API_KEY", true, true),
            rec("c", "OTHER", false, false),
        ]);
        assert_eq!(out.text.matches("OPENAI_API_KEY=").count(), 1);
        assert!(out.text.contains("# b (openai, prod)"));
        assert_eq!(out.left_out.len(), 2, "{:?}", out.left_out);
        let aws = Record {
            name: "aws-prod".into(),
            provider: "aws".into(),
            environment: "prod".into(),
            env_var: "AWS_SECRET_ACCESS_KEY".into(),
            active: true,
            secret: Secret {
                value: AWS_S.into(),
                fields: vec![
                    ("access_key_id".into(), "AKIAIOSFODNN7EXAMPLE".into()),
                    ("region".into(), "eu-west-1".into()),
                ],
            },
            ..Default::default()
        };
        let out = write(&[aws]);
        let p = parse(&out.text, "prod");
        assert_eq!(p.items.len(), 1, "{p:?}");
        assert_eq!(p.items[0].record.secret.field("region"), Some("eu-west-1"));
    }
}
