"""The include graph: each layer includes only its own and lower layers (the order is the
Makefile's LAYERS, the one list), and no two modules include each other, directly or through
others (a module is a .c file with its .h)."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def layers():
    text = open(os.path.join(ROOT, "Makefile")).read().replace("\\\n", " ")
    m = re.search(r"^LAYERS\s*=\s*(.+)$", text, re.M)
    assert m, "Makefile has no LAYERS line"
    return m.group(1).split()


def sources(order):
    for d in order:
        for f in sorted(os.listdir(os.path.join(ROOT, d))):
            if f.endswith((".c", ".h", ".cc")):
                yield f"{d}/{f}"


def includes(path):
    text = open(os.path.join(ROOT, path)).read()
    return re.findall(r'^#include "([^"]+)"', text, re.M)


def module(path):
    return os.path.splitext(path)[0]


def test_layers_are_listed_and_exist():
    order = layers()
    assert order[0] == "core" and order[-1] == "harness/app"
    for d in order:
        assert os.path.isdir(os.path.join(ROOT, d)), d
    # every source directory of the library is a layer
    for top in ("core", "workloads", "operators", "strategies", "solvers", "harness"):
        for d, _, files in os.walk(os.path.join(ROOT, top)):
            rel = os.path.relpath(d, ROOT)
            if rel == os.path.join("workloads", "workers"):
                continue  # the example workers: standalone programs, not the library's
            if any(f.endswith((".c", ".h", ".cc")) for f in files):
                assert rel in order, d


def test_no_file_includes_a_higher_layer():
    order = layers()
    rank = {d: i for i, d in enumerate(order)}
    bad = []
    for f in sources(order):
        for inc in includes(f):
            d = os.path.dirname(inc)
            assert d in rank, f"{f} includes {inc}, which is in no layer"
            if rank[d] > rank[os.path.dirname(f)]:
                bad.append(f"{f} -> {inc}")
    assert not bad, "includes of a higher layer:\n" + "\n".join(bad)


def test_no_include_cycles_between_modules():
    order = layers()
    graph = {}
    for f in sources(order):
        deps = graph.setdefault(module(f), set())
        deps.update(module(i) for i in includes(f) if module(i) != module(f))
    state, stack = {}, []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                cycle = stack[stack.index(d):] + [d]
                raise AssertionError("include cycle: " + " -> ".join(cycle))
            if d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
