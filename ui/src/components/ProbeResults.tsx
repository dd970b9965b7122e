// A stack service's probes: the last run of each with every condition and
// what was observed, what a typed probe read (model, slots, tools,
// collections, rows, keys), and the response times of the last half hour.
import { memo, useEffect, useMemo, useState } from "react";
import { asUiError, type Backend } from "../api";
import type { ProbeRun } from "../bindings/ProbeRun";
import type { ProbeView } from "../bindings/ProbeView";
import type { ResponsePoint } from "../bindings/ResponsePoint";
import type { StackServiceView } from "../bindings/StackServiceView";
import { ProbeValuesView } from "./ProbeValuesView";
import { Sparkline } from "./Sparkline";

function ms(v: number): string {
  return v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`;
}

/** Same runs, element by element (the list itself is rebuilt on every render). */
export function sameRuns(a: readonly ProbeRun[], b: readonly ProbeRun[]): boolean {
  return a === b || (a.length === b.length && a.every((r, i) => r === b[i]));
}

interface Props {
  backend: Backend;
  service: StackServiceView;
  runs: ProbeRun[];
}

export const ProbeResults = memo(
  function ProbeResults({ backend, service, runs }: Props) {
    const [points, setPoints] = useState<ResponsePoint[]>([]);
    const [error, setError] = useState<string | null>(null);
    const newest = runs.reduce((t, r) => Math.max(t, r.at_ms), 0);
    useEffect(() => {
      let cancelled = false;
      backend
        .probeHistory(service.service)
        .then((p) => {
          if (!cancelled) {
            setPoints(p);
            setError(null);
          }
        })
        .catch((e) => !cancelled && setError(asUiError(e).message));
      return () => {
        cancelled = true;
      };
    }, [backend, service.service, newest]);

    if (service.probes.length === 0) {
      return <p className="muted small">No probes: judged by its container state and HEALTHCHECK.</p>;
    }
    return (
      <div className="probes" data-testid={`probes-${service.service}`}>
        {service.probes.map((p) => (
          <Probe
            key={p.name}
            backend={backend}
            service={service.service}
            probe={p}
            run={runs.find((r) => r.outcome.probe === p.name)}
            points={points}
            error={error}
          />
        ))}
      </div>
    );
  },
  (a, b) => a.backend === b.backend && a.service === b.service && sameRuns(a.runs, b.runs),
);

/** True when the probe could not log in for want of a password the keyring could keep. */
export function needsPassword(error: string | null | undefined): boolean {
  return !!error && error.startsWith("password missing") && error.includes("keyring");
}

/**
 * Asks for a database probe's password and hands it to the desktop keyring;
 * the field is cleared at once and the password never shown again.
 */
function SetPassword({ backend, service, probe }: { backend: Backend; service: string; probe: string }) {
  const [open, setOpen] = useState(false);
  const [value, setValue] = useState("");
  const [said, setSaid] = useState<{ ok: boolean; text: string } | null>(null);
  const result = said && (
    <span className={said.ok ? "ok" : "failed"} role="status">
      {said.text}
    </span>
  );
  if (!open) {
    return (
      <p className="row">
        <button type="button" onClick={() => setOpen(true)} data-testid={`set-password-${service}-${probe}`}>
          Set password…
        </button>{" "}
        {result}
      </p>
    );
  }
  const save = (e: React.FormEvent) => {
    e.preventDefault();
    const password = value;
    setValue("");
    backend
      .setProbePassword(service, probe, password)
      .then(() => {
        setOpen(false);
        setSaid({ ok: true, text: "Kept in the desktop keyring; the probe uses it on its next run." });
      })
      .catch((err) => setSaid({ ok: false, text: asUiError(err).message }));
  };
  return (
    <form className="row" onSubmit={save} aria-label={`Password for ${service} ${probe}`}>
      <label>
        Password for {service}'s {probe} probe{" "}
        <input
          type="password"
          autoComplete="off"
          autoFocus
          value={value}
          onChange={(e) => setValue(e.target.value)}
          data-testid={`password-input-${service}-${probe}`}
        />
      </label>{" "}
      <button type="submit" className="primary" disabled={value === ""} data-testid={`password-save-${service}-${probe}`}>
        Keep in keyring
      </button>{" "}
      <button type="button" onClick={() => setOpen(false)}>
        Cancel
      </button>
      {result}
    </form>
  );
}

const Probe = memo(function Probe({
  backend,
  service,
  probe: p,
  run,
  points,
  error,
}: {
  backend: Backend;
  service: string;
  probe: ProbeView;
  run: ProbeRun | undefined;
  points: ResponsePoint[];
  error: string | null;
}) {
  const series = useMemo(
    () => points.filter((pt) => pt.probe === p.name).map((pt): [number, number] => [pt.at_ms, pt.duration_ms]),
    [points, p.name],
  );
  const last = series[series.length - 1];
  return (
    <section className="probe" aria-label={`Probe ${p.name}`}>
      <h4>
        <span className={`badge ${run ? (run.outcome.success ? "health-healthy" : "health-unhealthy") : ""}`}>
          {run ? (run.outcome.success ? "pass" : "fail") : "not run yet"}
        </span>{" "}
        {p.name} <span className="muted small">
          {p.kind} {p.target} · every {p.interval_ms / 1000} s, timeout {p.timeout_ms / 1000} s
          {run && ` · ${ms(run.duration_ms)} at ${new Date(run.at_ms).toLocaleTimeString()}`}
        </span>
      </h4>
      {run?.outcome.error && (
        <p className="probe-error" data-testid={`probe-error-${service}-${p.name}`}>
          {run.outcome.error}
        </p>
      )}
      {needsPassword(run?.outcome.error) && <SetPassword backend={backend} service={service} probe={p.name} />}
      {p.values && <ProbeValuesView values={p.values} id={`${service}-${p.name}`} />}
      {run && run.outcome.conditions.length > 0 && (
        <ul className="conditions">
          {run.outcome.conditions.map((c, i) => (
            <li key={i} className={c.success ? "ok" : "failed"}>
              <span aria-hidden="true">{c.success ? "✓" : "✗"}</span> <code>{c.condition}</code>{" "}
              <span className="muted">saw {c.observed || "nothing"}</span>
            </li>
          ))}
        </ul>
      )}
      {error ? (
        <p className="muted small">{error}</p>
      ) : series.length >= 2 ? (
        <figure>
          <figcaption>
            Response time, last 30 min <strong>{ms(last?.[1] ?? 0)}</strong>
          </figcaption>
          <Sparkline points={series} label={`Response time of ${p.name}`} />
        </figure>
      ) : null}
    </section>
  );
});
