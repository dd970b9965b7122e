// Render counting for tests: components that must stay still between changes
// call `countRender` as they render, so a test can prove that a `snapshot`
// or `health` event, or a tick of the clock, re-renders only what changed.
// Outside vitest `counts` is null and the call does nothing (the bundler
// drops the branch).
const counts: Map<string, number> | null = import.meta.env.MODE === "test" ? new Map() : null;

export function countRender(what: string): void {
  if (counts) counts.set(what, (counts.get(what) ?? 0) + 1);
}

/** Renders counted since the last reset, by name. */
export function renderCounts(): Record<string, number> {
  return Object.fromEntries(counts ?? []);
}

export function resetRenderCounts(): void {
  counts?.clear();
}
