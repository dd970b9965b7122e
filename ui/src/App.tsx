// The window: a header with the overall state, a sidebar of views and the
// current view. State comes from the Rust side as `snapshot` and `health`
// events; this component only reads them and sends actions back. An event
// whose data equals what is shown changes nothing, and one that changes a
// part keeps the identity of every other part, so the memoised rows and
// cards below render only when what they show changed.
import { memo, useCallback, useEffect, useRef, useState } from "react";
import type { Backend } from "./api";
import type { AppInfo } from "./bindings/AppInfo";
import type { ContainerId } from "./bindings/ContainerId";
import type { ServiceRow } from "./bindings/ServiceRow";
import type { StackHealth } from "./bindings/StackHealth";
import type { StackSnapshot } from "./bindings/StackSnapshot";
import type { RuntimeStatus } from "./bindings/RuntimeStatus";
import type { VerificationSummary } from "./bindings/VerificationSummary";
import { HealthPanel } from "./components/HealthPanel";
import { TimelinePanel } from "./components/TimelinePanel";
import { TelemetryPanel } from "./components/TelemetryPanel";
import { HealingPanel } from "./components/HealingPanel";
import { RecoveryPanel } from "./components/RecoveryPanel";
import { SettingsPanel } from "./components/SettingsPanel";
import type { Theme } from "./bindings/Theme";
import { VerifyPanel } from "./components/VerifyPanel";
import { EngineProblem } from "./components/EngineProblem";
import { Header } from "./components/Header";
import { ServiceDetail } from "./components/ServiceDetail";
import { remoteEngineHost, sameShownRows, ServiceTable } from "./components/ServiceTable";
import { isStringOrNull, loadValue, saveValue, usePersistentState } from "./persist";
import { keepIfEqual, useStable } from "./share";

const NO_ROWS: ServiceRow[] = [];

export type View = "services" | "health" | "timeline" | "telemetry" | "healing" | "verify" | "recover" | "settings";
const VIEWS: readonly View[] = ["services", "health", "timeline", "telemetry", "healing", "verify", "recover", "settings"];
const VIEW_LABEL: Record<View, string> = {
  services: "Services",
  health: "Health",
  timeline: "Timeline",
  telemetry: "Telemetry",
  healing: "Healing",
  verify: "Verify",
  recover: "Recover",
  settings: "Settings",
};

let followDesktop: (() => void) | null = null;

/**
 * Sets the page's colours: a fixed theme, or the desktop's preference as
 * the web view reports it (`prefers-color-scheme`), followed while it changes.
 */
export function applyTheme(theme: Theme): void {
  const query = typeof window.matchMedia === "function" ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  if (followDesktop) {
    query?.removeEventListener("change", followDesktop);
    followDesktop = null;
  }
  const set = () => {
    document.documentElement.dataset.theme = theme === "system" ? (query?.matches ? "dark" : "light") : theme;
  };
  set();
  if (theme === "system" && query) {
    followDesktop = set;
    query.addEventListener("change", set);
  }
}

/**
 * Why the window offers the recovery wizard, or null when nothing calls
 * for it: no engine answers, the stack is failing, or an incident is open.
 */
export function recoveryReason(
  engine: StackSnapshot["engine"] | null,
  level: StackHealth["level"] | null,
  incidentOpen: boolean,
): string | null {
  if (engine?.kind === "unreachable") return "No container engine answers.";
  if (level === "failing") return "The stack is down: a required service is not healthy.";
  if (incidentOpen) return "An incident is open.";
  return null;
}

/** Why this app writes no history, or null when it does. */
export function recordingProblem(r: RuntimeStatus["recording"]): string | null {
  switch (r.kind) {
    case "on":
      return null;
    case "held_by":
      return `this data folder is already recorded into by ${r.holder.host} (PID ${r.holder.pid}) since ${new Date(r.holder.since_ms).toLocaleString()}; Stackwarden takes over when it stops.`;
    case "off":
      return r.reason;
  }
}

export function isView(v: unknown): v is View {
  return typeof v === "string" && (VIEWS as readonly string[]).includes(v);
}

/** `?view=` in the window's URL, else the view it showed last, else Services. */
function startView(): View {
  const asked = new URLSearchParams(window.location.search).get("view");
  return isView(asked) ? asked : (loadValue("view", isView) ?? "services");
}

/**
 * State fed by events: `offer` keeps the current value when the new one
 * differs only in `updated_at_ms` (no render at all) and otherwise shares
 * every unchanged part with it; `offerFirst` only fills an empty state (the
 * initial fetch must not overwrite a newer event).
 */
function useEventState<T extends { updated_at_ms: number }>(): [T | null, (v: T) => void, (v: T) => void] {
  const [value, setValue] = useState<T | null>(null);
  const current = useRef<T | null>(null);
  const offer = useCallback((v: T) => {
    const next = keepIfEqual(current.current, v);
    if (next !== current.current) {
      current.current = next;
      setValue(next);
    }
  }, []);
  const offerFirst = useCallback((v: T) => current.current === null && offer(v), [offer]);
  return [value, offer, offerFirst];
}

export function App({ backend }: { backend: Backend }) {
  const [snapshot, offerSnapshot, offerFirstSnapshot] = useEventState<StackSnapshot>();
  const [health, offerHealth, offerFirstHealth] = useEventState<StackHealth>();
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [selected, setSelected] = usePersistentState<ContainerId | null>("detail", null, isStringOrNull);
  const [view, setView] = useState<View>(startView);
  const [lastVerification, setLastVerification] = useState<VerificationSummary | null>(null);
  const [runtime, setRuntime] = useState<RuntimeStatus | null>(null);

  useEffect(() => saveValue("view", view), [view]);

  useEffect(() => {
    const unlisten: (() => void)[] = [];
    let cancelled = false;
    const keep = (p: Promise<() => void>) => p.then((u) => (cancelled ? u() : unlisten.push(u)));
    keep(backend.onSnapshot(offerSnapshot));
    keep(backend.onHealth(offerHealth));
    keep(backend.onShowView((v) => isView(v) && setView(v)));
    keep(backend.onRuntimeStatus(setRuntime));
    backend
      .runtimeStatus()
      .then((r) => !cancelled && setRuntime((cur) => cur ?? r))
      .catch(() => {});
    keep(
      backend.onVerifyDone((run) =>
        setLastVerification({
          id: 0,
          stack: run.stack,
          started_at_ms: run.started_at_ms,
          duration_ms: run.duration_ms,
          passed: run.passed,
          failed: run.failed,
          skipped: run.skipped,
          required_failed: run.required_failed,
        }),
      ),
    );
    backend
      .verificationHistory()
      .then((h) => !cancelled && setLastVerification((cur) => cur ?? h[0] ?? null))
      .catch(() => {});
    backend.getSnapshot().then((s) => !cancelled && offerFirstSnapshot(s));
    backend.getHealth().then((h) => !cancelled && offerFirstHealth(h));
    backend.appInfo().then((i) => {
      if (cancelled) return;
      setInfo(i);
      applyTheme(i.theme);
    });
    keep(backend.onSettingsChanged((v) => applyTheme(v.settings.theme)));
    return () => {
      cancelled = true;
      unlisten.forEach((u) => u());
    };
  }, [backend, offerSnapshot, offerHealth, offerFirstSnapshot, offerFirstHealth]);

  // Resources are sampled only while the window is on screen.
  useEffect(() => {
    const report = () => void backend.setViewVisible(!document.hidden);
    report();
    document.addEventListener("visibilitychange", report);
    return () => document.removeEventListener("visibilitychange", report);
  }, [backend]);

  const closeDetail = useCallback(() => setSelected(null), [setSelected]);
  const toggleDetail = useCallback(
    (id: ContainerId) => setSelected((cur) => (cur === id ? null : id)),
    [setSelected],
  );
  const showHealth = useCallback(() => setView("health"), []);
  const showVerify = useCallback(() => setView("verify"), []);
  const showRecover = useCallback(() => setView("recover"), []);
  const retryEngine = useCallback(() => void backend.retryEngine(), [backend]);
  // A new resource sample that reads the same leaves the table alone.
  const tableRows = useStable(snapshot?.services ?? NO_ROWS, sameShownRows);
  const selectedRow = snapshot?.services.find((s) => s.id === selected) ?? null;
  const connected = snapshot?.engine.kind === "connected";
  // The live status wins: this app may take over recording later.
  const openIncident = runtime?.incidents[0];
  const quarantined = (runtime?.healing.services ?? []).filter((s) => s.state === "quarantined").map((s) => s.service);
  const historyOff = runtime ? recordingProblem(runtime.recording) : (info?.store_error ?? null);
  const recoverWhy = recoveryReason(snapshot?.engine ?? null, connected ? (health?.level ?? null) : null, openIncident !== undefined);

  return (
    <div className="app">
      <Header
        summary={snapshot?.summary ?? null}
        engine={snapshot?.engine ?? null}
        stackName={health?.stack_name ?? null}
        level={health?.level ?? null}
        breakdown={connected ? (health?.breakdown ?? null) : null}
        lastVerification={lastVerification}
        onShowHealth={showHealth}
        onShowVerify={showVerify}
      />
      <div className="body">
        <Sidebar view={view} onSelect={setView} />
        <main id={view} className="content">
          {snapshot?.config_error && (
            <div className="banner warning" role="alert" data-testid="config-error">
              {snapshot.config_error}
            </div>
          )}
          {historyOff && (
            <div className="banner warning" role="alert" data-testid="history-off">
              History is off: {historyOff}
            </div>
          )}
          {openIncident && (
            <div className="banner warning" role="alert" data-testid="incident-open">
              Incident open since {new Date(openIncident.opened_at_ms).toLocaleTimeString()}:{" "}
              {openIncident.cause.summary.replace(/\.+$/, "")}
              {(runtime?.incidents.length ?? 0) > 1 && ` (and ${(runtime?.incidents.length ?? 1) - 1} more)`}. See{" "}
              <code>stackwarden timeline</code>.
            </div>
          )}
          {runtime && runtime.problems.length > 0 && (
            <div className="banner warning" role="alert" data-testid="task-problems">
              Stackwarden restarted a part of itself:{" "}
              {runtime.problems
                .map((p) => `${p.task} ${p.reason} (restarted ${p.restarts} ${p.restarts === 1 ? "time" : "times"})`)
                .join("; ")}
              . It keeps watching; if this repeats, please report it.
            </div>
          )}
          {quarantined.length > 0 && (
            <div className="banner warning" role="alert" data-testid="quarantined">
              The healer stopped acting on {quarantined.join(", ")}: it needs you. See Healing.
            </div>
          )}
          {recoverWhy && view !== "recover" && (
            <div className="banner warning recover-banner" role="alert" data-testid="recover-banner">
              {recoverWhy} The recovery wizard diagnoses it, shows a plan and proves the data survived.{" "}
              <button className="primary" onClick={showRecover} data-testid="recover-open">
                Recover…
              </button>
            </div>
          )}
          {health?.stack_error && (
            <div className="banner warning" role="alert" data-testid="stack-error">
              {health.stack_error}
            </div>
          )}
          {view === "settings" ? (
            <SettingsPanel backend={backend} />
          ) : view === "recover" ? (
            <RecoveryPanel backend={backend} />
          ) : view === "verify" ? (
            <VerifyPanel backend={backend} />
          ) : view === "timeline" ? (
            <TimelinePanel backend={backend} />
          ) : view === "telemetry" ? (
            <TelemetryPanel backend={backend} />
          ) : view === "healing" ? (
            <HealingPanel backend={backend} healing={runtime?.healing ?? null} />
          ) : view === "health" && connected ? (
            <HealthPanel backend={backend} health={health} />
          ) : snapshot === null ? (
            <p className="muted">Starting…</p>
          ) : snapshot.engine.kind === "unreachable" ? (
            <EngineProblem engine={snapshot.engine} onRetry={retryEngine} />
          ) : snapshot.engine.kind === "connecting" ? (
            <p className="muted" role="status">Looking for the container engine…</p>
          ) : (
            <div>
              <ServiceTable
                backend={backend}
                rows={tableRows}
                stackName={health?.stack_name ?? null}
                stackProject={health?.stack_project ?? null}
                stackServices={health?.services ?? null}
                statuses={health?.breakdown?.services ?? null}
                selected={selected}
                engineHost={snapshot?.engine.kind === "connected" ? remoteEngineHost(snapshot.engine.endpoint) : null}
                onToggle={toggleDetail}
              />
              {selectedRow && (
                <ServiceDetail
                  key={selectedRow.id}
                  backend={backend}
                  row={selectedRow}
                  health={health}
                  onClose={closeDetail}
                />
              )}
            </div>
          )}
        </main>
      </div>
    </div>
  );
}

const Sidebar = memo(function Sidebar({ view, onSelect }: { view: View; onSelect: (v: View) => void }) {
  return (
    <nav className="sidebar" aria-label="Views">
      {VIEWS.map((v) => (
        <button
          key={v}
          type="button"
          className={`nav-item${view === v ? " active" : ""}`}
          aria-current={view === v ? "page" : undefined}
          onClick={() => onSelect(v)}
          data-testid={`nav-${v}`}
        >
          {VIEW_LABEL[v]}
        </button>
      ))}
    </nav>
  );
});
