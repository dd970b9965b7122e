import { describe, expect, it } from "vitest";
import { untilNextChange } from "./clock";
import { humanDuration } from "./format";
import { keepIfEqual, share } from "./share";
import { row, snapshot } from "./test/fixtures";

describe("share", () => {
  it("keeps the previous objects wherever the data is equal", () => {
    const prev = snapshot([row({ name: "a" }), row({ name: "b" })]);
    const next = snapshot([row({ name: "a" }), row({ name: "b", restart_count: 1 })]);
    const shared = share(prev, next);
    expect(shared).toEqual(next);
    expect(shared).not.toBe(prev);
    expect(shared.services[0]).toBe(prev.services[0]);
    expect(shared.services[1]).not.toBe(prev.services[1]);
    expect(shared.services[1]?.ports).toBe(prev.services[1]?.ports);
    expect(shared.summary).toBe(prev.summary);
    expect(shared.engine).toBe(prev.engine);
  });

  it("returns the previous value when everything is equal", () => {
    const prev = snapshot([row({ name: "a" })]);
    expect(share(prev, snapshot([row({ name: "a" })]))).toBe(prev);
  });

  it("sees added and removed keys and elements", () => {
    expect(share({ a: 1 } as Record<string, number>, { a: 1, b: 2 })).toEqual({ a: 1, b: 2 });
    expect(share({ a: 1, b: 2 } as Record<string, number>, { a: 1 })).toEqual({ a: 1 });
    expect(share([1, 2], [1])).toEqual([1]);
    expect(share<unknown>(null, { a: 1 })).toEqual({ a: 1 });
  });
});

describe("keepIfEqual", () => {
  it("ignores a new updated_at_ms alone", () => {
    const prev = snapshot([row({ name: "a" })], { updated_at_ms: 1 });
    expect(keepIfEqual(prev, snapshot([row({ name: "a" })], { updated_at_ms: 2 }))).toBe(prev);
  });

  it("takes the new data, and its time, when anything else changed", () => {
    const prev = snapshot([row({ name: "a" })], { updated_at_ms: 1 });
    const kept = keepIfEqual(prev, snapshot([row({ name: "a", state: "exited" })], { updated_at_ms: 2 }));
    expect(kept.updated_at_ms).toBe(2);
    expect(kept.services[0]?.state).toBe("exited");
    expect(kept.engine).toBe(prev.engine);
  });
});

describe("untilNextChange", () => {
  it.each([0, 999, 1000, 59_999, 60_000, 61_500, 3_599_999, 3_600_000, 86_399_999, 86_400_000, 90_061_000, -2500])(
    "at %i ms the shown text changes exactly then and not before",
    (elapsed) => {
      const wait = untilNextChange(elapsed);
      expect(wait).toBeGreaterThan(0);
      const shown = humanDuration(elapsed);
      expect(humanDuration(elapsed + wait - 1)).toBe(shown);
      if (elapsed >= 0) expect(humanDuration(elapsed + wait)).not.toBe(shown);
    },
  );
});
