"""Helpers of the stream tests (test_run_call.py, test_reply_send.py): a one-method gRPC server of the test's
own, and a few steps of training that must work over whichever path of the stack a test forces."""

from __future__ import annotations

from concurrent import futures

import grpc

import gradwire as gw
from gradwire.v1 import gradwire_pb2 as pb


def start_stream_server(service: str, method: str, handler):
    """A started gRPC server on 127.0.0.1 (a port the OS picks) whose one method is a stream of ``Batch``
    requests answered by ``BatchReply`` messages, served by ``handler(requests, context)``; (server, address)."""
    rpc = grpc.stream_stream_rpc_method_handler(handler, pb.Batch.FromString, pb.BatchReply.SerializeToString)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, {method: rpc}),))
    address = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
    server.start()
    return server, address


def assert_trains_steadily(s, steps=20):
    """Gradient descent on ``(ones @ w)**2`` in session ``s``: the loss falls every step, and the server's
    tensor count stays flat (each step's tensors are released)."""
    w = s.randn(4, 3, requires_grad=True)
    losses, held = [], []
    for _ in range(steps):
        loss = (s.ones(2, 4) @ w).pow(2).sum()
        loss.backward()
        with gw.no_grad():
            w -= 0.01 * w.grad
        w.grad = None
        losses.append(loss.item())
        held.append(s.stats()["tensors"])
    assert all(b < a for a, b in zip(losses, losses[1:]))  # it trains
    assert held[-1] == held[1]  # and the server's tensor count stays flat
