//! The add / edit form: one row per field, the check beside it, the error below.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::{centered, theme};
use crate::tui::form::{FieldId, Form};
use crate::tui::keymap::Context;

const LABEL: usize = 19;
const VALUE: usize = 34;
const WIDTH: u16 = 110;

/// Draws the form over `area`.
pub fn draw(form: &Form, frame: &mut Frame, area: Rect) {
    let fields = form.fields();
    let focused = form.focused();
    let mut lines = Vec::with_capacity(fields.len() + 4);
    let mut cursor = None;
    for (row, id) in fields.iter().enumerate() {
        let is_focus = *id == focused;
        let label_style = if is_focus {
            theme::accent()
        } else {
            theme::dim()
        };
        let mut spans = vec![Span::styled(
            format!("{:>w$} ", id.label(), w = LABEL - 1),
            label_style,
        )];
        let value = match id {
            FieldId::Provider => format!("‹ {} ›", form.provider_label()),
            FieldId::Active => toggle(form.active),
            FieldId::Primary => toggle(form.primary),
            FieldId::Force => toggle(form.force),
            _ => {
                let input = form.input(*id).map(|t| t.value()).unwrap_or("");
                if is_focus {
                    let cur = form.input(*id).map(|t| t.cursor()).unwrap_or(0);
                    cursor = Some((row, cur.min(VALUE)));
                }
                let shown = if *id == FieldId::Secret && !form.reveal {
                    "•".repeat(input.chars().count())
                } else {
                    input.to_string()
                };
                let skip = shown.chars().count().saturating_sub(VALUE);
                shown.chars().skip(skip).collect()
            }
        };
        let value_style = if is_focus {
            theme::selected()
        } else {
            ratatui::style::Style::default()
        };
        spans.push(Span::styled(format!("{value:<VALUE$}"), value_style));
        if let Some(check) = form.check(*id) {
            // Beside the field, cut to the room left; the full text shows below on save.
            let room = (area.width.min(WIDTH) as usize).saturating_sub(LABEL + VALUE + 4);
            let cut = |t: String| {
                if t.chars().count() > room {
                    t.chars()
                        .take(room.saturating_sub(1))
                        .chain(['…'])
                        .collect()
                } else {
                    t
                }
            };
            spans.push(Span::raw(" "));
            spans.push(match check {
                Ok(note) if !note.is_empty() => Span::styled(cut(format!("✓ {note}")), theme::ok()),
                Ok(_) => Span::raw(""),
                Err(e) => Span::styled(cut(format!("✗ {e}")), theme::error()),
            });
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::from(""));
    if let Some(e) = &form.error {
        lines.push(Line::from(Span::styled(e.clone(), theme::error())));
    } else {
        lines.push(Line::from(Span::styled(
            "Space toggles · ←/→ pick the provider · the key stays hidden unless Ctrl-R",
            theme::dim(),
        )));
    }
    lines.push(Line::from(super::status::hints(Context::Form)));
    let title = if form.is_add() {
        " Add a key ".to_string()
    } else {
        format!(
            " Edit {} ",
            form.editing
                .as_ref()
                .map(|e| e.meta.name.as_str())
                .unwrap_or("")
        )
    };
    let rect = centered(area, WIDTH, lines.len() as u16 + 3);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(Line::from(title).style(theme::accent()))),
        rect,
    );
    if let Some((row, col)) = cursor {
        let x = rect.x + 1 + LABEL as u16 + col as u16;
        let y = rect.y + 1 + row as u16;
        if x < rect.right() && y < rect.bottom() {
            frame.set_cursor_position((x, y));
        }
    }
}

fn toggle(on: bool) -> String {
    if on {
        "[x] yes".into()
    } else {
        "[ ] no".into()
    }
}
