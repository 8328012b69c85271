//! bench/compare.sh's reporter: reads the hyperfine JSON files it wrote (one per size,
//! operation and tool, named `{size}__{op}__{tool}.json`) and writes
//!
//! - a Markdown fragment with the medians, the ratios the targets ask for, the scaling
//!   from the smallest to the largest size, and every run's spread;
//! - a PNG: grouped bars per operation at one size, log scale (plotters, bitmap
//!   backend, text drawn with ab_glyph from a TTF read at run time).
//!
//! Usage: keyward-bench-chart --json-dir DIR --markdown OUT.md --png OUT.png
//!        [--chart-size N] [--font FILE.ttf]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The operations, in table order: (file key, label).
const OPS: [(&str, &str); 6] = [
    ("add", "add one"),
    ("get", "get one"),
    ("find", "find by name"),
    ("search", "search inside metadata"),
    ("list", "list all"),
    ("import", "bulk import of 1,000"),
];

/// The tools, in column order: (file key, label, bar colour).
const TOOLS: [(&str, &str, RGBColor); 5] = [
    ("pass", "pass", RGBColor(150, 150, 150)),
    ("kpx", "keepassxc-cli", RGBColor(90, 160, 80)),
    ("kw-session", "keyward session", RGBColor(20, 50, 130)),
    ("kw-matched", "keyward matched KDF", RGBColor(60, 110, 200)),
    ("kw-default", "keyward default KDF", RGBColor(150, 185, 235)),
];

const PASS_TARGET: f64 = 10.0;
const KPX_TARGET: f64 = 3.0;

/// One hyperfine result, in milliseconds.
#[derive(Debug, Clone)]
struct Stat {
    median: f64,
    mean: f64,
    stddev: Option<f64>,
    min: f64,
    max: f64,
    runs: usize,
}

type Key = (u64, String, String); // size, op, tool

struct Args {
    json_dir: PathBuf,
    markdown: PathBuf,
    png: PathBuf,
    chart_size: Option<u64>,
    font: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut json_dir = None;
    let mut markdown = None;
    let mut png = None;
    let mut chart_size = None;
    let mut font = PathBuf::from("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--json-dir" => json_dir = Some(PathBuf::from(value()?)),
            "--markdown" => markdown = Some(PathBuf::from(value()?)),
            "--png" => png = Some(PathBuf::from(value()?)),
            "--chart-size" => {
                chart_size = Some(
                    value()?
                        .parse()
                        .map_err(|_| "--chart-size wants a number")?,
                )
            }
            "--font" => font = PathBuf::from(value()?),
            "-h" | "--help" => {
                return Err(
                    "usage: keyward-bench-chart --json-dir DIR --markdown OUT.md \
                            --png OUT.png [--chart-size N] [--font FILE.ttf]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Args {
        json_dir: json_dir.ok_or("--json-dir is required")?,
        markdown: markdown.ok_or("--markdown is required")?,
        png: png.ok_or("--png is required")?,
        chart_size,
        font,
    })
}

fn read_stat(path: &Path) -> Result<Stat, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let r = &json["results"][0];
    let ms = |field: &str| -> Result<f64, String> {
        r[field]
            .as_f64()
            .map(|s| s * 1000.0)
            .ok_or_else(|| format!("{}: no {field}", path.display()))
    };
    Ok(Stat {
        median: ms("median")?,
        mean: ms("mean")?,
        stddev: r["stddev"].as_f64().map(|s| s * 1000.0),
        min: ms("min")?,
        max: ms("max")?,
        runs: r["times"].as_array().map_or(0, Vec::len),
    })
}

fn load(dir: &Path) -> Result<BTreeMap<Key, Stat>, String> {
    let mut out = BTreeMap::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let Some(stem) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        let parts: Vec<&str> = stem.split("__").collect();
        let [size, op, tool] = parts[..] else {
            continue;
        };
        let Ok(size) = size.parse::<u64>() else {
            continue;
        };
        out.insert((size, op.to_string(), tool.to_string()), read_stat(&path)?);
    }
    Ok(out)
}

/// "0.84 ms", "24.1 ms", "412 ms", "3.21 s", "201 s".
fn fmt_ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 100_000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{:.0} s", ms / 1000.0)
    }
}

fn fmt_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ratio_cell(slow: Option<&Stat>, fast: Option<&Stat>, target: f64) -> String {
    match (slow, fast) {
        (Some(s), Some(f)) if f.median > 0.0 => {
            let r = s.median / f.median;
            let verdict = if r >= target { "met" } else { "**not met**" };
            format!("{r:.1}× {verdict}")
        }
        _ => "—".into(),
    }
}

fn markdown(stats: &BTreeMap<Key, Stat>) -> String {
    let mut sizes: Vec<u64> = stats.keys().map(|k| k.0).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let get =
        |size: u64, op: &str, tool: &str| stats.get(&(size, op.to_string(), tool.to_string()));
    let mut md = String::new();

    md.push_str(
        "Median wall time of one whole command (hyperfine); `—`: not measured (see the notes).\n\n",
    );
    md.push_str("| operation | entries |");
    for (_, label, _) in TOOLS {
        md.push_str(&format!(" {label} |"));
    }
    md.push_str(&format!(
        " pass ÷ keyward session (target ≥ {PASS_TARGET}×) | keepassxc-cli ÷ keyward matched (target ≥ {KPX_TARGET}×) |\n"
    ));
    md.push_str("|---|---:|");
    for _ in TOOLS {
        md.push_str("---:|");
    }
    md.push_str("---|---|\n");
    for (op, op_label) in OPS {
        for &size in &sizes {
            md.push_str(&format!("| {op_label} | {} |", fmt_count(size)));
            for (tool, _, _) in TOOLS {
                let cell = match get(size, op, tool) {
                    Some(s) if s.runs < 3 => format!(
                        "{} ({} run{})",
                        fmt_ms(s.median),
                        s.runs,
                        if s.runs == 1 { "" } else { "s" }
                    ),
                    Some(s) => fmt_ms(s.median),
                    None => "—".into(),
                };
                md.push_str(&format!(" {cell} |"));
            }
            md.push_str(&format!(
                " {} | {} |\n",
                ratio_cell(
                    get(size, op, "pass"),
                    get(size, op, "kw-session"),
                    PASS_TARGET
                ),
                ratio_cell(
                    get(size, op, "kpx"),
                    get(size, op, "kw-matched"),
                    KPX_TARGET
                ),
            ));
        }
    }

    // Targets at the largest size.
    if let Some(&top) = sizes.last() {
        let mut lines = Vec::new();
        for (slow, fast, target, what) in [
            ("pass", "kw-session", PASS_TARGET, "pass vs keyward session"),
            (
                "kpx",
                "kw-matched",
                KPX_TARGET,
                "keepassxc-cli vs keyward matched KDF",
            ),
        ] {
            let mut met = Vec::new();
            let mut missed = Vec::new();
            let mut absent = Vec::new();
            for (op, label) in OPS {
                match (get(top, op, slow), get(top, op, fast)) {
                    (Some(s), Some(f)) => {
                        let r = s.median / f.median;
                        if r >= target {
                            met.push(format!("{label} {r:.1}×"));
                        } else {
                            missed.push(format!("{label} {r:.1}×"));
                        }
                    }
                    _ => absent.push(label.to_string()),
                }
            }
            let mut line = format!(
                "- {what} at {} entries (≥ {target}×): met for {} of {}",
                fmt_count(top),
                met.len(),
                OPS.len()
            );
            if !missed.is_empty() {
                line.push_str(&format!("; **not met**: {}", missed.join(", ")));
            }
            if !absent.is_empty() {
                line.push_str(&format!("; not measured: {}", absent.join(", ")));
            }
            line.push('.');
            lines.push(line);
        }
        md.push_str("\nTargets (medians):\n\n");
        for line in lines {
            md.push_str(&line);
            md.push('\n');
        }
    }

    // Scaling from the smallest to the largest size.
    if sizes.len() >= 2 {
        let (lo, hi) = (sizes[0], sizes[sizes.len() - 1]);
        md.push_str(&format!(
            "\nGrowth from {} to {} entries (median at {} ÷ median at {}; {}× the entries; \
             whole processes, so start-up and the KDF are in both):\n\n",
            fmt_count(lo),
            fmt_count(hi),
            fmt_count(hi),
            fmt_count(lo),
            hi / lo
        ));
        md.push_str("| operation |");
        for (_, label, _) in TOOLS {
            md.push_str(&format!(" {label} |"));
        }
        md.push_str("\n|---|");
        for _ in TOOLS {
            md.push_str("---:|");
        }
        md.push('\n');
        for (op, label) in OPS {
            md.push_str(&format!("| {label} |"));
            for (tool, _, _) in TOOLS {
                let cell = match (get(lo, op, tool), get(hi, op, tool)) {
                    (Some(a), Some(b)) => format!("{:.1}×", b.median / a.median),
                    _ => "—".into(),
                };
                md.push_str(&format!(" {cell} |"));
            }
            md.push('\n');
        }
    }

    // Every measurement's spread.
    md.push_str(
        "\n<details><summary>Every measurement: median, mean ± σ, min – max, runs</summary>\n\n",
    );
    md.push_str("| entries | operation | tool | median | mean ± σ | min – max | runs |\n");
    md.push_str("|---:|---|---|---:|---:|---:|---:|\n");
    for &size in &sizes {
        for (op, op_label) in OPS {
            for (tool, tool_label, _) in TOOLS {
                if let Some(s) = get(size, op, tool) {
                    let sd = s.stddev.map_or("—".into(), fmt_ms);
                    md.push_str(&format!(
                        "| {} | {op_label} | {tool_label} | {} | {} ± {sd} | {} – {} | {} |\n",
                        fmt_count(size),
                        fmt_ms(s.median),
                        fmt_ms(s.mean),
                        fmt_ms(s.min),
                        fmt_ms(s.max),
                        s.runs
                    ));
                }
            }
        }
    }
    md.push_str("\n</details>\n");
    md
}

fn chart(stats: &BTreeMap<Key, Stat>, size: u64, png: &Path) -> Result<(), String> {
    let values: Vec<f64> = stats
        .iter()
        .filter(|(k, _)| k.0 == size)
        .map(|(_, s)| s.median)
        .collect();
    if values.is_empty() {
        return Err(format!("no measurement at {size} entries to chart"));
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(0.0, f64::max);
    // Whole decades around the data.
    let y_lo = 10f64.powf((lo / 1.5).log10().floor());
    let y_hi = 10f64.powf((hi * 1.5).log10().ceil());

    let root = BitMapBackend::new(png, (1400, 760)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let n = OPS.len() as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "keyward, pass and keepassxc-cli at {} entries: median time per command (log scale; lower is better)",
                fmt_count(size)
            ),
            ("sans-serif", 22),
        )
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(90)
        .build_cartesian_2d(0.0..n, (y_lo..y_hi).log_scale())
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("median time of one command")
        .y_label_formatter(&|y| {
            if *y >= 1000.0 {
                format!("{} s", y / 1000.0)
            } else {
                format!("{y} ms")
            }
        })
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .draw()
        .map_err(|e| e.to_string())?;

    let width = 0.8 / TOOLS.len() as f64;
    for (t, (tool, label, colour)) in TOOLS.iter().enumerate() {
        let bars: Vec<(f64, f64)> = OPS
            .iter()
            .enumerate()
            .filter_map(|(i, (op, _))| {
                stats
                    .get(&(size, op.to_string(), tool.to_string()))
                    .map(|s| (i as f64 + 0.1 + t as f64 * width, s.median))
            })
            .collect();
        let colour = *colour;
        chart
            .draw_series(
                bars.iter().map(|&(x, v)| {
                    Rectangle::new([(x, y_lo), (x + width * 0.9, v)], colour.filled())
                }),
            )
            .map_err(|e| e.to_string())?
            .label(*label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
        // "n/a" where the tool was not measured.
        let missing: Vec<f64> = OPS
            .iter()
            .enumerate()
            .filter(|(_, (op, _))| !stats.contains_key(&(size, op.to_string(), tool.to_string())))
            .map(|(i, _)| i as f64 + 0.1 + t as f64 * width)
            .collect();
        chart
            .draw_series(missing.iter().map(|&x| {
                Text::new(
                    "n/a",
                    (x, y_lo * 1.15),
                    ("sans-serif", 11)
                        .into_font()
                        .color(&RGBColor(120, 120, 120)),
                )
            }))
            .map_err(|e| e.to_string())?;
        // The value above each bar.
        chart
            .draw_series(bars.iter().map(|&(x, v)| {
                Text::new(
                    short_ms(v),
                    (x, v * 1.12),
                    ("sans-serif", 11).into_font().color(&BLACK),
                )
            }))
            .map_err(|e| e.to_string())?;
    }
    // The operations under their groups, in the x label area (the x axis is a plain
    // 0..6 range, so its own labels would be numbers).
    let label_style = ("sans-serif", 16)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for (i, (_, label)) in OPS.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(i as f64 + 0.5, y_lo));
        root.draw(&Text::new(
            label.to_string(),
            (px, py + 10),
            label_style.clone(),
        ))
        .map_err(|e| e.to_string())?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

/// Compact value label for a bar.
fn short_ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1}")
    } else if ms < 10_000.0 {
        format!("{ms:.0}")
    } else {
        format!("{:.0}s", ms / 1000.0)
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let font: &'static [u8] = Box::leak(
        std::fs::read(&args.font)
            .map_err(|e| format!("{}: {e} (Debian: fonts-dejavu-core)", args.font.display()))?
            .into_boxed_slice(),
    );
    for style in [FontStyle::Normal, FontStyle::Bold] {
        plotters::style::register_font("sans-serif", style, font)
            .map_err(|_| format!("{} is not a usable font", args.font.display()))?;
    }
    let stats = load(&args.json_dir)?;
    if stats.is_empty() {
        return Err(format!("no results in {}", args.json_dir.display()));
    }
    std::fs::write(&args.markdown, markdown(&stats))
        .map_err(|e| format!("{}: {e}", args.markdown.display()))?;
    let size = match args.chart_size {
        Some(s) => s,
        None => stats.keys().map(|k| k.0).max().unwrap_or(0),
    };
    chart(&stats, size, &args.png)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("keyward-bench-chart: {e}");
        std::process::exit(1);
    }
}
