"""The recorded graph behind a tensor, as plain nodes and edges (for pictures of it).

The picture is the backward graph PyTorch keeps, drawn in the forward direction: tensor
nodes (the root; each leaf that requires grad, reached through its ``AccumulateGrad``; each
input that needs no gradient, known by the shape and dtype its op recorded) and op nodes
(``MulBackward0``), with an edge from each input to the op that used it and from the
root's op to the root. ``AccumulateGrad`` is not drawn: its leaf stands in for it.
"""

from __future__ import annotations

from typing import NamedTuple

from .graph import AccumulateGrad, Node
from .tensor import Tensor


class ViewNode(NamedTuple):
    id: int
    is_op: bool
    name: str = ""
    shape: tuple = ()
    dtype: str = ""
    requires_grad: bool = False
    is_leaf: bool = False
    tensor: Tensor | None = None  # the engine tensor a tensor node stands for, where known
    freed: bool = False  # an op whose saved tensors a backward pass freed


def describe(root: Tensor) -> tuple[list[ViewNode], list[tuple[int, int]]]:
    """Nodes and edges ``(src, dst)`` of the graph behind ``root``; node 0 is ``root``."""
    nodes = [_tensor_node(0, root)]
    edges: list[tuple[int, int]] = []
    if root.grad_fn is None:
        return nodes, edges
    ids: dict[int, int] = {}  # id(Node or leaf Tensor) -> node id

    def visit(obj, make) -> tuple[int, bool]:
        key = id(obj)
        if key in ids:
            return ids[key], False
        ids[key] = len(nodes)
        nodes.append(make(len(nodes)))
        return ids[key], True

    top, _ = visit(root.grad_fn, lambda i: _op_node(i, root.grad_fn))
    edges.append((top, 0))
    stack = [root.grad_fn]
    while stack:
        node = stack.pop()
        dst = ids[id(node)]
        for edge, meta in zip(node.edges, node.metas):
            if edge is None:
                if meta is None:  # a Python number: not a tensor
                    continue
                src = len(nodes)  # an input that needs no gradient: the op kept only its shape and dtype
                nodes.append(ViewNode(src, False, shape=tuple(meta.shape), dtype=str(meta.dtype), is_leaf=True))
            elif type(edge) is AccumulateGrad:
                src, _ = visit(edge.variable, lambda i, leaf=edge.variable: _tensor_node(i, leaf))
            elif isinstance(edge, Node):
                src, new = visit(edge, lambda i, n=edge: _op_node(i, n))
                if new:
                    stack.append(edge)
            else:
                continue
            edges.append((src, dst))
    return nodes, edges


def _tensor_node(i, tensor: Tensor) -> ViewNode:
    return ViewNode(i, False, shape=tuple(tensor.shape), dtype=tensor.dtype.name, requires_grad=tensor.requires_grad,
                    is_leaf=tensor.is_leaf, tensor=tensor)


def _op_node(i, node: Node) -> ViewNode:
    return ViewNode(i, True, name=node.name, freed=node.saved is None)
