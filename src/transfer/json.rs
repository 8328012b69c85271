//! The JSON format: an array of objects, one per entry.
//!
//! ```json
//! [
//!   {
//!     "name": "openai-prod",
//!     "provider": "openai",
//!     "environment": "prod",
//!     "env_var": "OPENAI_API_KEY",
//!     "base_url": null,
//!     "model": "gpt-4o",
//!     "tier": "paid",
//!     "tags": ["billing"],
//!     "notes": "",
//!     "active": true,
//!     "primary": true,
//!     "expires_at": "2027-01-31",
//!     "rotate_every_days": 90,
//!     "secret": "sk-proj-…",
//!     "fields": {}
//!   }
//! ]
//! ```
//!
//! On import only `secret` is required: a missing `name` is derived, `provider` is
//! told from the key, `environment` is `--env` (else prod), `env_var` the provider's,
//! `active` true, `primary` false; `null` is the same as missing. Other keys are
//! ignored. `fields` keeps its order.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use zeroize::{Zeroize, Zeroizing};

use super::{Item, Parsed, Problem, Record, fill_defaults, strip_bom};
use crate::model::Secret;

/// A JSON value that keeps the order of object keys, and wipes its strings on drop.
/// Reading into it never fails on a type, so serde's messages (which can quote a
/// value) never arise; only syntax errors do, and they quote nothing.
enum J {
    Null,
    Bool(bool),
    Num(serde_json::Number),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl Drop for J {
    fn drop(&mut self) {
        if let J::Str(s) = self {
            s.zeroize();
        }
    }
}

struct JVisitor;

impl<'de> Visitor<'de> for JVisitor {
    type Value = J;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<J, E> {
        Ok(J::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<J, E> {
        Ok(J::Num(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<J, E> {
        Ok(J::Num(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<J, E> {
        Ok(serde_json::Number::from_f64(v).map_or(J::Null, J::Num))
    }
    fn visit_str<E>(self, v: &str) -> Result<J, E> {
        Ok(J::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<J, E> {
        Ok(J::Str(v))
    }
    fn visit_unit<E>(self) -> Result<J, E> {
        Ok(J::Null)
    }
    fn visit_none<E>(self) -> Result<J, E> {
        Ok(J::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<J, D::Error> {
        J::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<J, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(J::Arr(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<J, A::Error> {
        let mut out = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, J>()? {
            out.push((k, v));
        }
        Ok(J::Obj(out))
    }
}

impl<'de> Deserialize<'de> for J {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<J, D::Error> {
        d.deserialize_any(JVisitor)
    }
}

/// The line (from 1) on which each element of the top-level array starts.
fn element_lines(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let (mut line, mut depth) = (1usize, 0usize);
    let (mut in_string, mut escaped, mut expect) = (false, false, false);
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        if c.is_whitespace() {
            continue;
        }
        if depth == 1 && expect && c != ']' {
            out.push(line);
            expect = false;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => {
                depth += 1;
                if depth == 1 && c == '[' {
                    expect = true;
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 1 => expect = true,
            _ => {}
        }
    }
    out
}

/// What is wrong with one element, said without its values.
type Bad = String;

fn text_of(v: &J, key: &str) -> Result<Option<String>, Bad> {
    match v {
        J::Null => Ok(None),
        J::Str(s) => Ok(Some(s.clone())),
        _ => Err(format!("\"{key}\" must be a string or null")),
    }
}

fn record_of(obj: &[(String, J)]) -> Result<Record, Bad> {
    let mut r = Record {
        active: true,
        ..Default::default()
    };
    let mut secret: Option<Zeroizing<String>> = None;
    let mut fields = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (key, v) in obj {
        if seen.contains(&key.as_str()) {
            return Err(format!("\"{key}\" is given twice"));
        }
        seen.push(key);
        let text = || text_of(v, key);
        match key.as_str() {
            "name" => r.name = text()?.unwrap_or_default(),
            "provider" => r.provider = text()?.unwrap_or_default(),
            "environment" => r.environment = text()?.unwrap_or_default(),
            "env_var" => r.env_var = text()?.unwrap_or_default(),
            "base_url" => r.base_url = text()?,
            "model" => r.model = text()?,
            "tier" => r.tier = text()?,
            "notes" => r.notes = text()?.unwrap_or_default(),
            "expires_at" => r.expires_at = text()?,
            "tags" => {
                r.tags = match v {
                    J::Null => Vec::new(),
                    J::Arr(items) => items
                        .iter()
                        .map(|t| match t {
                            J::Str(s) => Ok(s.clone()),
                            _ => Err("\"tags\" must be an array of strings".to_string()),
                        })
                        .collect::<Result<_, _>>()?,
                    _ => return Err("\"tags\" must be an array of strings".into()),
                }
            }
            "active" | "primary" => {
                let b = match v {
                    J::Null => key == "active",
                    J::Bool(b) => *b,
                    _ => return Err(format!("\"{key}\" must be true or false")),
                };
                if key == "active" {
                    r.active = b;
                } else {
                    r.primary = b;
                }
            }
            "rotate_every_days" => {
                r.rotate_every_days = match v {
                    J::Null => None,
                    J::Num(n) => Some(
                        n.as_u64()
                            .and_then(|n| u32::try_from(n).ok())
                            .ok_or("\"rotate_every_days\" must be a whole number of days")?,
                    ),
                    _ => return Err("\"rotate_every_days\" must be a number or null".into()),
                }
            }
            "secret" => match v {
                J::Str(s) => secret = Some(Zeroizing::new(s.clone())),
                _ => return Err("\"secret\" must be a string".into()),
            },
            "fields" => match v {
                J::Null => {}
                J::Obj(pairs) => {
                    for (name, value) in pairs {
                        match value {
                            J::Str(s) => fields.push((name.clone(), s.clone())),
                            _ => {
                                return Err(format!("field \"{name}\" must be a string"));
                            }
                        }
                    }
                }
                _ => return Err("\"fields\" must be an object of name: value".into()),
            },
            _ => {}
        }
    }
    let Some(secret) = secret.filter(|s| !s.trim().is_empty()) else {
        return Err("no \"secret\" (the key is required)".into());
    };
    r.secret = Secret {
        value: secret.trim().to_string(),
        fields,
    };
    Ok(r)
}

/// Parses a JSON array of entries. `Err`: not JSON, or not an array.
pub fn parse(text: &str, environment: &str) -> Result<Parsed, Problem> {
    let text = strip_bom(text);
    let value: J = serde_json::from_str(text).map_err(|e| {
        use serde_json::error::Category;
        // Syntax messages quote nothing of the text; anything else is said plainly.
        let message = match e.classify() {
            Category::Syntax | Category::Eof => {
                let full = e.to_string();
                let what = full.split(" at line ").next().unwrap_or("").to_string();
                format!("not valid JSON ({what})")
            }
            _ => "not valid JSON".to_string(),
        };
        Problem::new(e.line().max(1), "", message)
    })?;
    let J::Arr(elements) = &value else {
        return Err(Problem::new(
            1,
            "",
            "the JSON must be an array of entries: [{\"name\": …, \"secret\": …}, …]",
        ));
    };
    let lines = element_lines(text);
    let mut parsed = Parsed::default();
    for (i, element) in elements.iter().enumerate() {
        let line = lines.get(i).copied().unwrap_or(1);
        let fallback = format!("entry {}", i + 1);
        let J::Obj(obj) = element else {
            parsed
                .problems
                .push(Problem::new(line, fallback, "not an object"));
            continue;
        };
        let given_name = obj.iter().find_map(|(k, v)| match (k.as_str(), v) {
            ("name", J::Str(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        });
        let label = given_name.unwrap_or(fallback);
        let record =
            record_of(obj).and_then(|mut r| fill_defaults(&mut r, environment).map(|()| r));
        match record {
            Ok(record) => parsed.items.push(Item {
                line,
                label,
                record,
                derived_name: false,
            }),
            Err(message) => parsed.problems.push(Problem::new(line, label, message)),
        }
    }
    super::derive_names(&mut parsed.items);
    Ok(parsed)
}

/// Appends `s` as a JSON string.
fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn push_opt(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => push_str(out, s),
        None => out.push_str("null"),
    }
}

/// Writes records as a JSON array (two-space indent, one key per line, a final
/// newline).
pub fn write(records: &[Record]) -> Zeroizing<String> {
    let size: usize = records
        .iter()
        .map(|r| {
            2 * (r.secret.value.len()
                + r.notes.len()
                + r.secret
                    .fields
                    .iter()
                    .map(|(a, b)| a.len() + b.len() + 8)
                    .sum::<usize>())
                + 512
        })
        .sum();
    let mut out = Zeroizing::new(String::with_capacity(size + 4));
    out.push('[');
    for (i, r) in records.iter().enumerate() {
        out.push_str(if i == 0 { "\n  {\n" } else { ",\n  {\n" });
        let key = |out: &mut String, k: &str| {
            out.push_str("    \"");
            out.push_str(k);
            out.push_str("\": ");
        };
        for (k, v) in [
            ("name", Some(r.name.as_str())),
            ("provider", Some(r.provider.as_str())),
            ("environment", Some(r.environment.as_str())),
            ("env_var", Some(r.env_var.as_str())),
            ("base_url", r.base_url.as_deref()),
            ("model", r.model.as_deref()),
            ("tier", r.tier.as_deref()),
        ] {
            key(&mut out, k);
            push_opt(&mut out, v);
            out.push_str(",\n");
        }
        key(&mut out, "tags");
        out.push('[');
        for (j, t) in r.tags.iter().enumerate() {
            if j > 0 {
                out.push_str(", ");
            }
            push_str(&mut out, t);
        }
        out.push_str("],\n");
        key(&mut out, "notes");
        push_str(&mut out, &r.notes);
        out.push_str(",\n");
        key(&mut out, "active");
        out.push_str(if r.active { "true,\n" } else { "false,\n" });
        key(&mut out, "primary");
        out.push_str(if r.primary { "true,\n" } else { "false,\n" });
        key(&mut out, "expires_at");
        push_opt(&mut out, r.expires_at.as_deref());
        out.push_str(",\n");
        key(&mut out, "rotate_every_days");
        match r.rotate_every_days {
            Some(d) => out.push_str(&d.to_string()),
            None => out.push_str("null"),
        }
        out.push_str(",\n");
        key(&mut out, "secret");
        push_str(&mut out, &r.secret.value);
        out.push_str(",\n");
        key(&mut out, "fields");
        if r.secret.fields.is_empty() {
            out.push_str("{}");
        } else {
            out.push('{');
            for (j, (name, value)) in r.secret.fields.iter().enumerate() {
                out.push_str(if j == 0 { "\n      " } else { ",\n      " });
                push_str(&mut out, name);
                out.push_str(": ");
                push_str(&mut out, value);
            }
            out.push_str("\n    }");
        }
        out.push_str("\n  }");
    }
    out.push_str(if records.is_empty() { "]\n" } else { "\n]\n" });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Record {
        Record {
            name: "aws-prod".into(),
            provider: "aws".into(),
            environment: "prod".into(),
            env_var: "AWS_SECRET_ACCESS_KEY".into(),
            base_url: Some("https://sts.example".into()),
            model: None,
            tier: Some("paid".into()),
            tags: vec!["a \"quoted\" tag".into(), "b".into()],
            notes: "line one\nline two\t\\ \u{1}".into(),
            active: false,
            primary: true,
            expires_at: Some("2027-01-31".into()),
            rotate_every_days: Some(90),
            secret: Secret {
                value: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
                fields: vec![
                    ("region".into(), "eu-west-1".into()),
                    ("access_key_id".into(), "AKIAIOSFODNN7EXAMPLE".into()),
                ],
            },
        }
    }

    #[test]
    fn round_trip_keeps_everything_in_order() {
        let other = Record {
            name: "x".into(),
            provider: "custom".into(),
            environment: "dev".into(),
            active: true,
            secret: Secret::new("v"),
            ..Default::default()
        };
        let text = write(&[full(), other.clone()]);
        // Valid JSON for any reader.
        let _: serde_json::Value = serde_json::from_str(&text).unwrap();
        let p = parse(&text, "ignored").unwrap();
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert_eq!(p.items.len(), 2);
        assert_eq!(p.items[0].record, full());
        assert_eq!(p.items[1].record, other);
        assert_eq!(p.items[0].line, 2);
        assert_eq!(p.items[1].line, 22);
        assert_eq!(&*write(&[]), "[]\n");
        assert!(parse("[]", "prod").unwrap().items.is_empty());
    }

    #[test]
    fn defaults_and_problems_by_line() {
        let text = r#"[
  {"secret": "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"},
  {"name": "bad", "secret": "x", "active": "sk-proj-LEAKLEAKLEAKLEAKLEAKLEAK"},
  {"name": "nosecret"},
  "string",
  {"name": "noprov", "secret": "plainvalue"},
  {"name": "twice", "secret": "a", "secret": "b", "provider": "custom"},
  {"name": "f", "provider": "custom", "secret": "v", "fields": {"z": "1", "a": "2"}, "extra": 1}
]"#;
        let p = parse(text, "staging").unwrap();
        assert_eq!(p.items.len(), 2, "{:?}", p.problems);
        let r = &p.items[0].record;
        assert_eq!(
            (r.provider.as_str(), r.environment.as_str()),
            ("openai", "staging")
        );
        assert!(r.active && !r.primary);
        assert_eq!(r.name, "openai-staging");
        assert!(p.items[0].derived_name && !p.items[1].derived_name);
        assert_eq!(p.items[0].label, "entry 1");
        let f = &p.items[1].record.secret.fields;
        assert_eq!(f[0].0, "z");
        let lines: Vec<(usize, &str)> = p
            .problems
            .iter()
            .map(|p| (p.line, p.label.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                (3, "bad"),
                (4, "nosecret"),
                (5, "entry 4"),
                (6, "noprov"),
                (7, "twice")
            ]
        );
        for prob in &p.problems {
            assert!(!prob.message.contains("LEAK"), "{prob}");
        }
    }

    #[test]
    fn syntax_errors_name_the_line_and_quote_nothing() {
        let e = parse("[\n {\"secret\": \"sk-SECRETSECRET\"\n", "prod").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(!e.message.contains("SECRET"), "{e}");
        let e = parse("{\"a\": 1}", "prod").unwrap_err();
        assert!(e.message.contains("array"), "{e}");
        let e = parse("[{\"secret\": \"abc\" \"x\"}]", "prod").unwrap_err();
        assert!(!e.message.contains("abc"), "{e}");
    }
}
