//! SVG plots of a run (plotters): latency CDF, delivery over time, bandwidth per node, spam per
//! hop distance.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::sim::report::SimReport;

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
        chart.configure_mesh().x_desc(x_desc).y_desc(y_desc).draw().map_err(&e)?;
        let colors = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];
        for (i, (name, points)) in series.iter().enumerate() {
            let c = colors[i % colors.len()];
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

/// An SVG bar chart of `(x, count)`.
pub fn bar_chart(
    plot: &'static str,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    bars: &[(usize, u64)],
) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let e = draw_err(plot);
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(&e)?;
        let xmax = bars.iter().map(|b| b.0).max().unwrap_or(1) as f64 + 1.0;
        let ymax = bars.iter().map(|b| b.1).max().unwrap_or(1).max(1) as f64 * 1.1;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5f64..xmax - 0.5, 0f64..ymax)
            .map_err(&e)?;
        chart.configure_mesh().x_desc(x_desc).y_desc(y_desc).draw().map_err(&e)?;
        chart
            .draw_series(bars.iter().map(|&(x, c)| {
                let x = x as f64;
                Rectangle::new([(x - 0.35, 0.0), (x + 0.35, c as f64)], RED.filled())
            }))
            .map_err(&e)?;
        root.present().map_err(&e)?;
    }
    Ok(svg)
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
    let hops: Vec<(usize, u64)> = r.spam_per_hop.iter().copied().enumerate().collect();
    let spam = bar_chart(
        "spam per hop",
        &format!("Spam validations by hop ({} beyond the first)", r.spam_beyond_first_hop),
        "hops from the attacker",
        "spam messages validated",
        &hops,
    )?;
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
