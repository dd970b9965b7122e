// The AI services' telemetry: each followed file with its state and
// malformed-line count (examples on demand), events, errors and latency per
// minute as charts, totals per service and event type, error bursts, the
// stack file's alerts, and the last events as they arrive. Reloads every
// few seconds while shown; ranges 1 h, 24 h, 7 d (keys 1-3).
import { memo, useEffect, useMemo, useState } from "react";
import { asUiError, type Backend } from "../api";
import type { FileReport } from "../bindings/FileReport";
import type { LiveFile } from "../bindings/LiveFile";
import type { MinutePoint } from "../bindings/MinutePoint";
import type { TelemetryView } from "../bindings/TelemetryView";
import { burstTitle } from "./TimelinePanel";

const HOUR = 3_600_000;
export const TELEMETRY_RANGES: { label: string; ms: number }[] = [
  { label: "1 h", ms: HOUR },
  { label: "24 h", ms: 24 * HOUR },
  { label: "7 d", ms: 7 * 24 * HOUR },
];
const REFRESH_MS = 5_000;
const CHART_W = 600;
const CHART_H = 120;

export function percent(errors: number, count: number): string {
  return count === 0 ? "–" : `${((errors * 100) / count).toFixed(1)} %`;
}

export function millis(v: number | null): string {
  if (v === null) return "–";
  return v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`;
}

function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** An SVG path through `values` over the chart (x by minute, y by value). */
export function chartPath(points: MinutePoint[], value: (p: MinutePoint) => number | null, from: number, to: number, max: number): string {
  let d = "";
  let pen = false;
  for (const p of points) {
    const v = value(p);
    if (v === null) {
      pen = false;
      continue;
    }
    const x = ((p.minute_ms - from) / Math.max(1, to - from)) * CHART_W;
    const y = CHART_H - (v / Math.max(max, 1e-9)) * (CHART_H - 6) - 3;
    d += `${pen ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)} `;
    pen = true;
  }
  return d.trim();
}

type Series = { label: string; cls: string; value: (p: MinutePoint) => number | null };

const MinuteChart = memo(function MinuteChart({
  id,
  title,
  points,
  series,
  from,
  to,
  unit,
}: {
  id: string;
  title: string;
  points: MinutePoint[];
  series: Series[];
  from: number;
  to: number;
  unit: (v: number) => string;
}) {
  const max = useMemo(
    () => Math.max(0, ...points.flatMap((p) => series.map((s) => s.value(p) ?? 0))),
    [points, series],
  );
  return (
    <figure className="telemetry-chart" data-testid={`chart-${id}`}>
      <figcaption>
        {title} <span className="muted small">(max {unit(max)})</span>
        {series.length > 1 &&
          series.map((s) => (
            <span key={s.label} className={`legend ${s.cls}`}>
              {s.label}
            </span>
          ))}
      </figcaption>
      {points.length === 0 ? (
        <p className="muted">No events in this range.</p>
      ) : (
        <svg viewBox={`0 0 ${CHART_W} ${CHART_H}`} width="100%" role="img" aria-label={title}>
          <line x1={0} x2={CHART_W} y1={CHART_H - 3} y2={CHART_H - 3} className="axis" />
          {series.map((s) => (
            <path key={s.label} d={chartPath(points, s.value, from, to, max)} className={`chart-line ${s.cls}`} fill="none" />
          ))}
        </svg>
      )}
    </figure>
  );
});

const EVENTS: Series[] = [{ label: "events", cls: "line-events", value: (p) => p.events }];
const ERRORS: Series[] = [{ label: "error rate", cls: "line-errors", value: (p) => (p.events === 0 ? null : (p.errors * 100) / p.events) }];
const LATENCY: Series[] = [
  { label: "p50", cls: "line-p50", value: (p) => p.p50_ms },
  { label: "p95", cls: "line-p95", value: (p) => p.p95_ms },
];

function FileRow({ file, live }: { file: FileReport | undefined; live: LiveFile | undefined }) {
  const name = file?.file ?? live?.file ?? "";
  const [open, setOpen] = useState(false);
  return (
    <>
      <tr data-testid={`telemetry-file-${name}`}>
        <td title={file?.path ?? live?.path}>{name}</td>
        <td>{live?.state ?? "not in the stack file"}</td>
        <td className="num">{file?.events ?? 0}</td>
        <td className="num">{percent(file?.errors ?? 0, file?.events ?? 0)}</td>
        <td className="num" data-testid={`malformed-${name}`}>
          {file?.malformed_total ?? 0}
        </td>
        <td>
          {file && file.bad_lines.length > 0 && (
            <button type="button" className="link" aria-expanded={open} onClick={() => setOpen(!open)}>
              {open ? "Hide bad lines" : "Bad lines…"}
            </button>
          )}
        </td>
      </tr>
      {open && file && (
        <tr>
          <td colSpan={6}>
            <ul className="bad-lines" data-testid={`bad-lines-${name}`}>
              {file.bad_lines.map((b, i) => (
                // A file read again after a truncation repeats line numbers.
                <li key={`${i}-${b.line_no}`}>
                  <strong>line {b.line_no}</strong>: {b.reason}
                  <code>{b.excerpt}</code>
                </li>
              ))}
            </ul>
          </td>
        </tr>
      )}
    </>
  );
}

export function TelemetryPanel({ backend }: { backend: Backend }) {
  const [range, setRange] = useState(TELEMETRY_RANGES[0]!);
  const [data, setData] = useState<TelemetryView | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    // One load at a time: a slow answer is not overtaken by the next tick.
    let loading = false;
    const load = () => {
      if (loading) return;
      loading = true;
      backend
        .telemetry(range.ms)
        .then(
          (v) => {
            if (live) {
              setData(v);
              setError(null);
            }
          },
          (e) => live && setError(asUiError(e).message),
        )
        .finally(() => {
          loading = false;
        });
    };
    load();
    const timer = window.setInterval(load, REFRESH_MS);
    return () => {
      live = false;
      window.clearInterval(timer);
    };
  }, [backend, range]);

  const onKey = (e: React.KeyboardEvent) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const r = TELEMETRY_RANGES[Number(e.key) - 1];
    if (r) setRange(r);
  };

  const report = data?.report ?? null;
  // Files by path: two folders may hold files of one name.
  const paths = useMemo(() => {
    const all = [...(data?.live.files.map((f) => f.path) ?? []), ...(report?.files.map((f) => f.path) ?? [])];
    return [...new Set(all)];
  }, [data, report]);
  const from = report?.since_ms ?? 0;
  const to = report?.now_ms ?? 1;

  return (
    <section className="telemetry" data-testid="telemetry-panel" aria-label="Telemetry" tabIndex={0} onKeyDown={onKey}>
      <div className="toolbar">
        {TELEMETRY_RANGES.map((r) => (
          <button
            key={r.label}
            type="button"
            className={`nav-item${r === range ? " active" : ""}`}
            aria-pressed={r === range}
            onClick={() => setRange(r)}
            data-testid={`telemetry-range-${r.label.replace(" ", "")}`}
          >
            {r.label}
          </button>
        ))}
        <span className="muted small">1-3 range · reloads every 5 s</span>
      </div>
      {error && (
        <p className="banner warning" role="alert">
          {error}
        </p>
      )}
      {data?.live.paused && <p className="muted">{data.live.paused}</p>}
      {data?.report_error && <p className="muted">History is unavailable: {data.report_error}</p>}
      {data && (
        <>
          <table className="telemetry-files" data-testid="telemetry-files">
            <thead>
              <tr>
                <th>File</th>
                <th>State</th>
                <th className="num">Events</th>
                <th className="num">Errors</th>
                <th className="num">Malformed</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {paths.map((p) => (
                <FileRow key={p} file={report?.files.find((f) => f.path === p)} live={data.live.files.find((f) => f.path === p)} />
              ))}
            </tbody>
          </table>
          {data.live.alerts.length > 0 && (
            <ul className="telemetry-alerts" data-testid="telemetry-alerts">
              {data.live.alerts.map((a, i) => (
                <li key={`${i}-${a.service}-${a.rule}`} className={a.holding ? "alert-holding" : "alert-calm"}>
                  <strong>{a.service}</strong>: <code>{a.rule}</code> — {a.holding ? "holds" : "calm"}
                  <div className="muted small">{a.observed}</div>
                </li>
              ))}
            </ul>
          )}
          {report && (
            <div className="telemetry-charts">
              <MinuteChart id="events" title="Events per minute" points={report.series} series={EVENTS} from={from} to={to} unit={(v) => String(Math.round(v))} />
              <MinuteChart id="errors" title="Error rate per minute" points={report.series} series={ERRORS} from={from} to={to} unit={(v) => `${v.toFixed(1)} %`} />
              <MinuteChart id="latency" title="Latency per minute" points={report.series} series={LATENCY} from={from} to={to} unit={(v) => millis(v)} />
            </div>
          )}
          {report && report.bursts.length > 0 && (
            <ul className="telemetry-bursts" data-testid="telemetry-burst-list">
              {report.bursts.map((b) => (
                <li key={`${b.path}-${b.from_ms}`}>
                  {clock(b.from_ms)}: {burstTitle(b)}
                </li>
              ))}
            </ul>
          )}
          {report && report.totals.length > 0 && (
            <table className="telemetry-totals" data-testid="telemetry-totals">
              <thead>
                <tr>
                  <th>Service</th>
                  <th>Event</th>
                  <th className="num">Count</th>
                  <th className="num">Errors</th>
                  <th className="num">p50</th>
                  <th className="num">p95</th>
                  <th className="num">p99</th>
                </tr>
              </thead>
              <tbody>
                {report.totals.map((t) => (
                  <tr key={`${t.service}/${t.event}`}>
                    <td>{t.service || "–"}</td>
                    <td>{t.event || "–"}</td>
                    <td className="num">{t.count}</td>
                    <td className="num">{percent(t.errors, t.count)}</td>
                    <td className="num">{millis(t.p50_ms)}</td>
                    <td className="num">{millis(t.p95_ms)}</td>
                    <td className="num">{millis(t.p99_ms)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h3>Last events</h3>
          {data.live.recent.length === 0 ? (
            <p className="muted">No events read since the app started.</p>
          ) : (
            <ol className="telemetry-recent" data-testid="telemetry-recent" reversed>
              {[...data.live.recent].reverse().map((e, i) => (
                // Two files may have a line of one number at one time.
                <li key={`${i}-${e.at_ms}-${e.line_no}`} className={e.failed ? "failed" : undefined}>
                  {clock(e.at_ms)} {e.service ?? "–"} {e.event ?? "–"} {e.latency_ms === null ? "" : millis(e.latency_ms)}
                  {e.failed ? " failed" : ""}
                </li>
              ))}
            </ol>
          )}
        </>
      )}
    </section>
  );
}
