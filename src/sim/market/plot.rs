//! SVG plots of a market run (per day) and of the sweeps (with their recommended points).

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::sim::market::report::MarketReport;
use crate::sim::market::sweep::{Sweep, Sweeps};
use crate::sim::plot::{color, line_chart, tick_label, PlotError};

const SIZE: (u32, u32) = (800, 480);

/// One axis of an [`xy_chart`].
#[derive(Debug, Clone, Copy)]
pub struct Axis<'a> {
    /// What the axis shows.
    pub desc: &'a str,
    /// Logarithmic scale (values ≤ 0 are left out).
    pub log: bool,
}

fn err<E: std::fmt::Display>(plot: &'static str) -> impl Fn(E) -> PlotError {
    move |e| PlotError::Draw { plot, reason: e.to_string() }
}

/// An axis' range around `values`; `room` leaves space above them for the legend (y axes).
fn bounds(values: impl Iterator<Item = f64>, log: bool, room: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return if log { (0.1, 10.0) } else { (0.0, 1.0) };
    }
    if log && !room {
        (lo / 1.5, hi * 1.5)
    } else if log {
        (lo / 1.5, hi * (hi / lo).max(10.0).powf(0.3))
    } else if !room {
        // An x axis: the values' own range (a plot from day 21 starts at day 21).
        let pad = (hi - lo).abs().max(1e-12) * 0.03;
        (if lo == 0.0 { 0.0 } else { lo - pad }, hi + pad)
    } else {
        // From zero, unless the values stay within a narrow band far from it (a few percent
        // of change would be flat at the top of the chart).
        let lo =
            if lo > 0.0 && lo > 0.6 * hi { lo - (hi - lo).max(hi * 0.02) } else { lo.min(0.0) };
        let span = (hi - lo).abs().max(1e-12);
        (lo, hi + span * 0.35)
    }
}

/// A whole number with thousands separators: 1,000,000.
fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 && digits != "0" {
        out.insert(0, '-');
    }
    out
}

/// An SVG chart of `series` (name, points) on linear or logarithmic axes, lines with their
/// points marked, and `marks`: highlighted points (x, y, label), e.g. a sweep's recommended
/// value.
pub fn xy_chart(
    plot: &'static str,
    title: &str,
    x: Axis<'_>,
    y: Axis<'_>,
    series: &[(String, Vec<(f64, f64)>)],
    marks: &[(f64, f64, String)],
) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let e = err(plot);
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(&e)?;
        let keep = |(a, b): (f64, f64)| {
            a.is_finite() && b.is_finite() && (!x.log || a > 0.0) && (!y.log || b > 0.0)
        };
        let (x0, x1) = bounds(series.iter().flat_map(|s| s.1.iter().map(|p| p.0)), x.log, false);
        let (y0, y1) = bounds(
            series.iter().flat_map(|s| s.1.iter().map(|p| p.1)).chain(marks.iter().map(|m| m.1)),
            y.log,
            true,
        );
        let mut cb = ChartBuilder::on(&root);
        cb.caption(title, ("sans-serif", 19))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(75);
        let xf = |v: &f64| tick_label(*v);
        let yf = |v: &f64| tick_label(*v);
        macro_rules! draw {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .x_desc(x.desc)
                    .y_desc(y.desc)
                    .x_label_formatter(&xf)
                    .y_label_formatter(&yf)
                    .draw()
                    .map_err(&e)?;
                for (i, (name, pts)) in series.iter().enumerate() {
                    let c = color(i);
                    let pts: Vec<(f64, f64)> = pts.iter().copied().filter(|&p| keep(p)).collect();
                    chart
                        .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
                        .map_err(&e)?
                        .label(name.as_str())
                        .legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                        });
                    chart
                        .draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))
                        .map_err(&e)?;
                }
                // A mark's label above it, to its right in the left half of the chart and to
                // its left in the right half, so that it stays inside the chart.
                let share = |v: f64| {
                    if x.log {
                        (v.ln() - x0.ln()) / (x1.ln() - x0.ln())
                    } else {
                        (v - x0) / (x1 - x0)
                    }
                };
                for (mx, my, label) in marks.iter().filter(|m| keep((m.0, m.1))) {
                    use plotters::style::text_anchor::{HPos, Pos, VPos};
                    let right = share(*mx) > 0.5;
                    let h = if right { HPos::Right } else { HPos::Left };
                    let style = TextStyle::from(("sans-serif", 13).into_font())
                        .color(&BLACK)
                        .pos(Pos::new(h, VPos::Bottom));
                    let label = if right { format!("{}  ", label.trim()) } else { label.clone() };
                    chart
                        .draw_series(std::iter::once(Circle::new(
                            (*mx, *my),
                            8,
                            BLACK.stroke_width(2),
                        )))
                        .map_err(&e)?;
                    chart
                        .draw_series(std::iter::once(
                            EmptyElement::at((*mx, *my))
                                + Text::new(label, (if right { -4 } else { 4 }, -10), style),
                        ))
                        .map_err(&e)?;
                }
                if !series.is_empty() {
                    chart
                        .configure_series_labels()
                        .position(SeriesLabelPosition::UpperLeft)
                        .background_style(WHITE.mix(0.85))
                        .border_style(BLACK)
                        .draw()
                        .map_err(&e)?;
                }
            }};
        }
        match (x.log, y.log) {
            (false, false) => draw!(cb.build_cartesian_2d(x0..x1, y0..y1).map_err(&e)?),
            (true, false) => {
                draw!(cb.build_cartesian_2d((x0..x1).log_scale(), y0..y1).map_err(&e)?)
            }
            (false, true) => {
                draw!(cb.build_cartesian_2d(x0..x1, (y0..y1).log_scale()).map_err(&e)?)
            }
            (true, true) => {
                draw!(cb
                    .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
                    .map_err(&e)?)
            }
        }
        root.present().map_err(&e)?;
    }
    Ok(svg)
}

/// A run's plots, as (file name, SVG): operators, their profit, the client's cost, the
/// treasury's income and spam, per day.
pub fn run_plots(r: &MarketReport) -> Result<Vec<(&'static str, String)>, PlotError> {
    let days = |f: &dyn Fn(&crate::sim::market::report::Day) -> f64| -> Vec<(f64, f64)> {
        r.days.iter().map(|d| (d.day as f64, f(d))).collect()
    };
    let users = thousands(r.config.users as f64);
    let operators = line_chart(
        "market operators",
        &format!(
            "Operators, {users} clients ({} joined, {} left)",
            thousands(r.summary.operators_joined as f64),
            thousands(r.summary.operators_exited as f64)
        ),
        "day",
        "operators",
        &[
            ("active", days(&|d| d.operators_active as f64)),
            ("joined that day", days(&|d| d.operators_entered as f64)),
            ("left that day", days(&|d| d.operators_exited as f64)),
        ],
    )?;
    // From the end of the first operators' grace: the entry boom before it (profits of
    // hundreds a day) would flatten the market's steady state to a line at zero.
    let from = r.config.grace_days.min(r.config.days.saturating_sub(1));
    let later = |f: &dyn Fn(&crate::sim::market::report::Day) -> f64| -> Vec<(f64, f64)> {
        r.days.iter().filter(|d| d.day >= from).map(|d| (d.day as f64, f(d))).collect()
    };
    let boom = r.days.iter().map(|d| d.operator_profit.p90).fold(0.0, f64::max);
    let profit = xy_chart(
        "market profit",
        &format!("Operators' daily profit from day {from} (earlier: up to {})", thousands(boom)),
        Axis { desc: "day", log: false },
        Axis { desc: "tokens per day, net of fee, hosting, gas, capital", log: false },
        &[
            ("10th percentile".into(), later(&|d| d.operator_profit.p10)),
            ("median".into(), later(&|d| d.operator_profit.p50)),
            ("90th percentile".into(), later(&|d| d.operator_profit.p90)),
        ],
        &[],
    )?;
    let cost = line_chart(
        "market client cost",
        &format!(
            "What a client pays per message (mean {:.6} tokens)",
            r.summary.client_cost_per_message
        ),
        "day",
        "tokens per message served",
        &[("cost per message", days(&|d| d.client_cost_per_message))],
    )?;
    let treasury = line_chart(
        "market treasury",
        &format!(
            "Treasury income ({} tokens a year at the last 30 days' rate)",
            thousands(r.summary.treasury_per_year)
        ),
        "day",
        "tokens per day",
        &[("fees and slashed deposits", days(&|d| d.treasury_income))],
    )?;
    let spam = line_chart(
        "market spam",
        &format!(
            "Spam delivered per day (cost to spammers {:.1e} tokens per message)",
            r.summary.spam_cost_per_message
        ),
        "day",
        "messages per day",
        &[
            ("paid lightpush", days(&|d| d.spam.via_lightpush as f64)),
            ("own memberships, within the limit", days(&|d| d.spam.via_memberships as f64)),
            (
                "double signals delivered",
                days(&|d| d.spam.via_double_signal as f64 * r.config.double_signal_reach / 2.0),
            ),
        ],
    )?;
    Ok(vec![
        ("market_operators.svg", operators),
        ("market_profit.svg", profit),
        ("market_client_cost.svg", cost),
        ("market_treasury.svg", treasury),
        ("market_spam.svg", spam),
    ])
}

fn line(s: &Sweep, y: impl Fn(&crate::sim::market::sweep::Point) -> f64) -> Vec<(f64, f64)> {
    s.points.iter().map(|p| (p.x, y(p))).collect()
}

fn by_series(
    s: &Sweep,
    name: impl Fn(f64) -> String,
    y: impl Fn(&crate::sim::market::sweep::Point) -> f64,
) -> Vec<(String, Vec<(f64, f64)>)> {
    let mut out: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    let mut keys: Vec<f64> = Vec::new();
    for p in &s.points {
        let i = match keys.iter().position(|&k| k == p.series) {
            Some(i) => i,
            None => {
                keys.push(p.series);
                out.push((name(p.series), Vec::new()));
                keys.len() - 1
            }
        };
        out[i].1.push((p.x, y(p)));
    }
    out
}

fn mark(
    s: &Sweep,
    series: f64,
    y: impl Fn(&crate::sim::market::sweep::Point) -> f64,
) -> Vec<(f64, f64, String)> {
    s.recommended
        .iter()
        .filter(|r| r.0 == series)
        .filter_map(|r| r.1)
        .filter_map(|x| s.points.iter().find(|p| p.x == x && p.series == series))
        .map(|p| (p.x, y(p), format!("  recommended {}", tick_label(p.x))))
        .collect()
}

/// The sweeps' plots, as (file name, SVG).
pub fn sweep_plots(s: &Sweeps) -> Result<Vec<(&'static str, String)>, PlotError> {
    let mut out = Vec::new();
    let p = &s.price;
    out.push((
        "sweep_price.svg",
        xy_chart(
            "sweep price",
            "Price per push vs operators retained",
            Axis { desc: "price per push (tokens, log)", log: true },
            Axis { desc: "operators", log: false },
            &[
                ("active at the end".into(), line(p, |q| q.operators_end as f64)),
                ("ever joined".into(), line(p, |q| q.operators_joined as f64)),
            ],
            &mark(p, 0.0, |q| q.operators_end as f64),
        )?,
    ));
    out.push((
        "sweep_price_served.svg",
        xy_chart(
            "sweep price served",
            "Price per push vs demand served, operators retained, revenue lost to gas",
            Axis { desc: "price per push (tokens, log)", log: true },
            Axis { desc: "share", log: false },
            &[
                ("demand served".into(), line(p, |q| q.served_share)),
                (
                    "operators active at day 30 still active at the end".into(),
                    line(p, |q| q.retained),
                ),
                ("revenue lost to claim gas and forfeits".into(), line(p, |q| q.lost_to_gas_share)),
            ],
            &mark(p, 0.0, |q| q.served_share),
        )?,
    ));
    let f = &s.fee;
    out.push((
        "sweep_fee.svg",
        xy_chart(
            "sweep fee",
            "Fee rate vs treasury income",
            Axis { desc: "fee rate", log: false },
            Axis { desc: "treasury income (tokens per year)", log: false },
            &[("treasury per year".into(), line(f, |q| q.treasury_per_year))],
            &mark(f, 0.0, |q| q.treasury_per_year),
        )?,
    ));
    let mut fee_series: Vec<(String, Vec<(f64, f64)>)> = vec![(
        format!(
            "operators, mean of the last 30 days and {} seeds",
            f.points.first().map_or(1, |p| p.runs)
        ),
        line(f, |q| q.operators_mean),
    )];
    let mut fee_marks = mark(f, 0.0, |q| q.operators_mean);
    if let Some(fit) = f.fit {
        let x1 = f.points.last().map_or(0.1, |p| p.x);
        fee_series.push(("least-squares line".into(), vec![(0.0, fit.at(0.0)), (x1, fit.at(x1))]));
        fee_series.push((
            format!("{:.0}% below the fee-free line", fit.loss * 100.0),
            vec![(0.0, fit.intercept * (1.0 - fit.loss)), (x1, fit.intercept * (1.0 - fit.loss))],
        ));
        if let Some(at) = fit.loss_at.filter(|&a| a <= x1) {
            fee_marks.push((at, fit.at(at), format!("  line crosses at {}", tick_label(at))));
        }
    }
    out.push((
        "sweep_fee_operators.svg",
        xy_chart(
            "sweep fee operators",
            "Fee rate vs operators kept",
            Axis { desc: "fee rate (share of each claim)", log: false },
            Axis { desc: "operators active", log: false },
            &fee_series,
            &fee_marks,
        )?,
    ));
    let c = &s.claim_threshold;
    let series =
        by_series(c, |g| format!("gas {} gwei", tick_label(g)), |q| q.lost_to_gas_share.max(1e-6));
    let marks: Vec<(f64, f64, String)> = crate::sim::market::sweep::GAS_PRICES
        .iter()
        .flat_map(|&g| mark(c, g, |q| q.lost_to_gas_share.max(1e-6)))
        .collect();
    out.push((
        "sweep_claim_threshold.svg",
        xy_chart(
            "sweep claim",
            "Claim threshold vs revenue lost to gas",
            Axis { desc: "claim threshold (tokens, log)", log: true },
            Axis { desc: "share of revenue lost (claim gas + forfeited, log)", log: true },
            &series,
            &marks,
        )?,
    ));
    for (name_spam, name_cost, sw, reach) in [
        (
            "sweep_deposit_spam_measured.svg",
            "sweep_deposit_cost_measured.svg",
            &s.deposit_measured,
            "measured reach",
        ),
        (
            "sweep_deposit_spam_split.svg",
            "sweep_deposit_cost_split.svg",
            &s.deposit_split,
            "shares split across the network",
        ),
    ] {
        let label = |r: f64| format!("slash reward {:.0}%", r * 100.0);
        out.push((
            name_spam,
            xy_chart(
                "sweep deposit spam",
                &format!("Deposit vs spam delivered per day ({reach})"),
                Axis { desc: "deposit per message slot (tokens, log)", log: true },
                Axis { desc: "spam delivered per day", log: false },
                &by_series(sw, label, |q| q.spam_per_day),
                &[],
            )?,
        ));
        out.push((
            name_cost,
            xy_chart(
                "sweep deposit cost",
                &format!("Deposit vs a spammer's cost per delivered message ({reach})"),
                Axis { desc: "deposit per message slot (tokens, log)", log: true },
                Axis { desc: "cheapest spam route, tokens per message (log)", log: true },
                &by_series(sw, label, |q| q.spam_cost_per_message),
                &[],
            )?,
        ));
    }
    Ok(out)
}

/// Writes `plots` into `dir` (created if missing); returns their paths.
pub fn write(dir: &Path, plots: Vec<(&'static str, String)>) -> Result<Vec<PathBuf>, PlotError> {
    std::fs::create_dir_all(dir).map_err(|source| PlotError::Io { path: dir.into(), source })?;
    let mut out = Vec::new();
    for (name, svg) in plots {
        let path = dir.join(name);
        std::fs::write(&path, svg)
            .map_err(|source| PlotError::Io { path: path.clone(), source })?;
        out.push(path);
    }
    Ok(out)
}
