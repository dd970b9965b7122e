// Always-visible overall state, in the tray's colours: the containers, the
// stack's health score once its probes have run (opens the breakdown) and
// the last verification (opens the Verify view).
import type { StackHealth } from "../bindings/StackHealth";
import type { StackSnapshot } from "../bindings/StackSnapshot";
import type { VerificationSummary } from "../bindings/VerificationSummary";
import { percentScore } from "../health";

export function Header({
  snapshot,
  health,
  lastVerification,
  onShowHealth,
  onShowVerify,
}: {
  snapshot: StackSnapshot | null;
  health: StackHealth | null;
  lastVerification: VerificationSummary | null;
  onShowHealth: () => void;
  onShowVerify: () => void;
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
      {lastVerification && (
        <button
          type="button"
          className={`link verified ${lastVerification.required_failed ? "bad" : "ok"}`}
          onClick={onShowVerify}
          data-testid="header-verified"
        >
          {lastVerification.required_failed ? "✗" : "✓"} verified{" "}
          {new Date(lastVerification.started_at_ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}:{" "}
          {lastVerification.passed}/{lastVerification.passed + lastVerification.failed + lastVerification.skipped}
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
