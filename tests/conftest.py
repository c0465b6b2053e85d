"""pytest hooks shared by the Python tests."""


def pytest_terminal_summary(terminalreporter):
    # tests/test_docs.py counts what it ran and, visibly, what the docs mark as not run
    import sys
    mod = sys.modules.get("test_docs")
    if mod is None or not (mod.STATS["run"] or mod.STATS["not_run"]):
        return
    s = mod.STATS
    terminalreporter.write_line(
        f"docs: {s['run']} commands run, {s['outputs']} outputs and {s['messages']} bad-input "
        f"messages checked, {len(s['not_run'])} blocks marked not run:")
    for where, why in s["not_run"]:
        terminalreporter.write_line(f"  {where}: {why}")
