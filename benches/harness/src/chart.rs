//! SVG bar charts (plotters, SVG backend only): per benchmark, one bar per engine for its
//! time relative to a baseline (Wasmtime JIT, or the native build), on a log scale, with a
//! line at 1.

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use std::path::Path;

const COLORS: &[RGBColor] = &[
    RGBColor(0xd6, 0x4e, 0x12), // kiln: orange
    RGBColor(0x3b, 0x6e, 0xc4), // blue
    RGBColor(0x6a, 0xa8, 0x4f), // green
    RGBColor(0x8e, 0x5e, 0xa2), // purple
    RGBColor(0x55, 0x55, 0x55), // grey
];

/// `series`: `(engine, ratio per label)`; a missing ratio leaves a gap. `baseline` names
/// what the ratios are to, for the axis.
pub fn ratio_bars(
    path: &Path,
    title: &str,
    baseline: &str,
    labels: &[String],
    series: &[(String, Vec<Option<f64>>)],
) -> Result<()> {
    let ratios = series
        .iter()
        .flat_map(|(_, values)| values.iter().flatten().copied());
    let (low, high) = ratios.fold((1.0_f64, 1.0_f64), |(low, high), value| {
        (low.min(value), high.max(value))
    });
    // At least 0.25× to 4×, so the log axis has labelled ticks around 1.
    let (low, high) = ((low / 1.3).min(0.25), (high * 1.3).max(4.0));
    let width = (220 + labels.len() * (14 * series.len().max(1) + 10)).max(900) as u32;
    let root = SVGBackend::new(path, (width, 620)).into_drawing_area();
    root.fill(&WHITE).map_err(|error| anyhow!("{error:?}"))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(190)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..labels.len() as f64, (low..high).log_scale())
        .map_err(|error| anyhow!("{error:?}"))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(12)
        .y_desc(format!(
            "time relative to {baseline} (log scale, lower is faster)"
        ))
        .y_label_formatter(&|value| format!("{value:.2}×"))
        .draw()
        .map_err(|error| anyhow!("{error:?}"))?;

    let slot = 0.8 / series.len().max(1) as f64;
    for (series_index, (engine, values)) in series.iter().enumerate() {
        let color = COLORS[series_index % COLORS.len()];
        chart
            .draw_series(
                values
                    .iter()
                    .enumerate()
                    .filter_map(|(label_index, value)| {
                        let value = (*value)?;
                        let left = label_index as f64 + 0.1 + slot * series_index as f64;
                        Some(Rectangle::new(
                            [(left, low), (left + slot * 0.9, value)],
                            color.filled(),
                        ))
                    }),
            )
            .map_err(|error| anyhow!("{error:?}"))?
            .label(engine.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .draw_series(LineSeries::new(
            [(0.0, 1.0), (labels.len() as f64, 1.0)],
            BLACK.stroke_width(1),
        ))
        .map_err(|error| anyhow!("{error:?}"))?;
    // Benchmark names under their bars, rotated (the mesh's own labels fall on round
    // numbers, not on bar groups).
    for (index, label) in labels.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(index as f64 + 0.5, low));
        let style = ("sans-serif", 12)
            .into_font()
            .transform(FontTransform::Rotate90);
        root.draw(&Text::new(label.clone(), (x - 6, y + 6), style))
            .map_err(|error| anyhow!("{error:?}"))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|error| anyhow!("{error:?}"))?;
    root.present().map_err(|error| anyhow!("{error:?}"))?;
    Ok(())
}
