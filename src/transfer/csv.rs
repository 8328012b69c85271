//! The CSV format (RFC 4180): a header row naming the columns, then one row per
//! entry.
//!
//! Columns: `name,provider,environment,env_var,base_url,model,tier,tags,notes,active,
//! primary,expires_at,rotate_every_days,secret,fields`. Cells holding a comma, a quote
//! or a line break are quoted (`"…"`, a quote doubled); rows end with CRLF (LF is read
//! too). `tags` is `a;b`, `fields` is `name=value;name=value`, where `\;`, `\=` and
//! `\\` stand for `;`, `=` and `\`. `active` and `primary` are `true` or `false`; an
//! empty cell is a missing value. On import only the `secret` column is required; the
//! columns may come in any order and unknown ones are ignored.

use zeroize::{Zeroize, Zeroizing};

use super::{Item, Parsed, Problem, Record, fill_defaults, parse_bool, strip_bom};
use crate::model::Secret;

/// The columns, in the order `export` writes them.
pub const COLUMNS: [&str; 15] = [
    "name",
    "provider",
    "environment",
    "env_var",
    "base_url",
    "model",
    "tier",
    "tags",
    "notes",
    "active",
    "primary",
    "expires_at",
    "rotate_every_days",
    "secret",
    "fields",
];

/// One row: its first line and cells (wiped on drop), or why it cannot be read.
struct Row {
    line: usize,
    cells: Vec<String>,
    bad: Option<&'static str>,
}

impl Drop for Row {
    fn drop(&mut self) {
        for c in &mut self.cells {
            c.zeroize();
        }
    }
}

/// Splits CSV text into rows. `Err`: a quote never closed (the rest cannot be read).
fn rows(text: &str) -> Result<Vec<Row>, Problem> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut chars = text.chars().peekable();
    let mut row = Row {
        line,
        cells: Vec::new(),
        bad: None,
    };
    let mut cell = String::new();
    loop {
        // At the start of a cell.
        if chars.peek() == Some(&'"') {
            chars.next();
            let start = line;
            loop {
                match chars.next() {
                    None => {
                        cell.zeroize();
                        return Err(Problem::new(start, "", "a quoted cell is never closed"));
                    }
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        cell.push('"');
                    }
                    Some('"') => break,
                    Some(c) => {
                        if c == '\n' {
                            line += 1;
                        }
                        cell.push(c);
                    }
                }
            }
            // After the closing quote: a comma, a line end, or the end.
            while let Some(&c) = chars.peek() {
                if c == ',' || c == '\n' || (c == '\r' && cell_end_is_crlf(&chars)) {
                    break;
                }
                row.bad = Some("text after a quoted cell's closing quote");
                chars.next();
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' || c == '\n' || (c == '\r' && cell_end_is_crlf(&chars)) {
                    break;
                }
                cell.push(c);
                chars.next();
            }
        }
        row.cells.push(std::mem::take(&mut cell));
        match chars.next() {
            Some(',') => continue,
            Some('\r') => {
                chars.next(); // the '\n' of CRLF
            }
            Some(_) => {} // '\n'
            None => {
                let blank = row.cells.len() == 1 && row.cells[0].is_empty();
                if !blank {
                    out.push(row);
                }
                return Ok(out);
            }
        }
        line += 1;
        let blank = row.cells.len() == 1 && row.cells[0].is_empty() && row.bad.is_none();
        let next = Row {
            line,
            cells: Vec::new(),
            bad: None,
        };
        let done = std::mem::replace(&mut row, next);
        if !blank {
            out.push(done);
        }
    }
}

/// True when the `\r` the iterator is at is followed by `\n`.
fn cell_end_is_crlf(chars: &std::iter::Peekable<std::str::Chars<'_>>) -> bool {
    let mut ahead = chars.clone();
    ahead.next();
    ahead.peek() == Some(&'\n')
}

/// Splits `s` at unescaped `sep`, undoing `\` escapes.
fn split_escaped(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n) => cur.push(n),
                None => cur.push('\\'),
            }
        } else if c == sep {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

/// Splits `name=value` at the first unescaped `=`, keeping escapes in the value for
/// [`unescape`].
fn split_pair(s: &str) -> Option<(String, String)> {
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            chars.next();
        } else if c == '=' {
            return Some((unescape(&s[..i]), unescape(&s[i + 1..])));
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.push(chars.next().unwrap_or('\\'));
        } else {
            out.push(c);
        }
    }
    out
}

/// Splits at unescaped `;` keeping the escapes (each part is split again at `=`).
fn split_keep_escapes(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            chars.next();
        } else if c == ';' {
            out.push(&s[start..i]);
            start = i + 1;
        }
    }
    out.push(&s[start..]);
    out
}

/// Appends `s` to `out` with `\` before a backslash and before each of `specials`.
fn push_escaped(out: &mut String, s: &str, specials: &[char]) {
    for c in s.chars() {
        if c == '\\' || specials.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
}

fn record_of(header: &[Option<usize>], row: &Row) -> Result<Record, String> {
    let cell = |col: &str| -> &str {
        COLUMNS
            .iter()
            .position(|c| *c == col)
            .and_then(|k| header[k])
            .and_then(|i| row.cells.get(i))
            .map_or("", String::as_str)
    };
    let opt = |col: &str| Some(cell(col).to_string()).filter(|s| !s.is_empty());
    let flag = |col: &str, default: bool| {
        parse_bool(cell(col), default).ok_or(format!("\"{col}\" must be true or false"))
    };
    let days = cell("rotate_every_days").trim();
    let rotate_every_days = if days.is_empty() {
        None
    } else {
        Some(
            days.parse::<u32>()
                .map_err(|_| "\"rotate_every_days\" must be a whole number of days".to_string())?,
        )
    };
    let mut fields = Vec::new();
    let f = cell("fields");
    if !f.is_empty() {
        for part in split_keep_escapes(f).into_iter().filter(|p| !p.is_empty()) {
            match split_pair(part) {
                Some((name, value)) if !name.is_empty() => fields.push((name, value)),
                _ => return Err("\"fields\" must be name=value;name=value".into()),
            }
        }
    }
    let secret = Zeroizing::new(cell("secret").trim().to_string());
    if secret.is_empty() {
        return Err("no secret (the secret cell is empty)".into());
    }
    let tags = cell("tags");
    Ok(Record {
        name: cell("name").to_string(),
        provider: cell("provider").to_string(),
        environment: cell("environment").to_string(),
        env_var: cell("env_var").to_string(),
        base_url: opt("base_url"),
        model: opt("model"),
        tier: opt("tier"),
        tags: if tags.is_empty() {
            Vec::new()
        } else {
            split_escaped(tags, ';')
                .into_iter()
                .filter(|t| !t.is_empty())
                .collect()
        },
        notes: cell("notes").to_string(),
        active: flag("active", true)?,
        primary: flag("primary", false)?,
        expires_at: opt("expires_at"),
        rotate_every_days,
        secret: Secret {
            value: secret.to_string(),
            fields,
        },
    })
}

/// Parses CSV text. `Err`: no header row with a `secret` column, a column named
/// twice, or a quote never closed.
pub fn parse(text: &str, environment: &str) -> Result<Parsed, Problem> {
    let all = rows(strip_bom(text))?;
    let mut iter = all.iter();
    let Some(head) = iter.next() else {
        return Ok(Parsed::default());
    };
    let names: Vec<String> = head
        .cells
        .iter()
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let mut header: Vec<Option<usize>> = vec![None; COLUMNS.len()];
    for (k, col) in COLUMNS.iter().enumerate() {
        let found: Vec<usize> = (0..names.len()).filter(|&i| names[i] == *col).collect();
        if found.len() > 1 {
            return Err(Problem::new(
                head.line,
                "",
                format!("the column \"{col}\" is named twice in the header"),
            ));
        }
        header[k] = found.first().copied();
    }
    if header[COLUMNS.iter().position(|c| *c == "secret").unwrap_or(13)].is_none() {
        return Err(Problem::new(
            head.line,
            "",
            format!(
                "the first row must name the columns, with a \"secret\" column: {}",
                COLUMNS.join(",")
            ),
        ));
    }
    let mut parsed = Parsed::default();
    for (n, row) in iter.enumerate() {
        let name = header[0]
            .and_then(|i| row.cells.get(i))
            .filter(|s| !s.is_empty())
            .cloned();
        let label = name.unwrap_or_else(|| format!("row {}", n + 1));
        let record = if let Some(why) = row.bad {
            Err(why.to_string())
        } else if row.cells.len() != names.len() {
            Err(format!(
                "{} cells, but the header has {}",
                row.cells.len(),
                names.len()
            ))
        } else {
            record_of(&header, row).and_then(|mut r| fill_defaults(&mut r, environment).map(|()| r))
        };
        match record {
            Ok(record) => parsed.items.push(Item {
                line: row.line,
                label,
                record,
                derived_name: false,
            }),
            Err(message) => parsed.problems.push(Problem::new(row.line, label, message)),
        }
    }
    super::derive_names(&mut parsed.items);
    Ok(parsed)
}

/// Appends one cell, quoted when it holds a comma, a quote or a line break.
fn push_cell(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        for c in s.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// Writes records as CSV: the header row, then one row per record, CRLF line ends.
pub fn write(records: &[Record]) -> Zeroizing<String> {
    let size: usize = records
        .iter()
        .map(|r| 2 * (r.secret.value.len() + r.notes.len()) + 256)
        .sum();
    let mut out = Zeroizing::new(String::with_capacity(size + 200));
    out.push_str(&COLUMNS.join(","));
    out.push_str("\r\n");
    for r in records {
        let mut tags = String::new();
        for (i, t) in r.tags.iter().enumerate() {
            if i > 0 {
                tags.push(';');
            }
            push_escaped(&mut tags, t, &[';']);
        }
        let size: usize = r
            .secret
            .fields
            .iter()
            .map(|(n, v)| 2 * (n.len() + v.len()) + 2)
            .sum();
        let mut fields = Zeroizing::new(String::with_capacity(size));
        for (i, (n, v)) in r.secret.fields.iter().enumerate() {
            if i > 0 {
                fields.push(';');
            }
            push_escaped(&mut fields, n, &[';', '=']);
            fields.push('=');
            push_escaped(&mut fields, v, &[';']);
        }
        let days = r.rotate_every_days.map(|d| d.to_string());
        let bool_text = |b: bool| if b { "true" } else { "false" };
        let cells: [&str; 15] = [
            &r.name,
            &r.provider,
            &r.environment,
            &r.env_var,
            r.base_url.as_deref().unwrap_or(""),
            r.model.as_deref().unwrap_or(""),
            r.tier.as_deref().unwrap_or(""),
            &tags,
            &r.notes,
            bool_text(r.active),
            bool_text(r.primary),
            r.expires_at.as_deref().unwrap_or(""),
            days.as_deref().unwrap_or(""),
            &r.secret.value,
            &fields,
        ];
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_cell(&mut out, c);
        }
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        Record {
            name: "aws-prod".into(),
            provider: "aws".into(),
            environment: "prod".into(),
            env_var: "AWS_SECRET_ACCESS_KEY".into(),
            base_url: None,
            model: Some("m, with comma".into()),
            tier: Some("paid".into()),
            tags: vec!["semi;colon".into(), "back\\slash".into(), "plain".into()],
            notes: "two\r\nlines and a \"quote\"".into(),
            active: false,
            primary: true,
            expires_at: Some("2027-01-31".into()),
            rotate_every_days: Some(30),
            secret: Secret {
                value: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
                fields: vec![
                    ("access_key_id".into(), "AKIAIOSFODNN7EXAMPLE".into()),
                    ("session_token".into(), "ab/c+d==;x\\y".into()),
                    ("we=ird".into(), "v".into()),
                ],
            },
        }
    }

    #[test]
    fn round_trip() {
        let other = Record {
            name: "x".into(),
            provider: "custom".into(),
            environment: "dev".into(),
            active: true,
            secret: Secret::new("v"),
            ..Default::default()
        };
        let text = write(&[sample(), other.clone()]);
        assert!(text.starts_with("name,provider,"));
        let p = parse(&text, "ignored").unwrap();
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert_eq!(p.items[0].record, sample());
        assert_eq!(p.items[1].record, other);
        assert_eq!((p.items[0].line, p.items[1].line), (2, 4));
    }

    #[test]
    fn rfc4180_cells() {
        let text = "secret,name,notes\n\"a,b\",n1,\"say \"\"hi\"\"\"\n\nplain,n2,\"multi\nline\"\n";
        let r = rows(text).unwrap();
        let cells: Vec<Vec<String>> = r.iter().map(|r| r.cells.clone()).collect();
        assert_eq!(cells[1], ["a,b", "n1", "say \"hi\""]);
        assert_eq!(cells[2], ["plain", "n2", "multi\nline"]);
        assert_eq!(r[2].line, 4);
        assert!(rows("a,\"open\n").is_err());
    }

    #[test]
    fn problems_by_line_without_values() {
        let text = "name,provider,secret,active\r\n\
                    ok,custom,v1,true\r\n\
                    short,custom\r\n\
                    badflag,custom,v2,sk-LEAKLEAK\r\n\
                    nosecret,custom,,true\r\n\
                    bad,custom,\"v3\"tail,true\r\n\
                    ,,sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z,\r\n";
        let p = parse(text, "prod").unwrap();
        assert_eq!(p.items.len(), 2, "{:?}", p.problems);
        assert_eq!(p.items[1].record.provider, "openai");
        assert_eq!(p.items[1].label, "row 6");
        let got: Vec<(usize, &str)> = p
            .problems
            .iter()
            .map(|p| (p.line, p.label.as_str()))
            .collect();
        assert_eq!(
            got,
            [(3, "short"), (4, "badflag"), (5, "nosecret"), (6, "bad")]
        );
        for prob in &p.problems {
            assert!(
                !prob.message.contains("LEAK") && !prob.message.contains("v3"),
                "{prob}"
            );
        }
        assert!(parse("name,provider\nx,y\n", "prod").is_err());
        assert!(parse("secret,SECRET\n", "prod").is_err());
        assert!(parse("", "prod").unwrap().items.is_empty());
    }
}
