//! Views: they only draw, from a read-only [`App`]. One file per screen area.

mod form;
mod list;
mod passphrase;
mod popups;
mod status;
pub mod theme;

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::app::{App, Popup, Screen};

/// Smallest terminal keyward draws in.
pub const MIN_WIDTH: u16 = 40;
/// Smallest terminal height keyward draws in.
pub const MIN_HEIGHT: u16 = 8;
/// From this width the list shows the selected entry's details beside it.
pub const SIDE_PANE_WIDTH: u16 = 130;

/// Draws the whole app.
pub fn draw(app: &App, frame: &mut Frame) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = Paragraph::new(vec![
            Line::from("Terminal too small"),
            Line::from(format!("need {MIN_WIDTH}×{MIN_HEIGHT}")),
        ])
        .centered();
        let [mid] = Layout::vertical([Constraint::Length(2)])
            .flex(Flex::Center)
            .areas(area);
        frame.render_widget(msg, mid);
        return;
    }
    let [body, bar] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    match &app.screen {
        Screen::Create(s) => passphrase::draw(app, s, true, frame, body),
        Screen::Unlock(s) => passphrase::draw(app, s, false, frame, body),
        Screen::List => list::draw(app, frame, body),
    }
    status::draw(app, frame, bar);
    match &app.popup {
        None => {}
        Some(Popup::Details) => popups::details(app, frame, body),
        Some(Popup::Form(f)) => form::draw(f, frame, body),
        Some(Popup::Help(ctx)) => popups::help(*ctx, frame, body),
        Some(Popup::Confirm(c)) => popups::confirm(c, frame, body),
    }
}

/// A centered rectangle of at most `w`×`h` inside `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(h.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(w.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}
