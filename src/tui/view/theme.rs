//! Colours, or none at all when `NO_COLOR` is set: then only bold, dim and reverse.

use ratatui::style::{Color, Modifier, Style};

use crate::model::Status;

fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

fn fg(c: Color) -> Style {
    if no_color() {
        Style::default()
    } else {
        Style::default().fg(c)
    }
}

/// Titles and the selected row's accents.
pub fn accent() -> Style {
    fg(Color::Cyan).add_modifier(Modifier::BOLD)
}

/// Errors.
pub fn error() -> Style {
    fg(Color::Red).add_modifier(Modifier::BOLD)
}

/// Passing checks.
pub fn ok() -> Style {
    fg(Color::Green)
}

/// Secondary text.
pub fn dim() -> Style {
    Style::default().add_modifier(Modifier::DIM)
}

/// Key names in the bar and help.
pub fn key() -> Style {
    fg(Color::Yellow).add_modifier(Modifier::BOLD)
}

/// The selected row.
pub fn selected() -> Style {
    Style::default().add_modifier(Modifier::REVERSED)
}

/// Characters the filter matched.
pub fn matched() -> Style {
    fg(Color::Yellow).add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
}

/// A status cell.
pub fn status(s: Status) -> Style {
    match s {
        Status::Active => fg(Color::Green),
        Status::Primary => fg(Color::Cyan).add_modifier(Modifier::BOLD),
        Status::Inactive => dim(),
        Status::Expired => fg(Color::Red).add_modifier(Modifier::BOLD),
        Status::Expiring => fg(Color::Yellow),
    }
}
