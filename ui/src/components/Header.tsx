// Always-visible overall state, in the tray's colours: the containers and,
// once the stack's probes have run, its health score (opens the breakdown).
import type { StackHealth } from "../bindings/StackHealth";
import type { StackSnapshot } from "../bindings/StackSnapshot";
import { percentScore } from "../health";

export function Header({
  snapshot,
  health,
  onShowHealth,
}: {
  snapshot: StackSnapshot | null;
  health: StackHealth | null;
  onShowHealth: () => void;
}) {
  const level = snapshot?.summary.level ?? "connecting";
  const engine = snapshot?.engine;
  const scored = engine?.kind === "connected" && health?.breakdown ? health : null;
  return (
    <header className="header">
      <h1 className="brand">Stackwarden</h1>
      <div className={`overall level-${level}`} role="status" aria-live="polite" data-testid="overall">
        <span className="dot" aria-hidden="true" />
        {snapshot?.summary.headline ?? "Starting…"}
      </div>
      {scored?.breakdown && (
        <button
          type="button"
          className={`score-chip health-level-${scored.level}`}
          onClick={onShowHealth}
          title={scored.breakdown.formula}
          data-testid="header-score"
        >
          <span className="dot" aria-hidden="true" />
          {scored.stack_name}: {percentScore(scored.breakdown.overall)} healthy
        </button>
      )}
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
