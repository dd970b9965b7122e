#!/usr/bin/env python3
"""Checks the package's desktop entry beyond what desktop-file-validate checks:
the launcher, icon, WM class and the two actions the issue asks for.

    desktop_entry.py FILE DATA_DIR

DATA_DIR is the package's extracted tree (dpkg-deb -x). Prints the checks and
then shell assignments (STARTUP_WM_CLASS, EXEC, ACTION_verify, ACTION_recover)
for test.sh; exits 1 with the reasons when a check fails."""

import shlex
import sys
from pathlib import Path

EXPECTED_ACTIONS = {
    "verify": ("Verify now", "--verify"),
    "recover": ("Recover…", "--recover"),
}


def parse(text: str) -> dict:
    groups: dict = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = groups.setdefault(line[1:-1], {})
            continue
        if current is None or "=" not in line:
            continue
        key, value = line.split("=", 1)
        current[key.strip()] = value.strip()
    return groups


def main() -> int:
    path, data_dir = Path(sys.argv[1]), Path(sys.argv[2])
    groups = parse(path.read_text(encoding="utf-8"))
    errors = []
    entry = groups.get("Desktop Entry", {})

    def need(cond: bool, ok: str, bad: str):
        if cond:
            print(f"    ok: {ok}")
        else:
            errors.append(bad)

    need(entry.get("Type") == "Application", "Type=Application", f"Type is {entry.get('Type')!r}, not Application")
    need(bool(entry.get("Name")), f"Name={entry.get('Name')}", "Name is missing")
    exec_words = shlex.split(entry.get("Exec", ""))
    binary = exec_words[0] if exec_words else ""
    need(bool(binary) and (data_dir / "usr/bin" / binary).is_file(),
         f"Exec={entry.get('Exec')} (/usr/bin/{binary} is in the package)",
         f"Exec={entry.get('Exec')!r} does not name a binary the package installs in /usr/bin")
    icon = entry.get("Icon", "")
    icons = sorted(p.parent.parent.name for p in (data_dir / "usr/share/icons/hicolor").glob(f"*/apps/{icon}.png")) if icon else []
    need(bool(icons), f"Icon={icon} (hicolor sizes: {', '.join(icons)})",
         f"Icon={icon!r} has no PNG under /usr/share/icons/hicolor/*/apps/")
    need(bool(entry.get("Categories")), f"Categories={entry.get('Categories')}", "Categories is missing")
    wm_class = entry.get("StartupWMClass", "")
    need(bool(wm_class), f"StartupWMClass={wm_class}", "StartupWMClass is missing")
    actions = [a for a in entry.get("Actions", "").split(";") if a]
    for action, (name, flag) in EXPECTED_ACTIONS.items():
        group = groups.get(f"Desktop Action {action}")
        if action not in actions or group is None:
            errors.append(f"action {action!r} is missing (Actions={entry.get('Actions')!r})")
            continue
        need(group.get("Name") == name, f"[Desktop Action {action}] Name={group.get('Name')}",
             f"[Desktop Action {action}] Name is {group.get('Name')!r}, expected {name!r}")
        need(shlex.split(group.get("Exec", "")) == [binary, flag],
             f"[Desktop Action {action}] Exec={group.get('Exec')}",
             f"[Desktop Action {action}] Exec is {group.get('Exec')!r}, expected '{binary} {flag}'")

    if errors:
        for e in errors:
            print(f"    FAIL: {e}", file=sys.stderr)
        return 1
    print(f"STARTUP_WM_CLASS={shlex.quote(wm_class)}")
    print(f"EXEC={shlex.quote(binary)}")
    for action in EXPECTED_ACTIONS:
        print(f"ACTION_{action}={shlex.quote(groups[f'Desktop Action {action}']['Exec'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
