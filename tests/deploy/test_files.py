"""The deployment files agree with the server: parsed on every run, no Docker or cluster needed.

Environment variable names are the server's (``Config`` fields as ``GRADWIRE_*``) and
their values parse as its flags do; ports, probes, labels and selectors line up; the
proxies hash the SDK's session header; the README's deploy commands name files that exist.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from pathlib import Path

import pytest

from gradwire.wire import SESSION_HEADER
from gradwire_server import healthcheck
from gradwire_server.app import SERVICE_NAME
from gradwire_server.config import Config, env_name, parse_args

from .proxy import REPO, TEMPLATE, template_variables

yaml = pytest.importorskip("yaml")

DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
SERVER_ENV = {env_name(f.name) for f in dataclasses.fields(Config)}
HEALTHCHECK = ["python", "-m", "gradwire_server.healthcheck"]
POD_LABELS = {"app.kubernetes.io/name": "gradwire", "app.kubernetes.io/component": "server"}


def server_config(environment: dict) -> Config:
    """The Config a server started with this environment gets; every GRADWIRE_* name must be one of its settings."""
    gradwire = {k: str(v) for k, v in environment.items() if k.startswith("GRADWIRE_")}
    unknown = set(gradwire) - SERVER_ENV
    assert not unknown, f"not settings of the server: {sorted(unknown)} (known: {sorted(SERVER_ENV)})"
    config = parse_args([], environ=gradwire)
    # each open session's Run stream holds a worker thread: with every session open, health
    # checks and chunked transfers still need free ones, or probes time out and kill the replica
    assert config.max_workers > config.max_sessions, (config.max_workers, config.max_sessions)
    return config


def seconds(value) -> float:
    """'45s', '1h', '3600s', '90' -> seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", str(value).strip())
    assert match, f"not a duration: {value!r}"
    return float(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)]


def load(path: Path):
    return yaml.safe_load(path.read_text())


def load_all(path: Path) -> list:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def assert_healthcheck_is_the_module(test: list):
    assert test[0] == "CMD" and test[1:] == HEALTHCHECK, test
    assert callable(healthcheck.main)


# --- the nginx template -------------------------------------------------------------------------


def test_nginx_template_hashes_the_session_header_consistently_onto_grpc_upstreams():
    text = TEMPLATE.read_text()
    header_variable = "$http_" + SESSION_HEADER.replace("-", "_")
    upstream = re.search(r"^upstream\s+(\w+)\s*\{(.*?)^\}", text, re.S | re.M)
    assert upstream, "no upstream block"
    name, body = upstream.groups()
    assert re.search(rf"^\s*hash\s+{re.escape(header_variable)}\s+consistent;", body, re.M), body
    assert "${PROXY_UPSTREAM_SERVERS}" in body
    assert re.search(rf"^\s*grpc_pass\s+grpc://{name};", text, re.M)
    assert re.search(r"^\s*listen\s+\$\{PROXY_LISTEN_PORT\}\s+http2;", text, re.M)
    assert re.search(r"^\s*client_max_body_size\s+0;", text, re.M), "a stream's batches are one body: no limit"
    for directive in ("client_body_timeout", "grpc_read_timeout", "grpc_send_timeout"):
        value = re.search(rf"^\s*{directive}\s+(\S+);", text, re.M)
        assert value, f"{directive} missing: nginx's 60 s default would end idle sessions' streams"
        assert seconds(value.group(1)) >= Config().idle_timeout_s, directive
    assert template_variables(text) == {"PROXY_LISTEN_PORT", "PROXY_UPSTREAM_SERVERS"}


# --- compose -----------------------------------------------------------------------------------------


def test_compose_runs_replicas_behind_nginx_from_the_template():
    compose = load(DEPLOY / "compose.yaml")
    gradwire, nginx = compose["services"]["gradwire"], compose["services"]["nginx"]
    assert (DEPLOY / gradwire["build"]["context"] / gradwire["build"]["dockerfile"]).resolve() == DEPLOY / "Dockerfile.cpu"
    assert gradwire["deploy"]["replicas"] >= 2
    config = server_config(gradwire["environment"])
    assert config.host == "0.0.0.0" and config.device == "cpu" and config.log_format == "json"
    assert {str(config.port), str(config.metrics_port)} <= {str(p) for p in gradwire["expose"]}
    assert_healthcheck_is_the_module(gradwire["healthcheck"]["test"])
    assert seconds(gradwire["stop_grace_period"]) > config.drain_timeout_s

    assert nginx["depends_on"]["gradwire"]["condition"] == "service_healthy"
    (mount,) = nginx["volumes"]
    source, target, *_ = mount.split(":")
    assert (DEPLOY / source).resolve() == TEMPLATE
    assert target.startswith("/etc/nginx/templates/") and target.endswith(".conf.template")
    env = nginx["environment"]
    assert set(env) == template_variables(TEMPLATE.read_text()), "every template variable set, and only those"
    assert re.fullmatch(rf"(server gradwire:{config.port}\b[^;]*;\s*)+", env["PROXY_UPSTREAM_SERVERS"]), env["PROXY_UPSTREAM_SERVERS"]
    assert [str(p).rsplit(":", 1)[1] for p in nginx["ports"]] == [env["PROXY_LISTEN_PORT"]], "nginx's port is the one published"


def test_the_compose_gpu_variant_gives_each_replica_its_own_gpu():
    base = load(DEPLOY / "compose.yaml")["services"]
    gpu = load(DEPLOY / "compose.gpu.yaml")["services"]
    replicas = {name: service for name, service in gpu.items() if name.startswith("gradwire")}
    assert "gradwire" in replicas and len(replicas) >= 2
    device_ids = []
    for name, service in replicas.items():
        merged_env = {**base["gradwire"]["environment"], **service["environment"]} if name == "gradwire" else service["environment"]
        config = server_config(merged_env)
        assert config.device == "cuda", name
        assert service["build"]["dockerfile"] == "deploy/Dockerfile.gpu", name
        assert service["deploy"]["replicas"] == 1, f"{name}: a GPU per replica, named by its id"
        (device,) = service["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and "gpu" in device["capabilities"], name
        assert len(device["device_ids"]) == 1 and "count" not in device, name
        device_ids += device["device_ids"]
        assert_healthcheck_is_the_module(service["healthcheck"]["test"])
        if name != "gradwire":
            assert "gradwire" in service["networks"]["default"]["aliases"], f"{name}: nginx's upstream must find it"
            assert gpu["nginx"]["depends_on"][name]["condition"] == "service_healthy"
    assert len(set(device_ids)) == len(device_ids), f"two replicas on one GPU: {device_ids}"


# --- the images --------------------------------------------------------------------------------------


def dockerfile(name: str) -> dict:
    """The instructions of a Dockerfile, continuation lines joined: {'FROM': [...], 'ENV': {...}, ...}."""
    text = re.sub(r"\\\n", " ", (DEPLOY / name).read_text())
    parsed = {"FROM": [], "ENV": {}, "EXPOSE": [], "COPY": [], "USER": [], "HEALTHCHECK": [], "ENTRYPOINT": [], "RUN": []}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        if instruction == "ENV":
            parsed["ENV"].update(dict(item.split("=", 1) for item in shlex.split(rest)))
        elif instruction == "EXPOSE":
            parsed["EXPOSE"] += rest.split()
        elif instruction in parsed:
            parsed[instruction].append(rest.strip())
    return parsed


def docker_allowed() -> list[str]:
    lines = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()]
    rules = [line for line in lines if line and not line.startswith("#")]
    assert rules[0] == "*", "the context is an allow list"
    return [rule[1:].rstrip("/") for rule in rules if rule.startswith("!")]


@pytest.mark.parametrize("name, device", [("Dockerfile.cpu", "cpu"), ("Dockerfile.gpu", "cuda")])
def test_images_are_multi_stage_non_root_configured_by_environment_with_a_grpc_healthcheck(name, device):
    image = dockerfile(name)
    assert len(image["FROM"]) >= 2 and any(" AS build" in f for f in image["FROM"]), "multi-stage"
    assert any(c.startswith("--from=build ") for c in image["COPY"]), "the run stage copies the build's environment"
    (user,) = image["USER"]
    assert user.split(":")[0] not in ("0", "root"), "non-root"
    config = server_config(image["ENV"])
    assert config.host == "0.0.0.0" and config.device == device and config.metrics_port >= 0
    assert sorted(image["EXPOSE"]) == sorted([str(config.port), str(config.metrics_port)])
    (check,) = image["HEALTHCHECK"]
    assert check.split("CMD", 1)[1].strip() == '["python", "-m", "gradwire_server.healthcheck"]'
    assert image["ENTRYPOINT"] == ['["gradwire-server"]']
    allowed = docker_allowed()
    for copy in image["COPY"]:
        if copy.startswith("--from="):
            continue
        *sources, _ = copy.split()
        for source in sources:
            assert (REPO / source).exists() and source.rstrip("/") in allowed, f"{name}: COPY {source} missing from the context"
    if device == "cuda":
        assert all("nvidia/cuda" in f or f.startswith("${CUDA_IMAGE}") for f in image["FROM"])
        assert "runtime" in (DEPLOY / name).read_text().split("CUDA_IMAGE=", 1)[1].split()[0], "a CUDA runtime base, not devel"
        assert any('".[gpu]"' in run for run in image["RUN"]), "installs the gpu extra (cupy-cuda12x)"


def test_the_gpu_extra_is_cupy_for_cuda_12():
    text = (REPO / "pyproject.toml").read_text()
    assert re.search(r'gpu = \["cupy-cuda12x', text)


def test_the_healthcheck_asks_the_server_this_environment_configures():
    assert healthcheck.default_address({"GRADWIRE_HOST": "0.0.0.0", "GRADWIRE_PORT": "6000"}) == "127.0.0.1:6000"
    assert healthcheck.default_address({}) == f"{Config().host}:{Config().port}"


# --- Kubernetes ---------------------------------------------------------------------------------------


def k8s_objects() -> dict:
    objects = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in load_all(path):
            objects[(doc["kind"], doc["metadata"]["name"])] = doc
    return objects


def test_kustomization_lists_existing_manifests():
    kustomization = load(K8S / "kustomization.yaml")
    for resource in kustomization["resources"]:
        assert (K8S / resource).exists(), resource
    assert "servicemonitor.yaml" not in kustomization["resources"], "it needs the Prometheus Operator's CRDs: applied apart"


def test_the_deployment_probes_health_over_grpc_and_reserves_a_gpu_per_pod():
    objects = k8s_objects()
    deployment = objects[("Deployment", "gradwire")]
    pod = deployment["spec"]["template"]
    assert deployment["spec"]["selector"]["matchLabels"] == POD_LABELS == {k: pod["metadata"]["labels"][k] for k in POD_LABELS}
    (container,) = pod["spec"]["containers"]
    config = server_config({e["name"]: e["value"] for e in container["env"]})
    assert config.host == "0.0.0.0" and config.device == "cuda" and config.log_format == "json"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"grpc": config.port, "metrics": config.metrics_port}
    assert container["readinessProbe"]["grpc"] == {"port": config.port, "service": SERVICE_NAME}
    assert container["livenessProbe"]["grpc"]["port"] == config.port
    assert container["startupProbe"]["grpc"]["port"] == config.port
    resources = container["resources"]
    assert str(resources["requests"]["nvidia.com/gpu"]) == str(resources["limits"]["nvidia.com/gpu"]) == "1"
    assert {"cpu", "memory"} <= set(resources["requests"])
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    pause = float(pre_stop[1]) if pre_stop[0] == "sleep" else 0.0
    assert pod["spec"]["terminationGracePeriodSeconds"] > pause + config.drain_timeout_s, "graceful termination outlasts the drain"
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True


def test_the_headless_service_pdb_and_servicemonitor_select_the_pods():
    objects = k8s_objects()
    deployment = objects[("Deployment", "gradwire")]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    container_ports = {p["name"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}
    service = objects[("Service", "gradwire")]
    assert service["spec"]["clusterIP"] == "None", "headless: the proxy hashes over every pod"
    assert service["spec"]["selector"].items() <= pod_labels.items()
    service_ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert {"grpc", "metrics"} <= set(service_ports)
    assert all(p["targetPort"] in container_ports for p in service_ports.values())
    pdb = objects[("PodDisruptionBudget", "gradwire")]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pdb["spec"].get("maxUnavailable") == 1 or pdb["spec"].get("minAvailable")
    monitor = objects[("ServiceMonitor", "gradwire")]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["metrics"]


def test_the_proxy_ring_hashes_the_session_header_over_the_headless_service():
    objects = k8s_objects()
    service = objects[("Service", "gradwire")]
    grpc_port = {p["name"]: p["port"] for p in service["spec"]["ports"]}["grpc"]
    envoy = yaml.safe_load(objects[("ConfigMap", "gradwire-proxy")]["data"]["envoy.yaml"])
    (cluster,) = envoy["static_resources"]["clusters"]
    assert cluster["lb_policy"] == "RING_HASH" and cluster["type"] == "STRICT_DNS"
    (endpoint,) = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
    address = endpoint["endpoint"]["address"]["socket_address"]
    assert address["address"].split(".")[0] == service["metadata"]["name"] and address["port_value"] == grpc_port
    assert cluster["health_checks"][0]["grpc_health_check"]["service_name"] == SERVICE_NAME
    assert "http2_protocol_options" in cluster["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]["explicit_http_config"]
    (listener,) = envoy["static_resources"]["listeners"]
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    assert seconds(manager["stream_idle_timeout"]) >= Config().idle_timeout_s, "idle sessions' streams must outlive the proxy's timeout"
    (route,) = manager["route_config"]["virtual_hosts"][0]["routes"]
    assert route["route"]["cluster"] == cluster["name"]
    assert route["route"]["hash_policy"] == [{"header": {"header_name": SESSION_HEADER}}]
    assert seconds(route["route"]["timeout"]) == 0, "no deadline on a session's stream"
    proxy = objects[("Deployment", "gradwire-proxy")]
    volume = proxy["spec"]["template"]["spec"]["volumes"][0]
    assert volume["configMap"]["name"] == "gradwire-proxy"
    proxy_service = objects[("Service", "gradwire-proxy")]
    assert proxy_service["spec"]["selector"].items() <= proxy["spec"]["template"]["metadata"]["labels"].items()
    assert not proxy_service["spec"]["selector"].items() <= objects[("Deployment", "gradwire")]["spec"]["template"]["metadata"]["labels"].items()


# --- the README ------------------------------------------------------------------------------------


def deploy_section() -> str:
    readme = (REPO / "README.md").read_text()
    match = re.search(r"^## Deploy\n(.*?)(?=^## )", readme, re.S | re.M)
    assert match, "the README has a Deploy section"
    return match.group(1)


def test_the_readme_deploy_commands_name_the_files():
    section = deploy_section()
    for path in set(re.findall(r"(?<![\w/])deploy/[\w./-]+\w", section)):
        assert (REPO / path).exists(), f"the README names {path}, which does not exist"
    for command in (
        "docker build -f deploy/Dockerfile.cpu",
        "docker build -f deploy/Dockerfile.gpu",
        "docker compose -f deploy/compose.yaml up",
        "-f deploy/compose.gpu.yaml",
        "kubectl apply -k deploy/k8s",
        "kubectl apply -f deploy/k8s/servicemonitor.yaml",
    ):
        assert command in section, command
    for env in set(re.findall(r"\bGRADWIRE_[A-Z_]+\b", section)):
        assert env in SERVER_ENV | {"GRADWIRE_API_KEY"}, env
