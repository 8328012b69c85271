//! Views: they only draw, from a read-only [`App`]. One file per screen area.

mod form;
mod lifecycle;
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
        Some(Popup::Wizard(w)) => lifecycle::wizard(w, frame, body),
        Some(Popup::History { name, versions }) => lifecycle::history(name, versions, frame, body),
        Some(Popup::Health(h)) => lifecycle::health(h, frame, body),
        Some(Popup::Audit(a)) => lifecycle::audit(a, frame, body),
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

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::tui::app::Msg;
    use crate::tui::test_support::entry;

    fn screen(app: &App, w: u16, h: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| draw(app, f)).unwrap();
        let buf = t.backend().buffer().clone();
        let mut out = String::new();
        for y in 0..h {
            for x in 0..w {
                out.push_str(buf[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }

    fn app_with(entries: Vec<crate::model::Entry>) -> App {
        let mut app = App::new("/tmp/vault".into(), true);
        app.update(Msg::Opened(entries), Instant::now());
        app.notice = None;
        app
    }

    fn press(app: &mut App, c: KeyCode) {
        app.update(
            Msg::Key(KeyEvent::new(c, KeyModifiers::NONE)),
            Instant::now(),
        );
    }

    #[test]
    fn the_list_shows_masked_keys_statuses_and_the_main_keys() {
        let mut a = entry("openai-prod", "openai", "prod");
        a.meta.primary = true;
        let mut b = entry("groq-dev", "groq", "dev");
        b.meta.active = false;
        b.meta.masked = "gsk_…wxyz".into();
        let app = app_with(vec![a, b]);
        let s = screen(&app, 100, 12);
        for want in [
            "openai-prod",
            "groq-dev",
            "sk-p…abcd",
            "gsk_…wxyz",
            "primary",
            "inactive",
            "Name",
            "Last used",
            "2 of 2 entries",
            "copy",
            "quit",
        ] {
            assert!(s.contains(want), "missing {want}:\n{s}");
        }
    }

    #[test]
    fn a_revealed_secret_replaces_the_mask_and_details_show_everything() {
        let e = entry("openai-prod", "openai", "prod");
        let id = e.id;
        let mut app = app_with(vec![e]);
        app.update(
            Msg::Revealed {
                id,
                secret: zeroize::Zeroizing::new("sk-proj-REVEALED".into()),
                until: Instant::now() + std::time::Duration::from_secs(10),
            },
            Instant::now(),
        );
        assert!(screen(&app, 100, 10).contains("sk-proj-REVEALED"));
        app.revealed = None;
        press(&mut app, KeyCode::Enter);
        let s = screen(&app, 100, 34);
        for want in [
            "env var",
            "OPENAI_API_KEY",
            "console",
            "platform.openai.com",
            "sk-p…abcd",
        ] {
            assert!(s.contains(want), "missing {want}:\n{s}");
        }
        assert!(!s.contains("REVEALED"));
    }

    #[test]
    fn a_wide_terminal_shows_details_beside_the_list() {
        let app = app_with(vec![entry("openai-prod", "openai", "prod")]);
        let s = screen(&app, 160, 30);
        assert!(s.contains("OPENAI_API_KEY"), "{s}");
        assert!(!screen(&app, 100, 30).contains("OPENAI_API_KEY"));
    }

    #[test]
    fn help_lists_every_binding_from_the_keymap() {
        let mut app = app_with(vec![entry("a", "openai", "prod")]);
        app.update(
            Msg::Key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE)),
            Instant::now(),
        );
        let s = screen(&app, 100, 40);
        for b in crate::tui::keymap::bindings(crate::tui::keymap::Context::List) {
            assert!(s.contains(b.help), "help lacks {}:\n{s}", b.help);
        }
        assert!(s.contains("Ctrl-L"));
    }

    #[test]
    fn any_size_draws_and_tiny_ones_say_so() {
        let mut app = app_with(
            (0..50)
                .map(|i| entry(&format!("k{i}"), "openai", "prod"))
                .collect(),
        );
        for (w, h) in [(1, 1), (10, 3), (39, 20), (40, 8), (200, 60), (80, 24)] {
            let s = screen(&app, w, h);
            if w < MIN_WIDTH || h < MIN_HEIGHT {
                assert!(s.contains("small") || w < 18, "{w}x{h}:\n{s}");
            }
        }
        // Popups at small sizes too.
        press(&mut app, KeyCode::Char('a'));
        for (w, h) in [(40, 8), (60, 12), (120, 40)] {
            screen(&app, w, h);
        }
    }

    #[test]
    fn the_form_masks_the_key_unless_revealed() {
        let mut app = app_with(vec![]);
        press(&mut app, KeyCode::Char('a'));
        for _ in 0..3 {
            press(&mut app, KeyCode::Tab);
        }
        for c in "sk-proj-SECRETSECRETSECRETSECRET".chars() {
            press(&mut app, KeyCode::Char(c));
        }
        let s = screen(&app, 120, 30);
        assert!(!s.contains("SECRET"), "{s}");
        assert!(s.contains("looks like an OpenAI key"), "{s}");
        app.update(
            Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)),
            Instant::now(),
        );
        assert!(screen(&app, 120, 30).contains("SECRETSECRET"));
    }

    #[test]
    fn the_create_screen_hints_at_strength() {
        let mut app = App::new("/tmp/v".into(), false);
        for c in "abc".chars() {
            press(&mut app, KeyCode::Char(c));
        }
        let s = screen(&app, 100, 20);
        assert!(s.contains("weak"), "{s}");
        assert!(s.contains("•••") && !s.contains("abc"), "{s}");
    }
}
