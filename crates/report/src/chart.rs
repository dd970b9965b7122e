//! Line charts over time with plotters, as SVG text or PNG files. Text needs
//! a TrueType font: DejaVu Sans (or Liberation Sans) from the system; without
//! one the charts are drawn without labels and say so.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use stackwarden_health::ServiceStatus;

pub const WIDTH: u32 = 900;
pub const HEIGHT: u32 = 320;

const FONT_CANDIDATES: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ChartError(String);

/// One line: a name and (time ms, value) points, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(i64, f64)>,
}

/// Registers a system font once; false when none is installed.
pub fn fonts_ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        for path in FONT_CANDIDATES {
            if let Ok(bytes) = std::fs::read(path) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        false
    })
}

fn err(e: impl std::fmt::Display) -> ChartError {
    ChartError(e.to_string())
}

/// Time of day, with seconds when the chart spans under ten minutes.
fn clock(ms: i64, span_ms: i64) -> String {
    let format = if span_ms < 600_000 {
        "%H:%M:%S"
    } else {
        "%H:%M"
    };
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&chrono::Local).format(format).to_string())
        .unwrap_or_default()
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    unit: &str,
    series: &[Series],
) -> Result<(), ChartError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    let points = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y1) = (i64::MAX, i64::MIN, 0.0f64);
    for &(x, y) in points {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return Ok(());
    }
    if x1 == x0 {
        // One instant: centre it in a minute-wide window.
        x0 -= 30_000;
        x1 += 30_000;
    }
    let y1 = if y1 <= 0.0 { 1.0 } else { y1 * 1.1 };
    let text = fonts_ready();
    let mut builder = ChartBuilder::on(&root);
    builder.margin(10);
    if text {
        builder
            .caption(title, ("sans-serif", 18))
            .x_label_area_size(28)
            .y_label_area_size(70);
    }
    let mut chart = builder.build_cartesian_2d(x0..x1, 0.0..y1).map_err(err)?;
    if text {
        chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(5)
            .x_label_formatter(&|x| clock(*x, x1 - x0))
            .y_desc(unit)
            .draw()
            .map_err(err)?;
    }
    for (i, s) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        // Points as well as the line, so a single sample still shows.
        chart
            .draw_series(
                s.points
                    .iter()
                    .map(|&(x, y)| Circle::new((x, y), 3, color.filled())),
            )
            .map_err(err)?;
        let line = chart
            .draw_series(LineSeries::new(
                s.points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(err)?;
        if text {
            line.label(s.name.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
            });
        }
    }
    if text && series.len() > 1 {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(err)?;
    }
    root.present().map_err(err)
}

/// The chart as an SVG document.
pub fn svg(title: &str, unit: &str, series: &[Series]) -> Result<String, ChartError> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        draw(root, title, unit, series)?;
    }
    Ok(out)
}

/// The chart as a PNG file at `path`.
pub fn png(path: &Path, title: &str, unit: &str, series: &[Series]) -> Result<(), ChartError> {
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    draw(root, title, unit, series)
}

/// One lane of a status chart: a service's status over time.
#[derive(Debug, Clone, PartialEq)]
pub struct LaneRow {
    pub name: String,
    /// `(from ms, to ms, status)`; `None` is no data.
    pub segments: Vec<(i64, i64, Option<ServiceStatus>)>,
}

/// Lanes of status over `[from_ms, to_ms)`, with markers (actions,
/// restarts, verifications) drawn as vertical lines.
#[derive(Debug, Clone, PartialEq)]
pub struct LaneChart {
    pub from_ms: i64,
    pub to_ms: i64,
    pub lanes: Vec<LaneRow>,
    pub markers: Vec<(i64, String)>,
}

const LANE_HEIGHT: u32 = 34;

/// The colours the window's timeline uses.
fn status_colour(status: Option<ServiceStatus>) -> RGBColor {
    match status {
        Some(ServiceStatus::Healthy) => RGBColor(0x2d, 0xa4, 0x4e),
        Some(ServiceStatus::Degraded) => RGBColor(0xd4, 0xa7, 0x2c),
        Some(ServiceStatus::Unhealthy) => RGBColor(0xe1, 0x6f, 0x24),
        Some(ServiceStatus::Down) => RGBColor(0xcf, 0x22, 0x2e),
        Some(ServiceStatus::NotDeployed) => RGBColor(0xd0, 0xd7, 0xde),
        Some(ServiceStatus::Unknown) => RGBColor(0x82, 0x50, 0xdf),
        None => RGBColor(0xf0, 0xf0, 0xf0),
    }
}

fn lanes_height(chart: &LaneChart) -> u32 {
    let lanes = u32::try_from(chart.lanes.len()).unwrap_or(u32::MAX / LANE_HEIGHT);
    110 + lanes.max(1).saturating_mul(LANE_HEIGHT)
}

fn draw_lanes<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    lanes: &LaneChart,
) -> Result<(), ChartError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    let (x0, x1) = if lanes.to_ms > lanes.from_ms {
        (lanes.from_ms, lanes.to_ms)
    } else {
        (lanes.from_ms - 30_000, lanes.from_ms + 30_000)
    };
    let n = lanes.lanes.len().max(1) as f64;
    let text = fonts_ready();
    let (main, legend) = root.split_vertically(lanes_height(lanes) - 30);
    let mut builder = ChartBuilder::on(&main);
    builder.margin(10);
    if text {
        builder
            .caption(title, ("sans-serif", 18))
            .x_label_area_size(28)
            .y_label_area_size(150);
    }
    let mut chart = builder.build_cartesian_2d(x0..x1, 0.0..n).map_err(err)?;
    if text {
        let names: Vec<String> = lanes.lanes.iter().map(|l| l.name.clone()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .label_style(("sans-serif", 13))
            .x_labels(6)
            .y_labels(lanes.lanes.len() * 2 + 1)
            .x_label_formatter(&|x| clock(*x, x1 - x0))
            .y_label_formatter(&|y| {
                // Lane i spans [n-1-i, n-i): its name sits at the middle.
                let slot = n - y - 0.5;
                let i = slot.round();
                if (slot - i).abs() < 0.01 && i >= 0.0 {
                    names.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .draw()
            .map_err(err)?;
    }
    for (i, lane) in lanes.lanes.iter().enumerate() {
        let top = n - i as f64;
        chart
            .draw_series(lane.segments.iter().map(|&(from, to, status)| {
                Rectangle::new(
                    [(from.max(x0), top - 0.15), (to.min(x1), top - 0.85)],
                    status_colour(status).filled(),
                )
            }))
            .map_err(err)?;
    }
    for (at, _) in &lanes.markers {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(*at, 0.0), (*at, n)],
                BLACK.mix(0.7).stroke_width(2),
            )))
            .map_err(err)?;
    }
    if text {
        let statuses = [
            Some(ServiceStatus::Healthy),
            Some(ServiceStatus::Degraded),
            Some(ServiceStatus::Unhealthy),
            Some(ServiceStatus::Down),
            Some(ServiceStatus::NotDeployed),
            Some(ServiceStatus::Unknown),
            None,
        ];
        let mut x = 160;
        for status in statuses {
            let word = status.map_or("no data", ServiceStatus::word);
            legend
                .draw(&Rectangle::new(
                    [(x, 8), (x + 14, 22)],
                    status_colour(status).filled(),
                ))
                .map_err(err)?;
            legend
                .draw(&Text::new(
                    word.to_string(),
                    (x + 18, 8),
                    ("sans-serif", 13),
                ))
                .map_err(err)?;
            x += 30 + 8 * i32::try_from(word.len()).unwrap_or(10);
        }
        if !lanes.markers.is_empty() {
            legend
                .draw(&Text::new(
                    "| action".to_string(),
                    (x, 8),
                    ("sans-serif", 13),
                ))
                .map_err(err)?;
        }
    }
    root.present().map_err(err)
}

/// The status lanes as an SVG document.
pub fn lanes_svg(title: &str, lanes: &LaneChart) -> Result<String, ChartError> {
    let mut out = String::new();
    {
        let root =
            SVGBackend::with_string(&mut out, (WIDTH, lanes_height(lanes))).into_drawing_area();
        draw_lanes(root, title, lanes)?;
    }
    Ok(out)
}

/// The status lanes as a PNG file at `path`.
pub fn lanes_png(path: &Path, title: &str, lanes: &LaneChart) -> Result<(), ChartError> {
    let root = BitMapBackend::new(path, (WIDTH, lanes_height(lanes))).into_drawing_area();
    draw_lanes(root, title, lanes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series() -> Vec<Series> {
        vec![
            Series {
                name: "llama".into(),
                points: vec![(0, 1.0), (60_000, 2.5), (120_000, 1.8)],
            },
            Series {
                name: "qdrant".into(),
                points: vec![(0, 8.4), (120_000, 8.0)],
            },
        ]
    }

    #[test]
    fn svg_draws_every_series_with_its_legend() {
        let text = svg("CPU", "%", &series()).unwrap();
        assert!(text.starts_with("<svg"), "{}", &text[..80]);
        assert!(text.trim_end().ends_with("</svg>"));
        assert!(text.matches("<polyline").count() >= 2, "{text}");
        assert_eq!(text.matches("<circle").count(), 5, "one per point");
        for label in ["llama", "qdrant", "CPU"] {
            assert!(text.contains(&format!("\n{label}\n")), "{label} in {text}");
        }
    }

    fn lanes() -> LaneChart {
        LaneChart {
            from_ms: 0,
            to_ms: 600_000,
            lanes: vec![
                LaneRow {
                    name: "postgres".into(),
                    segments: vec![
                        (0, 100_000, None),
                        (100_000, 200_000, Some(ServiceStatus::Healthy)),
                        (200_000, 400_000, Some(ServiceStatus::Down)),
                        (400_000, 600_000, Some(ServiceStatus::Healthy)),
                    ],
                },
                LaneRow {
                    name: "aidb".into(),
                    segments: vec![(0, 600_000, Some(ServiceStatus::Unhealthy))],
                },
            ],
            markers: vec![(390_000, "restart postgres".into())],
        }
    }

    #[test]
    fn lanes_draw_a_box_per_segment_and_name_every_lane() {
        let text = lanes_svg("Incident 1", &lanes()).unwrap();
        assert!(text.starts_with("<svg"));
        // Five segments, the seven legend swatches, and the background.
        assert!(text.matches("<rect").count() >= 5 + 7, "{text}");
        assert!(
            text.contains("#CF222E") || text.to_lowercase().contains("#cf222e"),
            "down is red"
        );
        for label in ["postgres", "aidb", "Incident 1", "no data"] {
            assert!(text.contains(label), "{label} in {text}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lanes.png");
        lanes_png(&path, "Incident 1", &lanes()).unwrap();
        assert_eq!(&std::fs::read(&path).unwrap()[..4], b"\x89PNG");
        // Nothing to draw is still a chart, not an error.
        let empty = LaneChart {
            from_ms: 5,
            to_ms: 5,
            lanes: Vec::new(),
            markers: Vec::new(),
        };
        assert!(lanes_svg("none", &empty).unwrap().contains("</svg>"));
    }

    #[test]
    fn png_is_a_png_of_the_right_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cpu.png");
        png(&path, "CPU", "%", &series()).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
        let height = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
        assert_eq!((width, height), (WIDTH, HEIGHT));
    }
}
