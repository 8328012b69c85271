//! Popups: details, help (generated from the keymap) and confirmations.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::{centered, theme};
use crate::model::display::detail_rows;
use crate::tui::app::{App, Confirm};
use crate::tui::keymap::{self, Context};

/// The details popup over the list.
pub fn details(app: &App, frame: &mut Frame, area: Rect) {
    let rect = centered(area, 80, 36);
    frame.render_widget(Clear, rect);
    details_into(app, frame, rect, true);
}

/// The selected entry's details drawn into `rect` (popup or side pane).
pub fn details_into(app: &App, frame: &mut Frame, rect: Rect, popup: bool) {
    let Some(entry) = app.current() else { return };
    let mut lines: Vec<Line> = detail_rows(entry)
        .into_iter()
        .map(|(k, v)| {
            let v = match (&app.revealed, k) {
                (Some((id, secret, _)), "key") if *id == entry.id => secret.to_string(),
                _ => v,
            };
            Line::from(vec![
                Span::styled(format!("{k:<13}"), theme::dim()),
                Span::raw(v),
            ])
        })
        .collect();
    if popup {
        lines.push(Line::from(""));
        lines.extend(super::lifecycle::recent_events(&app.details_events));
        lines.push(Line::from(""));
        lines.push(Line::from(super::status::hints(Context::Details)));
    }
    let title = format!(" {} ", entry.meta.name);
    let p = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(Block::bordered().title(Line::from(title).style(theme::accent())));
    frame.render_widget(p, rect);
}

/// Every binding of `ctx`, from the keymap; in two columns when one does not fit.
pub fn help(ctx: Context, frame: &mut Frame, area: Rect) {
    let bindings = keymap::bindings(ctx);
    let width = bindings
        .iter()
        .map(|b| keymap::keys_label(b).chars().count())
        .max()
        .unwrap_or(4)
        + 2;
    let line = |b: &keymap::Binding| {
        Line::from(vec![
            Span::styled(format!("{:<width$}", keymap::keys_label(b)), theme::key()),
            Span::raw(b.help),
        ])
    };
    let footer = Line::from(Span::styled("Esc or ? closes this help", theme::dim()));
    let room = area.height.saturating_sub(4) as usize;
    let columns = if bindings.len() > room { 2 } else { 1 };
    let per_column = bindings.len().div_ceil(columns);
    let rect = centered(area, 50 * columns as u16 + 2, per_column as u16 + 4);
    frame.render_widget(Clear, rect);
    let title = match ctx {
        Context::List => " Keys: list ",
        Context::Filter => " Keys: filter ",
        Context::Details => " Keys: details ",
        Context::Form => " Keys: form ",
        Context::Confirm => " Keys: question ",
        Context::Help => " Keys: help ",
        Context::Passphrase => " Keys: passphrase ",
        Context::Wizard => " Keys: rotation ",
        Context::Health => " Keys: health ",
        Context::Log => " Keys: log ",
    };
    let block = Block::bordered().title(Line::from(title).style(theme::accent()));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [body, foot] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    let cols = Layout::horizontal(vec![Constraint::Ratio(1, columns as u32); columns]).split(body);
    for (i, chunk) in bindings.chunks(per_column.max(1)).enumerate() {
        if let Some(col) = cols.get(i) {
            frame.render_widget(
                Paragraph::new(chunk.iter().map(line).collect::<Vec<_>>()),
                *col,
            );
        }
    }
    frame.render_widget(Paragraph::new(footer), foot);
}

/// A yes/no question.
pub fn confirm(what: &Confirm, frame: &mut Frame, area: Rect) {
    let (title, question) = match what {
        Confirm::Delete { label, .. } => (
            " Delete ",
            format!("Delete {label}?\nThis cannot be undone."),
        ),
        Confirm::DiscardForm => (
            " Unsaved changes ",
            "Leave the form and lose your changes?".to_string(),
        ),
    };
    let mut lines: Vec<Line> = question
        .lines()
        .map(|l| Line::from(l.to_string()))
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(super::status::hints(Context::Confirm)));
    let rect = centered(area, 70, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(Line::from(title).style(theme::error()))),
        rect,
    );
}
