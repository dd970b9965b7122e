//! The status report the user of the recovery report typed by hand, built
//! here only from stored measurements: the last verification run (its
//! service table, health breakdown and every check with evidence), resource
//! samples and probe response times, each figure with the time it was
//! measured. Markdown (charts as PNG files beside it) or HTML (charts as
//! inline SVG); charts are drawn with plotters.

mod chart;
mod data;
mod document;
mod incident;
mod render;

pub use chart::{ChartError, LaneChart, LaneRow, Series};
pub use data::{ReportData, ReportError};
pub use incident::{
    render_incident_html, render_incident_markdown, write_incident_report, IncidentReportData,
};
pub use render::{render_html, render_markdown, when, write_status_report, MarkdownReport};
