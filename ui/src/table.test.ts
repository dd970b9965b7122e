import { describe, expect, it } from "vitest";
import { filterRows, nextSort, sortRows } from "./table";
import { humanBytes, humanDuration } from "./format";
import { row } from "./test/fixtures";

const usage = (cpu: number, mem: number) => ({
  cpu_percent: cpu,
  memory_used_bytes: mem,
  memory_limit_bytes: 1e9,
  sampled_at_ms: 0,
});

describe("sortRows", () => {
  const rows = [
    row({ name: "redis", usage: usage(0.2, 9_600_000), state: "running", started_at_ms: 5000 }),
    row({ name: "llama", usage: usage(1.8, 2_900_000_000), state: "running", started_at_ms: 1000 }),
    row({ name: "aider", state: "exited", started_at_ms: null }),
  ];
  it.each([
    ["name", false, ["aider", "llama", "redis"]],
    ["name", true, ["redis", "llama", "aider"]],
    ["cpu", true, ["llama", "redis", "aider"]],
    ["memory", false, ["aider", "redis", "llama"]],
    ["state", false, ["aider", "llama", "redis"]],
    ["uptime", false, ["aider", "redis", "llama"]],
    ["uptime", true, ["llama", "redis", "aider"]],
  ] as const)("by %s (descending %s)", (key, descending, want) => {
    expect(sortRows(rows, { key, descending }).map((r) => r.name)).toEqual(want);
  });
  it("flips direction on the same column and resets on a new one", () => {
    expect(nextSort({ key: "cpu", descending: false }, "cpu")).toEqual({ key: "cpu", descending: true });
    expect(nextSort({ key: "cpu", descending: true }, "name")).toEqual({ key: "name", descending: false });
  });
});

describe("filterRows", () => {
  const rows = [
    row({ name: "local-ai-redis", project: "ai", health: "healthy" }),
    row({ name: "local-ai-postgres", project: "ai", state: "exited" }),
    row({ name: "web", project: "blog" }),
  ];
  it.each([
    ["", 3],
    ["ai", 2],
    ["AI exited", 1],
    ["healthy", 1],
    ["nothing-like-this", 0],
  ])("query %j keeps %i rows", (q, n) => {
    expect(filterRows(rows, q)).toHaveLength(n);
  });
});

describe("format", () => {
  it("matches the CLI's figures", () => {
    expect(humanBytes(9_600_000)).toBe("9.6MB");
    expect(humanBytes(512)).toBe("512B");
    expect(humanDuration(30 * 60_000)).toBe("30m");
    expect(humanDuration(52 * 3_600_000)).toBe("2d4h");
  });
});
