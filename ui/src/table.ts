// Sorting and filtering of the service table: pure functions over rows.
import type { ServiceRow } from "./bindings/ServiceRow";

export type SortKey = "name" | "project" | "state" | "health" | "cpu" | "memory" | "uptime" | "restarts";
export interface Sort {
  key: SortKey;
  descending: boolean;
}

const stateRank: Record<ServiceRow["state"], number> = {
  dead: 0, exited: 1, restarting: 2, removing: 3, paused: 4, created: 5, unknown: 6, running: 7,
};
const healthRank: Record<ServiceRow["health"], number> = { unhealthy: 0, starting: 1, none: 2, healthy: 3 };

function sortValue(row: ServiceRow, key: SortKey): string | number {
  switch (key) {
    case "name": return row.name.toLowerCase();
    case "project": return (row.project ?? "").toLowerCase();
    case "state": return stateRank[row.state];
    case "health": return healthRank[row.health];
    case "cpu": return row.usage?.cpu_percent ?? -1;
    case "memory": return row.usage?.memory_used_bytes ?? -1;
    // Longer uptime is an earlier start, whatever the time is now; not running sorts first.
    case "uptime": return row.started_at_ms === null ? -Infinity : -row.started_at_ms;
    case "restarts": return row.restart_count;
  }
}

export function sortRows(rows: readonly ServiceRow[], sort: Sort): ServiceRow[] {
  const sign = sort.descending ? -1 : 1;
  return [...rows].sort((a, b) => {
    const va = sortValue(a, sort.key);
    const vb = sortValue(b, sort.key);
    if (va < vb) return -sign;
    if (va > vb) return sign;
    return a.name.localeCompare(b.name);
  });
}

/** Every word of the query must appear in the name, project, image, state or health. */
export function filterRows(rows: readonly ServiceRow[], query: string): ServiceRow[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...rows];
  return rows.filter((r) => {
    const haystack = [r.name, r.project ?? "", r.image, r.state, r.health === "none" ? "" : r.health]
      .join(" ")
      .toLowerCase();
    return words.every((w) => haystack.includes(w));
  });
}

/** Next sort when a column header is chosen: same column flips, new column starts ascending. */
export function nextSort(current: Sort, key: SortKey): Sort {
  return current.key === key ? { key, descending: !current.descending } : { key, descending: false };
}
