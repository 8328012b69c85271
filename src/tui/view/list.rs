//! The entry list: a header line, the filter line, the table (only the visible rows
//! are built, so 100,000 entries scroll smoothly) and, on wide terminals, the details.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};

use super::{SIDE_PANE_WIDTH, popups, theme};
use crate::model::Status;
use crate::model::display::{age, relative};
use crate::tui::app::App;

/// Draws the list screen into `area`.
pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let show_filter = app.filtering || !app.filter_input.value().is_empty();
    // A revealed secret is shown whole under the table (the Key column is too narrow).
    let revealed = app.revealed.as_ref().and_then(|(id, secret, until)| {
        let e = app.entries.iter().find(|e| e.id == *id)?;
        Some((e.meta.name.clone(), secret, *until))
    });
    let reveal_height = revealed.as_ref().map_or(0, |(name, secret, _)| {
        let len = name.chars().count() + secret.chars().count() + 24;
        (len as u16).div_ceil(area.width.max(1)).min(4) + 1
    });
    let [head, filter_line, body, reveal_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(u16::from(show_filter)),
        Constraint::Min(1),
        Constraint::Length(reveal_height),
    ])
    .areas(area);
    if let Some((name, secret, until)) = &revealed {
        let left = until
            .saturating_duration_since(std::time::Instant::now())
            .as_secs()
            + 1;
        let text = Line::from(vec![
            Span::styled(format!("{name}: "), theme::accent()),
            Span::raw(secret.to_string()),
            Span::styled(format!("  (hidden in {left}s)"), theme::dim()),
        ]);
        frame.render_widget(
            Paragraph::new(text)
                .wrap(ratatui::widgets::Wrap { trim: false })
                .block(Block::new().borders(ratatui::widgets::Borders::TOP)),
            reveal_area,
        );
    }
    frame.render_widget(Paragraph::new(header(app)), head);
    if show_filter {
        let mut spans = vec![
            Span::styled("/", theme::key()),
            Span::raw(app.filter_input.value().to_string()),
        ];
        if !app.filtering {
            spans.push(Span::styled("   (Esc clears)", theme::dim()));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), filter_line);
        if app.filtering {
            let x = filter_line.x + 1 + app.filter_input.cursor() as u16;
            frame
                .set_cursor_position((x.min(filter_line.right().saturating_sub(1)), filter_line.y));
        }
    }
    let (table_area, side) = if body.width >= SIDE_PANE_WIDTH && app.current().is_some() {
        let [t, s] = Layout::horizontal([Constraint::Min(60), Constraint::Length(52)]).areas(body);
        (t, Some(s))
    } else {
        (body, None)
    };
    table(app, frame, table_area);
    if let (Some(side), Some(_)) = (side, app.current()) {
        popups::details_into(app, frame, side, false);
    }
}

fn header(app: &App) -> Line<'static> {
    let mut spans = vec![
        Span::styled(" keyward ", theme::accent()),
        Span::styled(format!(" {} ", app.vault_path), theme::dim()),
        Span::raw(format!(
            " {} of {} entries · sort: {}",
            app.view.len(),
            app.entries.len(),
            app.filter.sort.label()
        )),
    ];
    if let Some(p) = &app.filter.provider {
        spans.push(Span::raw(format!(" · provider: {p}")));
    }
    if let Some(e) = &app.filter.env {
        spans.push(Span::raw(format!(" · env: {e}")));
    }
    if app.filter.is_pending() {
        spans.push(Span::styled(" · filtering…", theme::dim()));
    }
    Line::from(spans)
}

/// The name cell, with the filter's matched characters highlighted.
fn name_cell(app: &App, name: &str, base: Style) -> Line<'static> {
    if app.filter_input.value().trim().is_empty() {
        return Line::styled(name.to_string(), base);
    }
    let hits = super::super::filter::highlight_positions(app.filter_input.value(), name);
    Line::from(
        name.chars()
            .enumerate()
            .map(|(i, c)| {
                let style = if hits.contains(&i) {
                    base.patch(theme::matched())
                } else {
                    base
                };
                Span::styled(c.to_string(), style)
            })
            .collect::<Vec<_>>(),
    )
}

fn table(app: &App, frame: &mut Frame, area: Rect) {
    let block = Block::bordered().title(Line::from(" Entries ").style(theme::accent()));
    let inner_height = area.height.saturating_sub(3) as usize; // borders + header row
    app.page.set(inner_height.max(1));
    if app.entries.is_empty() {
        let hint = Paragraph::new(vec![
            Line::from(""),
            Line::from("No keys yet."),
            Line::from(vec![
                Span::raw("Press "),
                Span::styled("a", theme::key()),
                Span::raw(" to add your first key, "),
                Span::styled("?", theme::key()),
                Span::raw(" for help."),
            ]),
        ])
        .centered()
        .block(block);
        frame.render_widget(hint, area);
        return;
    }
    if app.view.is_empty() {
        let msg = Paragraph::new(vec![
            Line::from(""),
            Line::from("No entry matches the filter (Esc clears it)."),
        ])
        .centered()
        .block(block);
        frame.render_widget(msg, area);
        return;
    }
    // Keep the selection in sight with the fewest moves.
    let mut offset = app.offset.get();
    if app.selected < offset {
        offset = app.selected;
    } else if inner_height > 0 && app.selected >= offset + inner_height {
        offset = app.selected + 1 - inner_height;
    }
    offset = offset.min(app.view.len().saturating_sub(inner_height.max(1)));
    app.offset.set(offset);

    let end = (offset + inner_height).min(app.view.len());
    let rows: Vec<Row> = app.view[offset..end]
        .iter()
        .enumerate()
        .map(|(n, &i)| {
            let e = &app.entries[i];
            let m = &e.meta;
            let status = m.status(&app.today);
            let base = if status == Status::Inactive {
                theme::dim()
            } else {
                Style::default()
            };
            let key = match &app.revealed {
                Some((id, _, _)) if *id == e.id => "(shown below)".to_string(),
                _ => m.masked.clone(),
            };
            let row = Row::new(vec![
                Cell::from(name_cell(app, &m.name, base)),
                Cell::from(m.provider.clone()),
                Cell::from(m.environment.clone()),
                Cell::from(key),
                Cell::from(Span::styled(status.to_string(), theme::status(status))),
                Cell::from(relative(m.last_used_at, app.now_unix)),
                Cell::from(age(m.created_at, app.now_unix)),
            ])
            .style(base);
            if offset + n == app.selected {
                row.style(base.patch(theme::selected()))
            } else {
                row
            }
        })
        .collect();
    let widths = [
        Constraint::Min(16),
        Constraint::Length(10),
        Constraint::Length(8),
        Constraint::Length(14),
        Constraint::Length(8),
        Constraint::Length(9),
        Constraint::Length(5),
    ];
    let header = Row::new([
        "Name",
        "Provider",
        "Env",
        "Key",
        "Status",
        "Last used",
        "Age",
    ])
    .style(theme::accent());
    let position = format!(" {}/{} ", app.selected + 1, app.view.len());
    let table = Table::new(rows, widths)
        .header(header)
        .block(block.title_bottom(Line::from(position).right_aligned()))
        .column_spacing(1);
    frame.render_widget(table, area);
}
