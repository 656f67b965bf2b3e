//! SVG plots of a run (plotters): latency CDF, delivery over time, bandwidth per node, spam per
//! hop distance.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::sim::report::{AttackReport, SimReport};

/// Why a plot could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// plotters could not draw a plot.
    #[error("drawing {plot}: {reason}")]
    Draw {
        /// The plot's file name.
        plot: &'static str,
        /// plotters' explanation.
        reason: String,
    },
    /// A saved report could not be read.
    #[error("reading the report: {0}")]
    Report(#[from] serde_json::Error),
    /// A saved report lacks the per-hop counts of an attack kind whose spam went past the
    /// first hop (it predates them).
    #[error("the report has no per-hop counts for {kind} spam beyond the first hop: rerun the simulation")]
    NoPerHop {
        /// The attack kind.
        kind: &'static str,
    },
    /// A plot could not be written.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

const SIZE: (u32, u32) = (800, 480);

fn draw_err<E: std::fmt::Display>(plot: &'static str) -> impl Fn(E) -> PlotError {
    move |e| PlotError::Draw { plot, reason: e.to_string() }
}

/// A tick label a reader takes in at a glance: integers without decimals, thousands and millions
/// as k and M, small values in scientific notation, at most four significant decimals.
pub fn tick_label(v: f64) -> String {
    let a = v.abs();
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if a == 0.0 {
        "0".into()
    } else if a >= 1e6 {
        format!("{}M", trim(format!("{:.2}", v / 1e6)))
    } else if a >= 1e4 {
        format!("{}k", trim(format!("{:.1}", v / 1e3)))
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1e-3 {
        trim(format!("{v:.4}"))
    } else {
        format!("{v:.0e}")
    }
}

/// An SVG line chart of `series` (name, points).
pub fn line_chart(
    plot: &'static str,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[(&str, Vec<(f64, f64)>)],
) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let e = draw_err(plot);
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(&e)?;
        let pts = series.iter().flat_map(|s| s.1.iter());
        let (mut xmax, mut ymax) = (0f64, 0f64);
        for &(x, y) in pts {
            xmax = xmax.max(x);
            ymax = ymax.max(y);
        }
        let (xmax, ymax) =
            (if xmax > 0.0 { xmax * 1.05 } else { 1.0 }, if ymax > 0.0 { ymax * 1.1 } else { 1.0 });
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..xmax, 0f64..ymax)
            .map_err(&e)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(&|v| tick_label(*v))
            .y_label_formatter(&|v| tick_label(*v))
            .draw()
            .map_err(&e)?;
        for (i, (name, points)) in series.iter().enumerate() {
            let c = color(i);
            chart
                .draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(2)))
                .map_err(&e)?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c));
        }
        if series.len() > 1 {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(&e)?;
        }
        root.present().map_err(&e)?;
    }
    Ok(svg)
}

/// The colours of successive series.
const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// The colour of series `i`.
pub fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

/// An SVG with a title and a note in place of a chart (nothing to plot).
pub fn note_chart(plot: &'static str, title: &str, note: &str) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let e = draw_err(plot);
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(&e)?;
        let root = root.titled(title, ("sans-serif", 20)).map_err(&e)?;
        let (w, h) = root.dim_in_pixel();
        let grey = BLACK.mix(0.7);
        let style = TextStyle::from(("sans-serif", 18).into_font()).color(&grey).pos(
            plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Center,
            ),
        );
        root.draw(&Text::new(note.to_string(), (w as i32 / 2, h as i32 / 2), style)).map_err(&e)?;
        root.present().map_err(&e)?;
    }
    Ok(svg)
}

/// An SVG bar chart with integer categories on the x axis (one tick per category) and one bar
/// per series in each category, a legend naming the series, and each bar's count written above
/// it (zeros included, so an empty category reads as a measured 0, not as missing data).
/// `series` is (name, count per category); `categories` are the x values, in order.
pub fn grouped_bar_chart(
    plot: &'static str,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    categories: &[u64],
    series: &[(&str, Vec<u64>)],
) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let e = draw_err(plot);
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(&e)?;
        let (lo, hi) = match (categories.first(), categories.last()) {
            (Some(&lo), Some(&hi)) => (lo as f64, hi as f64),
            _ => (0.0, 1.0),
        };
        let ymax = series.iter().flat_map(|s| s.1.iter()).copied().max().unwrap_or(0).max(1);
        // Room above the tallest bar for its count and for the legend.
        let ymax = ymax as f64 * 1.35;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(lo - 0.5..hi + 0.5, 0f64..ymax)
            .map_err(&e)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            // One label per category: ticks between categories stay unlabelled.
            .x_labels(categories.len().max(1))
            .x_label_formatter(&|x| {
                if (x - x.round()).abs() < 1e-9 {
                    format!("{}", x.round() as i64)
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| format!("{}", y.round() as i64))
            .draw()
            .map_err(&e)?;
        let n = series.len().max(1) as f64;
        let group = 0.8;
        let width = group / n;
        for (i, (name, counts)) in series.iter().enumerate() {
            let c = color(i);
            let left = |x: f64| x - group / 2.0 + i as f64 * width;
            let bars: Vec<(f64, u64)> =
                categories.iter().zip(counts.iter()).map(|(&x, &v)| (x as f64, v)).collect();
            chart
                .draw_series(bars.iter().map(|&(x, v)| {
                    Rectangle::new([(left(x), 0.0), (left(x) + width * 0.92, v as f64)], c.filled())
                }))
                .map_err(&e)?
                .label(*name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
            let label_style = TextStyle::from(("sans-serif", 11).into_font()).color(&c).pos(
                plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Bottom,
                ),
            );
            chart
                .draw_series(bars.iter().map(|&(x, v)| {
                    Text::new(
                        format!("{v}"),
                        (left(x) + width * 0.46, v as f64 + ymax * 0.01),
                        label_style.clone(),
                    )
                }))
                .map_err(&e)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(&e)?;
        root.present().map_err(&e)?;
    }
    Ok(svg)
}

/// The spam-per-hop plot: one bar per attack kind at each hop from 1 (the attacker's
/// neighbours) to the farthest hop reported (at least 3), with a legend; a note instead of a
/// chart when the run had no spam.
pub fn spam_per_hop(attacks: &[AttackReport], beyond_first_hop: u64) -> Result<String, PlotError> {
    let title = format!("Spam validations by hop ({beyond_first_hop} beyond the first)");
    let sent: usize = attacks.iter().map(|a| a.spam_published).sum();
    if attacks.is_empty() || sent == 0 {
        let note = if attacks.is_empty() {
            "No attackers in this run: no spam to show."
        } else {
            "The attackers sent no spam in this run."
        };
        return note_chart("spam per hop", &title, note);
    }
    let last = attacks.iter().map(|a| a.spam_per_hop.len()).max().unwrap_or(0).max(2) - 1;
    let hops: Vec<u64> = (1..=last as u64).collect();
    let series: Vec<(&str, Vec<u64>)> = attacks
        .iter()
        .map(|a| {
            let counts = hops
                .iter()
                .map(|&h| a.spam_per_hop.get(h as usize).copied().unwrap_or(0))
                .collect();
            (a.kind.name(), counts)
        })
        .collect();
    grouped_bar_chart(
        "spam per hop",
        &title,
        "hops from the attacker",
        "spam messages validated",
        &hops,
        &series,
    )
}

/// The parts of a saved [`SimReport`] (`rlnkit sim --report FILE`) the spam-per-hop plot reads.
#[derive(Debug, serde::Deserialize)]
struct SavedAttacks {
    attacks: Vec<AttackReport>,
    spam_beyond_first_hop: u64,
}

/// The spam-per-hop plot of a saved report (the JSON of `rlnkit sim --report FILE`), so a
/// committed figure is redrawn without rerunning its simulation. A report saved before spam
/// was counted per hop and kind is read from its first-hop counts when no spam went further.
pub fn spam_per_hop_of_saved(json: &str) -> Result<String, PlotError> {
    let mut saved: SavedAttacks = serde_json::from_str(json)?;
    for a in &mut saved.attacks {
        if a.spam_per_hop.is_empty() {
            if a.beyond_first_hop > 0 {
                return Err(PlotError::NoPerHop { kind: a.kind.name() });
            }
            a.spam_per_hop = vec![0, a.first_hop, 0, 0];
        }
    }
    spam_per_hop(&saved.attacks, saved.spam_beyond_first_hop)
}

/// The run's four plots, as (file name, SVG).
pub fn plots(r: &SimReport) -> Result<Vec<(&'static str, String)>, PlotError> {
    let cdf = line_chart(
        "latency",
        &format!(
            "Latency, {} nodes (p50 {:.0} ms, p99 {:.0} ms)",
            r.setup.nodes, r.latency.p50_ms, r.latency.p99_ms
        ),
        "publish to delivery (ms)",
        "fraction of deliveries",
        &[("deliveries", r.latency.cdf.clone())],
    )?;
    let delivery = line_chart(
        "delivery",
        &format!("Delivery over time ({:.3}% overall)", r.delivery.ratio * 100.0),
        "second of the load",
        "delivered / expected",
        &[("honest messages", r.delivery.over_time.clone())],
    )?;
    let mut nodes: Vec<(f64, f64)> = r.traffic.per_node.clone();
    nodes.sort_by(|a, b| a.0.total_cmp(&b.0));
    let kb = |v: f64| v / 1024.0;
    let bandwidth = line_chart(
        "bandwidth",
        &format!("Bandwidth per node (A = {:.1})", r.traffic.amplification),
        "node (sorted by bytes in)",
        "KiB/s",
        &[
            ("in", nodes.iter().enumerate().map(|(i, p)| (i as f64, kb(p.0))).collect()),
            ("out", nodes.iter().enumerate().map(|(i, p)| (i as f64, kb(p.1))).collect()),
        ],
    )?;
    let spam = spam_per_hop(&r.attacks, r.spam_beyond_first_hop)?;
    Ok(vec![
        ("latency_cdf.svg", cdf),
        ("delivery_over_time.svg", delivery),
        ("bandwidth_per_node.svg", bandwidth),
        ("spam_per_hop.svg", spam),
    ])
}

/// Writes the run's plots into `dir` (created if missing); returns their paths.
pub fn write_plots(r: &SimReport, dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    std::fs::create_dir_all(dir).map_err(|source| PlotError::Io { path: dir.into(), source })?;
    let mut out = Vec::new();
    for (name, svg) in plots(r)? {
        let path = dir.join(name);
        std::fs::write(&path, svg)
            .map_err(|source| PlotError::Io { path: path.clone(), source })?;
        out.push(path);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::config::AttackKind;
    use crate::sim::report::Spread;

    fn attack(kind: AttackKind, per_hop: Vec<u64>) -> AttackReport {
        AttackReport {
            kind,
            attackers: 1,
            spam_published: 10,
            first_hop: per_hop.get(1).copied().unwrap_or(0),
            beyond_first_hop: per_hop.iter().skip(2).sum(),
            spam_per_hop: per_hop,
            accepted: 0,
            links: 4,
            graylisted: 4,
            invalid_until_graylist: Spread::default(),
            seconds_until_graylist: Spread::default(),
        }
    }

    #[test]
    fn spam_per_hop_has_integer_hops_a_bar_per_kind_and_shows_zeros() {
        let attacks = [
            attack(AttackKind::DoubleSignal, vec![0, 40, 0, 0]),
            attack(AttackKind::SybilFlood, vec![0, 300, 0, 0]),
        ];
        // plotters writes each text on its own line: compare the texts alone.
        let svg =
            spam_per_hop(&attacks, 0).unwrap().replace(">\n", ">").replace("\n</text>", "</text>");
        // One tick per hop, no fractional ticks.
        for hop in ["1", "2", "3"] {
            assert!(svg.contains(&format!(">{hop}</text>")), "tick {hop}");
        }
        assert!(!svg.contains(">0.5</text>") && !svg.contains(">-0.4</text>"));
        // A legend entry per kind, and the zeros beyond the first hop written out.
        assert!(svg.contains("double_signal") && svg.contains("sybil_flood"));
        assert!(svg.contains(">40</text>") && svg.contains(">300</text>"));
        assert!(svg.matches(">0</text>").count() >= 4, "zeros at hops 2 and 3 for both kinds");
    }

    #[test]
    fn spam_per_hop_is_redrawn_from_a_saved_report() {
        let mut saved = serde_json::json!({
            "attacks": [attack(AttackKind::Replay, vec![0, 7, 0, 0])],
            "spam_beyond_first_hop": 0,
        });
        let svg = spam_per_hop_of_saved(&saved.to_string()).unwrap().replace(">\n", ">");
        assert!(svg.contains("replay") && svg.contains(">7\n</text>"), "{svg}");
        // An older report without the per-kind hops: read from the first hop if nothing went
        // further, refused if something did.
        saved["attacks"][0].as_object_mut().unwrap().remove("spam_per_hop");
        assert!(spam_per_hop_of_saved(&saved.to_string()).unwrap().contains("replay"));
        saved["attacks"][0]["beyond_first_hop"] = 3.into();
        assert!(matches!(
            spam_per_hop_of_saved(&saved.to_string()),
            Err(PlotError::NoPerHop { kind: "replay" })
        ));
        assert!(matches!(spam_per_hop_of_saved("{}"), Err(PlotError::Report(_))));
    }

    #[test]
    fn spam_per_hop_without_spam_is_a_note() {
        let svg = spam_per_hop(&[], 0).unwrap();
        assert!(svg.contains("No attackers in this run"));
        let quiet = AttackReport { spam_published: 0, ..attack(AttackKind::NoProof, vec![0; 4]) };
        let svg = spam_per_hop(&[quiet], 0).unwrap();
        assert!(svg.contains("sent no spam"));
    }
}
