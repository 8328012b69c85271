//! The create and unlock screens.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::{centered, theme};
use crate::tui::app::{App, PassphraseScreen};
use crate::tui::input::TextInput;

/// A rough strength hint: bits from length and character classes.
pub fn strength(pass: &str) -> (&'static str, bool) {
    let classes = [
        pass.chars().any(|c| c.is_ascii_lowercase()),
        pass.chars().any(|c| c.is_ascii_uppercase()),
        pass.chars().any(|c| c.is_ascii_digit()),
        pass.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    let alphabet: f64 = [26.0, 26.0, 10.0, 33.0]
        .iter()
        .zip(classes)
        .filter(|(_, on)| *on)
        .map(|(n, _)| n)
        .sum();
    let bits = pass.chars().count() as f64 * alphabet.max(1.0).log2();
    match bits as u32 {
        0 => ("", false),
        1..=39 => ("weak: use a longer passphrase (several words)", false),
        40..=59 => ("fair: longer is better", false),
        60..=79 => ("good", true),
        _ => ("strong", true),
    }
}

fn masked(input: &TextInput, reveal: bool) -> String {
    if reveal {
        input.value().to_string()
    } else {
        "•".repeat(input.value().chars().count())
    }
}

/// Draws the create (`creating`) or unlock screen.
pub fn draw(app: &App, s: &PassphraseScreen, creating: bool, frame: &mut Frame, area: Rect) {
    let rect = centered(area, 64, if creating { 12 } else { 9 });
    frame.render_widget(Clear, rect);
    let mut lines = vec![
        Line::from(Span::styled(app.vault_path.clone(), theme::dim())),
        Line::from(""),
    ];
    let field = |label: &str, input: &TextInput, focus: bool| {
        Line::from(vec![
            Span::styled(
                format!("{label:>12} "),
                if focus { theme::accent() } else { theme::dim() },
            ),
            Span::raw(masked(input, s.reveal)),
        ])
    };
    lines.push(field("Passphrase", &s.input, !s.on_confirm));
    if creating {
        lines.push(field("Again", &s.confirm, s.on_confirm));
        let (hint, good) = strength(s.input.value());
        lines.push(Line::from(Span::styled(
            format!("{:>12} {hint}", ""),
            if good { theme::ok() } else { theme::dim() },
        )));
    }
    lines.push(Line::from(""));
    if let Some(e) = &s.error {
        lines.push(Line::from(Span::styled(e.clone(), theme::error())));
    } else if creating {
        lines.push(Line::from(Span::styled(
            "No vault yet: choose a passphrase. It cannot be recovered if lost.",
            theme::dim(),
        )));
    } else {
        lines.push(Line::from(Span::styled(
            "Enter unlocks · Esc quits",
            theme::dim(),
        )));
    }
    let title = if creating {
        " Create your keyward vault "
    } else {
        " Unlock keyward "
    };
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(Line::from(title).style(theme::accent()))),
        rect,
    );
    if app.busy.is_none() {
        let (input, row) = if creating && s.on_confirm {
            (&s.confirm, 3)
        } else {
            (&s.input, 2)
        };
        let x = rect.x + 1 + 13 + input.value().chars().count() as u16;
        if x < rect.right() {
            frame.set_cursor_position((x, rect.y + 1 + row));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strength_grows_with_length_and_classes() {
        assert_eq!(strength("").0, "");
        assert!(!strength("abc").1);
        assert!(strength("correct horse battery staple").1);
    }
}
