// The guided recovery wizard: diagnose (each finding with its evidence,
// data already lost first), the plan in dependency order (what, why, how
// long, what it could lose), a guard for each step that could lose data
// (what exactly, the backup taken first, its own confirmation), the data
// now, then the run with progress for every step (pull layers, the compose
// tool's output) and the result: verification and the data before and
// after, side by side, any difference in red.
import { memo, useCallback, useEffect, useRef, useState } from "react";
import { asUiError, type Backend } from "../api";
import type { ComparedItem } from "../bindings/ComparedItem";
import type { Finding } from "../bindings/Finding";
import type { Fingerprint } from "../bindings/Fingerprint";
import type { Progress } from "../bindings/Progress";
import type { Recovery } from "../bindings/Recovery";
import type { RecoveryPreview } from "../bindings/RecoveryPreview";
import type { Step } from "../bindings/Step";

type Phase = "idle" | "planning" | "preview" | "starting-engine" | "running" | "done";

/** One step's progress as the run reports it. */
export interface StepProgress {
  state: "waiting" | "running" | "done" | "failed" | "skipped";
  note: string;
  /** Pull layers: id -> status and bytes. */
  layers: Record<string, { status: string; current: number | null; total: number | null }>;
  lines: string[];
  backups: string[];
}

const MAX_LINES = 200;
/** Seconds the wizard waits for an engine it started to answer. */
const ENGINE_START_TRIES = 20;

function blank(): StepProgress {
  return { state: "waiting", note: "", layers: {}, lines: [], backups: [] };
}

/** Folds one progress event into the steps' state (pure, for tests). */
export function applyProgress(steps: Record<number, StepProgress>, p: Progress): Record<number, StepProgress> {
  const cur = steps[p.step] ?? blank();
  let next: StepProgress;
  switch (p.kind) {
    case "started":
      next = { ...cur, state: "running" };
      break;
    case "line":
      next = { ...cur, lines: [...cur.lines, p.text].slice(-MAX_LINES) };
      break;
    case "layer":
      next = { ...cur, layers: { ...cur.layers, [p.layer]: { status: p.status, current: p.current, total: p.total } } };
      break;
    case "backup":
      next = { ...cur, backups: [...cur.backups, `${p.file} (${bytes(p.bytes)}, sha256 ${p.sha256})`] };
      break;
    case "done":
      next = { ...cur, state: "done", note: `${p.note} (${(p.ms / 1000).toFixed(1)} s)` };
      break;
    case "failed":
      next = { ...cur, state: "failed", note: p.hint ? `${p.reason}. ${p.hint}` : p.reason };
      break;
    case "skipped":
      next = { ...cur, state: "skipped", note: p.reason };
      break;
  }
  return { ...steps, [p.step]: next };
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

function seconds(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s` : `${Math.round(ms / 60_000)} min`;
}

const SEVERITY_WORD: Record<Finding["severity"], string> = {
  loss: "Data lost",
  blocker: "Blocks the plan",
  problem: "Problem",
  note: "Note",
};

const VERDICT_WORD: Record<ComparedItem["verdict"], string> = {
  same: "same",
  changed: "changed (may move)",
  differs: "DIFFERS",
  unknown: "no earlier reading",
};

interface Props {
  backend: Backend;
}

export const RecoveryPanel = memo(function RecoveryPanel({ backend }: Props) {
  const [phase, setPhase] = useState<Phase>("idle");
  const [preview, setPreview] = useState<RecoveryPreview | null>(null);
  const [accepted, setAccepted] = useState<Set<number>>(new Set());
  const [progress, setProgress] = useState<Record<number, StepProgress>>({});
  const [result, setResult] = useState<Recovery | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [said, setSaid] = useState<string | null>(null);
  const [history, setHistory] = useState<Recovery[]>([]);
  const runRef = useRef<HTMLButtonElement>(null);

  const loadHistory = useCallback(() => {
    backend
      .recoveries()
      .then(setHistory)
      .catch(() => {});
  }, [backend]);
  useEffect(loadHistory, [loadHistory]);
  useEffect(() => {
    let unlisten: (() => void) | null = null;
    let gone = false;
    backend
      .onRecoveryProgress((p) => setProgress((cur) => applyProgress(cur, p)))
      .then((u) => (gone ? u() : (unlisten = u)));
    return () => {
      gone = true;
      unlisten?.();
    };
  }, [backend]);
  useEffect(() => {
    if (phase === "preview") runRef.current?.focus();
  }, [phase]);

  const plan = useCallback(() => {
    setError(null);
    setSaid(null);
    setResult(null);
    setPhase("planning");
    backend
      .recoveryPlan()
      .then((p) => {
        setPreview(p);
        setAccepted(new Set());
        setProgress({});
        setPhase("preview");
      })
      .catch((e) => {
        setError(asUiError(e).message);
        setPhase("idle");
      });
  }, [backend]);

  const cancel = () => {
    setPreview(null);
    setPhase("idle");
  };

  const startEngine = (step: Step) => {
    setPhase("starting-engine");
    setError(null);
    backend
      .startEngine(step.command)
      .then(async (note) => {
        setSaid(note);
        // Plan again once the runtime has reconnected (within 20 s).
        const until = Date.now() + ENGINE_START_TRIES * 1000;
        while (Date.now() < until) {
          await backend.retryEngine().catch(() => {});
          await new Promise((r) => setTimeout(r, 1000));
          const next = await backend.recoveryPlan().catch(() => null);
          if (next?.diagnosis.engine.reachable) {
            setPreview(next);
            setAccepted(new Set());
            setProgress({});
            setPhase("preview");
            return;
          }
        }
        throw { code: "engine_unreachable", message: `The engine did not answer within ${ENGINE_START_TRIES} s of starting it.` };
      })
      .catch((e) => {
        setError(asUiError(e).message);
        setPhase("preview");
      });
  };

  const run = () => {
    if (!preview) return;
    setPhase("running");
    setError(null);
    const first: Record<number, StepProgress> = {};
    for (const s of preview.plan.steps) first[s.id] = blank();
    setProgress(first);
    backend
      .runRecovery(preview.id, [...accepted])
      .then((r) => {
        setResult(r);
        setPhase("done");
        loadHistory();
      })
      .catch((e) => {
        setError(asUiError(e).message);
        setPhase("preview");
      });
  };

  const exportReport = () => {
    const incident = result?.incident_id ?? null;
    if (incident === null) return;
    backend
      .exportIncidentReport(incident, "html")
      .then((path) => setSaid(`Report written to ${path}`))
      .catch((e) => setError(asUiError(e).message));
  };

  const toggle = (id: number) =>
    setAccepted((cur) => {
      const next = new Set(cur);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  const engineStep = preview?.plan.steps.find((s) => s.kind === "start_engine") ?? null;
  const runnable = preview !== null && preview.plan.blockers.length === 0 && preview.plan.steps.length > 0 && !engineStep;

  return (
    <section className="recovery" aria-label="Recovery" onKeyDown={(e) => e.key === "Escape" && phase === "preview" && cancel()}>
      <h2>Recover the stack</h2>
      {error && (
        <div className="banner warning" role="alert" data-testid="recovery-error">
          {error}
        </div>
      )}
      {said && (
        <p role="status" data-testid="recovery-said">
          {said}
        </p>
      )}
      {(phase === "idle" || phase === "planning") && (
        <div className="recovery-start">
          <p className="hint">
            The wizard checks the engine, every container, image, volume, host port and the free disk space, plans
            what brings the stack back in dependency order and shows it (with anything that could lose data) before
            it does anything. The data is fingerprinted before and after, to prove it survived.
          </p>
          <button className="primary" onClick={plan} disabled={phase === "planning"} data-testid="recovery-diagnose">
            {phase === "planning" ? "Diagnosing…" : "Diagnose and plan"}
          </button>
        </div>
      )}
      {preview && phase !== "idle" && phase !== "planning" && (
        <>
          <Findings preview={preview} />
          <PlanSteps
            preview={preview}
            accepted={accepted}
            onToggle={toggle}
            progress={phase === "preview" || phase === "starting-engine" ? null : progress}
          />
          {phase !== "done" && <DataTable title="The data now" fingerprint={preview.before} />}
          {(phase === "preview" || phase === "starting-engine") && (
            <div className="toolbar">
              {engineStep ? (
                <button
                  ref={runRef}
                  className="primary"
                  onClick={() => startEngine(engineStep)}
                  disabled={phase === "starting-engine"}
                  data-testid="recovery-start-engine"
                >
                  {phase === "starting-engine" ? "Starting the engine…" : `Start the engine (${engineStep.command.join(" ")})`}
                </button>
              ) : (
                <button
                  ref={runRef}
                  className="primary"
                  onClick={run}
                  disabled={!runnable}
                  data-testid="recovery-run"
                >
                  {preview.plan.steps.length === 0
                    ? "Nothing to do"
                    : preview.plan.blockers.length > 0
                      ? "Blocked: see above"
                      : `Run ${preview.plan.steps.length} step${preview.plan.steps.length === 1 ? "" : "s"}`}
                </button>
              )}
              <button onClick={cancel} data-testid="recovery-cancel">
                Cancel
              </button>
              <span className="muted small">
                About {seconds(preview.plan.expected_ms)}. Nothing has changed yet. Escape cancels.
              </span>
            </div>
          )}
          {phase === "running" && (
            <p role="status" data-testid="recovery-running">
              Recovering… each step starts when the steps it needs are done.
            </p>
          )}
        </>
      )}
      {result && phase === "done" && (
        <RecoveryResult result={result} onExport={result.incident_id !== null ? exportReport : null} onAgain={plan} />
      )}
      <h3>Earlier recoveries</h3>
      {history.length === 0 ? (
        <p className="muted">None yet.</p>
      ) : (
        <table className="table recoveries" data-testid="recoveries">
          <thead>
            <tr>
              <th>When</th>
              <th>Steps</th>
              <th>Took</th>
              <th>Result</th>
            </tr>
          </thead>
          <tbody>
            {history.map((r) => (
              <tr key={r.started_ms} className={r.ok ? "" : "failed"}>
                <td>{new Date(r.started_ms).toLocaleString()}</td>
                <td>{r.plan.steps.length}</td>
                <td>{seconds(r.finished_ms - r.started_ms)}</td>
                <td>{r.ok ? "recovered, verified, no data differs" : (r.problems[0] ?? "not recovered")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
});

function Findings({ preview }: { preview: RecoveryPreview }) {
  const d = preview.diagnosis;
  return (
    <div className="findings" data-testid="recovery-findings">
      <h3>Diagnosis</h3>
      <p className="muted small">
        {d.engine.reachable ? `Engine ${d.engine.endpoint ?? ""} answers (${d.engine.podman ? "Podman" : "Docker API"}).` : "No engine answers."}{" "}
        Stack: {preview.stack}.
      </p>
      {preview.plan.data_lost.length > 0 && (
        <div className="banner bad" role="alert" data-testid="recovery-data-lost">
          <strong>Data already lost:</strong>
          <ul>
            {preview.plan.data_lost.map((f, i) => (
              <li key={i}>
                {f.title}: {f.evidence}
              </li>
            ))}
          </ul>
        </div>
      )}
      <ul className="finding-list">
        {d.findings
          .filter((f) => f.severity !== "loss")
          .map((f, i) => (
            <li key={i} className={`finding-${f.severity}`} data-severity={f.severity}>
              <span className={`badge sev-${f.severity}`}>{SEVERITY_WORD[f.severity]}</span> <strong>{f.title}</strong>
              <div className="muted small">{f.evidence}</div>
              {f.hint && <div className="small">Fix: {f.hint}</div>}
            </li>
          ))}
      </ul>
    </div>
  );
}

function PlanSteps({
  preview,
  accepted,
  onToggle,
  progress,
}: {
  preview: RecoveryPreview;
  accepted: Set<number>;
  onToggle: (id: number) => void;
  progress: Record<number, StepProgress> | null;
}) {
  const steps = preview.plan.steps;
  if (steps.length === 0) {
    return (
      <p data-testid="recovery-nothing">
        {preview.plan.blockers.length > 0 ? "Nothing can run until the blockers are fixed." : "Nothing to do: the stack's containers are up."}
      </p>
    );
  }
  return (
    <div className="plan" data-testid="recovery-plan">
      <h3>Plan</h3>
      <ol className="steps">
        {steps.map((s) => {
          const p = progress?.[s.id];
          return (
            <li key={s.id} className={`step step-${p?.state ?? "planned"}${s.loss ? " destructive" : ""}`} data-step={s.id} data-kind={s.kind}>
              <div className="step-head">
                <span className="step-state" aria-label={p?.state ?? "planned"}>
                  {p ? { waiting: "○", running: "◐", done: "✓", failed: "✗", skipped: "–" }[p.state] : `${s.id}.`}
                </span>{" "}
                <strong>{s.title}</strong>
                {s.after.length > 0 && <span className="muted small"> after {s.after.join(", ")}</span>}
                <span className="muted small"> ~{seconds(s.expected_ms)}</span>
              </div>
              <div className="muted small">{s.why}</div>
              {s.command.length > 0 && (
                <div className="small">
                  Runs <code>{s.command.join(" ")}</code>
                </div>
              )}
              {s.loss && (
                <div className="guard" data-testid={`guard-${s.id}`}>
                  <strong>Can lose data:</strong> {s.loss.summary}
                  <ul className="small">
                    {s.loss.paths.slice(0, 12).map((path) => (
                      <li key={path}>
                        <code>{path}</code>
                      </li>
                    ))}
                    {s.loss.paths.length > 12 && <li>… and {s.loss.paths.length - 12} more</li>}
                  </ul>
                  <div className="small">
                    Backed up first, into the data folder with its size and SHA-256:{" "}
                    {s.loss.backups.map((b) => b.path).join(", ") || "nothing to back up"}
                  </div>
                  {progress === null && (
                    <label className="small">
                      <input
                        type="checkbox"
                        checked={accepted.has(s.id)}
                        onChange={() => onToggle(s.id)}
                        data-testid={`guard-accept-${s.id}`}
                      />{" "}
                      Back up, then replace it: I accept losing what is listed here.
                    </label>
                  )}
                  {progress === null && !accepted.has(s.id) && (
                    <div className="small muted">Not accepted: the plan stops at this step.</div>
                  )}
                </div>
              )}
              {p && p.note && <div className={`small step-note ${p.state === "failed" ? "bad" : ""}`}>{p.note}</div>}
              {p && Object.keys(p.layers).length > 0 && (
                <div className="layers" data-testid={`layers-${s.id}`}>
                  {Object.entries(p.layers).map(([layer, l]) => (
                    <div key={layer} className="layer small">
                      <code>{layer}</code> {l.status}
                      {l.total !== null && l.total > 0 && (
                        <>
                          {" "}
                          <progress max={l.total} value={l.current ?? 0} /> {bytes(l.current ?? 0)} / {bytes(l.total)}
                        </>
                      )}
                    </div>
                  ))}
                </div>
              )}
              {p && p.backups.length > 0 && (
                <ul className="small">
                  {p.backups.map((b) => (
                    <li key={b}>Backup: {b}</li>
                  ))}
                </ul>
              )}
              {p && p.lines.length > 0 && <pre className="step-output">{p.lines.join("\n")}</pre>}
            </li>
          );
        })}
      </ol>
      {preview.plan.blockers.length > 0 && (
        <div className="banner bad" role="alert" data-testid="recovery-blocked">
          <strong>Nothing runs until these are fixed:</strong>
          <ul>
            {preview.plan.blockers.map((b, i) => (
              <li key={i}>
                {b.title}: {b.evidence}. {b.hint}
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

function DataTable({ title, fingerprint }: { title: string; fingerprint: Fingerprint }) {
  if (fingerprint.items.length === 0) return null;
  return (
    <div className="data-now" data-testid="recovery-data-now">
      <h3>{title}</h3>
      <table className="table">
        <tbody>
          {fingerprint.items.map((i) => (
            <tr key={i.key}>
              <td>{i.label}</td>
              <td className="num">{i.value === null ? <span className="muted">{i.text}</span> : i.text}</td>
              <td className="muted small">
                {i.value !== null && i.read_at_ms < fingerprint.taken_at_ms - 60_000
                  ? `last read ${new Date(i.read_at_ms).toLocaleString()}`
                  : ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function RecoveryResult({
  result,
  onExport,
  onAgain,
}: {
  result: Recovery;
  onExport: (() => void) | null;
  onAgain: () => void;
}) {
  const v = result.verification;
  return (
    <div className="recovery-result" data-testid="recovery-result">
      <div className={`banner ${result.ok ? "ok" : "bad"}`} role="status" data-testid="recovery-verdict">
        {result.ok
          ? `Recovered in ${seconds(result.finished_ms - result.started_ms)}: every step done, verified, and no data differs.`
          : "Not recovered:"}
        {!result.ok && (
          <ul>
            {result.problems.map((p, i) => (
              <li key={i}>{p}</li>
            ))}
          </ul>
        )}
      </div>
      {result.compared.length > 0 && (
        <>
          <h3>The data, before and after</h3>
          <table className="table compared" data-testid="recovery-compared">
            <thead>
              <tr>
                <th>What</th>
                <th>Before</th>
                <th>After</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {result.compared.map((c) => (
                <tr key={c.key} className={`verdict-${c.verdict}`} data-key={c.key}>
                  <td>{c.label}</td>
                  <td className="num">{c.before}</td>
                  <td className="num">{c.after}</td>
                  <td>{VERDICT_WORD[c.verdict]}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {v && (
        <p data-testid="recovery-verification">
          Verification: {v.passed} passed, {v.failed} failed ({v.required_failed} required), {v.skipped} skipped.
        </p>
      )}
      <div className="toolbar">
        {onExport && (
          <button onClick={onExport} data-testid="recovery-export">
            Export the recovery report
          </button>
        )}
        <button onClick={onAgain}>Diagnose again</button>
      </div>
    </div>
  );
}
