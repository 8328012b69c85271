//! The add / edit form, pure: fields, focus, the provider picker, the as-you-type
//! checks, and what saving asks the vault to do.

use crossterm::event::{KeyCode, KeyEvent};

use super::input::TextInput;
use crate::model::display::article;
use crate::model::entry::{validate_date, validate_name};
use crate::model::provider::{self, PROVIDERS, aws_access_key_id};
use crate::model::{Entry, EntryPatch, NewEntry, Secret};

/// A form field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldId {
    /// Entry name.
    Name,
    /// Provider picker.
    Provider,
    /// Environment.
    Environment,
    /// The key (masked unless revealed).
    Secret,
    /// AWS access key id (aws only).
    AccessKeyId,
    /// AWS region (aws only).
    Region,
    /// Env var.
    EnvVar,
    /// Base URL.
    BaseUrl,
    /// Default model.
    Model,
    /// Tier.
    Tier,
    /// Tags, comma separated.
    Tags,
    /// Notes.
    Notes,
    /// Expiry date.
    Expires,
    /// Rotation policy in days.
    RotateEvery,
    /// Active flag.
    Active,
    /// Primary flag.
    Primary,
    /// Skip the format check.
    Force,
}

use FieldId as F;

const TEXT_FIELDS: [FieldId; 12] = [
    F::Name,
    F::Environment,
    F::Secret,
    F::AccessKeyId,
    F::Region,
    F::EnvVar,
    F::BaseUrl,
    F::Model,
    F::Tier,
    F::Tags,
    F::Notes,
    F::Expires,
];

impl FieldId {
    /// The label shown left of the field.
    pub fn label(self) -> &'static str {
        match self {
            F::Name => "Name",
            F::Provider => "Provider",
            F::Environment => "Environment",
            F::Secret => "Key",
            F::AccessKeyId => "Access key id",
            F::Region => "Region",
            F::EnvVar => "Env var",
            F::BaseUrl => "Base URL",
            F::Model => "Model",
            F::Tier => "Tier",
            F::Tags => "Tags",
            F::Notes => "Notes",
            F::Expires => "Expires",
            F::RotateEvery => "Rotate every",
            F::Active => "Active",
            F::Primary => "Primary",
            F::Force => "Skip format check",
        }
    }

    /// True for on/off fields (Space toggles them).
    pub fn is_toggle(self) -> bool {
        matches!(self, F::Active | F::Primary | F::Force)
    }
}

/// What saving the form asks for.
#[derive(Debug)]
pub enum Submit {
    /// A new entry.
    Add(NewEntry),
    /// A change to entry `name` (typed extra fields are merged with the stored ones).
    Update {
        /// Entry being edited.
        name: String,
        /// The change.
        patch: EntryPatch,
    },
}

/// The form's state.
#[derive(Debug)]
pub struct Form {
    /// The entry being edited; `None` when adding.
    pub editing: Option<Entry>,
    texts: Vec<(FieldId, TextInput)>,
    rotate_every: TextInput,
    /// Index into the picker list; on add, 0 is "auto (from the key)".
    pub provider: usize,
    /// Active flag.
    pub active: bool,
    /// Primary flag.
    pub primary: bool,
    /// Skip the format check.
    pub force: bool,
    /// Focused field (index into [`Form::fields`]).
    pub focus: usize,
    /// Show the key in clear while typing.
    pub reveal: bool,
    /// Set by any change; Esc asks first when true.
    pub dirty: bool,
    /// The vault's refusal of the last save, shown in the form.
    pub error: Option<String>,
}

fn csv(s: &str) -> Vec<String> {
    s.split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

impl Form {
    /// An empty form for a new entry.
    pub fn add() -> Self {
        let mut f = Self::blank(None);
        f.set(F::Environment, "prod");
        f.active = true;
        f
    }

    /// A form filled from `entry`. The key stays empty: typing one replaces it.
    pub fn edit(entry: &Entry) -> Self {
        let m = &entry.meta;
        let mut f = Self::blank(Some(entry.clone()));
        f.set(F::Name, &m.name);
        f.set(F::Environment, &m.environment);
        f.set(F::EnvVar, &m.env_var);
        f.set(F::BaseUrl, m.base_url.as_deref().unwrap_or(""));
        f.set(F::Model, m.model.as_deref().unwrap_or(""));
        f.set(F::Tier, m.tier.as_deref().unwrap_or(""));
        f.set(F::Tags, &m.tags.join(", "));
        f.set(F::Notes, &m.notes);
        f.set(F::Expires, m.expires_at.as_deref().unwrap_or(""));
        f.rotate_every = TextInput::new(
            &m.rotate_every_days
                .map(|d| d.to_string())
                .unwrap_or_default(),
        );
        f.provider = PROVIDERS
            .iter()
            .position(|p| p.id == m.provider)
            .unwrap_or(PROVIDERS.len() - 1);
        f.active = m.active;
        f.primary = m.primary;
        f
    }

    fn blank(editing: Option<Entry>) -> Self {
        Self {
            editing,
            texts: TEXT_FIELDS
                .iter()
                .map(|&id| (id, TextInput::default()))
                .collect(),
            rotate_every: TextInput::default(),
            provider: 0,
            active: true,
            primary: false,
            force: false,
            focus: 0,
            reveal: false,
            dirty: false,
            error: None,
        }
    }

    fn set(&mut self, id: FieldId, value: &str) {
        if let Some(input) = self.input_mut(id) {
            *input = TextInput::new(value);
        }
    }

    /// The text input of a text field.
    pub fn input(&self, id: FieldId) -> Option<&TextInput> {
        if id == F::RotateEvery {
            return Some(&self.rotate_every);
        }
        self.texts.iter().find(|(f, _)| *f == id).map(|(_, t)| t)
    }

    fn input_mut(&mut self, id: FieldId) -> Option<&mut TextInput> {
        if id == F::RotateEvery {
            return Some(&mut self.rotate_every);
        }
        self.texts
            .iter_mut()
            .find(|(f, _)| *f == id)
            .map(|(_, t)| t)
    }

    fn text(&self, id: FieldId) -> &str {
        self.input(id).map(|t| t.value()).unwrap_or("")
    }

    /// True when adding (the picker then starts with "auto").
    pub fn is_add(&self) -> bool {
        self.editing.is_none()
    }

    /// The provider picker's choices as shown.
    pub fn provider_label(&self) -> String {
        match self.chosen_provider() {
            None => "auto (from the key)".into(),
            Some(p) => format!("{} ({})", p.id, p.name),
        }
    }

    /// The provider picked, `None` for "auto".
    pub fn chosen_provider(&self) -> Option<&'static provider::Provider> {
        if self.is_add() {
            self.provider.checked_sub(1).map(|i| &PROVIDERS[i])
        } else {
            PROVIDERS.get(self.provider)
        }
    }

    fn picker_len(&self) -> usize {
        PROVIDERS.len() + usize::from(self.is_add())
    }

    /// The provider that applies: the picked one, or the one the key's prefix shows.
    pub fn effective_provider(&self) -> Option<&'static provider::Provider> {
        self.chosen_provider()
            .or_else(|| provider::infer(self.text(F::Secret).trim()))
    }

    /// The fields shown, in order (AWS adds its two).
    pub fn fields(&self) -> Vec<FieldId> {
        let aws = self.effective_provider().is_some_and(|p| p.id == "aws");
        let mut out = vec![F::Name, F::Provider, F::Environment, F::Secret];
        if aws {
            out.extend([F::AccessKeyId, F::Region]);
        }
        out.extend([
            F::EnvVar,
            F::BaseUrl,
            F::Model,
            F::Tier,
            F::Tags,
            F::Notes,
            F::Expires,
            F::RotateEvery,
            F::Active,
            F::Primary,
            F::Force,
        ]);
        out
    }

    /// The focused field.
    pub fn focused(&self) -> FieldId {
        let fields = self.fields();
        fields[self.focus.min(fields.len() - 1)]
    }

    /// Moves the focus by `delta`, wrapping.
    pub fn move_focus(&mut self, delta: isize) {
        let n = self.fields().len() as isize;
        self.focus = ((self.focus as isize + delta).rem_euclid(n)) as usize;
    }

    /// A key for the focused field.
    pub fn handle_key(&mut self, key: KeyEvent) {
        let id = self.focused();
        let changed = match id {
            F::Provider => match key.code {
                KeyCode::Right | KeyCode::Char(' ') | KeyCode::Char('l') => {
                    self.provider = (self.provider + 1) % self.picker_len();
                    true
                }
                KeyCode::Left | KeyCode::Char('h') => {
                    self.provider = (self.provider + self.picker_len() - 1) % self.picker_len();
                    true
                }
                _ => false,
            },
            F::Active | F::Primary | F::Force => match key.code {
                KeyCode::Char(' ') | KeyCode::Left | KeyCode::Right => {
                    let flag = match id {
                        F::Active => &mut self.active,
                        F::Primary => &mut self.primary,
                        _ => &mut self.force,
                    };
                    *flag = !*flag;
                    true
                }
                _ => false,
            },
            _ => self.input_mut(id).is_some_and(|t| t.handle(key)),
        };
        if changed {
            self.dirty = true;
            self.error = None;
        }
    }

    /// The check shown beside a field as you type: `Ok(note)` or `Err(problem)`;
    /// `None` when there is nothing to say.
    pub fn check(&self, id: FieldId) -> Option<Result<String, String>> {
        let v = self.text(id).trim();
        match id {
            F::Name => Some(validate_name(v).map(|()| String::new()))
                .filter(|r| r.is_err() || v.is_empty())
                .map(|r| {
                    if v.is_empty() {
                        Err("required".into())
                    } else {
                        r
                    }
                }),
            F::Secret => {
                if v.is_empty() {
                    return Some(if self.is_add() {
                        Err("required: paste the key".into())
                    } else {
                        Ok("unchanged (type to replace)".into())
                    });
                }
                match self.effective_provider() {
                    None => Some(Err(
                        "cannot tell the provider from this key: pick one".into()
                    )),
                    Some(p) if self.force => {
                        Some(Ok(format!("{} key, format not checked", p.name)))
                    }
                    Some(p) if p.accepts(v) => {
                        Some(Ok(format!("looks like {} {} key", article(p.name), p.name)))
                    }
                    Some(p) => Some(Err(format!(
                        "not {} {} key: expected {}",
                        article(p.name),
                        p.name,
                        p.expected
                    ))),
                }
            }
            F::AccessKeyId if !v.is_empty() || self.is_add() => Some(if aws_access_key_id(v) {
                Ok(String::new())
            } else {
                Err("20 characters starting AKIA or ASIA".into())
            })
            .filter(|r| r.is_err()),
            F::Expires if !v.is_empty() => validate_date(v).err().map(Err),
            F::RotateEvery if !v.is_empty() => v
                .parse::<u32>()
                .err()
                .map(|_| Err("a number of days".into())),
            _ => None,
        }
    }

    /// The first problem that blocks saving, if any.
    pub fn problem(&self) -> Option<(FieldId, String)> {
        self.fields()
            .into_iter()
            .find_map(|id| match self.check(id) {
                Some(Err(e))
                    if !(id == F::Secret
                        && self.force
                        && !self.text(F::Secret).trim().is_empty()) =>
                {
                    Some((id, e))
                }
                _ => None,
            })
    }

    fn typed_fields(&self) -> Vec<(String, String)> {
        if self.effective_provider().is_none_or(|p| p.id != "aws") {
            return Vec::new();
        }
        [(F::AccessKeyId, "access_key_id"), (F::Region, "region")]
            .into_iter()
            .filter_map(|(id, name)| opt(self.text(id)).map(|v| (name.to_string(), v)))
            .collect()
    }

    /// What saving asks the vault to do, or the first problem (and focuses it).
    pub fn submit(&mut self) -> Result<Submit, String> {
        if let Some((id, problem)) = self.problem() {
            self.focus = self.fields().iter().position(|f| *f == id).unwrap_or(0);
            return Err(format!("{}: {problem}", id.label()));
        }
        let secret_text = self.text(F::Secret).trim().to_string();
        let fields = self.typed_fields();
        let rotate = self.text(F::RotateEvery).trim().parse::<u32>().ok();
        let provider = self.chosen_provider().map(|p| p.id.to_string());
        match &self.editing {
            None => Ok(Submit::Add(NewEntry {
                name: self.text(F::Name).trim().to_string(),
                provider,
                environment: opt(self.text(F::Environment)),
                env_var: opt(self.text(F::EnvVar)),
                base_url: opt(self.text(F::BaseUrl)),
                model: opt(self.text(F::Model)),
                tier: opt(self.text(F::Tier)),
                tags: csv(self.text(F::Tags)),
                notes: self.text(F::Notes).trim().to_string(),
                inactive: !self.active,
                primary: self.primary,
                expires_at: opt(self.text(F::Expires)),
                rotate_every_days: rotate,
                force: self.force,
                secret: Secret {
                    value: secret_text,
                    fields,
                },
            })),
            Some(entry) => {
                let new_secret = (!secret_text.is_empty()).then(|| Secret {
                    value: secret_text,
                    fields: Vec::new(),
                });
                Ok(Submit::Update {
                    name: entry.meta.name.clone(),
                    patch: EntryPatch {
                        name: Some(self.text(F::Name).trim().to_string()),
                        provider,
                        environment: opt(self.text(F::Environment)),
                        env_var: opt(self.text(F::EnvVar)),
                        base_url: Some(opt(self.text(F::BaseUrl))),
                        model: Some(opt(self.text(F::Model))),
                        tier: Some(opt(self.text(F::Tier))),
                        tags: Some(csv(self.text(F::Tags))),
                        notes: Some(self.text(F::Notes).trim().to_string()),
                        active: Some(self.active),
                        primary: Some(self.primary),
                        expires_at: Some(opt(self.text(F::Expires))),
                        rotate_every_days: Some(rotate),
                        secret: new_secret,
                        fields: (!fields.is_empty()).then_some(fields),
                        force: self.force,
                    },
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn typ(f: &mut Form, s: &str) {
        for c in s.chars() {
            f.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
    }

    #[test]
    fn add_checks_as_you_type_and_submits() {
        let mut f = Form::add();
        assert!(f.submit().unwrap_err().starts_with("Name: required"));
        typ(&mut f, "openai-prod");
        f.move_focus(3); // Name -> Provider -> Environment -> Key
        assert_eq!(f.focused(), F::Secret);
        typ(&mut f, "sk-short");
        assert!(matches!(f.check(F::Secret), Some(Err(e)) if e.contains("expected")));
        let err = f.submit().unwrap_err();
        assert!(err.starts_with("Key:"), "{err}");
        assert_eq!(f.focused(), F::Secret, "the problem gets the focus");
        typ(&mut f, "AAAAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(
            f.check(F::Secret),
            Some(Ok("looks like an OpenAI key".into()))
        );
        let Submit::Add(new) = f.submit().unwrap() else {
            panic!()
        };
        assert_eq!(new.name, "openai-prod");
        assert_eq!(new.provider, None, "auto: the vault infers it");
        assert_eq!(new.environment.as_deref(), Some("prod"));
        assert!(f.dirty);
    }

    #[test]
    fn aws_shows_its_fields() {
        let mut f = Form::add();
        assert!(!f.fields().contains(&F::AccessKeyId));
        f.focus = 1;
        let aws = PROVIDERS.iter().position(|p| p.id == "aws").unwrap() + 1;
        for _ in 0..aws {
            f.handle_key(KeyEvent::new(KeyCode::Right, KeyModifiers::NONE));
        }
        assert_eq!(f.chosen_provider().unwrap().id, "aws");
        assert!(f.fields().contains(&F::AccessKeyId));
        assert!(matches!(f.check(F::AccessKeyId), Some(Err(_))));
    }

    #[test]
    fn edit_keeps_the_key_unless_typed() {
        let e = crate::tui::test_support::entry("k", "openai", "prod");
        let mut f = Form::edit(&e);
        assert!(!f.dirty);
        assert_eq!(
            f.check(F::Secret),
            Some(Ok("unchanged (type to replace)".into()))
        );
        let Submit::Update { name, patch, .. } = f.submit().unwrap() else {
            panic!()
        };
        assert_eq!(name, "k");
        assert!(patch.secret.is_none());
        assert_eq!(patch.name.as_deref(), Some("k"));
    }
}
