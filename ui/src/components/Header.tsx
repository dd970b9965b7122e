// Always-visible overall state, in the tray's colours.
import type { StackSnapshot } from "../bindings/StackSnapshot";

export function Header({ snapshot }: { snapshot: StackSnapshot | null }) {
  const level = snapshot?.summary.level ?? "connecting";
  const engine = snapshot?.engine;
  return (
    <header className="header">
      <h1 className="brand">Stackwarden</h1>
      <div className={`overall level-${level}`} role="status" aria-live="polite" data-testid="overall">
        <span className="dot" aria-hidden="true" />
        {snapshot?.summary.headline ?? "Starting…"}
      </div>
      <div className="engine muted" data-testid="engine">
        {engine?.kind === "connected"
          ? `Engine: ${engine.endpoint} (${engine.source})`
          : engine?.kind === "unreachable"
            ? "Engine: unreachable"
            : "Engine: connecting…"}
      </div>
    </header>
  );
}
