// What a typed probe read at its last run, in words: llama.cpp's model,
// context, slots and throughput; an MCP server's protocol, name and tools;
// Qdrant's collections; PostgreSQL's row estimates and pgvector; Redis'
// memory, keys and last save. Every text came from a service: it is shown
// as React text only, never as HTML.
import type { LlamaValues } from "../bindings/LlamaValues";
import type { McpValues } from "../bindings/McpValues";
import type { PostgresValues } from "../bindings/PostgresValues";
import type { ProbeValues } from "../bindings/ProbeValues";
import type { QdrantValues } from "../bindings/QdrantValues";
import type { RedisValues } from "../bindings/RedisValues";
import { humanBytes } from "../format";

/** 7615616512 → "7.6 B"; 1234 → "1,234". */
export function count(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  return Math.round(n).toLocaleString("en-US");
}

/** Seconds since the epoch as a local date and time, and how long ago. */
export function savedAt(epochSeconds: number, nowMs: number = Date.now()): string {
  const ms = epochSeconds * 1000;
  const ago = Math.max(0, Math.round((nowMs - ms) / 1000));
  const span = ago < 120 ? `${ago} s` : ago < 7200 ? `${Math.round(ago / 60)} min` : `${Math.round(ago / 3600)} h`;
  return `${new Date(ms).toLocaleString()} (${span} ago)`;
}

function Llama({ v, id }: { v: LlamaValues; id: string }) {
  const slots =
    v.SLOTS_TOTAL === null
      ? "slots unknown"
      : v.SLOTS_BUSY === null
        ? `${v.SLOTS_TOTAL} slots (/slots off)`
        : `slots ${v.SLOTS_BUSY}/${v.SLOTS_TOTAL} busy`;
  const model = v.MODEL;
  return (
    <ul className="conditions" data-testid={`llama-${id}`}>
      <li data-testid={`llama-model-${id}`}>
        {model ? (
          <>
            Model <code>{model.id}</code>
            {model.n_params !== null && <span className="muted"> · {count(model.n_params)} parameters</span>}
            {model.size !== null && <span className="muted"> · {humanBytes(model.size)}</span>}
          </>
        ) : (
          <span className="failed">No model loaded</span>
        )}
      </li>
      <li data-testid={`llama-slots-${id}`}>
        {v.N_CTX !== null ? `context ${count(v.N_CTX)} tokens` : "context unknown"} · {slots}
      </li>
      <li data-testid={`llama-metrics-${id}`}>
        {v.METRICS ? (
          <>
            {v.TOKENS_PER_SECOND !== null ? `${v.TOKENS_PER_SECOND.toFixed(1)} tokens/s` : "tokens/s not reported"}
            {v.PROMPT_TOKENS_PER_SECOND !== null && ` · prompt ${v.PROMPT_TOKENS_PER_SECOND.toFixed(1)} tokens/s`}
            {v.REQUESTS_PROCESSING !== null && ` · requests: ${count(v.REQUESTS_PROCESSING)} processing`}
            {v.REQUESTS_DEFERRED !== null && `, ${count(v.REQUESTS_DEFERRED)} deferred`}
          </>
        ) : (
          <span className="muted">metrics off (start llama-server with --metrics for tokens/s)</span>
        )}
      </li>
    </ul>
  );
}

function Mcp({ v, id }: { v: McpValues; id: string }) {
  return (
    <div data-testid={`mcp-${id}`}>
      <p className="small">
        Server <code>{v.SERVER}</code> {v.SERVER_VERSION} · protocol {v.PROTOCOL} ·{" "}
        <strong data-testid={`mcp-tool-count-${id}`}>
          {v.TOOLS.length} {v.TOOLS.length === 1 ? "tool" : "tools"}
        </strong>
      </p>
      {v.TOOLS.length > 0 && (
        <ul className="conditions" aria-label={`Tools of ${id}`} data-testid={`mcp-tools-${id}`}>
          {v.TOOLS.map((t, i) => (
            <li key={i}>
              <code>{t}</code>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Qdrant({ v, id }: { v: QdrantValues; id: string }) {
  const names = Object.entries(v.COLLECTIONS).flatMap(([name, c]) => (c ? [[name, c] as const] : []));
  if (names.length === 0) return <p className="muted small">No collection could be read.</p>;
  return (
    <table className="small" data-testid={`qdrant-${id}`}>
      <thead>
        <tr>
          <th>Collection</th>
          <th>Status</th>
          <th>Points</th>
          <th>Indexed vectors</th>
        </tr>
      </thead>
      <tbody>
        {names.map(([name, c]) => {
          return (
            <tr key={name}>
              <td>
                <code>{name}</code>
              </td>
              <td className={c.status === "red" ? "failed" : c.status === "green" ? "ok" : "muted"}>{c.status}</td>
              <td>{c.points_count === null ? "–" : count(c.points_count)}</td>
              <td>{c.indexed_vectors_count === null ? "–" : count(c.indexed_vectors_count)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function Postgres({ v, id }: { v: PostgresValues; id: string }) {
  const tables = Object.keys(v.ROWS);
  return (
    <div data-testid={`postgres-${id}`}>
      <p className="small">pgvector {v.PGVECTOR === null ? <span className="muted">not installed</span> : <code>{v.PGVECTOR}</code>}</p>
      {tables.length > 0 && (
        <ul className="conditions">
          {tables.map((t) => {
            const n = v.ROWS[t];
            return (
              <li key={t}>
                <code>{t}</code> <span className="muted">{n === null || n === undefined ? "no estimate" : `≈ ${count(n)} rows`}</span>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}

function Redis({ v, id }: { v: RedisValues; id: string }) {
  return (
    <p className="small" data-testid={`redis-${id}`}>
      {v.USED_MEMORY !== null ? `${humanBytes(v.USED_MEMORY)} used` : "memory unknown"} ·{" "}
      {v.KEYS !== null ? `${count(v.KEYS)} keys` : "keys unknown"} · last save{" "}
      {v.LAST_SAVE !== null && v.LAST_SAVE > 0 ? savedAt(v.LAST_SAVE) : "never"}
      {v.LAST_BGSAVE_STATUS !== null && (
        <span className={v.LAST_BGSAVE_STATUS === "ok" ? "muted" : "failed"}> (last background save {v.LAST_BGSAVE_STATUS})</span>
      )}
    </p>
  );
}

/** The values of one probe; `id` is `service-probe`, for test ids. */
export function ProbeValuesView({ values, id }: { values: ProbeValues; id: string }) {
  return (
    <div className="probe-values" data-testid={`probe-values-${id}`}>
      {values.kind === "llama" ? (
        <Llama v={values} id={id} />
      ) : values.kind === "mcp" ? (
        <Mcp v={values} id={id} />
      ) : values.kind === "qdrant" ? (
        <Qdrant v={values} id={id} />
      ) : values.kind === "postgres" ? (
        <Postgres v={values} id={id} />
      ) : (
        <Redis v={values} id={id} />
      )}
    </div>
  );
}
