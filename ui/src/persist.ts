// What the window was showing, kept across the window being closed to the
// tray and created again (a new web page, so sessionStorage would be empty):
// stored in localStorage under `stackwarden.<key>`.
import { type Dispatch, type SetStateAction, useEffect, useState } from "react";

const PREFIX = "stackwarden.";

export function loadValue<T>(key: string, valid: (v: unknown) => v is T): T | undefined {
  try {
    const raw = window.localStorage.getItem(PREFIX + key);
    if (raw === null) return undefined;
    const v: unknown = JSON.parse(raw);
    return valid(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

export function saveValue(key: string, value: unknown): void {
  try {
    if (value === null || value === undefined) window.localStorage.removeItem(PREFIX + key);
    else window.localStorage.setItem(PREFIX + key, JSON.stringify(value));
  } catch {
    // Storage full or disabled: the window just starts on its defaults.
  }
}

/** `useState` whose value is restored from and saved to localStorage. */
export function usePersistentState<T>(
  key: string,
  fallback: T,
  valid: (v: unknown) => v is T,
): [T, Dispatch<SetStateAction<T>>] {
  const [value, setValue] = useState<T>(() => loadValue(key, valid) ?? fallback);
  useEffect(() => saveValue(key, value), [key, value]);
  return [value, setValue];
}

export const isString = (v: unknown): v is string => typeof v === "string";
export const isStringOrNull = (v: unknown): v is string | null => v === null || typeof v === "string";
