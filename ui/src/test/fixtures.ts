// Hand-built rows and a fake backend for component tests.
import { vi } from "vitest";
import type { Backend } from "../api";
import type { ServiceRow } from "../bindings/ServiceRow";
import type { StackSnapshot } from "../bindings/StackSnapshot";

export function row(over: Partial<ServiceRow> & { name: string }): ServiceRow {
  return {
    id: `id-${over.name}`,
    image: "localhost/test:latest",
    project: null,
    compose_service: null,
    state: "running",
    health: "none",
    exit_code: null,
    started_at_ms: 0,
    restart_count: 0,
    ports: [],
    usage: null,
    ...over,
  };
}

export function snapshot(services: ServiceRow[], over: Partial<StackSnapshot> = {}): StackSnapshot {
  const running = services.filter((s) => s.state === "running").length;
  return {
    engine: { kind: "connected", endpoint: "unix:///run/podman/podman.sock", source: "DOCKER_HOST" },
    services,
    summary: {
      level: running === services.length ? "all_running" : "some_not_running",
      running,
      total: services.length,
      unhealthy: 0,
      headline: `${running} of ${services.length} running`,
    },
    config_error: null,
    updated_at_ms: 0,
    ...over,
  };
}

export function fakeBackend(initial: StackSnapshot): Backend & { emit: (s: StackSnapshot) => void } {
  let handler: ((s: StackSnapshot) => void) | null = null;
  return {
    getSnapshot: vi.fn(async () => initial),
    appInfo: vi.fn(async () => ({
      version: "0.1.0",
      config_path: null,
      database_path: null,
      store_error: null,
      refresh_interval_ms: 2000,
    })),
    containerAction: vi.fn(async () => {}),
    openLogs: vi.fn(async () => {}),
    closeLogs: vi.fn(async () => {}),
    serviceHistory: vi.fn(async () => []),
    setViewVisible: vi.fn(async () => {}),
    retryEngine: vi.fn(async () => {}),
    openUrl: vi.fn(async () => {}),
    onSnapshot: vi.fn(async (h) => {
      handler = h;
      return () => {
        handler = null;
      };
    }),
    onLogs: vi.fn(async () => () => {}),
    emit: (s) => handler?.(s),
  };
}
