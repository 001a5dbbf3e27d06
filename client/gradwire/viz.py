"""Pictures of the autograd graph: ``gw.viz.graph(tensor)``, as DOT text and, with Graphviz, SVG/PNG.

The server answers from the graph it holds for the tensor (one ``GraphRequest`` command,
a sync point); nothing here is reconstructed from client-side bookkeeping.

    g = gw.viz.graph(out, params={"x": x, "y": y})
    print(g.source)               # DOT text
    g.render("graph.svg")         # needs Graphviz's `dot` on PATH
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field

from .tensor import Tensor

FORMATS = ("svg", "png", "pdf", "dot")


@dataclass(frozen=True)
class GraphNode:
    """A node of the picture: a tensor (``is_op`` False) or an op such as ``MulBackward0``."""

    id: int
    is_op: bool
    name: str  # an op's name, or the name given to a tensor in ``params`` ("" otherwise)
    shape: tuple = ()
    dtype: str = ""
    requires_grad: bool = False
    is_leaf: bool = False
    freed: bool = False  # an op whose saved tensors a backward pass freed

    @property
    def label(self) -> str:
        if self.is_op:
            return self.name + ("\n(freed by backward)" if self.freed else "")
        head = f"{self.name}\n" if self.name else ""
        return f"{head}{self.shape}\nrequires_grad={self.requires_grad}\nis_leaf={self.is_leaf}"


@dataclass(frozen=True)
class Graph:
    """The graph behind a tensor: ``nodes``, ``edges`` (``(src, dst)`` ids, forward direction), ``source`` (DOT)."""

    nodes: tuple
    edges: tuple
    freed: bool = field(default=False)  # some op lost its saved tensors to a backward pass

    @property
    def source(self) -> str:
        """The graph in Graphviz's DOT language."""
        lines = ["digraph {", '  graph [rankdir=TB];', '  node [fontname="monospace" fontsize=10 shape=box style=filled];']
        if self.freed:
            lines.append(
                '  label="this graph was freed by backward(): its saved tensors are gone, and a second backward '
                'through the freed ops raises (pass retain_graph=True to keep them)"; labelloc=t;'
            )
        for node in self.nodes:
            if node.is_op:
                style = 'fillcolor="white" style="dashed"' if node.freed else 'fillcolor="lightgrey"'
            elif node.id == 0:
                style = 'fillcolor="darkolivegreen1"'  # the root, as torchviz colours it
            else:
                style = 'fillcolor="lightblue"' if node.requires_grad else 'fillcolor="white"'
            lines.append(f'  n{node.id} [label="{_escape(node.label)}" {style}];')
        for src, dst in self.edges:
            lines.append(f"  n{src} -> n{dst};")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def render(self, path, format: str | None = None) -> str:
        """Write the picture to ``path`` (format from ``format`` or the file's suffix: svg, png, pdf, dot).

        Needs Graphviz's ``dot`` program on PATH except for ``dot``; raises ``RuntimeError``
        saying how to get it where it is missing. Returns ``path``.
        """
        path = os.fspath(path)
        format = format or os.path.splitext(path)[1].lstrip(".").lower() or "svg"
        if format not in FORMATS:
            raise ValueError(f"unknown format {format!r}; known: {', '.join(FORMATS)}")
        if format == "dot":
            with open(path, "w") as f:
                f.write(self.source)
            return path
        dot = shutil.which("dot")
        if dot is None:
            raise RuntimeError(
                "rendering needs Graphviz's 'dot' program, which is not on PATH: install Graphviz "
                "(apt install graphviz, brew install graphviz, conda install graphviz), or write "
                "the DOT text of .source (or render(path, format='dot')) and draw it elsewhere"
            )
        done = subprocess.run([dot, f"-T{format}", "-o", path], input=self.source.encode(), capture_output=True)
        if done.returncode != 0:
            raise RuntimeError(f"Graphviz's dot failed ({done.returncode}): {done.stderr.decode(errors='replace').strip()}")
        return path

    def _repr_svg_(self):  # Jupyter draws it where Graphviz is present
        if shutil.which("dot") is None:
            return None
        return subprocess.run(["dot", "-Tsvg"], input=self.source.encode(), capture_output=True).stdout.decode()


def graph(tensor: Tensor, params: dict | None = None) -> Graph:
    """The pending backward graph behind ``tensor``, as the server holds it (a sync point).

    Tensor nodes carry shape, ``requires_grad`` and ``is_leaf``; op nodes PyTorch's names
    (``MulBackward0``). ``params`` (``{"x": x, ...}``) names tensor nodes in the picture.
    After a ``backward()`` without ``retain_graph=True`` the ops that saved tensors are
    marked freed, and ``Graph.freed`` is True.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"graph() takes a gradwire Tensor, got {type(tensor).__name__}")
    session = tensor._session
    names = {p._handle: name for name, p in (params or {}).items()}
    with session._lock:
        command = session._command("viz.graph")
        command.graph.root = tensor._handle
        session._wait()
        answer = session._answers.pop(command.id).graph
    nodes = tuple(
        GraphNode(n.id, n.is_op, n.name if n.is_op else names.get(n.handle, "") if n.handle else "", tuple(n.shape), n.dtype,
                  n.requires_grad, n.is_leaf, n.freed)
        for n in answer.nodes
    )
    edges = tuple((e.src, e.dst) for e in answer.edges)
    return Graph(nodes, edges, freed=any(n.freed for n in nodes))


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


__all__ = ["Graph", "GraphNode", "graph"]
