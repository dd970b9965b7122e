"""What the AI services are doing, in the real window: a llama.cpp stand-in
(tests/support/llama/server.py, the JSON of llama-server's documented
monitoring endpoints) and a real MCP server from the official Python SDK
(tests/support/mcp/server.py) are started on free ports, two containers
stand for them in the engine, and the stack file gets two services whose
typed probes read them. Each service's detail shows what its probe read:
llama.cpp's model, context and slots, the MCP server's tools.

Runs before test_desktop.py (files run in name order) and leaves the app as
it found it: the stack file is restored, the containers removed and the
stand-ins stopped by their PIDs."""

import selectors
import subprocess
import sys
from pathlib import Path

from selenium.webdriver.common.by import By

from conftest import ARTIFACTS, ROOT, _stop
from test_desktop import button, text_of, wait_for
from webview import screenshot

CONTAINERS = ["sw-ai-llama", "sw-ai-aidb"]


def start(cmd):
    """Starts a stand-in that prints `PORT <n>`; returns it and its port."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    with selectors.DefaultSelector() as said:
        said.register(proc.stdout, selectors.EVENT_READ)
        line = proc.stdout.readline().strip() if said.select(timeout=30) else ""
    if not line.startswith("PORT "):
        _stop(proc)
        raise AssertionError(f"{cmd} did not say its port: {line!r}")
    return proc, int(line.split()[1])


def services(llama_port, mcp_port):
    return (
        "  llama:\n"
        "    image: localhost/sw-test-busybox:latest\n"
        "    container_name: sw-ai-llama\n"
        "    x-stackwarden:\n"
        "      group: agents\n"
        "      probes:\n"
        "        - name: llama\n"
        f"          llama: {{ url: \"http://127.0.0.1:{llama_port}\" }}\n"
        "          interval: 2s\n"
        "          timeout: 2s\n"
        "          conditions: [\"[SLOTS_BUSY] < 4\", \"[N_CTX] >= 8192\"]\n"
        "  aidb:\n"
        "    image: localhost/sw-test-busybox:latest\n"
        "    container_name: sw-ai-aidb\n"
        "    x-stackwarden:\n"
        "      group: agents\n"
        "      probes:\n"
        "        - name: mcp\n"
        f"          mcp: {{ url: \"http://127.0.0.1:{mcp_port}/mcp\" }}\n"
        "          interval: 5s\n"
        "          timeout: 5s\n"
        "          conditions: [\"len([TOOLS]) >= 5\"]\n"
    )


def shown(driver, testid, artifacts, what, timeout=20):
    """Waits for `testid`; on a timeout the detail's text and a screenshot
    say what the window showed instead."""
    try:
        return wait_for(what, lambda: text_of(driver, testid), timeout=timeout)
    except AssertionError as e:
        screenshot(driver, artifacts / f"window-detail-{testid}-missing.png")
        raise AssertionError(f"{e}; the detail showed: {text_of(driver, 'detail')!r}") from None


def open_detail(driver, container):
    """Opens the container's detail once its row is the stack service's; the
    table may re-render under a click while the stack file reloads, so the
    click is tried again if no detail opened."""
    wait_for(f"{container} marked as the stack's",
             lambda: "e2e · Agent Backends" in (text_of(driver, f"stack-{container}") or ""), timeout=30)
    for attempt in range(3):
        try:
            button(driver, f"Logs of {container}").click()
            return wait_for("detail", lambda: container in (text_of(driver, "detail") or ""), timeout=5)
        except Exception:
            if attempt == 2:
                screenshot(driver, ARTIFACTS / f"window-detail-{container}-not-opened.png")
                raise


def close_detail(driver):
    driver.find_element(By.CSS_SELECTOR, 'button[aria-label="Close details"]').click()
    wait_for("detail closed", lambda: text_of(driver, "detail") is None)


def test_a_service_detail_shows_llama_slots_and_mcp_tools(driver, workdir, artifacts):
    stack_file = workdir / "stack.yaml"
    good = stack_file.read_text()
    stand_ins = []
    try:
        llama, llama_port = start([sys.executable, str(ROOT / "tests/support/llama/server.py"),
                                   "--metrics", "--slots", "4", "--busy", "1", "--ctx", "8192"])
        stand_ins.append(llama)
        mcp, mcp_port = start([sys.executable, str(ROOT / "tests/support/mcp/server.py")])
        stand_ins.append(mcp)
        for name in CONTAINERS:
            subprocess.run(["podman", "rm", "-f", "-t", "0", name], capture_output=True)
            subprocess.run(["podman", "run", "-d", "--name", name, "localhost/sw-test-busybox:latest",
                            "sleep", "3600"], check=True, capture_output=True)
        assert "  aider:\n" in good
        stack_file.write_text(good.replace("  aider:\n", services(llama_port, mcp_port) + "  aider:\n"))
        wait_for("llama row", lambda: text_of(driver, "row-sw-ai-llama"), timeout=20)
        assert text_of(driver, "stack-error") is None, text_of(driver, "stack-error")

        open_detail(driver, "sw-ai-llama")
        slots = shown(driver, "llama-slots-llama-llama", artifacts, "llama slots")
        assert slots == "context 8,192 tokens · slots 1/4 busy", slots
        model = text_of(driver, "llama-model-llama-llama")
        assert "qwen2.5-coder-7b-instruct-q4_k_m.gguf" in model, model
        assert "42.5 tokens/s" in text_of(driver, "llama-metrics-llama-llama")
        wait_for("llama probe passes", lambda: "[SLOTS_BUSY] < 4" in (text_of(driver, "probes-llama") or ""))
        screenshot(driver, artifacts / "window-detail-llama.png")
        close_detail(driver)

        open_detail(driver, "sw-ai-aidb")
        count = shown(driver, "mcp-tool-count-aidb-mcp", artifacts, "mcp tools")
        assert count == "5 tools", count
        tools = [li.text for li in driver.find_elements(By.CSS_SELECTOR, '[data-testid="mcp-tools-aidb-mcp"] li')]
        assert sorted(tools) == ["add_document", "get_tool_registry", "list_collections", "record_event",
                                 "search_documents"], tools
        assert "aidb-test" in text_of(driver, "mcp-aidb-mcp")
        screenshot(driver, artifacts / "window-detail-mcp.png")
        close_detail(driver)
    finally:
        stack_file.write_text(good)
        subprocess.run(["podman", "rm", "-f", "-t", "0", *CONTAINERS], capture_output=True)
        for proc in stand_ins:
            _stop(proc)
    wait_for("the stack as it was", lambda: text_of(driver, "row-sw-ai-llama") is None, timeout=20)
