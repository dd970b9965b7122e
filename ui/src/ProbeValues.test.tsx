import { cleanup, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { ProbeResults } from "./components/ProbeResults";
import { count, ProbeValuesView, savedAt } from "./components/ProbeValuesView";
import type { ProbeValues } from "./bindings/ProbeValues";
import type { StackServiceView } from "./bindings/StackServiceView";
import { fakeBackend, snapshot, stackHealth } from "./test/fixtures";

afterEach(cleanup);

const llama: ProbeValues = {
  kind: "llama",
  MODEL: { id: "/models/qwen2.5-coder-7b-instruct-q4_k_m.gguf", path: null, n_params: 7615616512, size: 4677120000, n_ctx_train: 32768 },
  N_CTX: 8192,
  SLOTS_TOTAL: 4,
  SLOTS_BUSY: 1,
  METRICS: true,
  TOKENS_PER_SECOND: 42.5,
  PROMPT_TOKENS_PER_SECOND: 310.25,
  REQUESTS_PROCESSING: 1,
  REQUESTS_DEFERRED: 0,
};

const mcp: ProbeValues = {
  kind: "mcp",
  PROTOCOL: "2025-06-18",
  SERVER: "aidb-test",
  SERVER_VERSION: "1.2.3",
  TOOLS: ["search_documents", "add_document", "<img src=x onerror=alert(1)>"],
};

describe("typed probe values", () => {
  it("shows llama.cpp's model, context, slots and throughput", () => {
    render(<ProbeValuesView values={llama} id="llama-llama" />);
    expect(screen.getByTestId("llama-model-llama-llama").textContent).toContain("qwen2.5-coder-7b-instruct-q4_k_m.gguf");
    expect(screen.getByTestId("llama-model-llama-llama").textContent).toContain("7.6 B parameters");
    expect(screen.getByTestId("llama-slots-llama-llama").textContent).toBe("context 8,192 tokens · slots 1/4 busy");
    expect(screen.getByTestId("llama-metrics-llama-llama").textContent).toContain("42.5 tokens/s");
    expect(screen.getByTestId("llama-metrics-llama-llama").textContent).toContain("requests: 1 processing, 0 deferred");
  });

  it("says when no model is loaded and when metrics are off", () => {
    const none: ProbeValues = { ...llama, kind: "llama", MODEL: null, METRICS: false, SLOTS_BUSY: null, TOKENS_PER_SECOND: null };
    render(<ProbeValuesView values={none} id="l" />);
    expect(screen.getByTestId("llama-model-l").textContent).toBe("No model loaded");
    expect(screen.getByTestId("llama-slots-l").textContent).toContain("4 slots (/slots off)");
    expect(screen.getByTestId("llama-metrics-l").textContent).toContain("metrics off");
  });

  it("lists an MCP server's tools as text, never as HTML", () => {
    const { container } = render(<ProbeValuesView values={mcp} id="aidb-mcp" />);
    expect(screen.getByTestId("mcp-tool-count-aidb-mcp").textContent).toBe("3 tools");
    const tools = within(screen.getByTestId("mcp-tools-aidb-mcp")).getAllByRole("listitem");
    expect(tools.map((t) => t.textContent)).toEqual(["search_documents", "add_document", "<img src=x onerror=alert(1)>"]);
    expect(container.querySelector("img")).toBeNull();
    expect(screen.getByTestId("mcp-aidb-mcp").textContent).toContain("protocol 2025-06-18");
  });

  it("shows Qdrant's collections, PostgreSQL's rows and Redis' keys", () => {
    render(
      <>
        <ProbeValuesView
          values={{
            kind: "qdrant",
            COLLECTIONS: {
              documents: { status: "green", points_count: 1234, indexed_vectors_count: 1200 },
              broken: { status: "red", points_count: null, indexed_vectors_count: null },
            },
          }}
          id="q"
        />
        <ProbeValuesView values={{ kind: "postgres", ROWS: { tool_registry: 42, gone: null }, PGVECTOR: "0.8.0" }} id="p" />
        <ProbeValuesView values={{ kind: "redis", USED_MEMORY: 1_500_000, KEYS: 7, LAST_SAVE: null, LAST_BGSAVE_STATUS: "err" }} id="r" />
      </>,
    );
    const rows = within(screen.getByTestId("qdrant-q")).getAllByRole("row");
    expect(rows.map((r) => r.textContent)).toEqual(["CollectionStatusPointsIndexed vectors", "documentsgreen1,2341,200", "brokenred––"]);
    expect(screen.getByTestId("postgres-p").textContent).toContain("pgvector 0.8.0");
    expect(screen.getByTestId("postgres-p").textContent).toContain("tool_registry ≈ 42 rows");
    expect(screen.getByTestId("postgres-p").textContent).toContain("gone no estimate");
    expect(screen.getByTestId("redis-r").textContent).toBe("1.5MB used · 7 keys · last save never (last background save err)");
  });

  it("formats counts and save times", () => {
    expect(count(7_615_616_512)).toBe("7.6 B");
    expect(count(2_500_000)).toBe("2.5 M");
    expect(count(1234)).toBe("1,234");
    expect(savedAt(1000, 1000 * 1000 + 90_000)).toContain("(90 s ago)");
    expect(savedAt(1000, 1000 * 1000 + 3 * 3600_000)).toContain("(3 h ago)");
  });

  it("shows the values under their probe in the probe list", async () => {
    const h = stackHealth();
    const first = h.services[0];
    if (!first) throw new Error("the fixture has services");
    const web: StackServiceView = {
      ...first,
      probes: [{ name: "mcp", kind: "mcp", target: "http://127.0.0.1:8000/mcp", interval_ms: 30000, timeout_ms: 5000, values: mcp }],
    };
    render(<ProbeResults backend={fakeBackend(snapshot([]), h)} service={web} runs={[]} />);
    expect((await screen.findByTestId("mcp-tool-count-web-mcp")).textContent).toBe("3 tools");
  });
});
