"""Reading processes from /proc, for tests and benchmarks."""

import os


def thread_names(pid):
    """The names (comm) of a process's threads; empty once it has ended."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    names = []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/comm") as f:
                names.append(f.read().strip())
        except OSError:
            continue
    return names
