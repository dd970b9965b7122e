// One service up close: its probes (last conditions, response times) when
// the stack names it, CPU and memory over the last half hour from the
// history store, and its log (last 200 lines, then followed live).
import { memo, useEffect, useMemo, useRef, useState } from "react";
import { asUiError, type Backend } from "../api";
import type { HistoryPoint } from "../bindings/HistoryPoint";
import type { LogLine } from "../bindings/LogLine";
import type { ServiceRow } from "../bindings/ServiceRow";
import type { StackHealth } from "../bindings/StackHealth";
import { membership, runsOf } from "../health";
import { ProbeResults } from "./ProbeResults";
import { humanBytes, percent } from "../format";
import { Sparkline } from "./Sparkline";

const MAX_LOG_LINES = 2000;

export function ServiceDetail({
  backend,
  row,
  health,
  onClose,
}: {
  backend: Backend;
  row: ServiceRow;
  health: StackHealth | null;
  onClose: () => void;
}) {
  const member = useMemo(() => membership(health).get(row.name), [health, row.name]);
  const [lines, setLines] = useState<LogLine[]>([]);
  const [logState, setLogState] = useState<string>("Loading the last 200 lines…");
  const [history, setHistory] = useState<HistoryPoint[]>([]);
  const [historyError, setHistoryError] = useState<string | null>(null);
  const closeRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    // Focus moves into the panel and, when it closes, back to what opened it.
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    closeRef.current?.focus();
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", onKey);
    return () => {
      window.removeEventListener("keydown", onKey);
      if (opener?.isConnected && opener !== document.body) opener.focus();
    };
  }, [onClose]);

  useEffect(() => {
    let cancelled = false;
    let unlisten: (() => void) | undefined;
    backend
      .onLogs((batch) => {
        if (batch.container_id !== row.id) return;
        setLines((cur) => [...cur, ...batch.lines].slice(-MAX_LOG_LINES));
        setLogState(batch.ended ? `Not following: ${batch.ended}` : "Following");
      })
      .then((u) => {
        if (cancelled) {
          u();
          return;
        }
        unlisten = u;
        backend
          .openLogs(row.id)
          .then(() => !cancelled && setLogState((cur) => (cur.startsWith("Loading") ? "Following" : cur)))
          .catch((e) => setLogState(`Cannot read the log: ${asUiError(e).message}`));
      });
    return () => {
      cancelled = true;
      unlisten?.();
      void backend.closeLogs();
    };
  }, [backend, row.id]);

  const sampledAt = row.usage?.sampled_at_ms;
  useEffect(() => {
    let cancelled = false;
    backend
      .serviceHistory(row.name)
      .then((h) => {
        if (!cancelled) {
          setHistory(h);
          setHistoryError(null);
        }
      })
      .catch((e) => !cancelled && setHistoryError(asUiError(e).message));
    return () => {
      cancelled = true;
    };
  }, [backend, row.name, sampledAt]);

  return (
    <aside className="detail" aria-label={`Details of ${row.name}`} data-testid="detail">
      <div className="detail-head">
        <h2>{row.name}</h2>
        <button ref={closeRef} type="button" onClick={onClose} aria-label="Close details">
          Close (Esc)
        </button>
      </div>
      <p className="muted small">
        {row.image} · {row.id.slice(0, 12)}
      </p>
      {member && (
        <section aria-label="Probes" className="detail-probes">
          <h3>
            {member.stack} · {member.service.service}{" "}
            {member.health && (
              <span className={`badge status-${member.health.status}`}>{member.health.status}</span>
            )}
          </h3>
          {member.health && <p className="muted small">{member.health.reason}</p>}
          <ProbeResults backend={backend} service={member.service} runs={runsOf(health, member.service.service)} />
        </section>
      )}
      <ResourceCharts history={history} error={historyError} />
      <section aria-label="Log" className="logs">
        <h3>
          Log <span className="muted small" data-testid="log-state">{logState}</span>
        </h3>
        <LogView lines={lines} />
      </section>
    </aside>
  );
}

const ResourceCharts = memo(function ResourceCharts({
  history,
  error,
}: {
  history: HistoryPoint[];
  error: string | null;
}) {
  const cpu = useMemo(() => history.map((p): [number, number] => [p.at_ms, p.cpu_percent]), [history]);
  const memory = useMemo(() => history.map((p): [number, number] => [p.at_ms, p.memory_used_bytes]), [history]);
  const latest = history[history.length - 1];
  return (
    <section aria-label="Resource history" className="charts">
      {error ? (
        <p className="muted">{error}</p>
      ) : history.length < 2 ? (
        <p className="muted">History appears after a few samples (while this window is open).</p>
      ) : (
        <>
          <figure>
            <figcaption>CPU, last 30 min {latest && <strong>{percent(latest.cpu_percent)}</strong>}</figcaption>
            <Sparkline points={cpu} label="CPU percent" />
          </figure>
          <figure>
            <figcaption>
              Memory {latest && <strong>{humanBytes(latest.memory_used_bytes)}</strong>}
            </figcaption>
            <Sparkline points={memory} label="Memory bytes" />
          </figure>
        </>
      )}
    </section>
  );
});

/** The followed log, kept scrolled to its end; renders only when lines arrive. */
const LogView = memo(function LogView({ lines }: { lines: LogLine[] }) {
  const ref = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [lines]);
  return (
    <pre ref={ref} tabIndex={0} data-testid="log" aria-label="Log lines">
      {lines.map((l, i) => (
        <span key={i} className={l.stream === "stderr" ? "stderr" : undefined}>
          {l.text}
          {"\n"}
        </span>
      ))}
    </pre>
  );
});
