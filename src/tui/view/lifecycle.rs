//! The rotation wizard, the history popup, the health view and the audit log.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Clear, Paragraph, Wrap};

use super::{centered, theme};
use crate::model::display::{event_line, minute};
use crate::model::{AuditEvent, VersionInfo};
use crate::tui::app::{AuditView, HealthView};
use crate::tui::keymap::Context;
use crate::tui::wizard::{CHECKLIST, Reason, Step, Wizard};

fn boxed(frame: &mut Frame, rect: Rect, title: String, lines: Vec<Line>) {
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(Line::from(title).style(theme::accent()))),
        rect,
    );
}

/// The wizard's current step.
pub fn wizard(w: &Wizard, frame: &mut Frame, area: Rect) {
    let (n, title) = w.step.title();
    let mut lines: Vec<Line> = vec![
        Line::from(vec![
            Span::styled(format!("Step {n} of 6 · "), theme::dim()),
            Span::styled(title, theme::accent()),
        ]),
        Line::from(""),
    ];
    let mut cursor = None;
    match w.step {
        Step::Why => {
            lines.push(Line::from("Why is the key rotated?"));
            for r in Reason::ALL {
                let mark = if r == w.reason { "(•) " } else { "( ) " };
                let style = if r == w.reason {
                    theme::selected()
                } else {
                    ratatui::style::Style::default()
                };
                lines.push(Line::from(Span::styled(
                    format!("  {mark}{}", r.label()),
                    style,
                )));
            }
            if w.reason == Reason::Compromised {
                lines.push(Line::from(""));
                let mark = if w.revoke_old { "[x]" } else { "[ ]" };
                lines.push(Line::from(format!(
                    "  {mark} revoke the old key here at once (no grace period)   Space toggles"
                )));
            }
        }
        Step::Where => {
            let url = if w.provider.console_url.is_empty() {
                "your provider's console".to_string()
            } else {
                w.provider.console_url.to_string()
            };
            lines.push(Line::from(vec![
                Span::raw("Make the new key at "),
                Span::styled(url, theme::key()),
            ]));
            lines.push(Line::from(""));
            for (i, item) in CHECKLIST.iter().enumerate() {
                lines.push(Line::from(format!("  {}. {item}", i + 1)));
            }
        }
        Step::Paste => {
            let typed = w.input.value();
            let shown = if w.reveal {
                typed.to_string()
            } else {
                "•".repeat(typed.chars().count())
            };
            lines.push(Line::from(format!(
                "New {} key for {}:",
                w.provider.name, w.name
            )));
            lines.push(Line::from(Span::styled(
                format!(" {shown} "),
                theme::selected(),
            )));
            cursor = Some((lines.len() - 1, 1 + w.input.cursor()));
            match w.format_check() {
                Some(Ok(note)) => {
                    lines.push(Line::from(Span::styled(format!("✓ {note}"), theme::ok())))
                }
                Some(Err(e)) => {
                    lines.push(Line::from(Span::styled(format!("✗ {e}"), theme::error())))
                }
                None => lines.push(Line::from(Span::styled(
                    "Ctrl-R shows what you type",
                    theme::dim(),
                ))),
            }
            if w.validating {
                lines.push(Line::from("Checking against the kept versions…"));
            }
        }
        Step::Test => {
            lines.push(Line::from(
                "Press t to check the new key against the provider now, or Enter to skip.",
            ));
            lines.push(Line::from(""));
            if w.testing {
                lines.push(Line::from("Checking…"));
            } else if let Some(r) = &w.test_result {
                let style = if r.starts_with("valid") {
                    theme::ok()
                } else {
                    theme::error()
                };
                lines.push(Line::from(Span::styled(r.clone(), style)));
            }
        }
        Step::Confirm => {
            lines.push(Line::from(format!("Entry:        {}", w.name)));
            lines.push(Line::from(format!("Reason:       {}", w.reason.label())));
            lines.push(Line::from(format!(
                "Versions:     {} becomes retired, the new key becomes current",
                w.old_version
            )));
            lines.push(Line::from(if w.revoke_old {
                format!("Old key:      revoked at once (version {})", w.old_version)
            } else {
                format!(
                    "Old key:      readable for {} days (keyward get {} --version {})",
                    w.grace(),
                    w.name,
                    w.old_version
                )
            }));
            if let Some(r) = &w.test_result {
                lines.push(Line::from(format!("Live check:   {r}")));
            }
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled(
                "Enter saves; Shift-Tab goes back; Esc abandons.",
                theme::dim(),
            )));
        }
        Step::Done => {
            let v = w.new_version.map(|v| v.to_string()).unwrap_or_default();
            lines.push(Line::from(Span::styled(
                format!("Saved: version {v} of {} is current.", w.name),
                theme::ok(),
            )));
            lines.push(Line::from(""));
            if w.old_revoked {
                lines.push(Line::from(format!(
                    "Version {} is marked revoked here.",
                    w.old_version
                )));
            } else {
                lines.push(Line::from(format!(
                    "Now revoke the old key (version {}) at the provider{}, then press x to mark it revoked here.",
                    w.old_version,
                    if w.provider.console_url.is_empty() { String::new() } else { format!(": {}", w.provider.console_url) }
                )));
            }
            lines.push(Line::from("c copies the new key; Enter closes."));
        }
    }
    if let Some(e) = &w.error {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(e.clone(), theme::error())));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(super::status::hints(Context::Wizard)));
    let rect = centered(area, 96, lines.len() as u16 + 4);
    boxed(frame, rect, format!(" Rotate {} ", w.name), lines);
    if let Some((row, col)) = cursor {
        let (x, y) = (rect.x + 1 + col as u16, rect.y + 1 + row as u16);
        if x < rect.right() && y < rect.bottom() {
            frame.set_cursor_position((x, y));
        }
    }
}

/// An entry's versions.
pub fn history(name: &str, versions: &[VersionInfo], frame: &mut Frame, area: Rect) {
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{:<8} {:<8} {:<12} {:<17} {:<17} {:<5} reason",
            "version", "status", "key", "created", "readable until", "from"
        ),
        theme::accent(),
    ))];
    for v in versions {
        let short = |t: Option<i64>| t.map(minute).unwrap_or_else(|| "-".into());
        lines.push(Line::from(format!(
            "{:<8} {:<8} {:<12} {:<17} {:<17} {:<5} {}",
            v.version,
            v.status.to_string(),
            v.masked,
            short(Some(v.created_at)),
            short(v.grace_until),
            v.source,
            v.reason
        )));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(super::status::hints(Context::Log)));
    let rect = centered(area, 100, lines.len() as u16 + 2);
    boxed(frame, rect, format!(" Versions of {name} "), lines);
}

/// The health view: the findings and a chart of key age by provider.
pub fn health(h: &HealthView, frame: &mut Frame, area: Rect) {
    let rect = centered(area, 110, area.height);
    frame.render_widget(Clear, rect);
    let block = Block::bordered().title(
        Line::from(format!(" Health: {} findings ", h.findings.len())).style(theme::accent()),
    );
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [list, chart, bar] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(10),
        Constraint::Length(1),
    ])
    .areas(inner);
    let lines: Vec<Line> = if h.findings.is_empty() {
        vec![Line::from(Span::styled(
            "No findings: every key is healthy.",
            theme::ok(),
        ))]
    } else {
        h.findings
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let text = format!("{:<24} {:<18} {}", f.entry, f.kind.label(), f.detail);
                if i == h.selected {
                    Line::from(Span::styled(text, theme::selected()))
                } else {
                    Line::from(text)
                }
            })
            .collect()
    };
    let scroll = h
        .selected
        .saturating_sub(list.height.saturating_sub(1) as usize) as u16;
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), list);
    let bars: Vec<Bar> = h
        .ages
        .iter()
        .map(|(p, days)| {
            Bar::default()
                .label(Line::from(p.clone()))
                .value(*days)
                .text_value(format!("{days}d"))
        })
        .collect();
    frame.render_widget(
        BarChart::default()
            .block(
                Block::new()
                    .title(Line::from(" Average key age by provider (days) ").style(theme::dim())),
            )
            .data(BarGroup::default().bars(&bars))
            .bar_width(9)
            .bar_gap(2),
        chart,
    );
    frame.render_widget(
        Paragraph::new(Line::from(super::status::hints(Context::Health))),
        bar,
    );
}

/// The audit log, newest first.
pub fn audit(a: &AuditView, frame: &mut Frame, area: Rect) {
    let rect = centered(area, 110, area.height);
    frame.render_widget(Clear, rect);
    let block = Block::bordered().title(
        Line::from(format!(" Audit log: {} events ", a.events.len())).style(theme::accent()),
    );
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [head, body, bar] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let style = if a.intact {
        theme::ok()
    } else {
        theme::error()
    };
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(a.verdict.clone(), style))),
        head,
    );
    let lines: Vec<Line> = a
        .events
        .iter()
        .skip(a.offset)
        .take(body.height as usize)
        .map(|e| Line::from(event_line(e)))
        .collect();
    frame.render_widget(Paragraph::new(lines), body);
    frame.render_widget(
        Paragraph::new(Line::from(super::status::hints(Context::Log))),
        bar,
    );
}

/// The recent events of an entry, for the details view.
pub fn recent_events(events: &[AuditEvent]) -> Vec<Line<'static>> {
    let mut out = vec![Line::from(Span::styled("recent events", theme::dim()))];
    if events.is_empty() {
        out.push(Line::from("  -"));
    }
    for e in events.iter().rev().take(5) {
        out.push(Line::from(format!(
            "  {}  {:<8} {} {}",
            minute(e.at),
            e.action.as_str(),
            e.source.as_str(),
            e.detail
        )));
    }
    out
}
