// One-click verification: the checklist with live progress (each check
// fills in as it finishes), its evidence and how to fix what failed, the
// history of runs, and export of the status report.
import { useCallback, useEffect, useState } from "react";
import { asUiError, type Backend } from "../api";
import type { CheckResult } from "../bindings/CheckResult";
import type { PlannedCheck } from "../bindings/PlannedCheck";
import type { ReportFormat } from "../bindings/ReportFormat";
import type { VerificationRun } from "../bindings/VerificationRun";
import type { VerificationSummary } from "../bindings/VerificationSummary";

interface Live {
  planned: PlannedCheck[];
  results: Record<string, CheckResult>;
  run: VerificationRun | null;
}

function fromRun(run: VerificationRun): Live {
  return {
    planned: run.results.map((r) => ({ id: r.id, name: r.name, required: r.required })),
    results: Object.fromEntries(run.results.map((r) => [r.id, r])),
    run,
  };
}

function when(ms: number): string {
  return new Date(ms).toLocaleString();
}

function statusText(r: CheckResult | undefined): string {
  if (!r) return "running…";
  return r.status === "fail" ? "FAIL" : r.status;
}

export function VerifyPanel({ backend }: { backend: Backend }) {
  const [live, setLive] = useState<Live | null>(null);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [history, setHistory] = useState<VerificationSummary[]>([]);
  const [exported, setExported] = useState<string | null>(null);

  const loadHistory = useCallback(
    (showLatest = false) => {
      backend
        .verificationHistory()
        .then((h) => {
          setHistory(h);
          // Opening the view shows the last stored run until a new one starts.
          const latest = h[0];
          if (showLatest && latest) {
            void backend.verificationRun(latest.id).then((run) => {
              if (run) setLive((cur) => cur ?? fromRun(run));
            });
          }
        })
        .catch((e) => setError(asUiError(e).message));
    },
    [backend],
  );

  useEffect(() => {
    const unlisten: (() => void)[] = [];
    let cancelled = false;
    const keep = (p: Promise<() => void>) =>
      p.then((u) => (cancelled ? u() : unlisten.push(u)));
    keep(
      backend.onVerifyStarted((s) => {
        setRunning(true);
        setError(null);
        setLive({ planned: s.checks, results: {}, run: null });
      }),
    );
    keep(
      backend.onVerifyProgress((r) =>
        setLive((cur) => (cur ? { ...cur, results: { ...cur.results, [r.id]: r } } : cur)),
      ),
    );
    keep(
      backend.onVerifyDone((run) => {
        setRunning(false);
        setLive(fromRun(run));
        loadHistory();
      }),
    );
    loadHistory(true);
    return () => {
      cancelled = true;
      unlisten.forEach((u) => u());
    };
  }, [backend, loadHistory]);

  async function verifyNow() {
    setError(null);
    try {
      await backend.verifyNow();
    } catch (e) {
      setError(asUiError(e).message);
    }
  }

  async function showRun(id: number) {
    try {
      const run = await backend.verificationRun(id);
      if (run) setLive(fromRun(run));
    } catch (e) {
      setError(asUiError(e).message);
    }
  }

  async function exportReport(format: ReportFormat) {
    setExported(null);
    try {
      const path = await backend.exportReport(format);
      setExported(`Report saved to ${path}`);
    } catch (e) {
      setExported(`Could not export: ${asUiError(e).message}`);
    }
  }

  const run = live?.run;
  return (
    <section className="verify" aria-label="Verification" data-testid="verify-panel">
      <div className="toolbar">
        <button type="button" className="primary" onClick={() => void verifyNow()} disabled={running} data-testid="verify-now">
          {running ? "Verifying…" : "Verify now"}
        </button>
        <button type="button" onClick={() => void exportReport("html")} data-testid="export-html">
          Export HTML report
        </button>
        <button type="button" onClick={() => void exportReport("md")} data-testid="export-md">
          Export Markdown report
        </button>
      </div>
      {error && (
        <div className="outcome error" role="alert">
          {error}
        </div>
      )}
      {exported && (
        <p className="muted small" role="status" data-testid="export-result">
          {exported}
        </p>
      )}
      {!live ? (
        <p className="muted">
          Verify now checks the engine, every required container, each health endpoint, the database tables,
          vector collections, Redis persistence, telemetry files, resource limits and data volumes at once.
        </p>
      ) : (
        <>
          <p data-testid="verify-summary" role="status" className={run ? (run.required_failed ? "bad" : "ok") : undefined}>
            {run
              ? `${run.passed} passed, ${run.failed} failed (${run.required_failed} required), ${run.skipped} skipped in ${Math.round(run.duration_ms)} ms, ${when(run.started_at_ms)}`
              : `${Object.keys(live.results).length} of ${live.planned.length} checks done…`}
          </p>
          <table className="table checks" data-testid="checks">
            <thead>
              <tr>
                <th scope="col">Result</th>
                <th scope="col">Check</th>
                <th scope="col">Took</th>
                <th scope="col">Evidence</th>
              </tr>
            </thead>
            <tbody>
              {live.planned.map((p) => {
                const r = live.results[p.id];
                return (
                  <tr key={p.id} data-testid={`check-${p.id}`}>
                    <td>
                      <span className={`badge check-${r?.status ?? "running"}`} data-testid={`check-status-${p.id}`}>
                        {statusText(r)}
                      </span>
                    </td>
                    <td className="wrap">
                      {p.name}
                      {!p.required && <span className="muted small"> (optional)</span>}
                    </td>
                    <td className="num">{r ? `${Math.round(r.duration_ms)} ms` : ""}</td>
                    <td className="wrap">
                      {r?.evidence}
                      {r?.hint && <div className="hint">Fix: {r.hint}</div>}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
      <h3>History</h3>
      {history.length === 0 ? (
        <p className="muted small">No runs stored yet.</p>
      ) : (
        <ul className="history" data-testid="verify-history">
          {history.map((h) => (
            <li key={h.id}>
              <button type="button" className="link" onClick={() => void showRun(h.id)}>
                {when(h.started_at_ms)}
              </button>{" "}
              <span className={h.required_failed ? "bad" : "ok"}>
                {h.passed} passed, {h.failed} failed
              </span>{" "}
              <span className="muted small">
                {h.stack} · {Math.round(h.duration_ms)} ms
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
