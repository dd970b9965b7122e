// What to do when no engine answers: every endpoint tried, why it failed, and
// how to start Podman. The monitor keeps retrying by itself.
import type { EngineStatus } from "../bindings/EngineStatus";

type Unreachable = Extract<EngineStatus, { kind: "unreachable" }>;

export function EngineProblem({ engine, onRetry }: { engine: Unreachable; onRetry: () => void }) {
  return (
    <section className="empty" aria-labelledby="engine-problem" data-testid="engine-problem">
      <h2 id="engine-problem">No container engine answered</h2>
      <p>Stackwarden tried these endpoints, in this order:</p>
      <table className="attempts">
        <thead>
          <tr>
            <th scope="col">Endpoint</th>
            <th scope="col">From</th>
            <th scope="col">Why it failed</th>
          </tr>
        </thead>
        <tbody>
          {engine.attempts.map((a) => (
            <tr key={a.endpoint}>
              <td><code>{a.endpoint}</code></td>
              <td>{a.source}</td>
              <td>{a.error}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="hint">{engine.hint}</p>
      <p className="muted">
        Trying again by itself every {Math.round(engine.retry_in_ms / 100) / 10} s.{" "}
        <button type="button" onClick={onRetry}>Retry now</button>
      </p>
    </section>
  );
}
