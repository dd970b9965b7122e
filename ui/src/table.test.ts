import { describe, expect, it } from "vitest";
import { filterRows, nextSort, sortRows } from "./table";
import { humanBytes, humanDuration } from "./format";
import { row } from "./test/fixtures";
import { portUrl, remoteEngineHost } from "./components/ServiceTable";

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

describe("published ports", () => {
  const port = (host_ip: string) => ({ host_ip, host_port: 8080, container_port: 80, protocol: "tcp" });

  it("open on this machine for a local engine", () => {
    expect(portUrl(port("0.0.0.0"))).toBe("http://127.0.0.1:8080");
    expect(portUrl(port(""))).toBe("http://127.0.0.1:8080");
    expect(portUrl(port("::"))).toBe("http://127.0.0.1:8080");
    expect(portUrl(port("127.0.0.1"))).toBe("http://127.0.0.1:8080");
    expect(portUrl(port("::1"))).toBe("http://[::1]:8080");
  });

  it("open on the engine's host when it is reached over TCP", () => {
    expect(remoteEngineHost("unix:///run/podman/podman.sock")).toBeNull();
    expect(remoteEngineHost("tcp://127.0.0.1:2375")).toBeNull();
    expect(remoteEngineHost("tcp://Build-Box.lan:2376")).toBe("build-box.lan");
    expect(remoteEngineHost("tcp://[fd00::5]:2375")).toBe("[fd00::5]");
    expect(remoteEngineHost("not a url")).toBeNull();
    expect(portUrl(port("0.0.0.0"), "build-box.lan")).toBe("http://build-box.lan:8080");
  });
});
