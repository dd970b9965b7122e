//! A report as blocks (headings, paragraphs, tables, lists, code, charts),
//! written as Markdown (charts as PNG files beside it) or as one HTML page
//! (charts as inline SVG). Every text is shown as text: redacted, control
//! characters removed, and escaped for the format, whatever a service, the
//! engine or the stack file put in it.

use std::path::{Path, PathBuf};

use stackwarden_model::redact;

use crate::chart::{self, LaneChart, Series};
use crate::data::ReportError;

pub(crate) enum Block {
    Heading(String),
    Para(String),
    Table {
        headers: Vec<&'static str>,
        rows: Vec<Vec<String>>,
    },
    List(Vec<String>),
    /// Lines shown as they are (log lines), in a code block.
    Code(Vec<String>),
    Chart {
        file: &'static str,
        title: String,
        drawing: Drawing,
    },
}

/// What a chart draws.
pub(crate) enum Drawing {
    Lines {
        unit: &'static str,
        series: Vec<Series>,
    },
    Lanes(LaneChart),
}

impl Drawing {
    fn svg(&self, title: &str) -> Result<String, ReportError> {
        Ok(match self {
            Drawing::Lines { unit, series } => chart::svg(title, unit, series)?,
            Drawing::Lanes(lanes) => chart::lanes_svg(title, lanes)?,
        })
    }

    fn png(&self, path: &Path, title: &str) -> Result<(), ReportError> {
        match self {
            Drawing::Lines { unit, series } => chart::png(path, title, unit, series)?,
            Drawing::Lanes(lanes) => chart::lanes_png(path, title, lanes)?,
        }
        Ok(())
    }
}

/// A Markdown report and the PNG charts it links to.
pub struct MarkdownReport {
    pub text: String,
    /// Written beside the Markdown file, in `<name>-charts/`.
    pub charts: Vec<PathBuf>,
}

fn write_err(path: &Path, source: std::io::Error) -> ReportError {
    ReportError::Write {
        path: path.display().to_string(),
        source,
    }
}

/// A code fence longer than any run of backticks in `lines`, so no line
/// can close it.
fn fence(lines: &[String]) -> String {
    let longest = lines
        .iter()
        .flat_map(|l| l.split(|c| c != '`'))
        .map(str::len)
        .max()
        .unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// Writes `blocks` as Markdown to `path` and its charts beside it.
pub(crate) fn write_markdown(
    title: &str,
    blocks: Vec<Block>,
    path: &Path,
) -> Result<MarkdownReport, ReportError> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let chart_dir_name = format!("{stem}-charts");
    let chart_dir = path
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(&chart_dir_name);
    let mut text = format!("# {}\n\n", md_text(title));
    let mut charts = Vec::new();
    for block in blocks {
        match block {
            Block::Heading(h) => text.push_str(&format!("## {}\n\n", md_text(&h))),
            Block::Para(p) => text.push_str(&format!("{}\n\n", md_text(&p))),
            Block::List(items) => {
                for i in items {
                    text.push_str(&format!("- {}\n", md_text(&i)));
                }
                text.push('\n');
            }
            Block::Code(lines) => {
                let lines: Vec<String> = lines.iter().map(|l| shown(l)).collect();
                let fence = fence(&lines);
                text.push_str(&format!("{fence}text\n"));
                for l in &lines {
                    text.push_str(l);
                    text.push('\n');
                }
                text.push_str(&format!("{fence}\n\n"));
            }
            Block::Table { headers, rows } => {
                text.push_str(&format!("| {} |\n", headers.join(" | ")));
                text.push_str(&format!("|{}\n", "---|".repeat(headers.len())));
                for r in rows {
                    let cells: Vec<String> = r.iter().map(|c| md_text(c)).collect();
                    text.push_str(&format!("| {} |\n", cells.join(" | ")));
                }
                text.push('\n');
            }
            Block::Chart {
                file,
                title,
                drawing,
            } => {
                std::fs::create_dir_all(&chart_dir).map_err(|e| write_err(&chart_dir, e))?;
                let png = chart_dir.join(file);
                drawing.png(&png, &title)?;
                let title = md_text(&title);
                text.push_str(&format!(
                    "![{title}]({})\n\n{title}\n\n",
                    md_link(&format!("{chart_dir_name}/{file}"))
                ));
                charts.push(png);
            }
        }
    }
    std::fs::write(path, &text).map_err(|e| write_err(path, e))?;
    Ok(MarkdownReport { text, charts })
}

/// Writes `blocks` to `path`: one HTML page (`html`), else Markdown with
/// its charts beside it; returns the chart files written.
pub(crate) fn write(
    title: &str,
    blocks: Vec<Block>,
    path: &Path,
    html: bool,
) -> Result<Vec<PathBuf>, ReportError> {
    if html {
        let page = write_html(title, blocks)?;
        std::fs::write(path, page).map_err(|e| write_err(path, e))?;
        Ok(Vec::new())
    } else {
        Ok(write_markdown(title, blocks, path)?.charts)
    }
}

/// `blocks` as one HTML page with the charts inline as SVG.
pub(crate) fn write_html(title: &str, blocks: Vec<Block>) -> Result<String, ReportError> {
    let mut html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\"><title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        esc(title),
        esc(title)
    );
    for block in blocks {
        match block {
            Block::Heading(h) => html.push_str(&format!("<h2>{}</h2>\n", esc(&h))),
            Block::Para(p) => html.push_str(&format!("<p>{}</p>\n", esc(&p))),
            Block::List(items) => {
                html.push_str("<ul>\n");
                for i in items {
                    html.push_str(&format!("<li>{}</li>\n", esc(&i)));
                }
                html.push_str("</ul>\n");
            }
            Block::Code(lines) => {
                html.push_str("<pre>");
                for l in lines {
                    html.push_str(&esc(&l));
                    html.push('\n');
                }
                html.push_str("</pre>\n");
            }
            Block::Table { headers, rows } => {
                html.push_str("<table><thead><tr>");
                for h in headers {
                    html.push_str(&format!("<th>{}</th>", esc(h)));
                }
                html.push_str("</tr></thead><tbody>\n");
                for r in rows {
                    html.push_str("<tr>");
                    for c in r {
                        html.push_str(&format!("<td>{}</td>", esc(&c)));
                    }
                    html.push_str("</tr>\n");
                }
                html.push_str("</tbody></table>\n");
            }
            Block::Chart {
                file,
                title,
                drawing,
            } => {
                let svg = drawing.svg(&title)?;
                html.push_str(&format!(
                    "<figure data-chart=\"{}\">{svg}<figcaption>{}</figcaption></figure>\n",
                    esc(file.trim_end_matches(".png")),
                    esc(&title)
                ));
            }
        }
    }
    html.push_str("</body></html>\n");
    Ok(html)
}

/// Text from the engine, a service or the stack file as the report may show
/// it: URLs without passwords or secret parameters, control characters
/// (newlines, ESC) as spaces. Every text of the report goes through here
/// before it is escaped for Markdown or HTML.
pub(crate) fn shown(text: &str) -> String {
    redact::text(text)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Plain text as Markdown that shows exactly that text: HTML is written as
/// entities (so `<script>` is shown, never run), Markdown's inline markup
/// (emphasis, code, links, tables) is backslash-escaped, and a start that
/// would open a heading, list or quote is escaped too.
pub(crate) fn md_text(text: &str) -> String {
    let text = shown(text);
    let text = text.trim_start();
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    // A list item needs its marker followed by a space or the line's end:
    // `-5%` and `61.8MB` stay as they are.
    let marker_ends = |rest: &str| rest.is_empty() || rest.starts_with(char::is_whitespace);
    if out.starts_with(['#', '=']) || (out.starts_with(['-', '+']) && marker_ends(&out[1..])) {
        out.insert(0, '\\');
    } else {
        let digits = out.len() - out.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 && out[digits..].starts_with(['.', ')']) && marker_ends(&out[digits + 1..]) {
            out.insert(digits, '\\');
        }
    }
    out
}

/// A relative link target: everything but unreserved characters and `/`
/// percent-encoded, so a file name cannot end the link or add markup.
pub(crate) fn md_link(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Plain text as HTML text or attribute value that shows exactly that text.
fn esc(text: &str) -> String {
    shown(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const STYLE: &str = "pre{background:#f6f8fa;padding:8px;overflow-x:auto;font-size:13px}body{font:15px/1.45 system-ui,sans-serif;max-width:1100px;margin:24px auto;padding:0 16px;color:#1f2328}table{border-collapse:collapse;margin:8px 0 16px;width:100%}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f6f8fa}figure{margin:12px 0}figcaption{color:#656d76;font-size:13px}svg{max-width:100%;height:auto}";
