//! `stackwarden report`: the status report from stored measurements only,
//! as Markdown (PNG charts beside it) or HTML (SVG charts inside).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use stackwarden_model::clock::now_ms;
use stackwarden_model::Config;
use stackwarden_report::{
    write_incident_report, write_status_report, IncidentReportData, ReportData,
};

use crate::stack_input::CliError;
use crate::store::open_store;
use crate::table::shown;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Md,
    Html,
}

/// The format asked for, else the one `out`'s extension names, else Markdown.
pub fn format_for(format: Option<Format>, out: Option<&Path>) -> Format {
    format.unwrap_or_else(
        || match out.and_then(|p| p.extension()).and_then(|e| e.to_str()) {
            Some("html" | "htm") => Format::Html,
            _ => Format::Md,
        },
    )
}

pub fn run(config: &Config, format: Option<Format>, out: Option<PathBuf>) -> ExitCode {
    let format = format_for(format, out.as_deref());
    let out = out.unwrap_or_else(|| {
        PathBuf::from(match format {
            Format::Md => "stackwarden-report.md",
            Format::Html => "stackwarden-report.html",
        })
    });
    let Some(runtime) = crate::runtime() else {
        return ExitCode::from(2);
    };
    said(runtime.block_on(write_report(config, format, &out)))
}

/// `stackwarden timeline --incident ID --report FILE`: exit 0 written, 1 not
/// (no such incident, nothing recorded, cannot write).
pub fn run_incident(config: &Config, id: i64, out: &Path) -> ExitCode {
    let Some(runtime) = crate::runtime() else {
        return ExitCode::from(1);
    };
    said(runtime.block_on(incident_report(config, id, out)))
}

fn said(result: Result<String, CliError>) -> ExitCode {
    match result {
        Ok(done) => {
            println!("{}", shown(&done));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("stackwarden: {}", shown(&e.to_string()));
            ExitCode::from(1)
        }
    }
}

async fn incident_report(config: &Config, id: i64, out: &Path) -> Result<String, CliError> {
    let store = open_store(config).await?;
    let data = IncidentReportData::load(&store, id, now_ms()).await;
    store.close().await;
    let data = data?;
    let html = format_for(None, Some(out)) == Format::Html;
    Ok(wrote(out, &write_incident_report(&data, out, html)?))
}

/// What was written, for the user.
fn wrote(out: &Path, charts: &[PathBuf]) -> String {
    if charts.is_empty() {
        format!("wrote {}", out.display())
    } else {
        let charts: Vec<String> = charts.iter().map(|c| c.display().to_string()).collect();
        format!("wrote {} and {}", out.display(), charts.join(", "))
    }
}

/// Builds the report from the store and writes it to `out`; says what it
/// wrote.
async fn write_report(config: &Config, format: Format, out: &Path) -> Result<String, CliError> {
    let store = open_store(config).await?;
    let data = ReportData::load(&store, now_ms()).await;
    store.close().await;
    let data = data?;
    let html = format == Format::Html;
    Ok(wrote(out, &write_status_report(&data, out, html)?))
}
