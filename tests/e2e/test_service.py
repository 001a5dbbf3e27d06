"""What the service shows operators and tools: health, reflection, server info; the generated code is current."""

from __future__ import annotations

import filecmp
import pathlib
import subprocess
import sys

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from gradwire.v1 import gradwire_pb2 as pb
from gradwire.v1 import gradwire_pb2_grpc as pb_grpc
from gradwire_server import __version__ as server_version

ROOT = pathlib.Path(__file__).resolve().parents[2]
GENERATED = ROOT / "client" / "gradwire" / "v1"


@pytest.fixture
def channel(server):
    with grpc.insecure_channel(server.address) as channel:
        yield channel


def test_codegen_is_not_stale(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "proto" / "codegen.py"), "--out", str(tmp_path)], check=True, capture_output=True, timeout=120)
    fresh = tmp_path / "gradwire" / "v1"
    names = sorted(p.name for p in fresh.iterdir() if p.is_file())
    committed = sorted(p.name for p in GENERATED.iterdir() if p.is_file())
    assert names == committed, f"generated {names}, committed {committed}"
    assert {"__init__.py", "gradwire_pb2.py", "gradwire_pb2.pyi", "gradwire_pb2_grpc.py"} <= set(names)
    for name in names:
        assert filecmp.cmp(fresh / name, GENERATED / name, shallow=False), (
            f"client/gradwire/v1/{name} differs from what proto/codegen.py makes: run `python proto/codegen.py`"
        )


def test_health_reports_serving(channel):
    stub = health_pb2_grpc.HealthStub(channel)
    for service in ("", "gradwire.v1.Gradwire"):
        reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING, service
    with pytest.raises(grpc.RpcError) as info:
        stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10)
    assert info.value.code() is grpc.StatusCode.NOT_FOUND


def _reflect(channel, request):
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    (reply,) = list(stub.ServerReflectionInfo(iter([request]), timeout=10))
    return reply


def test_reflection_lists_and_describes_the_service(channel):
    listed = _reflect(channel, reflection_pb2.ServerReflectionRequest(list_services=""))
    names = {s.name for s in listed.list_services_response.service}
    assert "gradwire.v1.Gradwire" in names
    assert "grpc.health.v1.Health" in names

    described = _reflect(channel, reflection_pb2.ServerReflectionRequest(file_containing_symbol="gradwire.v1.Gradwire"))
    files = [descriptor_pb2.FileDescriptorProto.FromString(b) for b in described.file_descriptor_response.file_descriptor_proto]
    services = {f"{f.package}.{s.name}": s for f in files for s in f.service}
    methods = {m.name for m in services["gradwire.v1.Gradwire"].method}
    assert methods == {"OpenSession", "CloseSession", "Run", "Upload", "Download", "GetServerInfo"}


def test_server_info(server, channel):
    info = pb_grpc.GradwireStub(channel).GetServerInfo(pb.ServerInfoRequest(), timeout=10)
    assert info.version == server_version
    assert info.device == "cpu"
    limits = info.limits
    config = server.config
    assert limits.max_sessions == config.max_sessions
    assert limits.max_session_bytes == config.max_session_bytes
    assert limits.max_batch_commands == config.max_batch_commands
    assert limits.inline_bytes == config.inline_bytes > 0
    assert limits.chunk_bytes == config.chunk_bytes > 0
    assert limits.idle_timeout_s == config.idle_timeout_s
    ops = set(info.ops)
    assert {"add", "mul", "matmul", "sum", "index", "max", "softmax", "cat", "where"} <= ops
    assert list(info.ops) == sorted(info.ops)
    assert set(info.non_differentiable) <= ops and {"argmax", "eq"} <= set(info.non_differentiable)
    assert {"float32", "float64", "int64", "bool"} <= set(info.dtypes)


def test_a_session_sees_the_same_server_info(session):
    assert session.server_info.version == server_version
    assert session.device == session.server_info.device == "cpu"
    assert session.limits == session.server_info.limits

