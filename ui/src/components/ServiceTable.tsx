// The live service table: grouped by compose project, sortable by any column,
// filterable, with start/stop/restart/logs per row. Actions show progress
// while they run and say how they ended. Containers the stack file names
// carry their stack, group and health status; stack services with no
// container at all are listed after them.
//
// A new snapshot re-renders only the rows whose shown values changed (rows
// are memoised and compare what they display), and time passing re-renders
// only the uptime cells whose text changes (see `clock.ts`).
import { memo, type RefObject, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { asUiError, type Backend } from "../api";
import type { ContainerAction } from "../bindings/ContainerAction";
import type { ContainerId } from "../bindings/ContainerId";
import type { PortMapping } from "../bindings/PortMapping";
import type { ResourceUsage } from "../bindings/ResourceUsage";
import type { ServiceRow } from "../bindings/ServiceRow";
import type { ServiceHealth } from "../bindings/ServiceHealth";
import type { StackServiceView } from "../bindings/StackServiceView";
import { useElapsed } from "../clock";
import { type Membership, membershipOf, missingOf, notDeployedOf } from "../health";
import { humanBytes, percent } from "../format";
import { countRender } from "../renderCount";
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

export interface RowGroup {
  /** Stable key: `stack`, `project:<name>` or `none`. */
  key: string;
  /** `group-stack`, `group-<project>` or `group-none`. */
  testId: string;
  label: string;
  rows: ServiceRow[];
}

/**
 * Rows grouped for the table: the stack's containers first (found by its
 * compose project or by `container_name`), then each other compose project,
 * then containers of no project.
 */
export function groupRows(
  rows: readonly ServiceRow[],
  stack: { name: string; project: string | null } | null,
  isStackContainer: (row: ServiceRow) => boolean,
): RowGroup[] {
  const stackRows: ServiceRow[] = [];
  const projects = new Map<string, ServiceRow[]>();
  const loose: ServiceRow[] = [];
  for (const r of rows) {
    if (stack && (isStackContainer(r) || (stack.project !== null && r.project === stack.project))) stackRows.push(r);
    else if (r.project) projects.set(r.project, [...(projects.get(r.project) ?? []), r]);
    else loose.push(r);
  }
  const out: RowGroup[] = [];
  if (stack && stackRows.length > 0) {
    const project = stack.project ? ` (project ${stack.project})` : "";
    out.push({ key: "stack", testId: "group-stack", label: `Stack ${stack.name}${project}`, rows: stackRows });
  }
  for (const [project, list] of [...projects.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    out.push({ key: `project:${project}`, testId: `group-${project}`, label: `Project ${project}`, rows: list });
  }
  if (loose.length > 0) out.push({ key: "none", testId: "group-none", label: "No compose project", rows: loose });
  return out;
}

const LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]", "0.0.0.0"];

/**
 * The host of an engine reached over TCP (`tcp://build-box:2375`), whose
 * published ports are on that host; null for a socket on this machine.
 */
export function remoteEngineHost(endpoint: string | null | undefined): string | null {
  if (!endpoint || !/^(tcp|https?):\/\//i.test(endpoint)) return null;
  try {
    const host = new URL(endpoint.replace(/^tcp:/i, "http:")).hostname.toLowerCase();
    return host && !LOCAL_HOSTS.includes(host) ? host : null;
  } catch {
    return null;
  }
}

/**
 * Where a published port opens: on the engine's host when the engine is
 * remote, else its host address, or loopback when it listens on all.
 */
export function portUrl(p: PortMapping, engineHost: string | null = null): string {
  if (engineHost) return `http://${engineHost}:${p.host_port}`;
  const wildcard = !p.host_ip || p.host_ip === "0.0.0.0" || p.host_ip === "::";
  const ip = p.host_ip ?? "";
  const host = wildcard ? "127.0.0.1" : ip.includes(":") ? `[${ip}]` : ip;
  return `http://${host}:${p.host_port}`;
}

interface Props {
  backend: Backend;
  rows: ServiceRow[];
  /** The parts of the stack's health the table shows (a new probe run leaves them alone). */
  stackName: string | null;
  /** The compose project of the stack's containers. */
  stackProject?: string | null;
  stackServices: StackServiceView[] | null;
  statuses: ServiceHealth[] | null;
  selected: ContainerId | null;
  /** The engine's host when it is reached over TCP (see `remoteEngineHost`). */
  engineHost?: string | null;
  /** Opens the detail of a container, or closes it when it is the open one. */
  onToggle: (id: ContainerId) => void;
}

export const ServiceTable = memo(function ServiceTable({
  backend,
  rows,
  stackName,
  stackProject = null,
  stackServices,
  statuses,
  selected,
  engineHost = null,
  onToggle,
}: Props) {
  countRender("ServiceTable");
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

  const members = useMemo(
    () => membershipOf(stackName, stackServices ?? [], statuses ?? []),
    [stackName, stackServices, statuses],
  );
  const missing = useMemo(() => missingOf(stackServices ?? [], statuses ?? []), [stackServices, statuses]);
  const notDeployed = useMemo(() => notDeployedOf(stackServices ?? [], statuses ?? []), [stackServices, statuses]);
  const reasons = useMemo(() => new Map((statuses ?? []).map((s) => [s.service, s.reason])), [statuses]);
  const groups = useMemo(
    () =>
      groupRows(
        sortRows(filterRows(rows, query), sort),
        stackName ? { name: stackName, project: stackProject ?? null } : null,
        (r) => members.has(r.name),
      ),
    [rows, query, sort, stackName, stackProject, members],
  );

  const act = useCallback(
    async (row: ServiceRow, action: ContainerAction) => {
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
    },
    [backend],
  );
  const openPort = useCallback((url: string) => backend.openUrl(url), [backend]);
  const changeSort = useCallback((key: SortKey) => setSort((s) => nextSort(s, key)), []);

  return (
    <section className="services" aria-label="Services">
      <div className="toolbar">
        <FilterBox value={query} onChange={setQuery} inputRef={filterRef} />
        <span className="muted" data-testid="row-count">
          {groups.reduce((n, g) => n + g.rows.length, 0)} of {rows.length} containers
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
      {rows.length === 0 && missing.length === 0 && notDeployed.length === 0 ? (
        <p className="empty muted">
          The engine has no containers. Start your stack (for example <code>podman-compose up -d</code>) and it
          appears here at once.
        </p>
      ) : (
        <div className="table-wrap">
        <table className="table" data-testid="service-table">
          <TableHead sort={sort} onSort={changeSort} />
          {groups.map(({ key, testId, label, rows: list }) => (
            <tbody key={key} data-testid={testId}>
              <tr className="group">
                <th colSpan={columns.length} scope="rowgroup">
                  {label}{" "}
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
                  pending={pending[row.id]}
                  selected={row.id === selected}
                  onToggle={onToggle}
                  onAct={act}
                  onOpenPort={openPort}
                  engineHost={engineHost}
                />
              ))}
            </tbody>
          ))}
          {missing.length > 0 && (
            <tbody data-testid="missing-services">
              <tr className="group">
                <th colSpan={columns.length} scope="rowgroup">
                  Stack {stackName}: services with no container{" "}
                  <span className="muted">{missing.length}</span>
                </th>
              </tr>
              {missing.map((s) => (
                <MissingRow key={s.service} service={s} reason={reasons.get(s.service) ?? null} deployed />
              ))}
            </tbody>
          )}
          {notDeployed.length > 0 && (
            <tbody data-testid="not-deployed-services">
              <tr className="group">
                <th colSpan={columns.length} scope="rowgroup">
                  Stack {stackName}: not deployed, not scored <span className="muted">{notDeployed.length}</span>
                </th>
              </tr>
              {notDeployed.map((s) => (
                <MissingRow key={s.service} service={s} reason={reasons.get(s.service) ?? null} deployed={false} />
              ))}
            </tbody>
          )}
        </table>
        </div>
      )}
    </section>
  );
});

/**
 * The filter field, apart from the table: React re-applies an input's `type`
 * and `name` attributes whenever the input renders, which inside the table's
 * component was on every resource sample.
 */
const FilterBox = memo(function FilterBox({
  value,
  onChange,
  inputRef,
}: {
  value: string;
  onChange: (value: string) => void;
  inputRef: RefObject<HTMLInputElement | null>;
}) {
  return (
    <input
      ref={inputRef}
      type="search"
      placeholder="Filter by name, project, image, state…  ( / )"
      aria-label="Filter services"
      value={value}
      onChange={(e) => onChange(e.target.value)}
      onKeyDown={(e) => e.key === "Escape" && onChange("")}
      data-testid="filter"
    />
  );
});

const TableHead = memo(function TableHead({ sort, onSort }: { sort: Sort; onSort: (key: SortKey) => void }) {
  return (
    <thead>
      <tr>
        {columns.map((c) => (
          <th
            key={c.label}
            scope="col"
            aria-sort={c.key && sort.key === c.key ? (sort.descending ? "descending" : "ascending") : undefined}
          >
            {c.key ? (
              <button type="button" className="sort" onClick={() => onSort(c.key as SortKey)}>
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
  );
});

const MissingRow = memo(function MissingRow({
  service,
  reason,
  deployed,
}: {
  service: StackServiceView;
  reason: string | null;
  /** False for a service that is not deployed rather than missing. */
  deployed: boolean;
}) {
  return (
    <tr data-testid={`${deployed ? "missing" : "not-deployed"}-${service.service}`}>
      <td className="name">
        {service.container}
        <div className="muted small">
          {service.service} · {service.group}
          {service.required ? " (required)" : ""}
        </div>
      </td>
      <td className="image" title={service.image ?? ""}>{service.image ?? "—"}</td>
      <td>
        <span className={`badge ${deployed ? "state-exited" : "status-not_deployed"}`}>
          {deployed ? "no container" : "not deployed"}
        </span>
      </td>
      <td colSpan={columns.length - 3} className="muted small note">
        {reason ?? "Named in the stack file; the engine has no such container."}
      </td>
    </tr>
  );
});

interface RowProps {
  row: ServiceRow;
  member: Membership | undefined;
  pending: ContainerAction | undefined;
  selected: boolean;
  onToggle: (id: ContainerId) => void;
  onAct: (row: ServiceRow, action: ContainerAction) => void;
  onOpenPort: (url: string) => Promise<void>;
  engineHost: string | null;
}

/** The usage figures as shown; samples that read the same are the same. */
function usageText(u: ResourceUsage | null): string {
  return u ? `${percent(u.cpu_percent)} ${humanBytes(u.memory_used_bytes)} ${humanBytes(u.memory_limit_bytes)}` : "";
}

function samePorts(a: PortMapping[], b: PortMapping[]): boolean {
  return (
    a === b ||
    (a.length === b.length &&
      a.every((p, i) => {
        const q = b[i];
        return (
          q !== undefined &&
          p.host_ip === q.host_ip &&
          p.host_port === q.host_port &&
          p.container_port === q.container_port &&
          p.protocol === q.protocol
        );
      }))
  );
}

/** Whether two lists of rows show the same, row by row. */
export function sameShownRows(a: readonly ServiceRow[], b: readonly ServiceRow[]): boolean {
  return a === b || (a.length === b.length && a.every((r, i) => sameShownRow(r, b[i] as ServiceRow)));
}

/** Whether two versions of a row show the same (a new sample time alone changes nothing). */
export function sameShownRow(a: ServiceRow, b: ServiceRow): boolean {
  return (
    a === b ||
    (a.id === b.id &&
      a.name === b.name &&
      a.image === b.image &&
      a.compose_service === b.compose_service &&
      a.state === b.state &&
      a.health === b.health &&
      a.exit_code === b.exit_code &&
      a.started_at_ms === b.started_at_ms &&
      a.restart_count === b.restart_count &&
      samePorts(a.ports, b.ports) &&
      usageText(a.usage) === usageText(b.usage))
  );
}

function sameMember(a: Membership | undefined, b: Membership | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return (
    a.stack === b.stack &&
    a.service.group === b.service.group &&
    a.health?.status === b.health?.status &&
    a.health?.reason === b.health?.reason
  );
}

function sameRowProps(a: RowProps, b: RowProps): boolean {
  return (
    a.pending === b.pending &&
    a.selected === b.selected &&
    a.onToggle === b.onToggle &&
    a.onAct === b.onAct &&
    a.onOpenPort === b.onOpenPort &&
    a.engineHost === b.engineHost &&
    sameMember(a.member, b.member) &&
    sameShownRow(a.row, b.row)
  );
}

const Row = memo(function Row({ row, member, pending, selected, onToggle, onAct, onOpenPort, engineHost }: RowProps) {
  countRender(`Row:${row.name}`);
  const [portError, setPortError] = useState<{ url: string; text: string } | null>(null);
  const trRef = useRef<HTMLTableRowElement>(null);
  const running = row.state === "running";
  const busy = pending !== undefined;
  const usage = row.usage;
  const onSelect = () => onToggle(row.id);

  async function openPort(url: string) {
    setPortError(null);
    try {
      await onOpenPort(url);
    } catch (e) {
      setPortError({ url, text: asUiError(e).message });
    }
  }

  function dismissPortError() {
    const url = portError?.url;
    setPortError(null);
    // Back to the port that failed, so the keyboard stays where it was.
    const buttons = trRef.current?.querySelectorAll<HTMLButtonElement>("button[data-url]") ?? [];
    Array.from(buttons)
      .find((b) => b.dataset.url === url)
      ?.focus();
  }

  return (
    <>
      <tr
        ref={trRef}
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
        <td className="num" data-testid={`uptime-${row.name}`}>
          {row.started_at_ms !== null ? <Uptime name={row.name} since={row.started_at_ms} /> : "—"}
        </td>
        <td className="num">{row.restart_count}</td>
        <td className="ports">
          <div className="cell-row">
          {row.ports.map((p) =>
            p.host_port !== null ? (
              <button
                key={`${p.host_ip}:${p.host_port}:${p.container_port}/${p.protocol}`}
                type="button"
                className="link"
                title={`Open ${portUrl(p, engineHost)} in the browser`}
                data-url={portUrl(p, engineHost)}
                onClick={() => void openPort(portUrl(p, engineHost))}
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
            <button type="button" disabled={busy} onClick={() => onAct(row, "stop")} aria-label={`Stop ${row.name}`}>
              Stop
            </button>
          ) : (
            <button type="button" disabled={busy} onClick={() => onAct(row, "start")} aria-label={`Start ${row.name}`}>
              Start
            </button>
          )}
          <button type="button" disabled={busy} onClick={() => onAct(row, "restart")} aria-label={`Restart ${row.name}`}>
            Restart
          </button>
          <button type="button" onClick={onSelect} aria-label={`Logs of ${row.name}`}>
            Logs
          </button>
          </div>
        </td>
      </tr>
      {portError && (
        <tr className="row-message" data-testid={`port-error-${row.name}`}>
          <td colSpan={columns.length}>
            <div
              className="outcome error"
              role="alert"
              onKeyDown={(e) => {
                if (e.key === "Escape") {
                  e.stopPropagation();
                  dismissPortError();
                }
              }}
            >
              <span>
                Could not open {portError.url} in the browser: {portError.text}
              </span>
              <button type="button" className="link" onClick={dismissPortError} aria-label="Dismiss">
                ×
              </button>
            </div>
          </td>
        </tr>
      )}
    </>
  );
}, sameRowProps);

/** A running container's uptime; only this text re-renders as time passes. */
const Uptime = memo(function Uptime({ name, since }: { name: string; since: number }) {
  countRender(`Uptime:${name}`);
  return <>{useElapsed(since)}</>;
});
