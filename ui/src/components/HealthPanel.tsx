// The health breakdown: overall score with its formula, each group's score
// ("Core Infrastructure 100% (5/5)"), and each service's status with why;
// a service opens to show its probes' conditions and response times.
import { useEffect, useState } from "react";
import { asUiError } from "../api";
import type { RecordedTransition } from "../bindings/RecordedTransition";
import type { Backend } from "../api";
import type { StackHealth } from "../bindings/StackHealth";
import { percentScore, runsOf, serviceHealth } from "../health";
import { ProbeResults } from "./ProbeResults";

export function HealthPanel({ backend, health }: { backend: Backend; health: StackHealth | null }) {
  const [open, setOpen] = useState<string | null>(null);
  const [changes, setChanges] = useState<RecordedTransition[]>([]);
  const [changesError, setChangesError] = useState<string | null>(null);
  // Reload the list whenever a service's status changes.
  const statuses = health?.breakdown?.services.map((s) => `${s.service}:${s.status}`).join(",") ?? "";
  useEffect(() => {
    let cancelled = false;
    backend
      .recentTransitions()
      .then((t) => !cancelled && setChanges(t))
      .catch((e) => !cancelled && setChangesError(asUiError(e).message));
    return () => {
      cancelled = true;
    };
  }, [backend, statuses]);
  if (!health) return <p className="muted">Loading the stack…</p>;
  const b = health.breakdown;
  return (
    <section className="health" aria-label="Health breakdown" data-testid="health-panel">
      <p className="muted small">
        Stack <strong>{health.stack_name ?? "none"}</strong> from {health.source}
      </p>
      {!b ? (
        <p className="muted" role="status">
          {health.stack_name ? "Waiting for the container engine…" : "No stack is loaded."}
        </p>
      ) : (
        <>
          <div className={`score-line health-level-${health.level}`}>
            <span className="score" data-testid="health-overall">
              {percentScore(b.overall)}
            </span>
            <span className="muted">overall</span>
          </div>
          <p className="formula small" data-testid="health-formula">
            {b.formula}
          </p>
          {b.groups.map((g) => (
            <section key={g.group} className="group-card" aria-label={g.group}>
              <h3 data-testid={`group-score-${g.group}`}>
                {g.group} {percentScore(g.score)} ({g.healthy}/{g.total})
                <span className="muted small"> {g.required ? "required" : "optional"} · weight {g.weight}</span>
              </h3>
              <ul className="service-health">
                {health.services
                  .filter((s) => s.group === g.group)
                  .map((s) => {
                    const sh = serviceHealth(health, s.service);
                    const expanded = open === s.service;
                    return (
                      <li key={s.service}>
                        <button
                          type="button"
                          className="link"
                          aria-expanded={expanded}
                          onClick={() => setOpen(expanded ? null : s.service)}
                        >
                          <span
                            className={`badge status-${sh?.status ?? "unknown"}`}
                            data-testid={`service-status-${s.service}`}
                          >
                            {sh?.status ?? "unknown"}
                          </span>{" "}
                          {s.service}
                        </button>{" "}
                        <span className="muted small">
                          {s.container}
                          {sh && ` · ${sh.reason}`}
                        </span>
                        {expanded && <ProbeResults backend={backend} service={s} runs={runsOf(health, s.service)} />}
                      </li>
                    );
                  })}
              </ul>
            </section>
          ))}
          <section className="group-card" aria-label="Recent changes">
            <h3>Recent changes (24 h)</h3>
            {changesError ? (
              <p className="muted small">{changesError}</p>
            ) : changes.length === 0 ? (
              <p className="muted small">No status changes recorded.</p>
            ) : (
              <ul className="service-health" data-testid="transitions">
                {changes.map((t, i) => (
                  <li key={i}>
                    <span className="muted small">{new Date(t.at_ms).toLocaleTimeString()}</span>{" "}
                    <strong>{t.change.service}</strong>{" "}
                    {t.change.from ? `${t.change.from} → ` : "first seen "}
                    <span className={`badge status-${t.change.to}`}>{t.change.to}</span>{" "}
                    <span className="muted small">{t.change.reason}</span>
                  </li>
                ))}
              </ul>
            )}
          </section>
        </>
      )}
    </section>
  );
}
