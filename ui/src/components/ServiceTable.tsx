// The live service table: grouped by compose project, sortable by any column,
// filterable, with start/stop/restart/logs per row. Actions show progress
// while they run and say how they ended. Containers the stack file names
// carry their stack, group and health status; stack services with no
// container at all are listed after them.
import { useEffect, useMemo, useRef, useState } from "react";
import { asUiError, type Backend } from "../api";
import type { ContainerAction } from "../bindings/ContainerAction";
import type { ContainerId } from "../bindings/ContainerId";
import type { ServiceRow } from "../bindings/ServiceRow";
import type { StackHealth } from "../bindings/StackHealth";
import type { StackServiceView } from "../bindings/StackServiceView";
import { type Membership, membership, missingServices } from "../health";
import { humanBytes, humanDuration, percent } from "../format";
import { filterRows, nextSort, type Sort, type SortKey, sortRows } from "../table";

interface Outcome {
  kind: "ok" | "error";
  text: string;
}

const columns: { key: SortKey | null; label: string }[] = [
  { key: "name", label: "Name" },
  { key: null, label: "Image" },
  { key: "state", label: "State" },
  { key: "health", label: "Health" },
  { key: "cpu", label: "CPU" },
  { key: "memory", label: "Memory" },
  { key: "uptime", label: "Uptime" },
  { key: "restarts", label: "Restarts" },
  { key: null, label: "Ports" },
  { key: null, label: "Actions" },
];

const progressWord: Record<ContainerAction, string> = { start: "Starting", stop: "Stopping", restart: "Restarting" };
const doneWord: Record<ContainerAction, string> = { start: "Started", stop: "Stopped", restart: "Restarted" };

export function groupByProject(rows: ServiceRow[]): [string, ServiceRow[]][] {
  const groups = new Map<string, ServiceRow[]>();
  for (const r of rows) {
    const key = r.project ?? "";
    const list = groups.get(key) ?? [];
    list.push(r);
    groups.set(key, list);
  }
  return [...groups.entries()].sort(([a], [b]) => (a === "" ? 1 : b === "" ? -1 : a.localeCompare(b)));
}

interface Props {
  backend: Backend;
  rows: ServiceRow[];
  health: StackHealth | null;
  now: number;
  selected: ContainerId | null;
  onSelect: (id: ContainerId | null) => void;
}

export function ServiceTable({ backend, rows, health, now, selected, onSelect }: Props) {
  const [query, setQuery] = useState("");
  const [sort, setSort] = useState<Sort>({ key: "name", descending: false });
  const [pending, setPending] = useState<Record<string, ContainerAction>>({});
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const filterRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement;
      if (e.key === "/" && !typing) {
        e.preventDefault();
        filterRef.current?.focus();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const members = useMemo(() => membership(health), [health]);
  const missing = useMemo(() => missingServices(health), [health]);
  const groups = useMemo(
    () => groupByProject(sortRows(filterRows(rows, query), sort, now)),
    [rows, query, sort, now],
  );

  async function act(row: ServiceRow, action: ContainerAction) {
    setPending((p) => ({ ...p, [row.id]: action }));
    setOutcome(null);
    try {
      await backend.containerAction(row.id, action);
      setOutcome({ kind: "ok", text: `${doneWord[action]} ${row.name}.` });
    } catch (e) {
      setOutcome({ kind: "error", text: `Could not ${action} ${row.name}: ${asUiError(e).message}` });
    } finally {
      setPending((p) => {
        const next = { ...p };
        delete next[row.id];
        return next;
      });
    }
  }

  return (
    <section className="services" aria-label="Services">
      <div className="toolbar">
        <input
          ref={filterRef}
          type="search"
          placeholder="Filter by name, project, image, state…  ( / )"
          aria-label="Filter services"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={(e) => e.key === "Escape" && setQuery("")}
          data-testid="filter"
        />
        <span className="muted" data-testid="row-count">
          {groups.reduce((n, [, g]) => n + g.length, 0)} of {rows.length} containers
        </span>
      </div>
      {outcome && (
        <div
          className={`outcome ${outcome.kind}`}
          role={outcome.kind === "error" ? "alert" : "status"}
          data-testid="action-outcome"
        >
          {outcome.text}
          <button type="button" className="link" onClick={() => setOutcome(null)} aria-label="Dismiss">
            ×
          </button>
        </div>
      )}
      {rows.length === 0 && missing.length === 0 ? (
        <p className="empty muted">
          The engine has no containers. Start your stack (for example <code>podman-compose up -d</code>) and it
          appears here at once.
        </p>
      ) : (
        <div className="table-wrap">
        <table className="table" data-testid="service-table">
          <thead>
            <tr>
              {columns.map((c) => (
                <th
                  key={c.label}
                  scope="col"
                  aria-sort={
                    c.key && sort.key === c.key ? (sort.descending ? "descending" : "ascending") : undefined
                  }
                >
                  {c.key ? (
                    <button type="button" className="sort" onClick={() => setSort(nextSort(sort, c.key as SortKey))}>
                      {c.label}
                      {sort.key === c.key ? (sort.descending ? " ▼" : " ▲") : ""}
                    </button>
                  ) : (
                    c.label
                  )}
                </th>
              ))}
            </tr>
          </thead>
          {groups.map(([project, list]) => (
            <tbody key={project || "(none)"} data-testid={`group-${project || "none"}`}>
              <tr className="group">
                <th colSpan={columns.length} scope="rowgroup">
                  {project ? `Project ${project}` : "No compose project"}{" "}
                  <span className="muted">
                    {list.filter((r) => r.state === "running").length}/{list.length} running
                  </span>
                </th>
              </tr>
              {list.map((row) => (
                <Row
                  key={row.id}
                  row={row}
                  member={members.get(row.name)}
                  now={now}
                  pending={pending[row.id]}
                  selected={row.id === selected}
                  onSelect={() => onSelect(row.id === selected ? null : row.id)}
                  onAct={(a) => void act(row, a)}
                  onOpenPort={(url) => void backend.openUrl(url)}
                />
              ))}
            </tbody>
          ))}
          {missing.length > 0 && (
            <tbody data-testid="missing-services">
              <tr className="group">
                <th colSpan={columns.length} scope="rowgroup">
                  Stack {health?.stack_name}: services with no container{" "}
                  <span className="muted">{missing.length}</span>
                </th>
              </tr>
              {missing.map((s) => (
                <MissingRow key={s.service} service={s} />
              ))}
            </tbody>
          )}
        </table>
        </div>
      )}
    </section>
  );
}

function MissingRow({ service }: { service: StackServiceView }) {
  return (
    <tr data-testid={`missing-${service.service}`}>
      <td className="name">
        {service.container}
        <div className="muted small">
          {service.service} · {service.group}
          {service.required ? " (required)" : ""}
        </div>
      </td>
      <td className="image" title={service.image ?? ""}>{service.image ?? "—"}</td>
      <td>
        <span className="badge state-exited">no container</span>
      </td>
      <td colSpan={columns.length - 3} className="muted small note">
        Named in the stack file; the engine has no such container.
      </td>
    </tr>
  );
}

interface RowProps {
  row: ServiceRow;
  member: Membership | undefined;
  now: number;
  pending: ContainerAction | undefined;
  selected: boolean;
  onSelect: () => void;
  onAct: (a: ContainerAction) => void;
  onOpenPort: (url: string) => void;
}

function Row({ row, member, now, pending, selected, onSelect, onAct, onOpenPort }: RowProps) {
  const running = row.state === "running";
  const busy = pending !== undefined;
  const usage = row.usage;
  return (
    <tr
      className={selected ? "selected" : undefined}
      data-testid={`row-${row.name}`}
      tabIndex={0}
      aria-selected={selected}
      onKeyDown={(e) => {
        if (e.target === e.currentTarget && e.key === "Enter") onSelect();
      }}
      onDoubleClick={onSelect}
    >
      <td className="name">
        <button type="button" className="link" onClick={onSelect} title="Show details and logs">
          {row.name}
        </button>
        {member ? (
          <div className="muted small" data-testid={`stack-${row.name}`}>
            {member.stack} · {member.service.group}
            {member.health && (
              <span className={`badge status-${member.health.status}`} title={member.health.reason}>
                {member.health.status}
              </span>
            )}
          </div>
        ) : (
          row.compose_service && <div className="muted small">{row.compose_service}</div>
        )}
      </td>
      <td className="image" title={row.image}>{row.image}</td>
      <td data-testid={`state-${row.name}`}>
        <span className={`badge state-${row.state}`}>
          {busy ? `${progressWord[pending]}…` : row.state}
          {!running && !busy && row.exit_code !== null ? ` (${row.exit_code})` : ""}
        </span>
      </td>
      <td data-testid={`health-${row.name}`}>
        <span className={`badge health-${row.health}`}>{row.health === "none" ? "—" : row.health}</span>
      </td>
      <td className="num">{usage ? percent(usage.cpu_percent) : "—"}</td>
      <td className="num">
        {usage ? (
          <>
            {humanBytes(usage.memory_used_bytes)}
            <span className="limit">of {humanBytes(usage.memory_limit_bytes)}</span>
          </>
        ) : (
          "—"
        )}
      </td>
      <td className="num">{row.started_at_ms !== null ? humanDuration(now - row.started_at_ms) : "—"}</td>
      <td className="num">{row.restart_count}</td>
      <td className="ports">
        <div className="cell-row">
        {row.ports.map((p) =>
          p.host_port !== null ? (
            <button
              key={`${p.host_ip}:${p.host_port}:${p.container_port}/${p.protocol}`}
              type="button"
              className="link"
              title="Open in the browser"
              onClick={() => onOpenPort(`http://${p.host_ip && p.host_ip !== "0.0.0.0" ? p.host_ip : "127.0.0.1"}:${p.host_port}`)}
            >
              {p.host_port}→{p.container_port}/{p.protocol}
            </button>
          ) : (
            <span key={`${p.container_port}/${p.protocol}`} className="muted">
              {p.container_port}/{p.protocol}
            </span>
          ),
        )}
        </div>
      </td>
      <td className="actions">
        <div className="cell-row">
        {running ? (
          <button type="button" disabled={busy} onClick={() => onAct("stop")} aria-label={`Stop ${row.name}`}>
            Stop
          </button>
        ) : (
          <button type="button" disabled={busy} onClick={() => onAct("start")} aria-label={`Start ${row.name}`}>
            Start
          </button>
        )}
        <button type="button" disabled={busy} onClick={() => onAct("restart")} aria-label={`Restart ${row.name}`}>
          Restart
        </button>
        <button type="button" onClick={onSelect} aria-label={`Logs of ${row.name}`}>
          Logs
        </button>
        </div>
      </td>
    </tr>
  );
}
