"""The real Stackwarden window and tray against the real test engine.

Order matters: the last test quits the app from its tray menu."""

import os
import re
import shlex
import subprocess
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.file_detector import UselessFileDetector

from conftest import APP
from procfs import thread_names
from sni import SniHost
from webview import screenshot
from x11 import close_until_gone, distinct_colours, find_app_window, is_viewable

TEST_CONTAINERS = ["sw-ok-web", "sw-ok-worker", "sw-mixed-healthy", "sw-mixed-sick", "sw-mixed-exits"]


def wait_for(what, probe, timeout=30.0, interval=0.25):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = probe()
            if last:
                return last
        except Exception as e:  # element not there yet, stale, ...
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last seen: {last!r}")


def text_of(driver, testid):
    els = driver.find_elements(By.CSS_SELECTOR, f'[data-testid="{testid}"]')
    return els[0].text if els else None


def button(driver, label):
    return driver.find_element(By.CSS_SELECTOR, f'button[aria-label="{label}"]')


def tray(sni):
    service = sni.wait_for_item()
    return service, sni.item_properties(service)


def test_table_lists_the_test_containers(driver):
    for name in TEST_CONTAINERS:
        wait_for(f"row {name}", lambda n=name: text_of(driver, f"row-{n}"))
    assert text_of(driver, "state-sw-mixed-exits") == "exited (3)"
    assert text_of(driver, "state-sw-ok-web") == "running"
    wait_for("sick container unhealthy", lambda: text_of(driver, "health-sw-mixed-sick") == "unhealthy")
    assert text_of(driver, "health-sw-mixed-healthy") == "healthy"
    # Resource figures arrive while the window is visible.
    wait_for("CPU and memory figures",
             lambda: re.search(r"\d+\.\d%.*\d[kMG]?B\s*of \d", text_of(driver, "row-sw-ok-web"), re.S))
    # Readable at 1280x800: the whole table, actions included, fits without scrolling sideways.
    overflow = driver.execute_script(
        "const t = document.querySelector('[data-testid=service-table]');"
        "return [t.getBoundingClientRect().right, document.documentElement.clientWidth];")
    assert overflow[0] <= overflow[1], f"table is {overflow[0]}px wide in a {overflow[1]}px window"
    assert "18080→8080/tcp" in text_of(driver, "row-sw-ok-web")
    assert re.search(r"running", text_of(driver, "overall"))


def test_bad_config_is_shown_and_defaults_are_used(driver):
    banner = text_of(driver, "config-error")
    assert banner is not None, "the config problem is visible in the window"
    assert "config.toml, line 3, column 1: unknown field `intreval`" in banner, banner
    assert "default settings" in banner


def test_health_breakdown_and_a_stopped_required_container(driver, sni, artifacts):
    """The stack file's groups scored from real probes (TCP, PostgreSQL, Redis);
    stopping a required container lowers the score in the window and the tray
    within one probe interval (5 s in the e2e stack)."""
    wait_for("health score in the header", lambda: "e2e: 100% healthy" in (text_of(driver, "header-score") or ""))
    # Stack membership, and the optional service never deployed listed apart.
    assert "e2e · Core Infrastructure" in text_of(driver, "stack-sw-db-postgres")
    not_deployed = text_of(driver, "not-deployed-aider")
    assert "local-ai-aider" in not_deployed and "never had a container" in not_deployed, not_deployed
    driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-health"]').click()
    wait_for("health panel", lambda: text_of(driver, "health-panel"))
    assert text_of(driver, "group-score-Core Infrastructure").startswith("Core Infrastructure 100% (4/4)")
    assert text_of(driver, "group-score-Agent Backends").startswith("Agent Backends not deployed")
    assert text_of(driver, "health-overall") == "100%"
    assert "(3×100%) / 3 = 100%" in text_of(driver, "health-formula")
    # Why postgres is healthy: its probe's conditions, measured.
    driver.find_element(By.XPATH, '//button[contains(., "postgres")]').click()
    wait_for("postgres probe conditions", lambda: "table telemetry_events exists" in (text_of(driver, "probes-postgres") or ""))
    # Its response time over the last runs (every 5 s), from SQLite.
    wait_for("response-time chart", lambda: driver.find_elements(
        By.CSS_SELECTOR, '[data-testid="probes-postgres"] svg[aria-label="Response time of schema"]'), timeout=20)
    assert re.search(r"Response time, last 30 min\s*[\d.]+ ms", text_of(driver, "probes-postgres"))
    screenshot(driver, artifacts / "window-health.png")
    service = sni.wait_for_item()
    wait_for("tray shows the score", lambda: sni.item_properties(service)["title"] == "Stackwarden: 100% healthy")
    healthy_icon = sni.item_properties(service)["icon"]

    driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-services"]').click()
    button(driver, "Stop sw-ok-web").click()
    try:
        wait_for("web stopped", lambda: (text_of(driver, "action-outcome") or "").startswith("Stopped sw-ok-web."), timeout=40)
        stopped = time.time()
        wait_for("score drops in the window", lambda: "e2e: 75% healthy" in text_of(driver, "header-score"), timeout=5)
        wait_for("score drops in the tray",
                 lambda: sni.item_properties(service)["title"] == "Stackwarden: 75% healthy", timeout=5)
        assert time.time() - stopped < 5.0, "within one probe interval"
        # An incident opens: the header says so, and the tray's tooltip leads with it.
        wait_for("incident banner", lambda: "web down" in (text_of(driver, "incident-open") or ""), timeout=10)
        wait_for("incident in the tray tooltip",
                 lambda: sni.item_properties(service)["tooltip_text"].startswith("Incident open since"), timeout=10)
        props = sni.item_properties(service)
        assert "web down" in props["tooltip_text"], props["tooltip_text"]
        assert props["icon"][2] != healthy_icon[2], "icon colour follows the level"
        # The open incident marks the icon (white in its centre, ARGB).
        width, _height, pixels = props["icon"]
        centre = (16 * width + 16) * 4
        assert bytes(pixels[centre:centre + 4]) == b"\xff\xff\xff\xff", bytes(pixels[centre:centre + 4])
        assert bytes(healthy_icon[2][centre:centre + 4]) != b"\xff\xff\xff\xff"
        # The tray menu says it without the window: status, then each required service.
        wait_for("web down in the tray menu", lambda: "web: down" in sni.menu_labels(service, props["menu"]))
        labels = list(sni.menu_labels(service, props["menu"]))
        assert labels[:5] == ["75% healthy", "postgres: healthy", "redis: healthy", "web: down", "worker: healthy"], labels
        assert labels[5:] == ["Verify now", "Recover…", "Open Stackwarden", "Quit"], labels
        write_menu_picture(labels, artifacts / "tray-menu.png")
        # One notification for the incident, with its actions.
        opened = wait_for("incident notification", lambda: [n for n in sni.notifications.shown
                                                             if n["summary"].startswith("Incident: web down")])
        assert len(opened) == 1, sni.notifications.shown
        assert opened[0]["actions"] == ["open", "Open", "recover", "Recover…"], opened[0]
        assert opened[0]["urgency"] == 2 and opened[0]["app"] == "Stackwarden", opened[0]
        driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-health"]').click()
        wait_for("core group drops", lambda: text_of(driver, "group-score-Core Infrastructure").startswith("Core Infrastructure 75% (3/4)"))
        assert text_of(driver, "service-status-web") == "down"
        # The change is recorded in SQLite and listed with its time and reason.
        wait_for("recorded transition", lambda: re.search(r"web healthy → down container exited",
                                                          text_of(driver, "transitions") or ""))
        screenshot(driver, artifacts / "window-health-web-down.png")
    finally:
        driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-services"]').click()
        wait_for("start button", lambda: button(driver, "Start sw-ok-web")).click()
    wait_for("score recovers", lambda: "e2e: 100% healthy" in text_of(driver, "header-score"), timeout=20)
    wait_for("the incident closes", lambda: text_of(driver, "incident-open") is None, timeout=20)
    # Its notification is updated, not joined by a second one.
    closed = wait_for("the notification updated on close", lambda: [
        n for n in sni.notifications.shown if n["replaces"] == opened[0]["id"]])
    assert closed[-1]["summary"] == "Resolved: web down: container exited (137)" or \
        closed[-1]["summary"].startswith("Resolved: web down"), closed
    incident_notes = [n for n in sni.notifications.shown if "web down" in n["summary"]]
    assert {n["id"] for n in incident_notes} == {opened[0]["id"]}, incident_notes


def test_the_timeline_shows_the_incident_and_its_evidence(driver, artifacts):
    """After the stopped required container above: its lane shows the time
    it was down, and the incident it opened is listed, closed, with the
    evidence kept when it opened."""
    driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-timeline"]').click()
    wait_for("web's lane with a down stretch", lambda: driver.find_elements(
        By.CSS_SELECTOR, '[data-testid="lane-web"] rect[data-status="down"]'), timeout=20)
    items = wait_for("web's incident", lambda: [
        e for e in driver.find_elements(By.CSS_SELECTOR, '[data-testid="incident-list"] > li') if "web down" in e.text])
    assert "closed" in items[0].text, items[0].text
    items[0].find_element(By.TAG_NAME, "button").click()
    detail = wait_for("its evidence", lambda: (lambda t: t if t and "restarted" in t else None)(
        text_of_css(driver, '[data-testid^="incident-detail-"]')))
    assert "sw-ok-web" in detail, detail
    # The start from the window is recorded on it, and marked on the lane.
    actions = wait_for("its actions", lambda: (lambda t: t if t and "window" in t else None)(
        text_of_css(driver, '[data-testid^="incident-actions-"]')))
    assert "start" in actions and "sw-ok-web" in actions, actions
    assert driver.find_elements(By.CSS_SELECTOR, '[data-testid="marker-action"]')
    screenshot(driver, artifacts / "window-timeline.png")
    # Its recovery report, written into the data folder.
    driver.find_element(By.CSS_SELECTOR, '[data-testid^="export-incident-html-"]').click()
    saved = wait_for("the report's path", lambda: text_of_css(driver, '[data-testid^="export-incident-path-"]'))
    assert saved.startswith("Saved to ") and saved.endswith(".html"), saved
    page = open(saved[len("Saved to "):]).read()
    assert "web down" in page and 'data-chart="timeline"' in page and "start sw-ok-web: done" in page
    driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-services"]').click()


def test_a_flapping_storm_stays_within_the_notification_limit(driver, sni):
    """A required container stopped and started six times in 18 s: six short
    incidents. At most four notifications at once and one more per 15 s; the
    rest is summed up in one "held back" line once the limit allows, never
    one notification per change."""
    before = len(sni.notifications.shown)
    try:
        for _ in range(6):
            subprocess.run(["podman", "stop", "-t", "0", "sw-ok-worker"], capture_output=True, timeout=30)
            time.sleep(1.5)
            subprocess.run(["podman", "start", "sw-ok-worker"], capture_output=True, timeout=30)
            time.sleep(1.5)
    finally:
        subprocess.run(["podman", "start", "sw-ok-worker"], capture_output=True, timeout=30)
    wait_for("worker healthy again", lambda: "e2e: 100% healthy" in text_of(driver, "header-score"), timeout=30)
    wait_for("the incident closes", lambda: text_of(driver, "incident-open") is None, timeout=30)
    storm = lambda: sni.notifications.shown[before:]  # noqa: E731
    openings = [n for n in storm() if n["summary"].startswith("Incident: worker down")]
    assert 1 <= len(openings) <= 5, storm()
    if len(openings) < 6:
        wait_for("what was held back summed up", lambda: [
            n for n in storm() if "held back" in n["summary"] or "held back" in n["body"]], timeout=40)
    per_id = {}
    for n in storm():
        per_id[n["id"]] = per_id.get(n["id"], 0) + 1
    assert all(count <= 3 for count in per_id.values()), storm()
    assert len([n for n in storm() if n["replaces"] == 0]) <= 6, storm()


def test_a_notification_button_opens_the_window_where_it_matters(driver, sni):
    incident = [n for n in sni.notifications.shown if n["summary"].startswith("Resolved: web down")][-1]
    driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-services"]').click()
    sni.invoke_action(incident["id"], "open")
    wait_for("the timeline shown", lambda: driver.find_element(
        By.CSS_SELECTOR, '[data-testid="nav-timeline"]').get_attribute("aria-current") == "page")


def text_of_css(driver, css):
    found = driver.find_elements(By.CSS_SELECTOR, css)
    return found[0].text if found else None


def test_verify_now_shows_each_checks_result_and_exports_the_report(driver, sni, workdir, artifacts):
    driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-verify"]').click()
    wait_for("the Verify view", lambda: driver.find_elements(By.CSS_SELECTOR, '[data-testid="verify-now"]'))
    driver.find_element(By.CSS_SELECTOR, '[data-testid="verify-now"]').click()
    summary = wait_for("the run's summary", lambda: "passed" in (text_of(driver, "verify-summary") or "")
                       and text_of(driver, "verify-summary"), timeout=20)
    assert "(0 required)" in summary, summary
    wait_for("last verification in the header", lambda: (text_of(driver, "header-verified") or "").startswith("✓ verified"))
    rows = driver.find_elements(By.CSS_SELECTOR, '[data-testid="checks"] tbody tr')
    ids = [r.get_attribute("data-testid").removeprefix("check-") for r in rows]
    for expected in ["engine", "running:web", "running:postgres", "probe:web:port", "probe:postgres:schema",
                     "probe:redis:ping", "telemetry", "resources", "volumes:postgres", "volumes:redis"]:
        assert expected in ids, (expected, ids)
    statuses = {i: text_of(driver, f"check-status-{i}") for i in ids}
    assert all(v in ("pass", "FAIL", "skipped") for v in statuses.values()), statuses
    assert statuses["probe:postgres:schema"] == "pass"
    assert statuses["volumes:postgres"] == "pass"
    assert statuses["telemetry"] == "FAIL", "not configured in the e2e stack: the report's folder is absent"
    assert "table tool_registry exists (saw present)" in text_of(driver, "check-probe:postgres:schema")
    assert "Fix:" in text_of(driver, "check-telemetry")
    screenshot(driver, artifacts / "window-verify.png")

    driver.find_element(By.CSS_SELECTOR, '[data-testid="export-html"]').click()
    saved = wait_for("export", lambda: text_of(driver, "export-result"))
    assert saved.startswith("Report saved to "), saved
    path = saved.removeprefix("Report saved to ")
    assert path.startswith(str(workdir / "data" / "reports")), path
    assert "<svg" in open(path).read()

    # The tray's "Verify now" runs it again and shows the view.
    runs_before = len(driver.find_elements(By.CSS_SELECTOR, '[data-testid="verify-history"] li'))
    service = sni.wait_for_item()
    props = sni.item_properties(service)
    labels = sni.menu_labels(service, props["menu"])
    driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-services"]').click()
    sni.click_menu(service, props["menu"], labels["Verify now"])
    wait_for("verify view from the tray", lambda: text_of(driver, "verify-panel"))
    wait_for("a second run in the history",
             lambda: len(driver.find_elements(By.CSS_SELECTOR, '[data-testid="verify-history"] li')) == runs_before + 1,
             timeout=20)
    driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-services"]').click()


def test_a_broken_stack_file_keeps_the_last_good_definition(driver, workdir, artifacts):
    stack_file = workdir / "stack.yaml"
    good = stack_file.read_text()
    stack_file.write_text(good.replace("container_name: sw-ok-worker\n", "container_name: sw-ok-worker\n    depends_on: [nowhere]\n"))
    banner = wait_for("stack file banner", lambda: text_of(driver, "stack-error"), timeout=15)
    assert "stack.yaml, line 20" in banner and "nowhere" in banner, banner
    assert "keeps using the last good definition" in banner, banner
    assert "e2e: 100% healthy" in text_of(driver, "header-score"), "still scored on the last good stack"
    screenshot(driver, artifacts / "window-stack-file-broken.png")
    stack_file.write_text(good)
    wait_for("banner gone after the fix", lambda: text_of(driver, "stack-error") is None, timeout=15)


def test_services_without_container_name_are_found_by_compose_labels(driver, workdir, artifacts):
    """A service written as most compose files write it (no container_name),
    run as two replicas the way docker compose v2 names and labels them: the
    window finds both containers by their labels, groups them under the
    stack, and scores the service."""
    stack_file = workdir / "stack.yaml"
    good = stack_file.read_text()
    names = ["e2e-cache-1", "e2e-cache-2"]
    try:
        for number, name in enumerate(names, start=1):
            subprocess.run(["podman", "rm", "-f", "-t", "0", name], capture_output=True)
            subprocess.run(["podman", "run", "-d", "--name", name,
                            "--label", "com.docker.compose.project=e2e",
                            "--label", "com.docker.compose.service=cache",
                            "--label", f"com.docker.compose.container-number={number}",
                            "localhost/sw-test-busybox:latest", "sleep", "3600"], check=True, capture_output=True)
        stack_file.write_text(good.replace(
            "  aider:\n",
            "  cache:\n    image: localhost/sw-test-busybox:latest\n    deploy: { replicas: 2 }\n"
            "    x-stackwarden: { group: core }\n  aider:\n"))
        for name in names:
            wait_for(f"{name} marked as the stack's",
                     lambda n=name: "e2e · Core Infrastructure" in (text_of(driver, f"stack-{n}") or ""), timeout=20)
        group = text_of(driver, "group-stack")
        assert group.startswith("Stack e2e (project e2e)"), group
        assert all(n in group for n in names + ["sw-ok-web", "sw-db-postgres"]), group
        driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-health"]').click()
        wait_for("cache scored", lambda: text_of(driver, "service-status-cache") == "healthy")
        assert text_of(driver, "group-score-Core Infrastructure").startswith("Core Infrastructure 100% (5/5)")
        screenshot(driver, artifacts / "window-compose-labels.png")
    finally:
        stack_file.write_text(good)
        subprocess.run(["podman", "rm", "-f", "-t", "0", *names], capture_output=True)
        driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-services"]').click()
    wait_for("back to the e2e stack", lambda: text_of(driver, "stack-e2e-cache-1") is None, timeout=20)


def test_healing_view_quarantine_release_and_a_drill(driver, sni, workdir, artifacts):
    """The Healing view with two healed services: one that exits every
    second is quarantined at its cap (the banner says it needs you) and
    released from the window; the other is drilled from the window (asked
    first) and its measurements are listed."""
    stack_file = workdir / "stack.yaml"
    good = stack_file.read_text()
    names = ["sw-e2e-flap", "sw-e2e-drilled"]
    try:
        for name in names:
            subprocess.run(["podman", "rm", "-f", "-t", "0", name], capture_output=True)
        subprocess.run(["podman", "run", "-d", "--name", "sw-e2e-drilled", "localhost/sw-test-busybox:latest",
                        "httpd", "-f", "-p", "8080"], check=True, capture_output=True)
        subprocess.run(["podman", "run", "-d", "--name", "sw-e2e-flap", "localhost/sw-test-busybox:latest",
                        "sh", "-c", "sleep 1; exit 1"], check=True, capture_output=True)
        stack_file.write_text(good.replace(
            "  aider:\n",
            "  flap:\n    image: localhost/sw-test-busybox:latest\n    container_name: sw-e2e-flap\n"
            "    x-stackwarden: { group: core, heal: { backoff: { initial: 1s }, limit: { actions: 1, within: 10m } } }\n"
            "  drilled:\n    image: localhost/sw-test-busybox:latest\n    container_name: sw-e2e-drilled\n"
            "    x-stackwarden: { group: core, heal: {} }\n  aider:\n"))
        driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-healing"]').click()
        row = '[data-testid="healing-table"] tr[data-service="{}"]'
        wait_for("flap quarantined", lambda: "quarantined: needs you" in driver.find_element(
            By.CSS_SELECTOR, row.format("flap")).text, timeout=40)
        assert "flap" in (text_of(driver, "quarantined") or ""), "the banner says who needs you"
        told = wait_for("a notification", lambda: [n for n in sni.notifications.shown if "flap" in n["summary"]])
        assert told[0]["summary"] == "flap needs you", told
        assert "did not keep it healthy" in told[0]["body"] and "Healing" in told[0]["body"], told
        policy = driver.find_element(By.CSS_SELECTOR, row.format("drilled")).text
        assert "down, unhealthy" in policy and "at most 3 in 30 min" in policy, policy
        screenshot(driver, artifacts / "window-healing-quarantine.png")
        driver.find_element(By.CSS_SELECTOR, row.format("flap") + ' [data-testid="heal-release"]').click()
        wait_for("released", lambda: "flap released" in (text_of(driver, "healing-said") or ""))
        wait_for("drilled watched", lambda: "watching" in driver.find_element(
            By.CSS_SELECTOR, row.format("drilled")).text, timeout=40)
        pid_before = subprocess.run(["podman", "inspect", "-f", "{{.State.Pid}}", "sw-e2e-drilled"],
                                    capture_output=True, text=True).stdout
        driver.find_element(By.CSS_SELECTOR, row.format("drilled") + ' [data-testid="heal-drill"]').click()
        confirm = wait_for("asked first", lambda: text_of(driver, "drill-confirm"))
        assert "sw-e2e-drilled" in confirm and "SIGKILL" in confirm, confirm
        screenshot(driver, artifacts / "window-healing-drill-asked.png")
        driver.find_element(By.CSS_SELECTOR, '[data-testid="drill-run"]').click()
        drills = wait_for("the drill listed", lambda: text_of(driver, "drills"), timeout=60)
        assert "healed: healthy again" in drills, drills
        pid_after = subprocess.run(["podman", "inspect", "-f", "{{.State.Pid}}", "sw-e2e-drilled"],
                                   capture_output=True, text=True).stdout
        assert pid_after != pid_before, "the drill killed the container and it was started again"
        screenshot(driver, artifacts / "window-healing-drill.png")
    finally:
        stack_file.write_text(good)
        subprocess.run(["podman", "rm", "-f", "-t", "0", *names], capture_output=True)
        driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-services"]').click()


RECOVER_PROJECT = "swrecwin"
RECOVER_CONTAINERS = [f"{RECOVER_PROJECT}_{s}_1" for s in ("postgres", "redis", "aidb", "notes")]


def _recover_clean():
    # --ignore: one missing name must not keep the others.
    subprocess.run(["podman", "rm", "--ignore", "-f", "-t", "0", *RECOVER_CONTAINERS], capture_output=True)
    for volume in ("pgdata", "redisdata"):
        subprocess.run(["podman", "volume", "rm", "-f", f"{RECOVER_PROJECT}_{volume}"], capture_output=True)
    subprocess.run(["podman", "network", "rm", "-f", f"{RECOVER_PROJECT}_default"], capture_output=True)


# Its own waits add up to more than the suite's 300 s per test.
@pytest.mark.timeout(600)
def test_the_recovery_wizard_brings_a_removed_stack_back_with_its_data(driver, sni, engine, workdir, artifacts):
    """The replica stack (PostgreSQL and Redis with data, an MCP service)
    brought up by podman-compose, verified, then every container removed;
    one more service runs another image and keeps a file in its own layer.
    From the tray's Recover…: the plan, the guard of the step that would
    lose the file (accepted on its own, backed up first), the progress and
    the result with the data before and after."""
    stack_file = workdir / "stack.yaml"
    good = stack_file.read_text()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    replica = open(os.path.join(root, "tests/support/recover/swrec/compose.yaml")).read()
    # The app's environment has the test password as SW_TEST_PG_PASSWORD.
    replica = (replica.replace("${SWREC_PG_PASSWORD:?set SWREC_PG_PASSWORD}", "sw-test-pw")
               .replace("password_env: SWREC_PG_PASSWORD", "password_env: SW_TEST_PG_PASSWORD")
               .replace("25432", "55432").replace("26379", "55433").replace("28080", "55434")
               .replace("x-stackwarden:\n  groups:", f"name: {RECOVER_PROJECT}\nx-stackwarden:\n  groups:", 1)
               .replace("volumes:\n  pgdata: {}",
                        "  notes:\n    image: localhost/sw-test-busybox:latest\n"
                        "    x-stackwarden: { group: core }\nvolumes:\n  pgdata: {}"))
    env = dict(os.environ, SWREC_PG_PASSWORD="sw-test-pw", SW_TEST_PG_PASSWORD="sw-test-pw", DOCKER_HOST=engine.endpoint)
    cli = os.path.join(os.path.dirname(APP), "stackwarden")
    try:
        _recover_clean()
        stack_file.write_text(replica)
        subprocess.run(["podman", "run", "-d", "--name", f"{RECOVER_PROJECT}_notes_1",
                        "--label", f"com.docker.compose.project={RECOVER_PROJECT}",
                        "--label", "com.docker.compose.service=notes",
                        "localhost/sw-test-health:latest"], check=True)
        subprocess.run(["podman", "exec", f"{RECOVER_PROJECT}_notes_1", "sh", "-c",
                        "mkdir -p /srv/notes && echo keep > /srv/notes/today.txt"], check=True)
        up = subprocess.run(["podman-compose", "-p", RECOVER_PROJECT, "-f", str(stack_file), "up", "-d",
                             "postgres", "redis", "aidb"], capture_output=True, text=True, env=env)
        assert up.returncode == 0, up.stdout + up.stderr
        pg = f"{RECOVER_PROJECT}_postgres_1"
        wait_for("PostgreSQL ready", lambda: subprocess.run(
            ["podman", "exec", pg, "pg_isready", "-q", "-h", "127.0.0.1", "-U", "mcp", "-d", "mcp"]).returncode == 0,
            timeout=60)
        subprocess.run(["podman", "exec", pg, "su", "postgres", "-c",
                        "psql -q -d mcp -c \"SET ROLE mcp; INSERT INTO document_embeddings (body) "
                        "SELECT 'doc ' || g FROM generate_series(1, 4321) g\""], check=True)
        # The user verified once: the baseline the wizard compares with.
        subprocess.run([cli, "--host", engine.endpoint, "verify"], env={
            **env, "STACKWARDEN_DATA_DIR": str(workdir / "data"),
            "STACKWARDEN_CONFIG": str(workdir / "config.toml")}, capture_output=True, cwd=workdir)
        subprocess.run(["podman", "rm", "-f", "-t", "0", *RECOVER_CONTAINERS[:3]], check=True, capture_output=True)

        # The tray's Recover… opens the wizard.
        service = sni.wait_for_item()
        props = sni.item_properties(service)
        labels = sni.menu_labels(service, props["menu"])
        assert "Recover…" in labels, labels
        sni.click_menu(service, props["menu"], labels["Recover…"])
        wait_for("the wizard", lambda: text_of(driver, "recovery-diagnose"))
        driver.find_element(By.CSS_SELECTOR, '[data-testid="recovery-diagnose"]').click()
        wait_for("the plan", lambda: text_of(driver, "recovery-plan") or text_of(driver, "recovery-error")
                 or text_of(driver, "recovery-nothing"), timeout=30)
        plan = text_of(driver, "recovery-plan")
        assert plan, driver.find_element(By.CSS_SELECTOR, "main").text
        for expected in ("create and start swrecwin_postgres_1", "wait until postgres is healthy",
                         "replace swrecwin_notes_1"):
            assert expected in plan, plan
        assert "4,321" in text_of(driver, "recovery-data-now")
        driver.execute_script("document.querySelector('main').scrollTop = 0")
        screenshot(driver, artifacts / "window-recovery-plan.png")
        guard = driver.find_element(By.CSS_SELECTOR, '[data-testid^="guard-"]:not([data-testid^="guard-accept"])')
        assert "A /srv/notes/today.txt" in guard.text, guard.text
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", guard)
        screenshot(driver, artifacts / "window-recovery-guard.png")
        guard.find_element(By.CSS_SELECTOR, 'input[type="checkbox"]').click()
        driver.find_element(By.CSS_SELECTOR, '[data-testid="recovery-run"]').click()
        try:
            wait_for("progress", lambda: text_of(driver, "recovery-running") or text_of(driver, "recovery-result"))
        except AssertionError as e:
            raise AssertionError(driver.find_element(By.CSS_SELECTOR, "main").text) from e
        screenshot(driver, artifacts / "window-recovery-progress.png")
        verdict = wait_for("the result", lambda: text_of(driver, "recovery-verdict"), timeout=120)
        assert verdict.startswith("Recovered in"), verdict + (text_of(driver, "recovery-plan") or "")
        rows = driver.find_element(By.CSS_SELECTOR, '[data-testid="recovery-compared"] [data-key="postgres:postgres:document_embeddings"]')
        assert "4,321" in rows.text and "same" in rows.text, rows.text
        assert "sha256" in text_of(driver, "recovery-plan"), "the backup is shown with its checksum"
        driver.execute_script("document.querySelector('[data-testid=recovery-result]').scrollIntoView()")
        screenshot(driver, artifacts / "window-recovery-result.png")
        image = subprocess.run(["podman", "inspect", "-f", "{{.ImageName}}", f"{RECOVER_PROJECT}_notes_1"],
                               capture_output=True, text=True).stdout.strip()
        assert image == "localhost/sw-test-busybox:latest", image
        backups = list((workdir / "data" / "backups").glob("notes-srv-*.tar"))
        assert backups, "the backup is in the data folder"
        if text_of(driver, "recovery-export") is not None:
            driver.find_element(By.CSS_SELECTOR, '[data-testid="recovery-export"]').click()
            said = wait_for("report written", lambda: text_of(driver, "recovery-said"))
            report = said.split("Report written to ", 1)[1]
            assert "Recovery at" in open(report).read()

        # The page may spawn the two engine starts only: a well-formed spawn
        # (with its event channel) of anything else is refused by the scope.
        # (The scope's fixed arguments are its own: `podman-socket` runs
        # `systemctl --user start podman.socket` whatever the page passes.)
        for program, args in (("podman-service", ["system", "reset", "--force", "x"]),
                              ("podman-service", ["system", "service", "--time=0", "unix:///tmp/../x/podman.sock"]),
                              ("podman-service", ["system", "service", "--time=0", "tcp://0.0.0.0:2375"]),
                              ("sh", ["-c", "true"]),
                              ("podman", ["system", "reset", "--force"])):
            refused = driver.execute_async_script("""
                const [program, args, done] = arguments;
                const id = window.__TAURI_INTERNALS__.transformCallback(() => {});
                window.__TAURI_INTERNALS__.invoke('plugin:shell|spawn',
                    {program, args, options: {}, onEvent: '__CHANNEL__:' + id})
                  .then(() => done('allowed'), (e) => done(String(e)));
            """, program, args)
            assert refused != "allowed", (program, args)
            assert "scope" in refused.lower() or "not allowed" in refused.lower(), (program, args, refused)
    finally:
        stack_file.write_text(good)
        _recover_clean()
        driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-services"]').click()


def test_the_recovery_wizard_starts_a_stopped_engine(driver, engine, artifacts):
    """No engine answers: the wizard's plan is to start it, with the exact
    command; the window runs it through the shell plugin's scope and plans
    again once the engine answers."""
    engine.stop()
    started_pid = None
    try:
        wait_for("the window sees no engine", lambda: text_of(driver, "recover-banner"), timeout=30)
        driver.find_element(By.CSS_SELECTOR, '[data-testid="recover-open"]').click()
        driver.find_element(By.CSS_SELECTOR, '[data-testid="recovery-diagnose"]').click()
        start = wait_for("the engine start", lambda: driver.find_element(
            By.CSS_SELECTOR, '[data-testid="recovery-start-engine"]'))
        assert f"podman system service --time=0 {engine.endpoint}" in start.text, start.text
        assert "no container engine answers" in text_of(driver, "recovery-findings")
        screenshot(driver, artifacts / "window-recovery-engine.png")
        start.click()
        said = wait_for("started", lambda: text_of(driver, "recovery-said"), timeout=20)
        match = re.search(r"pid (\d+)", said)
        assert match, said
        started_pid = int(match.group(1))
        findings = wait_for("planned again with the engine", lambda: (
            t if "answers (Podman)" in (t := text_of(driver, "recovery-findings") or "") else None), timeout=40)
        assert engine.endpoint in findings, findings
    finally:
        if started_pid:
            subprocess.run(["kill", str(started_pid)], capture_output=True)
            wait_for("the started engine stopped", lambda: not os.path.exists(f"/proc/{started_pid}")
                     or "(Z)" in open(f"/proc/{started_pid}/status").read() or "zombie" in open(f"/proc/{started_pid}/status").read(),
                     timeout=15)
        engine.start()
        wait_for("reconnected", lambda: driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            window.__TAURI_INTERNALS__.invoke('get_snapshot', {}).then((s) => done(s.engine.kind === 'connected'), () => done(false));
        """), timeout=30)
        driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-services"]').click()


def test_stop_and_start_from_the_window(driver, artifacts):
    button(driver, "Stop sw-ok-worker").click()
    wait_for("worker stopped", lambda: (text_of(driver, "state-sw-ok-worker") or "").startswith("exited"))
    assert text_of(driver, "action-outcome").startswith("Stopped sw-ok-worker.")
    assert "of" in text_of(driver, "overall")  # "N of M running"
    button(driver, "Start sw-ok-worker").click()
    wait_for("worker running", lambda: text_of(driver, "state-sw-ok-worker") == "running")
    assert text_of(driver, "action-outcome").startswith("Started sw-ok-worker.")
    screenshot(driver, artifacts / "window-service-table.png")


def test_logs_and_history_in_the_detail_view(driver, artifacts):
    button(driver, "Logs of sw-ok-worker").click()
    wait_for("detail", lambda: text_of(driver, "detail"))
    wait_for("log lines", lambda: "worker ready" in (text_of(driver, "log") or ""))
    wait_for("following", lambda: text_of(driver, "log-state") == "Following")
    wait_for("resource history chart", lambda: "CPU, last 30 min" in text_of(driver, "detail")
             and driver.find_elements(By.CSS_SELECTOR, '[data-testid="detail"] svg.sparkline'),
             timeout=20)
    screenshot(driver, artifacts / "window-detail.png")
    driver.find_element(By.CSS_SELECTOR, 'button[aria-label="Close details"]').click()
    wait_for("detail closed", lambda: text_of(driver, "detail") is None)


def _telemetry_line(at_s, failed, event="tool_call"):
    import json
    return json.dumps({"timestamp": at_s, "event": event, "service": "aidb", "latency_ms": 20 + (at_s % 7) * 10,
                       "status": "error" if failed else "ok"}) + "\n"


def test_the_telemetry_view_follows_a_file_with_charts_bursts_and_bad_lines(driver, workdir, artifacts):
    from conftest import E2E_STACK
    tel = workdir / "telemetry"
    tel.mkdir(exist_ok=True)
    now = int(time.time())
    minute = now - now % 60
    lines = []
    # Eight minutes of events; minutes 4 to 2 ago fail a third of the time.
    for back in range(8, 0, -1):
        for k in range(30):
            lines.append(_telemetry_line(minute - back * 60 + k * 2, back in (2, 3, 4) and k % 3 == 0))
    lines += ["not json\n", '{"event": "no time"}\n', "\x01\x02 <b>junk</b>\n"]
    (tel / "aidb-events.jsonl").write_text("".join(lines))
    stack = E2E_STACK.replace("x-stackwarden:\n  groups:", (
        "x-stackwarden:\n  verify:\n    telemetry:\n"
        f"      dir: {tel}\n"
        "      files: [aidb-events.jsonl, hybrid-events.jsonl]\n"
        "      required: false\n"
        "      alerts:\n        - { service: worker, when: \"[ERROR_RATE] > 90% for 5m\" }\n"
        "  groups:"), 1)
    assert stack != E2E_STACK
    (workdir / "stack.yaml").write_text(stack)
    try:
        driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-telemetry"]').click()
        wait_for("aidb file followed", lambda: "following" in (text_of(driver, "telemetry-file-aidb-events.jsonl") or ""))
        wait_for("malformed count", lambda: text_of(driver, "malformed-aidb-events.jsonl") == "3")
        assert "file missing" in text_of(driver, "telemetry-file-hybrid-events.jsonl")
        wait_for("charts drawn", lambda: all(
            driver.find_elements(By.CSS_SELECTOR, f'[data-testid="chart-{c}"] path.chart-line')
            for c in ("events", "errors", "latency")))
        assert "240" in text_of(driver, "telemetry-totals"), text_of(driver, "telemetry-totals")
        wait_for("a burst listed", lambda: "errors burst for 3 min" in (text_of(driver, "telemetry-burst-list") or ""))
        assert "calm" in text_of(driver, "telemetry-alerts")
        # Lines appended while the window shows them arrive as they are written.
        with open(tel / "aidb-events.jsonl", "a") as f:
            f.write(_telemetry_line(int(time.time()), False, event="live_check"))
        wait_for("the live event", lambda: "live_check" in (text_of(driver, "telemetry-recent") or ""), timeout=20)
        driver.find_element(By.XPATH, '//button[text()="Bad lines…"]').click()
        bad = wait_for("bad lines", lambda: text_of(driver, "bad-lines-aidb-events.jsonl"))
        assert "line 241" in bad and "<b>junk</b>" in bad, bad
        screenshot(driver, artifacts / "window-telemetry.png")
        # The burst is a row on the timeline.
        driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-timeline"]').click()
        wait_for("bursts on the timeline", lambda: driver.find_elements(
            By.CSS_SELECTOR, '[data-testid="telemetry-bursts"] rect.burst'))
        screenshot(driver, artifacts / "window-timeline-telemetry.png")
    finally:
        (workdir / "stack.yaml").write_text(E2E_STACK)
        driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-services"]').click()


def invoke(driver, command, args):
    """Calls a command through the real IPC boundary, as the page's own invoke does."""
    return driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])
            .then(() => done({ok: true}), (e) => done(e));
    """, command, args)


def ask(driver, command, args=None):
    """A command's answer through the real IPC boundary."""
    answer = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])
            .then((v) => done({ok: v}), (e) => done({error: e}));
    """, command, args or {})
    assert "ok" in answer, answer
    return answer["ok"]


def test_action_on_a_vanished_container_is_a_clear_error(driver):
    result = invoke(driver, "container_action", {"id": "sw-e2e-never-existed", "action": "restart"})
    assert result["code"] == "unknown_container", result
    assert "sw-e2e-never-existed" in result["message"], result


def test_ids_from_the_page_that_name_no_listed_container_never_reach_the_engine(driver):
    # An unused volume that `volume prune` would remove if the id reached an
    # engine URL path unchecked.
    subprocess.run(["podman", "volume", "rm", "-f", "sw-e2e-keep"], capture_output=True)
    subprocess.run(["podman", "volume", "create", "sw-e2e-keep"], check=True, capture_output=True)
    try:
        for hostile in ["../volumes/prune?x=", "../../libpod/volumes/prune?x=", "sw-ok-web/../../volumes/prune"]:
            for command, args in [("container_action", {"id": hostile, "action": "stop"}),
                                  ("open_logs", {"id": hostile})]:
                result = invoke(driver, command, args)
                assert result.get("code") == "unknown_container", (command, hostile, result)
        assert subprocess.run(["podman", "volume", "exists", "sw-e2e-keep"]).returncode == 0, \
            "the volume survived"
        assert text_of(driver, "state-sw-ok-web") == "running", "nothing was stopped"
    finally:
        subprocess.run(["podman", "volume", "rm", "-f", "sw-e2e-keep"], capture_output=True)


def test_a_published_port_opens_in_the_system_browser(driver, workdir):
    opened = workdir / "opened.txt"
    opened.unlink(missing_ok=True)
    port = driver.find_element(By.CSS_SELECTOR, '[data-testid="row-sw-ok-web"] button[data-url]')
    url = port.get_attribute("data-url")
    assert url == "http://127.0.0.1:18080", url
    port.click()
    wait_for("the system opener was called", lambda: opened.exists() and opened.read_text().strip())
    assert opened.read_text().split() == [url]
    assert not driver.find_elements(By.CSS_SELECTOR, '[data-testid="row-sw-ok-web"] [role="alert"]')
    # The page cannot open anything else: other schemes and hosts are refused.
    for bad in ["file:///etc/passwd", "https://example.com/", "http://127.0.0.1:1@example.com/"]:
        result = invoke(driver, "plugin:opener|open_url", {"url": bad})
        assert result != {"ok": True}, bad
    assert opened.read_text().split() == [url]


def test_commands_outside_the_allow_list_are_refused(driver):
    # Least privilege: the page cannot reach the shell plugin's execute.
    result = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        window.__TAURI_INTERNALS__.invoke('plugin:shell|execute', {program: 'sh', args: ['-c', 'true'], options: {}})
            .then(() => done('allowed'), (e) => done(String(e)));
    """)
    assert result != "allowed"
    assert "not allowed" in result.lower() or "denied" in result.lower(), result


def test_tray_follows_the_engine_state(driver, sni, engine, artifacts):
    service, props = tray(sni)
    wait_for("tray title with the score", lambda: re.search(r"Stackwarden: \d+% healthy", sni.item_properties(service)["title"]))
    props = sni.item_properties(service)
    assert props["status"] == "Active"
    assert re.search(r"\d+ of \d+ running", props["tooltip_text"])
    amber = props["icon"]

    engine.stop()
    wait_for("tray says unreachable",
             lambda: sni.item_properties(service)["title"] == "Stackwarden: Container engine unreachable")
    red = sni.item_properties(service)["icon"]
    assert red[2] != amber[2], "icon colour changes with the state"
    wait_for("window explains", lambda: text_of(driver, "engine-problem"))
    assert engine.endpoint in text_of(driver, "engine-problem")
    wait_for("the reason for the missing socket", lambda: "no socket at" in text_of(driver, "engine-problem"))
    screenshot(driver, artifacts / "window-engine-unreachable.png")

    engine.start()
    wait_for("reconnected by itself", lambda: text_of(driver, "row-sw-ok-web"), timeout=30)
    wait_for("tray back to the score", lambda: "% healthy" in sni.item_properties(service)["title"])


def write_menu_picture(labels, path):
    """The tray menu as the D-Bus menu reports it, drawn as text (Xvfb has no panel to show it)."""
    text = "\n".join(labels)
    subprocess.run(["convert", "-background", "white", "-fill", "black", "-font", "DejaVu-Sans", "-pointsize", "14",
                    "-border", "8", "-bordercolor", "white", f"label:{text}", str(path)], check=False)


def open_settings(driver):
    driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-settings"]').click()
    wait_for("settings view", lambda: text_of(driver, "settings-path"))


def set_field(driver, testid, value):
    # A path typed is text, not a file to upload.
    driver.file_detector = UselessFileDetector()
    field = driver.find_element(By.CSS_SELECTOR, f'[data-testid="{testid}"]')
    driver.execute_script("arguments[0].select();", field)
    field.send_keys(value)


def save_settings(driver):
    driver.find_element(By.CSS_SELECTOR, '[data-testid="settings-save"]').click()
    return wait_for("saved or refused", lambda: text_of(driver, "settings-saved") or text_of(driver, "settings-error"),
                    timeout=30)


def test_settings_are_written_with_the_users_comments_and_applied_at_once(driver, workdir, engine, artifacts):
    config = workdir / "config.toml"
    original = config.read_text()
    config.write_text("# My Stackwarden settings: written by hand\n" + original)
    open_settings(driver)
    assert "unknown field `intreval`" in text_of(driver, "settings-problems")
    written = config.read_text()

    # A value out of range is refused with the reason; nothing is written.
    set_field(driver, "settings-retention", "0")
    said = save_settings(driver)
    assert said == "Retention: must be between 1 and 8760 hours", said
    assert config.read_text() == written

    # The engine endpoint can be tried before it is saved.
    set_field(driver, "settings-endpoint", engine.endpoint)
    driver.find_element(By.CSS_SELECTOR, '[data-testid="settings-test-connection"]').click()
    result = wait_for("connection tested", lambda: text_of(driver, "settings-connection"))
    assert result.startswith("Connected: Podman Engine"), result
    set_field(driver, "settings-endpoint", Keys.BACKSPACE)

    set_field(driver, "settings-retention", "48")
    set_field(driver, "settings-interval", "1500")
    driver.find_element(By.CSS_SELECTOR, '[data-testid="settings-notify-engine"]').click()
    driver.find_element(By.CSS_SELECTOR, '[data-testid="settings-healing"]').click()
    driver.find_element(By.CSS_SELECTOR, '[data-testid="settings-theme"] option[value="dark"]').click()
    said = save_settings(driver)
    assert said.startswith("Saved to ") and "and applied" in said, said
    text = config.read_text()
    assert text.startswith("# My Stackwarden settings: written by hand\n[refresh]\ninterval_ms = 1500\nintreval = 5\n"), text
    assert 'file = "stack.yaml"' in text, text
    for part in ("[history]\nretention_hours = 48\n", "[notifications]\nengine = false\n",
                 '[desktop]\ntheme = "dark"\n', "[healing]\nenabled = false\n"):
        assert part in text, text
    assert "endpoint" not in text, "an endpoint only tried is not saved"

    # Applied without a restart: the watch runs with the new settings.
    assert driver.execute_script("return document.documentElement.dataset.theme") == "dark"
    # [refresh] still holds the user's typo: the window says so, and that
    # section keeps its defaults until it is fixed by hand.
    assert "still use their defaults" in said, said
    assert "unknown field `intreval`" in text_of(driver, "settings-problems")
    assert ask(driver, "app_info")["refresh_interval_ms"] == 2000
    status = wait_for("healing off", lambda: (lambda s: s if s["healing"]["paused"] else None)(
        ask(driver, "runtime_status")))
    assert status["healing"]["paused"] == "self-healing is switched off in Settings", status
    assert status["recording"]["kind"] == "on", status
    wait_for("the stack watched again", lambda: "e2e: 100% healthy" in (text_of(driver, "header-score") or ""), timeout=30)
    screenshot(driver, artifacts / "window-settings-dark.png")

    # The user fixes the typo by hand; the window reads the file again.
    config.write_text(config.read_text().replace("intreval = 5\n", ""))
    driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-services"]').click()
    open_settings(driver)
    assert text_of(driver, "settings-problems") is None
    set_field(driver, "settings-interval", "1200")
    set_field(driver, "settings-endpoint", engine.endpoint)
    driver.find_element(By.CSS_SELECTOR, '[data-testid="settings-healing"]').click()
    for kind in ("incidents", "quarantine", "verification", "engine"):
        driver.find_element(By.CSS_SELECTOR, f'[data-testid="settings-notify-{kind}"]').click()
    driver.find_element(By.CSS_SELECTOR, '[data-testid="settings-theme"] option[value="light"]').click()
    said = save_settings(driver)
    assert said.endswith("and applied."), said
    assert driver.execute_script("return document.documentElement.dataset.theme") == "light"
    assert ask(driver, "app_info")["refresh_interval_ms"] == 1200
    wait_for("healing on", lambda: ask(driver, "runtime_status")["healing"]["paused"] != \
             "self-healing is switched off in Settings")
    screenshot(driver, artifacts / "window-settings-light.png")
    text = config.read_text()
    assert text.startswith("# My Stackwarden settings: written by hand\n[refresh]\ninterval_ms = 1200\n\n[stack]\n"), text
    for part in ("[healing]\nenabled = true\n", '[desktop]\ntheme = "light"\n',
                 "[notifications]\nengine = true\nincidents = false\nquarantine = false\nverification = false\n",
                 f'[engine]\nendpoint = "{engine.endpoint}"\n'):
        assert part in text, text

    # Back as it was: a value set back is written back, the endpoint removed.
    set_field(driver, "settings-endpoint", Keys.BACKSPACE)
    for kind in ("incidents", "quarantine", "verification"):
        driver.find_element(By.CSS_SELECTOR, f'[data-testid="settings-notify-{kind}"]').click()
    assert save_settings(driver).endswith("and applied.")
    text = config.read_text()
    assert "endpoint" not in text and "incidents = true" in text, text


def test_a_password_kept_in_the_keyring_reaches_the_probe_and_no_file(driver, workdir, artifacts):
    """Started without the password in its environment (as from a launcher),
    PostgreSQL is unhealthy while its HEALTHCHECK says healthy: the window says
    the password is missing and keeps one in the Secret Service."""
    from conftest import E2E_STACK
    no_env = workdir / "stack-keyring.yaml"
    no_env.write_text(E2E_STACK.replace("password_env: SW_TEST_PG_PASSWORD", "password_env: SW_TEST_PG_FROM_KEYRING"))
    open_settings(driver)
    driver.find_element(By.CSS_SELECTOR, f'[aria-label="Remove {workdir / "stack.yaml"}"]').click()
    set_field(driver, "settings-stack-path", str(no_env))
    driver.find_element(By.CSS_SELECTOR, '[data-testid="settings-add-path"]').click()
    assert save_settings(driver).startswith("Saved to ")
    try:
        driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-health"]').click()
        wait_for("password missing said", lambda: "password missing for its schema probe" in (
            text_of(driver, "service-reason-postgres") or ""), timeout=30)
        assert text_of(driver, "service-status-postgres") == "unhealthy"
        if not driver.find_elements(By.CSS_SELECTOR, '[data-testid="probes-postgres"]'):
            driver.find_element(By.XPATH, '//button[contains(., "postgres")]').click()
        wait_for("the offer", lambda: driver.find_elements(By.CSS_SELECTOR, '[data-testid="set-password-postgres-schema"]'))
        screenshot(driver, artifacts / "window-password-missing.png")
        driver.find_element(By.CSS_SELECTOR, '[data-testid="set-password-postgres-schema"]').click()
        driver.find_element(By.CSS_SELECTOR, '[data-testid="password-input-postgres-schema"]').send_keys("sw-test-pw")
        driver.find_element(By.CSS_SELECTOR, '[data-testid="password-save-postgres-schema"]').click()
        wait_for("postgres healthy with the kept password",
                 lambda: text_of(driver, "service-status-postgres") == "healthy", timeout=30)
    finally:
        open_settings(driver)
        driver.find_element(By.CSS_SELECTOR, f'[aria-label="Remove {no_env}"]').click()
        set_field(driver, "settings-stack-path", str(workdir / "stack.yaml"))
        driver.find_element(By.CSS_SELECTOR, '[data-testid="settings-add-path"]').click()
        assert save_settings(driver).startswith("Saved to ")
    # The password is in no file of the config and data folders.
    leaks = []
    for folder in (workdir / "data", workdir / "xdg-config"):
        for f in folder.rglob("*"):
            if f.is_file() and b"sw-test-pw" in f.read_bytes():
                leaks.append(str(f))
    for f in (workdir / "config.toml", no_env):
        if b"sw-test-pw" in f.read_bytes():
            leaks.append(str(f))
    assert leaks == [], leaks
    wait_for("the stack watched again", lambda: "e2e: 100% healthy" in (text_of(driver, "header-score") or ""), timeout=30)


def test_autostart_switch_and_a_hidden_start_in_the_tray(driver, app_env, workdir, display):
    entry = workdir / "xdg-config" / "autostart" / "stackwarden.desktop"
    open_settings(driver)
    driver.find_element(By.CSS_SELECTOR, '[data-testid="settings-autostart"]').click()
    assert save_settings(driver).startswith("Saved to ")
    assert entry.is_file()
    check = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
    assert check.returncode == 0 and not check.stdout, check.stdout
    exec_line = next(line for line in entry.read_text().splitlines() if line.startswith("Exec="))
    argv = shlex.split(exec_line[len("Exec="):])
    assert argv == [str(APP), "--hidden"], argv

    # Launched as the session's autostart does, in a session of its own.
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    address = bus.stdout.readline().strip()
    host = SniHost(address)
    env = dict(app_env, DBUS_SESSION_BUS_ADDRESS=address, STACKWARDEN_DATA_DIR=str(workdir / "data-autostart"))
    app = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        item = host.wait_for_item(timeout=60)
        assert host.owner_pid(item) == app.pid
        time.sleep(3)
        d, win = find_app_window(display, app.pid)
        d.close()
        assert win is None, "started hidden: no window"
        assert app.poll() is None, "runs in the tray"
    finally:
        app.terminate()
        try:
            app.wait(15)
        except subprocess.TimeoutExpired:
            app.kill()
        host.close()
        bus.terminate()
        bus.wait(10)

    driver.find_element(By.CSS_SELECTOR, '[data-testid="settings-autostart"]').click()
    assert save_settings(driver).startswith("Saved to ")
    assert not entry.exists()


def test_a_desktop_action_reaches_the_running_instance(driver, app_env):
    """The launcher's "Verify now" starts the app with --verify: the running
    instance shows its Verify view and runs a verification."""
    driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-services"]').click()
    before = len(ask(driver, "verification_history"))
    second = subprocess.run([str(APP), "--verify"], env=app_env, capture_output=True, timeout=60)
    assert second.returncode == 0, second.stderr[-2000:]
    wait_for("verify view shown", lambda: driver.find_element(
        By.CSS_SELECTOR, '[data-testid="nav-verify"]').get_attribute("aria-current") == "page")
    wait_for("a verification ran", lambda: len(ask(driver, "verification_history")) > before, timeout=60)


def assert_drawn_without_gpu_compositing(pid):
    """With WebKit's default accelerated compositing, the web process runs
    Skia's GPU worker thread (seen with STACKWARDEN_WEBVIEW_GPU=1, see
    bench/app_cpu.py) and keeps GL textures (about 80 MB here)."""
    web = web_processes(pid, kinds=("WebKitWebProces",))
    assert web, "the window's web process is running"
    for p in web:
        names = thread_names(p)
        assert "SkiaGPUWorker" not in names, f"the page is composited on the GPU path: {sorted(names)}"


def test_the_page_is_drawn_without_gpu_compositing(driver, sni):
    """The window's web view draws directly (src-tauri/rendering.rs)."""
    pid = sni.owner_pid(sni.wait_for_item())
    # View switches redraw the whole page; the one before left the Verify view.
    driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-health"]').click()
    driver.find_element(By.CSS_SELECTOR, '[data-testid="nav-services"]').click()
    wait_for("the table", lambda: driver.find_elements(By.CSS_SELECTOR, '[data-testid="service-table"]'))
    time.sleep(3)
    assert_drawn_without_gpu_compositing(pid)


def test_closing_the_window_keeps_the_app_in_the_tray(driver, sni, app_env):
    service = sni.wait_for_item()
    pid = sni.owner_pid(service)
    display = os.environ.get("SW_E2E_DISPLAY", ":97")

    def app_window():
        d, win = find_app_window(display, pid)
        try:
            return win is not None and is_viewable(win)
        finally:
            d.close()

    # A size of the user's own, to be found again (tauri-plugin-window-state).
    driver.set_window_rect(width=1100, height=700)
    wait_for("resized", lambda: (lambda r: (r["width"], r["height"]) == (1100, 700))(driver.get_window_rect()))

    def size():
        d, win = find_app_window(display, pid)
        try:
            g = win.get_geometry() if win is not None else None
            return (g.width, g.height) if g else None
        finally:
            d.close()

    d, win = find_app_window(display, pid)
    assert win is not None, "app window not found on the display"
    assert is_viewable(win)
    open_file_pss = pss_file_kib(pid)
    d.close()
    assert size() == (1100, 700), size()
    # The window and its web view are released; the app stays in the tray.
    assert close_until_gone(display, pid, app_window), "the window did not close"
    assert os.path.exists(f"/proc/{pid}"), "the app keeps running in the tray"
    wait_for("the web view's processes ended", lambda: not web_processes(pid), timeout=15)
    # Once alone, the app would be charged all the library pages the web
    # view shared with it; it hands them back instead.
    wait_for(f"library pages handed back (open: {open_file_pss} KiB)",
             lambda: pss_file_kib(pid) < open_file_pss, timeout=20)

    props = sni.item_properties(service)
    labels = sni.menu_labels(service, props["menu"])
    assert set(labels) >= {"Open Stackwarden", "Quit"}, labels
    sni.click_menu(service, props["menu"], labels["Open Stackwarden"])
    wait_for("window created again", app_window)

    def drawn():
        d, win = find_app_window(display, pid)
        try:
            return win is not None and distinct_colours(win) > 20
        finally:
            d.close()
    # WebKit starts its processes again and the page renders.
    wait_for("the page rendered in the new window", drawn, timeout=20)
    # The re-created window draws without GPU compositing too.
    time.sleep(2)
    assert_drawn_without_gpu_compositing(pid)
    assert size() == (1100, 700), f"the window keeps its size: {size()}"

    # Launching the app again (say, from the desktop launcher) brings this
    # instance forward instead of starting a second one.
    assert close_until_gone(display, pid, app_window), "the window did not close"
    second = subprocess.run([str(APP)], env=app_env, capture_output=True, timeout=60)
    assert second.returncode == 0, second.stderr[-2000:]
    wait_for("first instance shown", app_window)
    assert len(sni.watcher.items) == 1, f"one tray icon only: {sni.watcher.items}"


def pss_file_kib(pid):
    """The file-backed part of a process's proportional set size."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss_File:"):
                return int(line.split()[1])
    raise AssertionError("no Pss_File in smaps_rollup")


def web_processes(pid, kinds=("WebKitWebProces", "WebKitNetworkPr")):
    """WebKit's web and network processes started by the app."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and comm.startswith(kinds):
            found.append(int(entry))
    return found


def test_quit_from_the_tray_menu(sni):
    service = sni.wait_for_item()
    pid = sni.owner_pid(service)
    props = sni.item_properties(service)
    labels = sni.menu_labels(service, props["menu"])
    try:
        sni.click_menu(service, props["menu"], labels["Quit"])
    except Exception as e:  # the app may exit before it answers the click
        assert "disconnected" in str(e), e
    wait_for("app exited", lambda: not os.path.exists(f"/proc/{pid}") or "zombie" in open(f"/proc/{pid}/status").read().lower()
             or "(Z)" in open(f"/proc/{pid}/status").read(), timeout=15)
