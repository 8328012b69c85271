//! The bottom bar: a passing message or the clipboard countdown, else the main keys.

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme;
use crate::tui::app::App;
use crate::tui::keymap::{self, Context};

/// Spinner frames for background work.
pub const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// The bar's key hints for a context, from the keymap.
pub fn hints(ctx: Context) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    for b in keymap::bindings(ctx).iter().filter(|b| b.bar) {
        out.push(Span::styled(keymap::label(&b.keys[0]), theme::key()));
        out.push(Span::raw(format!(" {}  ", b.help)));
    }
    out
}

/// Draws the bar: a message or the key hints, and the clipboard countdown on the right
/// (a message never hides it).
pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let countdown = app.clipboard.as_ref().map(|(what, at)| {
        let left = at
            .saturating_duration_since(Instant::now())
            .as_secs_f64()
            .ceil() as u64;
        Line::from(vec![
            Span::styled("⧉ ", theme::accent()),
            Span::raw(format!("{what} — clears in {left}s")),
        ])
    });
    let line = if let Some(busy) = &app.busy {
        Line::from(vec![
            Span::styled(SPINNER[app.spin % SPINNER.len()], theme::accent()),
            Span::raw(format!(" {busy}…")),
        ])
    } else if let Some(name) = &app.checking {
        Line::from(vec![
            Span::styled(SPINNER[app.spin % SPINNER.len()], theme::accent()),
            Span::raw(format!(" Checking {name} with its provider…")),
        ])
    } else if let Some(n) = &app.notice {
        let style = if n.error { theme::error() } else { theme::ok() };
        Line::from(Span::styled(n.text.clone(), style))
    } else if countdown.is_some() {
        Line::default()
    } else {
        Line::from(hints(app.context()))
    };
    match countdown {
        Some(c) => {
            let width = (c.width() as u16).min(area.width);
            let [left, right] =
                Layout::horizontal([Constraint::Min(0), Constraint::Length(width)]).areas(area);
            frame.render_widget(Paragraph::new(line), left);
            frame.render_widget(Paragraph::new(c), right);
        }
        None => frame.render_widget(Paragraph::new(line), area),
    }
}
