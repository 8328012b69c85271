//! The bottom bar: a passing message or the clipboard countdown, else the main keys.

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::Rect;
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

/// Draws the bar.
pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let line = if let Some(busy) = &app.busy {
        Line::from(vec![
            Span::styled(SPINNER[app.spin % SPINNER.len()], theme::accent()),
            Span::raw(format!(" {busy}…")),
        ])
    } else if let Some(n) = &app.notice {
        let style = if n.error { theme::error() } else { theme::ok() };
        Line::from(Span::styled(n.text.clone(), style))
    } else if let Some((what, at)) = &app.clipboard {
        let left = at
            .saturating_duration_since(Instant::now())
            .as_secs_f64()
            .ceil() as u64;
        Line::from(vec![
            Span::styled("⧉ ", theme::accent()),
            Span::raw(format!("{what} — clears in {left}s")),
        ])
    } else {
        Line::from(hints(app.context()))
    };
    frame.render_widget(Paragraph::new(line), area);
}
