// One clock for every cell that shows how long something has been running.
// It wakes only when some shown text changes (the next second while a value
// is under a minute, the next minute under a day, the next hour after that)
// and then re-renders only the cells whose text changed, never their row.
import { useEffect, useReducer } from "react";
import { humanDuration } from "./format";

interface Watcher {
  since: number;
  shown: string;
  changed: () => void;
}

const watchers = new Set<Watcher>();
let timer: ReturnType<typeof setTimeout> | undefined;

/** Milliseconds until `humanDuration(elapsed)` shows something else. */
export function untilNextChange(elapsed: number): number {
  if (elapsed < 0) return 1000 - elapsed;
  const step = elapsed < 60_000 ? 1000 : elapsed < 86_400_000 ? 60_000 : 3_600_000;
  return step - (elapsed % step);
}

function schedule() {
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
  if (watchers.size === 0) return;
  const now = Date.now();
  let wait = Infinity;
  for (const w of watchers) wait = Math.min(wait, untilNextChange(now - w.since));
  timer = setTimeout(wake, wait);
}

function wake() {
  timer = undefined;
  const now = Date.now();
  for (const w of watchers) {
    const text = humanDuration(now - w.since);
    if (text !== w.shown) {
      w.shown = text;
      w.changed();
    }
  }
  schedule();
}

/** Calls `changed` whenever the elapsed time since `since` reads differently from `shown`. */
function watch(since: number, shown: string, changed: () => void): () => void {
  const w: Watcher = { since, shown, changed };
  watchers.add(w);
  schedule();
  return () => {
    watchers.delete(w);
    schedule();
  };
}

/** The time since `since` (ms since the epoch) as the table shows it, kept current. */
export function useElapsed(since: number): string {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const text = humanDuration(Date.now() - since);
  useEffect(() => {
    const stop = watch(since, text, rerender);
    // Time may have moved on between the render and this effect.
    if (humanDuration(Date.now() - since) !== text) rerender();
    return stop;
  }, [since, text]);
  return text;
}
