//! TUI benchmarks at 100,000 entries: a filter keystroke to the next frame, and one
//! frame of the list. Run: `cargo bench --bench tui`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use keyward::model::{Entry, EntryId, EntryMeta};
use keyward::tui::app::{App, Msg};
use keyward::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const PROVIDERS: [&str; 6] = ["openai", "anthropic", "groq", "gemini", "mistral", "custom"];
const ENVS: [&str; 4] = ["prod", "staging", "dev", "test"];

fn entries(n: usize) -> Vec<Entry> {
    (0..n)
        .map(|i| {
            let provider = PROVIDERS[i % PROVIDERS.len()];
            let env = ENVS[(i / 7) % ENVS.len()];
            Entry {
                id: EntryId::generate(),
                rev: 1,
                meta: EntryMeta {
                    name: format!("{provider}-{env}-svc{i}"),
                    provider: provider.into(),
                    environment: env.into(),
                    env_var: "API_KEY".into(),
                    base_url: None,
                    model: None,
                    tier: Some("paid".into()),
                    tags: vec![format!("team{}", i % 13), "billing".into()],
                    notes: format!("service number {i} owned by team {}", i % 13),
                    active: i % 11 != 0,
                    primary: false,
                    expires_at: None,
                    rotate_every_days: None,
                    rotated_at: None,
                    created_at: 1_700_000_000 + i as i64,
                    updated_at: 1_700_000_000 + i as i64,
                    last_used_at: Some(1_700_100_000 + (i as i64 * 37) % 100_000),
                    use_count: i as u64,
                    last_error: None,
                    error_count: 0,
                    masked: "sk-p…abcd".into(),
                    field_names: vec![],
                    version: 1,
                    version_source: "cli".into(),
                    fingerprint: vec![],
                    last_checked_at: None,
                },
            }
        })
        .collect()
}

fn unlocked(n: usize) -> App {
    let mut app = App::new("/bench/vault".into(), true);
    app.update(Msg::Opened(entries(n)), Instant::now());
    app
}

fn key(app: &mut App, code: KeyCode) {
    app.update(
        Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)),
        Instant::now(),
    );
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("tui");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();

    let mut app = unlocked(100_000);
    terminal.draw(|f| view::draw(&app, f)).unwrap();
    group.bench_function("draw_list/100k", |b| {
        b.iter(|| {
            terminal.draw(|f| view::draw(black_box(&app), f)).unwrap();
        });
    });

    // A keystroke in the filter to the next frame, in the costly case: "svc" matches
    // all 100,000 entries, so each typed digit rescores every one of them; the
    // Backspace after it is answered from the prefix cache. A frame is drawn after
    // each key; the time reported is per keystroke.
    key(&mut app, KeyCode::Char('/'));
    for c in "svc".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    group.bench_function("filter_keystroke_to_frame/100k", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for i in 0..iters {
                let c = char::from(b'1' + (i % 9) as u8);
                key(&mut app, KeyCode::Char(c));
                terminal.draw(|f| view::draw(&app, f)).unwrap();
                key(&mut app, KeyCode::Backspace);
                terminal.draw(|f| view::draw(&app, f)).unwrap();
            }
            start.elapsed() / 2
        });
    });

    // Typing a whole query and erasing it, as a person does: per keystroke.
    let mut app = unlocked(100_000);
    key(&mut app, KeyCode::Char('/'));
    group.bench_function("filter_typing_to_frame/100k", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                for c in "team4 svc12".chars() {
                    key(&mut app, KeyCode::Char(c));
                    terminal.draw(|f| view::draw(&app, f)).unwrap();
                }
                for _ in 0..11 {
                    key(&mut app, KeyCode::Backspace);
                    terminal.draw(|f| view::draw(&app, f)).unwrap();
                }
            }
            start.elapsed() / 22
        });
    });

    // The first keystroke from an empty filter: a full fuzzy scan of 100,000 entries.
    let mut app = unlocked(100_000);
    key(&mut app, KeyCode::Char('/'));
    group.bench_function("first_filter_keystroke_to_frame/100k", |b| {
        b.iter(|| {
            key(&mut app, KeyCode::Char('o'));
            terminal.draw(|f| view::draw(&app, f)).unwrap();
            key(&mut app, KeyCode::Backspace);
        });
    });
    // For comparison: the whole scan and ranking of 100,000 entries, to completion,
    // which the view spreads over frames.
    let all = entries(100_000);
    let mut filter = keyward::tui::filter::Filter::default();
    filter.reindex(&all);
    group.bench_function("filter_scan_to_completion/100k", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                filter.reindex(&all); // not timed: empties the prefix cache
                filter.query = "svc1".into();
                let start = Instant::now();
                black_box(filter.view().len());
                spent += start.elapsed();
            }
            spent
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
