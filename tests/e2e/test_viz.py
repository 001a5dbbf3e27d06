"""gw.viz.graph: the picture of the graph the server holds, as DOT text."""

from __future__ import annotations

import os
import re
import shutil
import stat
import xml.etree.ElementTree as ET
from collections import Counter

import pytest

import gradwire as gw

torch = pytest.importorskip("torch")

_NODE = re.compile(r'^\s*n(\d+) \[label="((?:[^"\\]|\\.)*)"')
_EDGE = re.compile(r"^\s*n(\d+) -> n(\d+);$")


def parse(source: str):
    """(labels by node id, edges as (src label, dst label)) from the DOT text."""
    labels, edges = {}, []
    for line in source.splitlines():
        if m := _NODE.match(line):
            labels[int(m.group(1))] = m.group(2).replace("\\n", " | ")
        elif m := _EDGE.match(line):
            edges.append((int(m.group(1)), int(m.group(2))))
    return labels, Counter((labels[s], labels[d]) for s, d in edges)


def test_the_seed_program_has_exactly_its_nodes_and_edges(session):
    x = session.randn(3, 4, requires_grad=True)
    y = session.randn(3, 4)
    z = session.randn(3, 4)
    out = (x * y + z).sum()
    labels, edges = parse(gw.viz.graph(out, params={"x": x, "out": out}).source)
    x_, const = "x | (3, 4) | requires_grad=True | is_leaf=True", "(3, 4) | requires_grad=False | is_leaf=True"
    root = "out | () | requires_grad=True | is_leaf=False"
    assert Counter(labels.values()) == Counter([root, "SumBackward0", "AddBackward0", "MulBackward0", x_, const, const])
    assert edges == Counter({
        (x_, "MulBackward0"): 1, (const, "MulBackward0"): 1,  # y
        ("MulBackward0", "AddBackward0"): 1, (const, "AddBackward0"): 1,  # z
        ("AddBackward0", "SumBackward0"): 1, ("SumBackward0", root): 1,
    })


def _torch_picture(root, names):
    """The same picture drawn from PyTorch's own graph (grad_fn / next_functions)."""
    by_id = {id(t): n for n, t in names.items()}
    labels, edges, seen = Counter(), Counter(), set()

    def tensor_label(t):
        name = by_id.get(id(t), "")
        return (f"{name} | " if name else "") + f"{tuple(t.shape)} | requires_grad={t.requires_grad} | is_leaf={t.is_leaf}"

    labels[tensor_label(root)] += 1
    edges[(root.grad_fn.name(), tensor_label(root))] += 1
    stack = [root.grad_fn]
    while stack:
        fn = stack.pop()
        if fn in seen:
            continue
        seen.add(fn)
        labels[fn.name()] += 1
        for child, _ in fn.next_functions:
            if child is None:
                continue
            if child.name() == "torch::autograd::AccumulateGrad":
                label = tensor_label(child.variable)
                # keyed by the leaf, which lives on: next_functions hands out fresh node objects,
                # whose id() a later one may reuse once they are collected
                if ("leaf", id(child.variable)) not in seen:
                    seen.add(("leaf", id(child.variable)))
                    labels[label] += 1
            else:
                label = child.name()
                stack.append(child)
            edges[(label, fn.name())] += 1
    return labels, edges


@pytest.mark.parametrize("program", [
    lambda x, y, z: (x * y + z).sum(),
    lambda x, y, z: ((x * x + y).exp() @ z.T).mean(),  # x used twice by one op; a shared leaf
    lambda x, y, z: (x.tanh() * y).sum() + (x * z).sum(),
])
def test_the_picture_matches_pytorchs_graph(session, program):
    g = {k: session.randn(3, 4, requires_grad=True) for k in "xyz"}
    t = {k: torch.randn(3, 4, requires_grad=True) for k in "xyz"}
    gout, tout = program(**g), program(**t)
    labels, edges = parse(gw.viz.graph(gout, params={**g, "out": gout}).source)
    tlabels, tedges = _torch_picture(tout, {**t, "out": tout})
    assert Counter(labels.values()) == tlabels
    assert edges == tedges


def test_a_graph_freed_by_backward_says_so(session):
    x = session.randn(3, requires_grad=True)
    out = (x * x).sum()
    assert not gw.viz.graph(out).freed
    out.backward(retain_graph=True)
    kept = gw.viz.graph(out)
    assert not kept.freed and "freed" not in kept.source
    out.backward()
    freed = gw.viz.graph(out)
    assert freed.freed
    assert "this graph was freed by backward()" in freed.source and "retain_graph=True" in freed.source
    labels, _ = parse(freed.source)
    assert "MulBackward0 | (freed by backward)" in labels.values()
    assert [n.freed for n in freed.nodes if n.is_op] == [False, True]  # SumBackward0 saved nothing to free


def test_a_leaf_is_one_tensor_node(session):
    x = session.randn(2, 5, requires_grad=True)
    g = gw.viz.graph(x, params={"x": x})
    assert [(n.name, n.shape, n.requires_grad, n.is_leaf, n.is_op) for n in g.nodes] == [("x", (2, 5), True, True, False)]
    assert g.edges == ()


def test_render_without_graphviz_says_how_to_get_it(session, tmp_path, monkeypatch):
    out = (session.randn(2, requires_grad=True) * 2).sum()
    g = gw.viz.graph(out)
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` here
    with pytest.raises(RuntimeError, match="Graphviz's 'dot' program, which is not on PATH"):
        g.render(tmp_path / "g.svg")
    assert g.render(tmp_path / "g.dot") == str(tmp_path / "g.dot")
    assert (tmp_path / "g.dot").read_text() == g.source
    with pytest.raises(ValueError, match="unknown format"):
        g.render(tmp_path / "g.bmp")


def test_render_runs_dot_with_the_format(session, tmp_path, monkeypatch):
    """A stand-in `dot` on PATH records how it was called and what it was given."""
    fake = tmp_path / "dot"
    fake.write_text('#!/bin/sh\necho "$@" > "$3.args"\ncat > "$3"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ.get("PATH", ""))
    g = gw.viz.graph((session.randn(2, requires_grad=True) * 2).sum())
    target = tmp_path / "picture.png"
    g.render(target)
    assert target.read_text() == g.source
    assert (tmp_path / "picture.png.args").read_text().split() == ["-Tpng", "-o", str(target)]
    g.render(tmp_path / "other", format="svg")
    assert (tmp_path / "other.args").read_text().split()[0] == "-Tsvg"


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (.ci/run installs it)")
def test_graphviz_draws_the_seed_programs_picture_as_svg_and_png(session, tmp_path):
    x, y, z = session.randn(3, 4, requires_grad=True), session.randn(3, 4), session.randn(3, 4)
    out = (x * y + z).sum()
    g = gw.viz.graph(out, params={"x": x, "out": out})
    svg = ET.parse(g.render(tmp_path / "seed.svg")).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    groups = {kind: [e for e in svg.iter("{http://www.w3.org/2000/svg}g") if e.get("class") == kind] for kind in ("node", "edge")}
    assert (len(groups["node"]), len(groups["edge"])) == (7, 6)  # x, y, z, three ops, out; as parse() counts them
    texts = Counter(t.text for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    for op in ("MulBackward0", "AddBackward0", "SumBackward0"):
        assert texts[op] == 1
    assert texts["requires_grad=True"] == 2 and texts["requires_grad=False"] == 2  # x and out; y and z
    png = (tmp_path / "seed.png").read_bytes() if g.render(tmp_path / "seed.png") else b""
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    assert ET.fromstring(g._repr_svg_()).tag == svg.tag  # what a notebook shows


def test_graph_of_an_unknown_tensor_is_a_typed_error(session):
    x = session.randn(2, requires_grad=True)
    other = gw.connect(session.target, timeout=10)
    try:
        y = other.randn(2)
        y._handle = 10_000_000  # a handle this session never issued
        with pytest.raises(gw.NotFoundError, match="unknown tensor handle"):
            gw.viz.graph(y)
        assert gw.viz.graph(x).nodes[0].shape == (2,)  # the sessions carry on
        other.sync()
    finally:
        y._handle = 0
        other.close()
