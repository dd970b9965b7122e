// The window: a header with the overall state, a sidebar of views and the
// current view. State comes from the Rust side as `snapshot` and `health`
// events; this component only reads them and sends actions back.
import { useCallback, useEffect, useState } from "react";
import type { Backend } from "./api";
import type { AppInfo } from "./bindings/AppInfo";
import type { ContainerId } from "./bindings/ContainerId";
import type { StackHealth } from "./bindings/StackHealth";
import type { StackSnapshot } from "./bindings/StackSnapshot";
import type { VerificationSummary } from "./bindings/VerificationSummary";
import { HealthPanel } from "./components/HealthPanel";
import { VerifyPanel } from "./components/VerifyPanel";
import { EngineProblem } from "./components/EngineProblem";
import { Header } from "./components/Header";
import { ServiceDetail } from "./components/ServiceDetail";
import { ServiceTable } from "./components/ServiceTable";

export function App({ backend }: { backend: Backend }) {
  const [snapshot, setSnapshot] = useState<StackSnapshot | null>(null);
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [selected, setSelected] = useState<ContainerId | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const [health, setHealth] = useState<StackHealth | null>(null);
  const [view, setView] = useState<"services" | "health" | "verify">("services");
  const [lastVerification, setLastVerification] = useState<VerificationSummary | null>(null);

  useEffect(() => {
    let unlisten: (() => void) | undefined;
    let unlistenHealth: (() => void) | undefined;
    let unlistenView: (() => void) | undefined;
    let unlistenVerify: (() => void) | undefined;
    let cancelled = false;
    backend.onSnapshot((s) => setSnapshot(s)).then((u) => {
      if (cancelled) u();
      else unlisten = u;
    });
    backend.onHealth((h) => setHealth(h)).then((u) => {
      if (cancelled) u();
      else unlistenHealth = u;
    });
    backend.onShowView((v) => v === "verify" && setView("verify")).then((u) => {
      if (cancelled) u();
      else unlistenView = u;
    });
    backend
      .onVerifyDone((run) =>
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
      )
      .then((u) => {
        if (cancelled) u();
        else unlistenVerify = u;
      });
    backend
      .verificationHistory()
      .then((h) => !cancelled && setLastVerification((cur) => cur ?? h[0] ?? null))
      .catch(() => {});
    backend.getSnapshot().then((s) => !cancelled && setSnapshot((cur) => cur ?? s));
    backend.getHealth().then((h) => !cancelled && setHealth((cur) => cur ?? h));
    backend.appInfo().then((i) => !cancelled && setInfo(i));
    return () => {
      cancelled = true;
      unlisten?.();
      unlistenHealth?.();
      unlistenView?.();
      unlistenVerify?.();
    };
  }, [backend]);

  // Resources are sampled only while the window is on screen.
  useEffect(() => {
    const report = () => void backend.setViewVisible(!document.hidden);
    report();
    document.addEventListener("visibilitychange", report);
    const tick = window.setInterval(() => !document.hidden && setNow(Date.now()), 1000);
    return () => {
      document.removeEventListener("visibilitychange", report);
      window.clearInterval(tick);
    };
  }, [backend]);

  const closeDetail = useCallback(() => setSelected(null), []);
  const selectedRow = snapshot?.services.find((s) => s.id === selected) ?? null;

  return (
    <div className="app">
      <Header
        snapshot={snapshot}
        health={health}
        lastVerification={lastVerification}
        onShowHealth={() => setView("health")}
        onShowVerify={() => setView("verify")}
      />
      <div className="body">
        <nav className="sidebar" aria-label="Views">
          {(["services", "health", "verify"] as const).map((v) => (
            <button
              key={v}
              type="button"
              className={`nav-item${view === v ? " active" : ""}`}
              aria-current={view === v ? "page" : undefined}
              onClick={() => setView(v)}
              data-testid={`nav-${v}`}
            >
              {v === "services" ? "Services" : v === "health" ? "Health" : "Verify"}
            </button>
          ))}
        </nav>
        <main id={view} className="content">
          {snapshot?.config_error && (
            <div className="banner warning" role="alert" data-testid="config-error">
              {snapshot.config_error}
            </div>
          )}
          {info?.store_error && (
            <div className="banner warning" role="alert">
              History is off: {info.store_error}
            </div>
          )}
          {health?.stack_error && (
            <div className="banner warning" role="alert" data-testid="stack-error">
              {health.stack_error}
            </div>
          )}
          {view === "verify" ? (
            <VerifyPanel backend={backend} />
          ) : view === "health" && snapshot?.engine.kind === "connected" ? (
            <HealthPanel backend={backend} health={health} />
          ) : snapshot === null ? (
            <p className="muted">Starting…</p>
          ) : snapshot.engine.kind === "unreachable" ? (
            <EngineProblem engine={snapshot.engine} onRetry={() => void backend.retryEngine()} />
          ) : snapshot.engine.kind === "connecting" ? (
            <p className="muted" role="status">Looking for the container engine…</p>
          ) : (
            <div>
              <ServiceTable
                backend={backend}
                rows={snapshot.services}
                health={health}
                now={now}
                selected={selected}
                onSelect={setSelected}
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
