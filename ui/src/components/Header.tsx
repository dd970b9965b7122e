// Always-visible overall state, in the tray's colours: the containers, the
// stack's health score once its probes have run (opens the breakdown) and
// the last verification (opens the Verify view).
import { memo } from "react";
import type { EngineStatus } from "../bindings/EngineStatus";
import type { HealthBreakdown } from "../bindings/HealthBreakdown";
import type { HealthLevel } from "../bindings/HealthLevel";
import type { StackSummary } from "../bindings/StackSummary";
import type { VerificationSummary } from "../bindings/VerificationSummary";
import { percentScore } from "../health";

interface Props {
  summary: StackSummary | null;
  engine: EngineStatus | null;
  stackName: string | null;
  level: HealthLevel | null;
  /** Only while the engine is connected. */
  breakdown: HealthBreakdown | null;
  lastVerification: VerificationSummary | null;
  onShowHealth: () => void;
  onShowVerify: () => void;
}

export const Header = memo(function Header({
  summary,
  engine,
  stackName,
  level,
  breakdown,
  lastVerification,
  onShowHealth,
  onShowVerify,
}: Props) {
  return (
    <header className="header">
      <h1 className="brand">Stackwarden</h1>
      <div className={`overall level-${summary?.level ?? "connecting"}`} role="status" aria-live="polite" data-testid="overall">
        <span className="dot" aria-hidden="true" />
        {summary?.headline ?? "Starting…"}
      </div>
      {breakdown && (
        <button
          type="button"
          className={`score-chip health-level-${level}`}
          onClick={onShowHealth}
          title={breakdown.formula}
          data-testid="header-score"
        >
          <span className="dot" aria-hidden="true" />
          {stackName}: {percentScore(breakdown.overall)} healthy
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
});
