// Self-healing: each service's heal policy and what the healer is doing
// about it (watching, waiting, quarantined), the release of a quarantined
// service, and drills: a service's container killed on purpose (asked
// first, with what it touches) and how long the healer took to bring it
// back, next to the drills before.
import { memo, useCallback, useEffect, useRef, useState } from "react";
import { asUiError, type Backend } from "../api";
import type { DrillPlan } from "../bindings/DrillPlan";
import type { HealingStatus } from "../bindings/HealingStatus";
import type { HealPolicy } from "../bindings/HealPolicy";
import type { StoredDrill } from "../bindings/StoredDrill";

function span(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}

function seconds(ms: number | null): string {
  return ms === null ? "–" : `${(ms / 1000).toFixed(1)} s`;
}

/** The policy in one line, e.g. "down, unhealthy · restart · 10 s ×2 to 5 min · at most 3 in 30 min". */
export function policyText(p: HealPolicy | null): string {
  if (!p) return "no policy";
  if (!p.enabled) return "off";
  const parts = [
    p.on.join(", ") + (p.after_ms > 0 ? ` for ${span(p.after_ms)}` : ""),
    p.action,
    `backoff ${span(p.backoff.initial_ms)} ×${p.backoff.factor} to ${span(p.backoff.cap_ms)}`,
    `at most ${p.limit.actions} in ${span(p.limit.within_ms)}`,
  ];
  if (p.log_patterns.length > 0) parts.push(`${p.log_patterns.length} log pattern${p.log_patterns.length === 1 ? "" : "s"}`);
  return parts.join(" · ");
}

interface Props {
  backend: Backend;
  healing: HealingStatus | null;
}

export const HealingPanel = memo(function HealingPanel({ backend, healing }: Props) {
  const [drills, setDrills] = useState<StoredDrill[]>([]);
  const [plan, setPlan] = useState<DrillPlan | null>(null);
  const [running, setRunning] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [said, setSaid] = useState<string | null>(null);
  const confirmRef = useRef<HTMLButtonElement>(null);

  const loadDrills = useCallback(() => {
    backend
      .drills()
      .then(setDrills)
      .catch((e) => setError(asUiError(e).message));
  }, [backend]);
  useEffect(loadDrills, [loadDrills]);
  useEffect(() => {
    if (plan) confirmRef.current?.focus();
  }, [plan]);

  const askDrill = (service: string) => {
    setError(null);
    setSaid(null);
    backend
      .drillPlan(service)
      .then(setPlan)
      .catch((e) => setError(asUiError(e).message));
  };
  const runDrill = () => {
    if (!plan) return;
    const service = plan.service;
    setPlan(null);
    setRunning(service);
    backend
      .runDrill(service)
      .then((d) => setSaid(`Drill of ${service}: ${d.drill.note}`))
      .catch((e) => setError(asUiError(e).message))
      .finally(() => {
        setRunning(null);
        loadDrills();
      });
  };
  const release = (service: string) => {
    setError(null);
    backend
      .releaseHeal(service)
      .then(() => setSaid(`${service} released: the healer may act on it again.`))
      .catch((e) => setError(asUiError(e).message));
  };

  const services = healing?.services ?? [];
  return (
    <section className="healing" aria-label="Self-healing">
      <h2>Self-healing</h2>
      {healing && !healing.active && (
        <p className="muted" data-testid="healing-paused">
          Not healing here: {healing.paused}
        </p>
      )}
      {error && (
        <div className="banner warning" role="alert" data-testid="healing-error">
          {error}
        </div>
      )}
      {said && (
        <p role="status" data-testid="healing-said">
          {said}
        </p>
      )}
      {plan && (
        <div
          className="dialog"
          role="alertdialog"
          aria-labelledby="drill-title"
          data-testid="drill-confirm"
          onKeyDown={(e) => e.key === "Escape" && setPlan(null)}
        >
          <h3 id="drill-title">Drill: kill {plan.container}?</h3>
          <p>{plan.summary}</p>
          <button ref={confirmRef} className="danger" onClick={runDrill} data-testid="drill-run">
            Kill it and measure
          </button>{" "}
          <button onClick={() => setPlan(null)}>Cancel</button>
        </div>
      )}
      {running && (
        <p role="status" data-testid="drill-running">
          Drill of {running} running: waiting for it to be healthy again…
        </p>
      )}
      <table className="healing-table" data-testid="healing-table">
        <thead>
          <tr>
            <th>Service</th>
            <th>Policy</th>
            <th>State</th>
            <th>Why</th>
            <th>Actions</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {services.map((s) => (
            <tr key={s.service} data-service={s.service} className={`heal-${s.state}`}>
              <td>{s.service}</td>
              <td className="muted">{policyText(s.policy)}</td>
              <td data-testid="heal-state">{s.state === "quarantined" ? "quarantined: needs you" : s.state}</td>
              <td>
                {s.detail}
                {s.next_at_ms !== null && ` (until ${new Date(s.next_at_ms).toLocaleTimeString()})`}
              </td>
              <td>{s.recent_actions}</td>
              <td>
                {s.state === "quarantined" && (
                  <button onClick={() => release(s.service)} data-testid="heal-release">
                    Release
                  </button>
                )}
                {s.policy?.enabled && s.state !== "quarantined" && (
                  <button onClick={() => askDrill(s.service)} disabled={running !== null} data-testid="heal-drill">
                    Drill…
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Drills</h3>
      {drills.length === 0 ? (
        <p className="muted">No drill yet. A drill kills a service's container and measures how the healer brings it back.</p>
      ) : (
        <table className="drills" data-testid="drills">
          <thead>
            <tr>
              <th>When</th>
              <th>Service</th>
              <th>Seen failing</th>
              <th>Healer acted</th>
              <th>Running</th>
              <th>Healthy</th>
              <th>Result</th>
            </tr>
          </thead>
          <tbody>
            {drills.map((d) => (
              <tr key={d.id} className={d.drill.recovered ? "" : "failed"}>
                <td>{new Date(d.drill.at_ms).toLocaleString()}</td>
                <td>{d.drill.service}</td>
                <td>{seconds(d.drill.detected_ms)}</td>
                <td>{seconds(d.drill.acted_ms)}</td>
                <td>{seconds(d.drill.running_ms)}</td>
                <td>{seconds(d.drill.healthy_ms)}</td>
                <td>{d.drill.note}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
});
