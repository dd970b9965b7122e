// The recovery timeline: one lane per service coloured by its status over
// time (no data where nobody watched), marks for restarts, verifications,
// heals and actions on it, the incidents beside it (open first) with their
// cause, and an incident's evidence, actions and report on demand. Ranges
// 1 h, 24 h, 7 d, 30 d; keyboard: 1-4 pick a range, [ and ] zoom in and out
// within it, ← and → pan; the mouse wheel zooms around the cursor, dragging
// pans, a double-click resets; hovering a segment or mark says what it was.
import { memo, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { asUiError, type Backend } from "../api";
import type { ActionEntry } from "../bindings/ActionEntry";
import type { Burst } from "../bindings/Burst";
import type { IncidentDetail as IncidentDetailData } from "../bindings/IncidentDetail";
import type { IncidentEntry } from "../bindings/IncidentEntry";
import type { Lane } from "../bindings/Lane";
import type { ReportFormat } from "../bindings/ReportFormat";
import type { ServiceFigures } from "../bindings/ServiceFigures";
import type { TimelineData } from "../bindings/TimelineData";
import { countRender } from "../renderCount";

const HOUR = 3_600_000;
export const RANGES: { label: string; ms: number }[] = [
  { label: "1 h", ms: HOUR },
  { label: "24 h", ms: 24 * HOUR },
  { label: "7 d", ms: 7 * 24 * HOUR },
  { label: "30 d", ms: 30 * 24 * HOUR },
];
/// Width of the drawn time axis, after the labels' gutter; the figures follow.
const WIDTH = 900;
const GUTTER = 160;
const TOTAL = WIDTH + 330;
const LANE = 22;
/// How often the open timeline reloads.
const REFRESH_MS = 10_000;
/// Incidents listed at first (and added per "show more"): a month of a
/// flapping service has hundreds.
const INCIDENTS_SHOWN = 50;
export const MAX_ZOOM = 64;
const MARKER_KINDS = ["restart", "verification", "heal", "action"] as const;

export function segmentClass(status: string | null): string {
  return `seg seg-${status ?? "no-data"}`;
}

export function markerClass(m: Pick<ActionEntry, "kind" | "ok">): string {
  return `marker marker-${m.kind}${m.ok ? "" : " marker-failed"}`;
}

/** Zoom (the range is `zoom` windows wide) and pan (in windows back from the end). */
export type Nav = { zoom: number; pan: number };
const HOME: Nav = { zoom: 1, pan: 0 };

function clampPan(zoom: number, pan: number): number {
  return Math.min(Math.max(0, pan), zoom - 1);
}

/** The visible window after zoom (a fraction of the range) and pan. */
export function visibleWindow(data: { from_ms: number; to_ms: number }, zoom: number, pan: number) {
  const span = (data.to_ms - data.from_ms) / zoom;
  const to = Math.min(data.to_ms, data.to_ms - pan * span);
  const from = Math.max(data.from_ms, to - span);
  return { from, to: from + span };
}

/**
 * Zooms by `factor` (within 1..MAX_ZOOM) keeping the time at `at` (0 = the
 * window's left edge, 1 = its right) where it was on screen.
 */
export function zoomAt(nav: Nav, factor: number, at: number): Nav {
  const zoom = Math.min(MAX_ZOOM, Math.max(1, nav.zoom * factor));
  if (zoom === nav.zoom) return nav;
  // In fractions of the range, 1 being its end.
  const span = 1 / nav.zoom;
  const t = 1 - clampPan(nav.zoom, nav.pan) * span - (1 - at) * span;
  const to = t + (1 - at) / zoom;
  return { zoom, pan: clampPan(zoom, (1 - to) * zoom) };
}

/** Where the time axis is on screen, from the lanes' svg (nothing before layout). */
function axis(el: HTMLElement): { left: number; width: number } | null {
  const svg = el.querySelector("svg");
  const r = (svg ?? el).getBoundingClientRect();
  if (!r.width) return null;
  return svg ? { left: r.left + (GUTTER / TOTAL) * r.width, width: (WIDTH / TOTAL) * r.width } : { left: r.left, width: r.width };
}

// One formatter each: `toLocaleString` builds a new one per call, which a
// week of lanes (thousands of hover titles) pays for on every paint.
const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "medium" });
const TIME = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function when(ms: number): string {
  return DATE_TIME.format(ms);
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** "restart by engine · db · 12:03:04: db restarted by its restart policy". */
export function markerTitle(m: ActionEntry, withDate: boolean): string {
  const what = m.action && m.action !== m.kind ? `${m.kind} (${m.action})` : m.kind;
  const at = withDate ? when(m.at_ms) : TIME.format(m.at_ms);
  return `${what} by ${m.source} · ${m.service ?? "whole stack"} · ${at}: ${m.result}${m.ok ? "" : " (failed)"}`;
}

export const TimelinePanel = memo(function TimelinePanel({ backend }: { backend: Backend }) {
  countRender("TimelinePanel");
  const [range, setRange] = useState(1);
  const [nav, setNav] = useState<Nav>(HOME);
  // For the wheel listener, attached once.
  const navNow = useRef(nav);
  navNow.current = nav;
  const [data, setData] = useState<TimelineData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  // For the benchmark: when the shown range was asked for, and the request
  // whose data is waiting to be painted.
  const asked = useRef(performance.now());
  const paint = useRef<{ label: string; start: number } | null>(null);
  const drag = useRef<{ x: number; pan: number; width: number } | null>(null);

  useEffect(() => {
    let cancelled = false;
    const label = (RANGES[range]?.label ?? "").replace(" ", "");
    const start = asked.current;
    const load = (first: boolean) =>
      backend
        .timeline(RANGES[range]?.ms ?? HOUR)
        .then((d) => {
          if (!cancelled) {
            if (first) paint.current = { label, start };
            setData(d);
            setError(null);
          }
        })
        .catch((e) => !cancelled && setError(asUiError(e).message));
    void load(true);
    const timer = window.setInterval(() => void load(false), REFRESH_MS);
    return () => {
      cancelled = true;
      window.clearInterval(timer);
    };
  }, [backend, range]);

  useEffect(() => {
    const p = paint.current;
    if (!p || !data) return;
    const frame = requestAnimationFrame(() => {
      paint.current = null;
      performance.measure(`timeline-paint-${p.label}`, { start: p.start });
    });
    return () => cancelAnimationFrame(frame);
  }, [data]);

  const pickRange = useCallback((i: number) => {
    asked.current = performance.now();
    setRange(i);
    setNav(HOME);
  }, []);

  const onKey = useCallback(
    (e: React.KeyboardEvent) => {
      const pick = ["1", "2", "3", "4"].indexOf(e.key);
      if (pick >= 0) pickRange(pick);
      else if (e.key === "]") setNav((n) => ({ zoom: Math.min(MAX_ZOOM, n.zoom * 2), pan: n.pan }));
      else if (e.key === "[") setNav((n) => ({ zoom: Math.max(1, n.zoom / 2), pan: clampPan(Math.max(1, n.zoom / 2), n.pan) }));
      else if (e.key === "ArrowLeft") setNav((n) => ({ ...n, pan: clampPan(n.zoom, n.pan + 0.25) }));
      else if (e.key === "ArrowRight") setNav((n) => ({ ...n, pan: clampPan(n.zoom, n.pan - 0.25) }));
      else return;
      e.preventDefault();
    },
    [pickRange],
  );

  // React listens to wheel events passively, so the page would scroll too.
  const lanesRef = useCallback((el: HTMLDivElement | null) => {
    if (!el) return;
    const onWheel = (e: WheelEvent) => {
      const unit = e.deltaMode === 1 ? 33 : e.deltaMode === 2 ? 800 : 1;
      const a = axis(el);
      if (Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
        e.preventDefault();
        if (a) setNav((n) => ({ ...n, pan: clampPan(n.zoom, n.pan - (e.deltaX * unit) / a.width) }));
        return;
      }
      if (!e.deltaY) return;
      // One notch of a mouse wheel (100 px) doubles or halves.
      const factor = 2 ** ((-e.deltaY * unit) / 100);
      const zoom = navNow.current.zoom;
      // At a limit the wheel scrolls the page as usual.
      if ((factor > 1 && zoom >= MAX_ZOOM) || (factor < 1 && zoom <= 1)) return;
      e.preventDefault();
      const at = a ? Math.min(1, Math.max(0, (e.clientX - a.left) / a.width)) : 0.5;
      setNav((n) => zoomAt(n, factor, at));
    };
    el.addEventListener("wheel", onWheel, { passive: false });
    return () => el.removeEventListener("wheel", onWheel);
  }, []);

  const onPointerDown = useCallback(
    (e: React.PointerEvent<HTMLDivElement>) => {
      const a = e.button === 0 ? axis(e.currentTarget) : null;
      if (!a) return;
      drag.current = { x: e.clientX, pan: nav.pan, width: a.width };
      e.currentTarget.setPointerCapture?.(e.pointerId);
    },
    [nav.pan],
  );
  const onPointerMove = useCallback((e: React.PointerEvent) => {
    const d = drag.current;
    if (d) setNav((n) => ({ ...n, pan: clampPan(n.zoom, d.pan + (e.clientX - d.x) / d.width) }));
  }, []);
  const onPointerUp = useCallback((e: React.PointerEvent<HTMLDivElement>) => {
    drag.current = null;
    if (e.currentTarget.hasPointerCapture?.(e.pointerId)) e.currentTarget.releasePointerCapture(e.pointerId);
  }, []);
  const reset = useCallback(() => setNav(HOME), []);

  const view = useMemo(() => (data ? visibleWindow(data, nav.zoom, nav.pan) : null), [data, nav]);

  return (
    <section className="timeline" aria-label="Recovery timeline" data-testid="timeline-panel" tabIndex={0} onKeyDown={onKey}>
      <div className="toolbar">
        {RANGES.map((r, i) => (
          <button
            key={r.label}
            type="button"
            className={`nav-item${i === range ? " active" : ""}`}
            aria-pressed={i === range}
            onClick={() => pickRange(i)}
            data-testid={`range-${r.label.replace(" ", "")}`}
          >
            {r.label}
          </button>
        ))}
        <span className="muted small">1-4 range · [ ] or wheel zoom · ← → or drag pan · double-click resets</span>
      </div>
      <MarkerLegend />
      {error && (
        <p className="banner warning" role="alert">
          {error}
        </p>
      )}
      {!data || !view ? (
        <p className="muted">Loading the timeline…</p>
      ) : (
        <div className="timeline-body">
          <div
            ref={lanesRef}
            className="lanes-area"
            data-testid="timeline-lanes"
            data-zoom={nav.zoom}
            data-from={view.from}
            data-to={view.to}
            onPointerDown={onPointerDown}
            onPointerMove={onPointerMove}
            onPointerUp={onPointerUp}
            onPointerCancel={onPointerUp}
            onDoubleClick={reset}
          >
            <Lanes lanes={data.lanes} figures={data.figures} markers={data.markers} bursts={data.bursts} from={view.from} to={view.to} />
          </div>
          <Incidents backend={backend} incidents={data.incidents} markers={data.markers} open={open} onToggle={setOpen} now={data.to_ms} />
        </div>
      )}
    </section>
  );
});

const MARKER_MEANING: Record<(typeof MARKER_KINDS)[number], string> = {
  restart: "restart by the engine",
  verification: "verification",
  heal: "automatic heal",
  action: "action (window, CLI or wizard)",
};

const MarkerLegend = memo(function MarkerLegend() {
  return (
    <div className="marker-legend muted small" data-testid="marker-legend">
      Marks:
      {MARKER_KINDS.map((k) => (
        <span key={k} className="legend-item">
          <i className={`swatch swatch-${k}`} aria-hidden="true" /> {MARKER_MEANING[k]}
        </span>
      ))}
      <span className="legend-item">
        <i className="swatch swatch-failed" aria-hidden="true" /> dashed: failed
      </span>
    </div>
  );
});

/** "99.5 %" of watched time healthy, "MTTR 2 min"; "no data" when unwatched. */
export function figureText(f: ServiceFigures | undefined): string {
  if (!f || f.availability === null) return "no data";
  const share = `${(f.availability * 100).toFixed(1)} %`;
  return f.mean_time_to_recovery_ms === null ? share : `${share} · MTTR ${duration(f.mean_time_to_recovery_ms)}`;
}

/** What hovering a segment says: its status, when, and why. */
export function segmentTitle(service: string, s: Lane["segments"][number]): string {
  return `${service}: ${s.status ?? "no data"} from ${when(s.from_ms)} to ${when(s.to_ms)}: ${s.reason}`;
}

type Tip = { text: string; x: number; y: number };

/**
 * The hover text, one element for the whole chart: a `<title>` per segment
 * and mark (thousands over a week) doubled the nodes to lay out and the
 * dates to format on every paint.
 */
function HoverTip({ register }: { register: React.MutableRefObject<((t: Tip | null) => void) | null> }) {
  const [tip, setTip] = useState<Tip | null>(null);
  useEffect(() => {
    register.current = setTip;
    return () => {
      register.current = null;
    };
  }, [register]);
  if (!tip) return null;
  return (
    <div className="timeline-tip" role="tooltip" data-testid="timeline-tip" style={{ left: tip.x, top: tip.y }}>
      {tip.text}
    </div>
  );
}

/** What a burst of telemetry errors was, for its hover text. */
export function burstTitle(b: Burst): string {
  const minutes = Math.round((b.to_ms - b.from_ms) / 60_000);
  return `${b.file}: errors burst for ${minutes} min, ${b.errors} of ${b.events} events failed (peak ${Math.round(b.peak_rate * 100)}%)`;
}

const Lanes = memo(function Lanes({
  lanes,
  figures,
  markers,
  bursts,
  from,
  to,
}: {
  lanes: Lane[];
  figures: ServiceFigures[];
  markers: ActionEntry[];
  bursts: Burst[];
  from: number;
  to: number;
}) {
  const shownBursts = bursts.filter((b) => b.to_ms > from && b.from_ms < to);
  const rows = lanes.length + (shownBursts.length > 0 ? 1 : 0);
  const x = (ms: number) => ((Math.min(Math.max(ms, from), to) - from) / (to - from)) * WIDTH;
  const withDate = to - from > 24 * HOUR;
  const tip = useRef<((t: Tip | null) => void) | null>(null);
  const describe = (el: Element): string | null => {
    const burst = el.getAttribute("data-burst");
    if (burst !== null) {
      const b = shownBursts[Number(burst)];
      return b ? burstTitle(b) : null;
    }
    const marker = el.getAttribute("data-marker");
    if (marker !== null) {
      const m = markers[Number(marker)];
      return m ? markerTitle(m, withDate) : null;
    }
    const lane = lanes[Number(el.getAttribute("data-lane"))];
    const seg = el.getAttribute("data-seg");
    const s = seg === null ? undefined : lane?.segments[Number(seg)];
    return lane && s ? segmentTitle(lane.service, s) : null;
  };
  const onMove = (e: React.MouseEvent<HTMLDivElement>) => {
    const text = e.target instanceof Element ? describe(e.target) : null;
    const box = e.currentTarget.getBoundingClientRect();
    tip.current?.(text ? { text, x: e.clientX - box.left + 12, y: e.clientY - box.top + 16 } : null);
  };
  return (
    <div className="lanes" onMouseMove={onMove} onMouseLeave={() => tip.current?.(null)}>
      <div className="muted small">
        {when(from)} – {when(to)}
      </div>
      {lanes.length === 0 ? (
        <p className="muted">Nothing recorded in this range yet.</p>
      ) : (
        <svg width="100%" viewBox={`0 0 ${TOTAL} ${rows * LANE}`} role="img" aria-label="Status of each service over time">
          {lanes.map((lane, i) => (
            <g key={lane.service} transform={`translate(0, ${i * LANE})`} data-testid={`lane-${lane.service}`}>
              <text x={0} y={LANE * 0.7} className="lane-label">
                {lane.service}
                <title>{`${lane.service}: ${figureText(figures.find((f) => f.service === lane.service))} over this range`}</title>
              </text>
              <text x={WIDTH + 165} y={LANE * 0.7} className="lane-label" data-testid={`figures-${lane.service}`}>
                {figureText(figures.find((f) => f.service === lane.service))}
              </text>
              {lane.segments.map((s, j) =>
                s.to_ms > from && s.from_ms < to ? (
                  <rect
                    key={s.from_ms}
                    x={GUTTER + x(s.from_ms)}
                    y={3}
                    width={Math.max(1, x(s.to_ms) - x(s.from_ms))}
                    height={LANE - 6}
                    className={segmentClass(s.status)}
                    data-status={s.status ?? "no-data"}
                    data-lane={i}
                    data-seg={j}
                  />
                ) : null,
              )}
            </g>
          ))}
          {shownBursts.length > 0 && (
            <g transform={`translate(0, ${lanes.length * LANE})`} data-testid="telemetry-bursts">
              <text x={0} y={LANE * 0.7} className="lane-label">
                telemetry errors
              </text>
              {shownBursts.map((b, k) => (
                <rect
                  key={`${b.path}-${b.from_ms}`}
                  x={GUTTER + x(b.from_ms)}
                  y={5}
                  width={Math.max(3, x(b.to_ms) - x(b.from_ms))}
                  height={LANE - 10}
                  className="burst"
                  data-burst={k}
                />
              ))}
            </g>
          )}
          <g className="markers">
            {markers.map((m, k) => {
              if (m.at_ms < from || m.at_ms > to) return null;
              // The whole stack's, or a service without a lane here: across all lanes.
              const i = m.service === null ? -1 : lanes.findIndex((l) => l.service === m.service);
              const mx = GUTTER + x(m.at_ms);
              return (
                <line
                  key={`${m.at_ms}-${k}`}
                  x1={mx}
                  x2={mx}
                  y1={i < 0 ? 0 : i * LANE + 1}
                  y2={i < 0 ? lanes.length * LANE : (i + 1) * LANE - 1}
                  className={markerClass(m)}
                  data-testid={`marker-${m.kind}`}
                  data-marker={k}
                />
              );
            })}
          </g>
        </svg>
      )}
      <HoverTip register={tip} />
    </div>
  );
});

const Incidents = memo(function Incidents({
  backend,
  incidents,
  markers,
  open,
  onToggle,
  now,
}: {
  backend: Backend;
  incidents: IncidentEntry[];
  markers: ActionEntry[];
  open: number | null;
  onToggle: (id: number | null) => void;
  now: number;
}) {
  const [shown, setShown] = useState(INCIDENTS_SHOWN);
  const actionCounts = useMemo(() => {
    const counts = new Map<number, number>();
    for (const m of markers) {
      if (m.incident_id !== null) counts.set(m.incident_id, (counts.get(m.incident_id) ?? 0) + 1);
    }
    return counts;
  }, [markers]);
  return (
    <section className="incidents" aria-label="Incidents">
      <h3>Incidents ({incidents.length})</h3>
      {incidents.length === 0 ? (
        <p className="muted small">No incident in this range.</p>
      ) : (
        <ul className="service-health" data-testid="incident-list">
          {incidents.slice(0, shown).map((entry) => {
            const i = entry.incident;
            const isOpen = i.closed_at_ms === null;
            return (
              <li key={entry.id} data-testid={`incident-${entry.id}`}>
                <button type="button" className="link" aria-expanded={open === entry.id} onClick={() => onToggle(open === entry.id ? null : entry.id)}>
                  <span className={`badge ${isOpen ? "status-down" : "status-healthy"}`}>{isOpen ? "open" : "closed"}</span>{" "}
                  {i.cause.summary}
                </button>{" "}
                <span className="muted small">
                  {when(i.opened_at_ms)} · {duration((i.closed_at_ms ?? now) - i.opened_at_ms)} ·{" "}
                  {i.affected.map((a) => a.service).join(", ")}
                  {i.from_engine_events && " · while Stackwarden was not running"}
                  {` · ${plural(actionCounts.get(entry.id) ?? 0, "action")}`}
                </span>
                {open === entry.id && <IncidentDetail backend={backend} entry={entry} actionCount={actionCounts.get(entry.id) ?? 0} />}
              </li>
            );
          })}
        </ul>
      )}
      {incidents.length > shown && (
        <button type="button" className="link" onClick={() => setShown((n) => n + INCIDENTS_SHOWN)} data-testid="incidents-more">
          Show {Math.min(INCIDENTS_SHOWN, incidents.length - shown)} more of {incidents.length - shown} older
        </button>
      )}
    </section>
  );
});

const IncidentDetail = memo(function IncidentDetail({
  backend,
  entry,
  actionCount,
}: {
  backend: Backend;
  entry: IncidentEntry;
  /// Reloads the detail when an action lands on it (or it closes).
  actionCount: number;
}) {
  const [exporting, setExporting] = useState(false);
  const [exported, setExported] = useState<{ ok: boolean; text: string } | null>(null);
  const [detail, setDetail] = useState<IncidentDetailData | null>(null);
  const [detailError, setDetailError] = useState<string | null>(null);
  const i = entry.incident;

  // The evidence (log lines among it) loads when the detail opens; the
  // list itself stays light for long ranges.
  useEffect(() => {
    let cancelled = false;
    backend
      .incidentDetail(entry.id)
      .then((d) => {
        if (!cancelled) {
          setDetail(d);
          setDetailError(null);
        }
      })
      .catch((e) => !cancelled && setDetailError(asUiError(e).message));
    return () => {
      cancelled = true;
    };
  }, [backend, entry.id, entry.incident.closed_at_ms, actionCount]);

  async function exportReport(format: ReportFormat) {
    setExporting(true);
    setExported(null);
    try {
      const path = await backend.exportIncidentReport(entry.id, format);
      setExported({ ok: true, text: `Saved to ${path}` });
    } catch (e) {
      setExported({ ok: false, text: `Could not export: ${asUiError(e).message}` });
    } finally {
      setExporting(false);
    }
  }

  return (
    <div className="evidence" data-testid={`incident-detail-${entry.id}`}>
      <ul>
        {i.affected.map((a) => (
          <li key={a.service}>
            <strong>{a.service}</strong> {a.worst} at {when(a.failed_at_ms)}
            {a.after && ` (${a.after})`}
            {a.recovered_at_ms !== null && `, healthy after ${duration(a.recovered_at_ms - a.failed_at_ms)}`}
          </li>
        ))}
      </ul>
      <div className="incident-actions" data-testid={`incident-actions-${entry.id}`}>
        <h4>Actions</h4>
        {!detail ? null : detail.actions.length === 0 ? (
          <p className="muted small">No action recorded</p>
        ) : (
          <ul>
            {detail.actions.map((a, k) => (
              <li key={k}>
                <span className="muted small">
                  {when(a.at_ms)} · {a.source}
                </span>{" "}
                {a.action} · {a.service ?? "whole stack"}{" "}
                <span className={a.ok ? "ok" : "bad"} title={a.ok ? "succeeded" : "failed"}>
                  {a.ok ? "✓" : "✗"}
                </span>{" "}
                {a.result}
              </li>
            ))}
          </ul>
        )}
      </div>
      {detailError && (
        <p className="bad small" role="alert">
          Could not load the evidence: {detailError}
        </p>
      )}
      {!detail && !detailError && <p className="muted small">Loading the evidence…</p>}
      {detail?.evidence.map((e, k) => (
        <div key={k}>
          <div className="muted small">
            {when(e.at_ms)} · {e.kind}
            {e.service && ` · ${e.service}`}
          </div>
          <pre className="log">{e.text}</pre>
        </div>
      ))}
      <div className="toolbar">
        <button type="button" disabled={exporting} onClick={() => void exportReport("html")} data-testid={`export-incident-html-${entry.id}`}>
          Export report (HTML)
        </button>
        <button type="button" disabled={exporting} onClick={() => void exportReport("md")} data-testid={`export-incident-md-${entry.id}`}>
          Export report (Markdown)
        </button>
      </div>
      {exported && (
        <p className={`small ${exported.ok ? "muted" : "bad"}`} role={exported.ok ? "status" : "alert"} data-testid={`export-incident-path-${entry.id}`}>
          {exported.text}
        </p>
      )}
    </div>
  );
});
