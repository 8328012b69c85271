//! The one source of key bindings: the app's key handling, the help screen and the
//! bottom bar are all generated from these tables.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks for. Text keys that are not bound go to the focused input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Move the selection up one row.
    Up,
    /// Move the selection down one row.
    Down,
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// One page up.
    PageUp,
    /// One page down.
    PageDown,
    /// Open the selected entry's details.
    Open,
    /// Close, cancel or clear (Esc).
    Back,
    /// Start typing a filter.
    Filter,
    /// Cycle the sort order.
    Sort,
    /// Cycle the provider quick filter.
    ProviderFilter,
    /// Cycle the environment quick filter.
    EnvFilter,
    /// Add an entry.
    Add,
    /// Edit the selected entry.
    Edit,
    /// Delete the selected entry (asks first).
    Delete,
    /// Enable or disable the selected entry.
    ToggleActive,
    /// Make the selected entry primary.
    Primary,
    /// Copy the selected secret.
    Copy,
    /// Show the selected secret for a few seconds.
    Reveal,
    /// Show every binding of this screen.
    Help,
    /// Quit (clears the clipboard).
    Quit,
    /// Lock now.
    Lock,
    /// Next form field.
    NextField,
    /// Previous form field.
    PrevField,
    /// Save the form / submit the passphrase / accept the filter.
    Submit,
    /// Show or hide the secret being typed.
    RevealInput,
    /// Yes (confirmations).
    Yes,
    /// No (confirmations).
    No,
    /// Start the rotation wizard.
    Rotate,
    /// Check the key live.
    Test,
    /// Show the key's versions.
    History,
    /// Show the health view.
    Health,
    /// Show the audit log.
    Audit,
    /// Rotate every overdue key, one after the other (health view).
    RotateAll,
    /// Wizard: next step.
    Next,
    /// Wizard: previous step.
    Prev,
    /// Wizard: mark the old version revoked.
    RevokeOld,
    /// Toggle (wizard: revoke the old key at once).
    Toggle,
}

/// A key with its modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The key.
    pub code: KeyCode,
    /// Ctrl, Alt (Shift is part of a character).
    pub mods: KeyModifiers,
}

const fn k(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::NONE,
    }
}
const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}
const fn code(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}

/// One binding: keys, what they do, their help text, and whether the bar shows them.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// The keys (the first is the one shown in the bar).
    pub keys: &'static [Key],
    /// What they do.
    pub command: Command,
    /// Help text.
    pub help: &'static str,
    /// Shown in the bottom bar.
    pub bar: bool,
}

const fn b(keys: &'static [Key], command: Command, help: &'static str, bar: bool) -> Binding {
    Binding {
        keys,
        command,
        help,
        bar,
    }
}

/// Where the keys are pressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// The entry list.
    List,
    /// Typing a filter.
    Filter,
    /// The details view.
    Details,
    /// The add / edit form.
    Form,
    /// A yes/no question.
    Confirm,
    /// The help screen.
    Help,
    /// The unlock and create screens.
    Passphrase,
    /// The rotation wizard.
    Wizard,
    /// The health view.
    Health,
    /// The audit log and the history popup.
    Log,
}

use Command as C;
use KeyCode as KC;

const NAV: [Binding; 6] = [
    b(&[k('j'), code(KC::Down)], C::Down, "down", false),
    b(&[k('k'), code(KC::Up)], C::Up, "up", false),
    b(&[k('g'), code(KC::Home)], C::Top, "first entry", false),
    b(&[k('G'), code(KC::End)], C::Bottom, "last entry", false),
    b(
        &[code(KC::PageDown), ctrl('d')],
        C::PageDown,
        "page down",
        false,
    ),
    b(&[code(KC::PageUp), ctrl('u')], C::PageUp, "page up", false),
];

static LIST: &[Binding] = &[
    NAV[0],
    NAV[1],
    NAV[2],
    NAV[3],
    NAV[4],
    NAV[5],
    b(&[code(KC::Enter)], C::Open, "details", true),
    b(&[k('/')], C::Filter, "filter", true),
    b(&[k('c')], C::Copy, "copy", true),
    b(&[k('v')], C::Reveal, "reveal 10 s", false),
    b(&[k('a')], C::Add, "add", true),
    b(&[k('e')], C::Edit, "edit", true),
    b(&[k('d')], C::Delete, "delete", false),
    b(&[k(' ')], C::ToggleActive, "enable/disable", false),
    b(&[k('p')], C::Primary, "make primary", false),
    b(&[k('r')], C::Rotate, "rotate (wizard)", false),
    b(&[k('t')], C::Test, "test the key live", false),
    b(&[k('h')], C::History, "versions", false),
    b(&[k('H')], C::Health, "health", false),
    b(&[k('L')], C::Audit, "audit log", false),
    b(&[k('s')], C::Sort, "cycle sort", false),
    b(&[k('P')], C::ProviderFilter, "cycle provider filter", false),
    b(&[k('E')], C::EnvFilter, "cycle environment filter", false),
    b(&[code(KC::Esc)], C::Back, "clear filters", false),
    b(&[ctrl('l')], C::Lock, "lock now", false),
    b(&[k('?')], C::Help, "help", true),
    b(&[k('q'), ctrl('c')], C::Quit, "quit", true),
];

static FILTER: &[Binding] = &[
    b(&[code(KC::Enter)], C::Submit, "keep filter", true),
    b(&[code(KC::Esc)], C::Back, "clear filter", true),
    b(&[code(KC::Down)], C::Down, "down", false),
    b(&[code(KC::Up)], C::Up, "up", false),
    b(&[code(KC::PageDown)], C::PageDown, "page down", false),
    b(&[code(KC::PageUp)], C::PageUp, "page up", false),
    b(&[ctrl('l')], C::Lock, "lock now", false),
    b(&[ctrl('c')], C::Quit, "quit", false),
];

static DETAILS: &[Binding] = &[
    b(
        &[code(KC::Esc), code(KC::Enter), k('q')],
        C::Back,
        "back",
        true,
    ),
    b(&[k('c')], C::Copy, "copy", true),
    b(&[k('v')], C::Reveal, "reveal 10 s", true),
    b(&[k('e')], C::Edit, "edit", true),
    b(&[k('d')], C::Delete, "delete", false),
    b(&[k(' ')], C::ToggleActive, "enable/disable", false),
    b(&[k('p')], C::Primary, "make primary", false),
    b(&[k('r')], C::Rotate, "rotate (wizard)", true),
    b(&[k('t')], C::Test, "test the key live", false),
    b(&[k('h')], C::History, "versions", false),
    b(&[k('j'), code(KC::Down)], C::Down, "next entry", false),
    b(&[k('k'), code(KC::Up)], C::Up, "previous entry", false),
    b(&[ctrl('l')], C::Lock, "lock now", false),
    b(&[k('?')], C::Help, "help", true),
    b(&[ctrl('c')], C::Quit, "quit", false),
];

static FORM: &[Binding] = &[
    b(
        &[code(KC::Tab), code(KC::Down)],
        C::NextField,
        "next field",
        true,
    ),
    b(
        &[code(KC::BackTab), code(KC::Up)],
        C::PrevField,
        "previous field",
        true,
    ),
    b(&[code(KC::Enter)], C::Submit, "save", true),
    b(&[ctrl('r')], C::RevealInput, "show/hide secret", true),
    b(&[code(KC::Esc)], C::Back, "cancel", true),
    b(&[ctrl('l')], C::Lock, "lock now", false),
    b(&[ctrl('c')], C::Quit, "quit", false),
];

static CONFIRM: &[Binding] = &[
    b(&[k('y'), k('Y')], C::Yes, "yes", true),
    b(&[k('n'), k('N'), code(KC::Esc)], C::No, "no", true),
    b(&[ctrl('l')], C::Lock, "lock now", false),
    b(&[ctrl('c')], C::Quit, "quit", false),
];

static HELP: &[Binding] = &[
    b(
        &[code(KC::Esc), k('?'), k('q')],
        C::Back,
        "close help",
        true,
    ),
    b(&[ctrl('c')], C::Quit, "quit", false),
];

static PASSPHRASE: &[Binding] = &[
    b(&[code(KC::Enter)], C::Submit, "submit", true),
    b(
        &[code(KC::Tab), code(KC::Down)],
        C::NextField,
        "next field",
        false,
    ),
    b(
        &[code(KC::BackTab), code(KC::Up)],
        C::PrevField,
        "previous field",
        false,
    ),
    b(&[ctrl('r')], C::RevealInput, "show/hide", false),
    b(&[code(KC::Esc), ctrl('c')], C::Quit, "quit", true),
];

static WIZARD: &[Binding] = &[
    b(&[code(KC::Enter)], C::Next, "next", true),
    b(&[code(KC::BackTab)], C::Prev, "back", true),
    b(&[k('j'), code(KC::Down)], C::Down, "next reason", false),
    b(&[k('k'), code(KC::Up)], C::Up, "previous reason", false),
    b(&[k(' ')], C::Toggle, "revoke the old key at once", false),
    b(&[k('t')], C::Test, "test the new key", false),
    b(&[ctrl('r')], C::RevealInput, "show/hide the new key", false),
    b(&[k('c')], C::Copy, "copy the new key (done)", false),
    b(
        &[k('x')],
        C::RevokeOld,
        "mark the old key revoked (done)",
        false,
    ),
    b(
        &[code(KC::Esc)],
        C::Back,
        "abandon (nothing is saved)",
        true,
    ),
    b(&[ctrl('l')], C::Lock, "lock now", false),
    b(&[ctrl('c')], C::Quit, "quit", false),
];

static HEALTH: &[Binding] = &[
    b(&[k('j'), code(KC::Down)], C::Down, "down", false),
    b(&[k('k'), code(KC::Up)], C::Up, "up", false),
    b(&[code(KC::Enter)], C::Open, "act: rotate or edit", true),
    b(&[k('R')], C::RotateAll, "rotate every overdue key", true),
    b(&[code(KC::Esc), k('q')], C::Back, "close", true),
    b(&[ctrl('l')], C::Lock, "lock now", false),
    b(&[ctrl('c')], C::Quit, "quit", false),
];

static LOG: &[Binding] = &[
    b(&[k('j'), code(KC::Down)], C::Down, "down", false),
    b(&[k('k'), code(KC::Up)], C::Up, "up", false),
    b(&[code(KC::PageDown)], C::PageDown, "page down", false),
    b(&[code(KC::PageUp)], C::PageUp, "page up", false),
    b(&[k('g')], C::Top, "newest", false),
    b(&[k('G')], C::Bottom, "oldest", false),
    b(&[code(KC::Esc), k('q')], C::Back, "close", true),
    b(&[ctrl('l')], C::Lock, "lock now", false),
    b(&[ctrl('c')], C::Quit, "quit", false),
];

/// The bindings of a context, in help order.
pub fn bindings(ctx: Context) -> &'static [Binding] {
    match ctx {
        Context::List => LIST,
        Context::Filter => FILTER,
        Context::Details => DETAILS,
        Context::Form => FORM,
        Context::Confirm => CONFIRM,
        Context::Help => HELP,
        Context::Passphrase => PASSPHRASE,
        Context::Wizard => WIZARD,
        Context::Health => HEALTH,
        Context::Log => LOG,
    }
}

fn matches(key: &Key, ev: &KeyEvent) -> bool {
    let mods = ev.modifiers & !KeyModifiers::SHIFT;
    match (key.code, ev.code) {
        (KeyCode::Char(a), KeyCode::Char(b)) => {
            a == b && mods == key.mods
                || key.mods.contains(KeyModifiers::CONTROL)
                    && mods == key.mods
                    && a.eq_ignore_ascii_case(&b)
        }
        (a, b) => a == b && mods == key.mods,
    }
}

/// The command bound to `ev` in `ctx`, if any.
pub fn lookup(ctx: Context, ev: &KeyEvent) -> Option<Command> {
    bindings(ctx)
        .iter()
        .find(|b| b.keys.iter().any(|k| matches(k, ev)))
        .map(|b| b.command)
}

/// How a key is written in help and the bar: `j`, `Enter`, `Ctrl-L`, `Space`.
pub fn label(key: &Key) -> String {
    let name = match key.code {
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(c) if key.mods.contains(KeyModifiers::CONTROL) => {
            c.to_ascii_uppercase().to_string()
        }
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "Shift-Tab".into(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Right => "→".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::PageDown => "PgDn".into(),
        other => format!("{other:?}"),
    };
    if key.mods.contains(KeyModifiers::CONTROL) {
        format!("Ctrl-{name}")
    } else {
        name
    }
}

/// All keys of a binding, joined: `j/↓`.
pub fn keys_label(b: &Binding) -> String {
    b.keys.iter().map(label).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn lookups() {
        assert_eq!(
            lookup(Context::List, &ev(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some(C::Down)
        );
        assert_eq!(
            lookup(Context::List, &ev(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(C::Bottom)
        );
        assert_eq!(
            lookup(
                Context::List,
                &ev(KeyCode::Char('l'), KeyModifiers::CONTROL)
            ),
            Some(C::Lock)
        );
        assert_eq!(
            lookup(Context::List, &ev(KeyCode::Char('x'), KeyModifiers::NONE)),
            None
        );
        // In the filter, letters are text, not commands.
        assert_eq!(
            lookup(Context::Filter, &ev(KeyCode::Char('j'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            lookup(Context::Form, &ev(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(C::PrevField)
        );
    }

    #[test]
    fn no_key_is_bound_twice_in_a_context() {
        for ctx in [
            Context::List,
            Context::Filter,
            Context::Details,
            Context::Form,
            Context::Confirm,
            Context::Help,
            Context::Passphrase,
            Context::Wizard,
            Context::Health,
            Context::Log,
        ] {
            let all: Vec<&Key> = bindings(ctx).iter().flat_map(|b| b.keys.iter()).collect();
            for (i, a) in all.iter().enumerate() {
                assert!(!all[i + 1..].contains(a), "{ctx:?}: {a:?} bound twice");
            }
        }
    }

    #[test]
    fn labels() {
        assert_eq!(label(&ctrl('l')), "Ctrl-L");
        assert_eq!(keys_label(&LIST[0]), "j/↓");
        assert_eq!(label(&k(' ')), "Space");
    }

    #[test]
    fn lifecycle_keys() {
        for (c, cmd) in [
            ('r', C::Rotate),
            ('t', C::Test),
            ('h', C::History),
            ('H', C::Health),
            ('L', C::Audit),
        ] {
            let got = lookup(Context::List, &ev(KeyCode::Char(c), KeyModifiers::NONE));
            assert_eq!(got, Some(cmd), "{c}");
        }
    }
}
