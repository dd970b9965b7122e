// The window: a header with the overall state, a sidebar of views and the
// current view. State comes from the Rust side as `snapshot` events; this
// component only reads it and sends actions back.
import { useCallback, useEffect, useState } from "react";
import type { Backend } from "./api";
import type { AppInfo } from "./bindings/AppInfo";
import type { ContainerId } from "./bindings/ContainerId";
import type { StackSnapshot } from "./bindings/StackSnapshot";
import { EngineProblem } from "./components/EngineProblem";
import { Header } from "./components/Header";
import { ServiceDetail } from "./components/ServiceDetail";
import { ServiceTable } from "./components/ServiceTable";

export function App({ backend }: { backend: Backend }) {
  const [snapshot, setSnapshot] = useState<StackSnapshot | null>(null);
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [selected, setSelected] = useState<ContainerId | null>(null);
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    let unlisten: (() => void) | undefined;
    let cancelled = false;
    backend.onSnapshot((s) => setSnapshot(s)).then((u) => {
      if (cancelled) u();
      else unlisten = u;
    });
    backend.getSnapshot().then((s) => !cancelled && setSnapshot((cur) => cur ?? s));
    backend.appInfo().then((i) => !cancelled && setInfo(i));
    return () => {
      cancelled = true;
      unlisten?.();
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
      <Header snapshot={snapshot} />
      <div className="body">
        <nav className="sidebar" aria-label="Views">
          <a className="nav-item active" href="#services" aria-current="page">
            Services
          </a>
        </nav>
        <main id="services" className="content">
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
          {snapshot === null ? (
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
                now={now}
                selected={selected}
                onSelect={setSelected}
              />
              {selectedRow && (
                <ServiceDetail
                  key={selectedRow.id}
                  backend={backend}
                  row={selectedRow}
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
