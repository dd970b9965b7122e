"""Benchmark: the first paint of the Timeline view's 24 h and 7 d ranges in
the real window (release app under Xvfb, driven by tauri-driver), on a data
folder written by `timeline_bench generate`.

The view notes `performance.now()` when a range is asked for and measures
`timeline-paint-<range>` once its lanes are on screen (the frame after the
render): the command's round trip through the IPC, the JSON, React's render
and layout. Each range is picked RUNS times (switching away in between);
medians are printed, with the command's round trip alone beside them.

    python3 bench/timeline_paint.py target/release/stackwarden-desktop DATA_DIR 9
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app_cpu import DISPLAY, DRIVER_PORT, start_session, stop, wait_for, wait_port  # noqa: E402

RANGES = ["24h", "7d"]
SPANS = {"24h": 24 * 3600 * 1000, "7d": 7 * 24 * 3600 * 1000}


def main():
    app, data, runs = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 9
    from selenium.webdriver.common.by import By
    from webview import open_session

    work = Path(tempfile.mkdtemp(prefix="sw-paint-"))
    config = work / "config.toml"
    config.write_text(f'[stack]\nfile = "{(data / "stack.yaml").resolve()}"\n')
    xvfb, bus, address = start_session()
    env = dict(os.environ, DISPLAY=DISPLAY, DBUS_SESSION_BUS_ADDRESS=address, NO_AT_BRIDGE="1",
               STACKWARDEN_DATA_DIR=str(data), STACKWARDEN_CONFIG=str(config),
               XDG_DATA_HOME=str(work / "xdg-data"), XDG_CACHE_HOME=str(work / "xdg-cache"),
               XDG_RUNTIME_DIR=str(work))
    driver_proc = None
    driver = None
    paints = {r: [] for r in RANGES}
    trips = {r: [] for r in RANGES}
    lanes = 0
    try:
        wait_for("Xvfb", lambda: Path(f"/tmp/.X11-unix/X{DISPLAY.lstrip(':')}").exists(), timeout=10)
        driver_proc = subprocess.Popen(["tauri-driver", "--port", str(DRIVER_PORT), "--native-port",
                                        str(DRIVER_PORT + 1)], env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(DRIVER_PORT)
        driver = open_session(DRIVER_PORT, app)
        wait_for("the window", lambda: driver.find_elements(By.CSS_SELECTOR, '[data-testid="nav-timeline"]'))
        time.sleep(5)  # start-up work (first probe rounds, page JIT) is over
        driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-timeline"]').click()
        wait_for("the lanes", lambda: driver.find_elements(By.CSS_SELECTOR, '[data-testid^="lane-"]'))
        for _ in range(runs):
            for r in RANGES:
                # Away first, so picking the range loads it anew.
                driver.find_element(By.CSS_SELECTOR, '[data-testid="range-1h"]').click()
                time.sleep(0.5)
                before = driver.execute_script(
                    "return performance.getEntriesByName(arguments[0]).length", f"timeline-paint-{r}")
                driver.find_element(By.CSS_SELECTOR, f'[data-testid="range-{r}"]').click()
                wait_for(f"the {r} paint", lambda: driver.execute_script(
                    "return performance.getEntriesByName(arguments[0]).length > arguments[1]",
                    f"timeline-paint-{r}", before), timeout=30, interval=0.02)
                paints[r].append(driver.execute_script(
                    "const e = performance.getEntriesByName(arguments[0]); return e[e.length - 1].duration",
                    f"timeline-paint-{r}"))
                lanes = len(driver.find_elements(By.CSS_SELECTOR, '[data-testid^="lane-"]'))
                # Of which the command's round trip alone (IPC, JSON both ways).
                trips[r].append(driver.execute_async_script(
                    "const done = arguments[arguments.length - 1]; const t = performance.now();"
                    "window.__TAURI_INTERNALS__.invoke('timeline', { spanMs: arguments[0] })"
                    ".then(() => done(performance.now() - t), () => done(-1));", SPANS[r]))
                time.sleep(0.5)
    finally:
        if driver is not None:
            try:
                driver.quit()
            except Exception:
                pass
        for p in (driver_proc, bus, xvfb):
            if p is not None:
                stop(p)

    print(f"{lanes} lanes; first paint after picking the range, {runs} runs each:\n")
    print("| range | first paint, median [ms] | min [ms] | max [ms] | of which the command's round trip, median [ms] |")
    print("|---|---|---|---|---|")
    for r in RANGES:
        v = paints[r]
        print(f"| {r} | {statistics.median(v):.1f} | {min(v):.1f} | {max(v):.1f} | {statistics.median(trips[r]):.1f} |")


if __name__ == "__main__":
    main()
