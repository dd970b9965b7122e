// The health breakdown: overall score with its formula, each group's score
// ("Core Infrastructure 100% (5/5)"), and each service's status with why;
// a service opens to show its probes' conditions and response times.
// Services are memoised: a health event re-renders only the services whose
// status, reason or (when open) probe runs changed.
import { memo, type ReactNode, useCallback, useEffect, useMemo, useState } from "react";
import { asUiError } from "../api";
import type { Backend } from "../api";
import type { GroupScore } from "../bindings/GroupScore";
import type { ProbeRun } from "../bindings/ProbeRun";
import type { RecordedTransition } from "../bindings/RecordedTransition";
import type { ServiceHealth } from "../bindings/ServiceHealth";
import type { StackHealth } from "../bindings/StackHealth";
import type { StackServiceView } from "../bindings/StackServiceView";
import { percentScore } from "../health";
import { isStringOrNull, usePersistentState } from "../persist";
import { countRender } from "../renderCount";
import { ProbeResults, sameRuns } from "./ProbeResults";

const NO_RUNS: ProbeRun[] = [];

export const HealthPanel = memo(function HealthPanel({ backend, health }: { backend: Backend; health: StackHealth | null }) {
  countRender("HealthPanel");
  const [open, setOpen] = usePersistentState<string | null>("health-open", null, isStringOrNull);
  const [changes, setChanges] = useState<RecordedTransition[]>([]);
  const [changesError, setChangesError] = useState<string | null>(null);
  const toggle = useCallback((service: string) => setOpen((cur) => (cur === service ? null : service)), [setOpen]);
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
  const services = health?.services;
  const byGroup = useMemo(() => {
    const out = new Map<string, StackServiceView[]>();
    for (const s of services ?? []) out.set(s.group, [...(out.get(s.group) ?? []), s]);
    return out;
  }, [services]);
  const serviceStatuses = health?.breakdown?.services;
  const statusOf = useMemo(
    () => new Map((serviceStatuses ?? []).map((s): [string, ServiceHealth] => [s.service, s])),
    [serviceStatuses],
  );
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
            <GroupCard key={g.group} group={g}>
              {(byGroup.get(g.group) ?? []).map((s) => (
                <ServiceItem
                  key={s.service}
                  backend={backend}
                  service={s}
                  status={statusOf.get(s.service) ?? null}
                  expanded={open === s.service}
                  runs={open === s.service ? health.last_runs.filter((r) => r.service === s.service) : NO_RUNS}
                  onToggle={toggle}
                />
              ))}
            </GroupCard>
          ))}
          <RecentChanges changes={changes} error={changesError} />
        </>
      )}
    </section>
  );
});

function GroupCard({ group: g, children }: { group: GroupScore; children: ReactNode }) {
  return (
    <section className="group-card" aria-label={g.group}>
      <h3 data-testid={`group-score-${g.group}`}>
        {g.group} {g.total > 0 ? `${percentScore(g.score)} (${g.healthy}/${g.total})` : "not deployed"}
        {g.not_deployed > 0 && g.total > 0 && <span className="muted small"> · {g.not_deployed} not deployed</span>}
        <span className="muted small"> {g.required ? "required" : "optional"} · weight {g.weight}</span>
      </h3>
      <ul className="service-health">{children}</ul>
    </section>
  );
}

interface ServiceItemProps {
  backend: Backend;
  service: StackServiceView;
  status: ServiceHealth | null;
  expanded: boolean;
  /** The service's newest probe runs while it is open; empty while closed. */
  runs: ProbeRun[];
  onToggle: (service: string) => void;
}

const ServiceItem = memo(
  function ServiceItem({ backend, service: s, status: sh, expanded, runs, onToggle }: ServiceItemProps) {
    countRender(`HealthService:${s.service}`);
    return (
      <li>
        <button type="button" className="link" aria-expanded={expanded} onClick={() => onToggle(s.service)}>
          <span className={`badge status-${sh?.status ?? "unknown"}`} data-testid={`service-status-${s.service}`}>
            {sh?.status ?? "unknown"}
          </span>{" "}
          {s.service}
        </button>{" "}
        <span
          className="muted small"
          title={s.containers.length > 1 ? s.containers.join(", ") : undefined}
          data-testid={`service-reason-${s.service}`}
        >
          {s.containers.length > 1 ? `${s.containers.length} containers (${s.containers[0]}, …)` : s.container}
          {sh && ` · ${sh.reason}`}
        </span>
        {expanded && <ProbeResults backend={backend} service={s} runs={runs} />}
      </li>
    );
  },
  (a, b) =>
    a.backend === b.backend &&
    a.service === b.service &&
    a.status === b.status &&
    a.expanded === b.expanded &&
    a.onToggle === b.onToggle &&
    sameRuns(a.runs, b.runs),
);

const RecentChanges = memo(function RecentChanges({
  changes,
  error,
}: {
  changes: RecordedTransition[];
  error: string | null;
}) {
  return (
    <section className="group-card" aria-label="Recent changes">
      <h3>Recent changes (24 h)</h3>
      {error ? (
        <p className="muted small">{error}</p>
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
  );
});
