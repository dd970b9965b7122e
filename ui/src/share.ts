import { useRef } from "react";

// Structural sharing for event payloads. Tauri hands every event over as
// fresh JSON, so each `snapshot` and `health` would otherwise give every
// row, every service and every list a new identity, and every memoised
// component would render again. `share` keeps the previous objects wherever
// the data is equal.

/**
 * `next`, reusing `prev`'s objects and arrays wherever they are deep-equal
 * (arrays are compared by position). Returns `prev` itself when all of it is
 * equal. For JSON data: plain objects, arrays and primitives.
 */
export function share<T>(prev: T, next: T): T {
  return shareValue(prev, next) as T;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function shareValue(prev: unknown, next: unknown): unknown {
  if (Object.is(prev, next)) return prev;
  if (Array.isArray(prev) && Array.isArray(next)) {
    let same = prev.length === next.length;
    const out = next.map((n, i) => {
      const s = shareValue(prev[i], n);
      if (s !== prev[i]) same = false;
      return s;
    });
    return same ? prev : out;
  }
  if (isObject(prev) && isObject(next)) {
    const keys = Object.keys(next);
    let same = keys.length === Object.keys(prev).length;
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const s = shareValue(prev[k], next[k]);
      if (s !== prev[k] || !(k in prev)) same = false;
      out[k] = s;
    }
    return same ? prev : out;
  }
  return next;
}

/**
 * The state to keep when an event arrives: `prev` itself when the event
 * differs only in `updated_at_ms` (so the caller can skip `setState`),
 * otherwise `next` sharing every unchanged part of `prev`.
 */
export function keepIfEqual<T extends { updated_at_ms: number }>(prev: T | null, next: T): T {
  if (prev === null) return next;
  const shared = share(prev, next);
  if (shared === prev) return prev;
  const changed = (Object.keys(shared) as (keyof T)[]).some((k) => k !== "updated_at_ms" && shared[k] !== prev[k]);
  return changed ? shared : prev;
}

/**
 * `value`, or the one returned last time while `same` says they are alike:
 * a memoised child then skips renders for changes it does not show.
 */
export function useStable<T>(value: T, same: (a: T, b: T) => boolean): T {
  const kept = useRef(value);
  if (kept.current !== value && !same(kept.current, value)) kept.current = value;
  return kept.current;
}
