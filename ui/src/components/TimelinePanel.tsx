// The recovery timeline: one lane per service coloured by its status over
// time (no data where nobody watched), the incidents beside it (open
// first) with their cause, and an incident's evidence on demand. Ranges
// 1 h, 24 h, 7 d, 30 d; keyboard: 1-4 pick a range, [ and ] zoom in and out
// within it, ← and → pan; hovering a segment says its status and why.
import { memo, useCallback, useEffect, useMemo, useState } from "react";
import { asUiError, type Backend } from "../api";
import type { IncidentEntry } from "../bindings/IncidentEntry";
import type { Lane } from "../bindings/Lane";
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
const WIDTH = 900;
const LANE = 22;
/// How often the open timeline reloads.
const REFRESH_MS = 10_000;

export function segmentClass(status: string | null): string {
  return `seg seg-${status ?? "no-data"}`;
}

/** The visible window after zoom (a fraction of the range) and pan. */
export function visibleWindow(data: { from_ms: number; to_ms: number }, zoom: number, pan: number) {
  const span = (data.to_ms - data.from_ms) / zoom;
  const to = Math.min(data.to_ms, data.to_ms - pan * span);
  const from = Math.max(data.from_ms, to - span);
  return { from, to: from + span };
}

function when(ms: number): string {
  return new Date(ms).toLocaleString();
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export const TimelinePanel = memo(function TimelinePanel({ backend }: { backend: Backend }) {
  countRender("TimelinePanel");
  const [range, setRange] = useState(1);
  const [zoom, setZoom] = useState(1);
  const [pan, setPan] = useState(0);
  const [data, setData] = useState<TimelineData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<number | null>(null);

  useEffect(() => {
    let cancelled = false;
    const load = () =>
      backend
        .timeline(RANGES[range]?.ms ?? HOUR)
        .then((d) => {
          if (!cancelled) {
            setData(d);
            setError(null);
          }
        })
        .catch((e) => !cancelled && setError(asUiError(e).message));
    void load();
    const timer = window.setInterval(load, REFRESH_MS);
    return () => {
      cancelled = true;
      window.clearInterval(timer);
    };
  }, [backend, range]);

  const onKey = useCallback((e: React.KeyboardEvent) => {
    const pick = ["1", "2", "3", "4"].indexOf(e.key);
    if (pick >= 0) {
      setRange(pick);
      setZoom(1);
      setPan(0);
    } else if (e.key === "]") setZoom((z) => Math.min(64, z * 2));
    else if (e.key === "[") setZoom((z) => Math.max(1, z / 2));
    else if (e.key === "ArrowLeft") setPan((p) => p + 0.25);
    else if (e.key === "ArrowRight") setPan((p) => Math.max(0, p - 0.25));
    else return;
    e.preventDefault();
  }, []);

  const view = useMemo(() => (data ? visibleWindow(data, zoom, pan) : null), [data, zoom, pan]);

  return (
    <section className="timeline" aria-label="Recovery timeline" data-testid="timeline-panel" tabIndex={0} onKeyDown={onKey}>
      <div className="toolbar">
        {RANGES.map((r, i) => (
          <button
            key={r.label}
            type="button"
            className={`nav-item${i === range ? " active" : ""}`}
            aria-pressed={i === range}
            onClick={() => {
              setRange(i);
              setZoom(1);
              setPan(0);
            }}
            data-testid={`range-${r.label.replace(" ", "")}`}
          >
            {r.label}
          </button>
        ))}
        <span className="muted small">1-4 range · [ ] zoom · ← → pan</span>
      </div>
      {error && (
        <p className="banner warning" role="alert">
          {error}
        </p>
      )}
      {!data || !view ? (
        <p className="muted">Loading the timeline…</p>
      ) : (
        <div className="timeline-body">
          <Lanes lanes={data.lanes} figures={data.figures} from={view.from} to={view.to} />
          <Incidents incidents={data.incidents} open={open} onToggle={setOpen} now={data.to_ms} />
        </div>
      )}
    </section>
  );
});

/** "99.5 %" of watched time healthy, "MTTR 2 min"; "no data" when unwatched. */
export function figureText(f: ServiceFigures | undefined): string {
  if (!f || f.availability === null) return "no data";
  const share = `${(f.availability * 100).toFixed(1)} %`;
  return f.mean_time_to_recovery_ms === null ? share : `${share} · MTTR ${duration(f.mean_time_to_recovery_ms)}`;
}

const Lanes = memo(function Lanes({
  lanes,
  figures,
  from,
  to,
}: {
  lanes: Lane[];
  figures: ServiceFigures[];
  from: number;
  to: number;
}) {
  const x = (ms: number) => ((Math.min(Math.max(ms, from), to) - from) / (to - from)) * WIDTH;
  return (
    <div className="lanes">
      <div className="muted small">
        {when(from)} – {when(to)}
      </div>
      {lanes.length === 0 ? (
        <p className="muted">Nothing recorded in this range yet.</p>
      ) : (
        <svg width="100%" viewBox={`0 0 ${WIDTH + 330} ${lanes.length * LANE}`} role="img" aria-label="Status of each service over time">
          {lanes.map((lane, i) => (
            <g key={lane.service} transform={`translate(0, ${i * LANE})`} data-testid={`lane-${lane.service}`}>
              <text x={0} y={LANE * 0.7} className="lane-label">
                {lane.service}
                <title>{`${lane.service}: ${figureText(figures.find((f) => f.service === lane.service))} over this range`}</title>
              </text>
              <text x={WIDTH + 165} y={LANE * 0.7} className="lane-label" data-testid={`figures-${lane.service}`}>
                {figureText(figures.find((f) => f.service === lane.service))}
              </text>
              {lane.segments
                .filter((s) => s.to_ms > from && s.from_ms < to)
                .map((s) => (
                  <rect
                    key={s.from_ms}
                    x={160 + x(s.from_ms)}
                    y={3}
                    width={Math.max(1, x(s.to_ms) - x(s.from_ms))}
                    height={LANE - 6}
                    className={segmentClass(s.status)}
                    data-status={s.status ?? "no-data"}
                  >
                    <title>{`${lane.service}: ${s.status ?? "no data"} from ${when(s.from_ms)} to ${when(s.to_ms)}: ${s.reason}`}</title>
                  </rect>
                ))}
            </g>
          ))}
        </svg>
      )}
    </div>
  );
});

const Incidents = memo(function Incidents({
  incidents,
  open,
  onToggle,
  now,
}: {
  incidents: IncidentEntry[];
  open: number | null;
  onToggle: (id: number | null) => void;
  now: number;
}) {
  return (
    <section className="incidents" aria-label="Incidents">
      <h3>Incidents ({incidents.length})</h3>
      {incidents.length === 0 ? (
        <p className="muted small">No incident in this range.</p>
      ) : (
        <ul className="service-health" data-testid="incident-list">
          {incidents.map((entry) => {
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
                </span>
                {open === entry.id && (
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
                    {entry.evidence.map((e, k) => (
                      <div key={k}>
                        <div className="muted small">
                          {when(e.at_ms)} · {e.kind}
                          {e.service && ` · ${e.service}`}
                        </div>
                        <pre className="log">{e.text}</pre>
                      </div>
                    ))}
                  </div>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
});
