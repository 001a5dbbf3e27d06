"""The server's compiled hot path (setup.py, gradwire_server/compiled.py): the extensions run when they
match their source, and a stale one never does.

Each check imports the package in a fresh interpreter: the guard runs once, as the package is imported.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from gradwire_server import compiled

SERVER = pathlib.Path(compiled.__file__).resolve().parents[1]  # the directory that holds gradwire_server/
# this process runs every compiled module's extension (so the copies below start from a current build)
BUILT = set(compiled.status().values()) == {"compiled"}
needs_build = pytest.mark.skipif(not BUILT, reason="this checkout's server modules are not compiled, or not current "
                                 "(no C compiler at install, an edit since, or GRADWIRE_PURE_PYTHON)")

REPORT = """
import json, sys, warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    import gradwire_server
    from gradwire_server import compiled
    modules = {name: __import__(name, fromlist=["_"]).__file__ for name in compiled.MODULES}
print(json.dumps({"status": compiled.status(), "files": modules, "warnings": [str(w.message) for w in caught]}))
"""


def imported(server_dir, **env):
    """Import every compiled module from ``server_dir`` in a fresh interpreter: the guard's status, the files
    loaded and the warnings given."""
    environment = {k: v for k, v in os.environ.items() if k != "GRADWIRE_PURE_PYTHON"}
    # the copy first; then what this process was given (a device machine's carried grpcio and protobuf, say)
    path = [str(server_dir), str(SERVER.parent / "client")] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    environment.update(PYTHONPATH=os.pathsep.join(path), **env)
    out = subprocess.run([sys.executable, "-c", REPORT], env=environment, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout)


@pytest.fixture
def server_copy(tmp_path):
    """A copy of this checkout's server package, its extensions and their record included."""
    shutil.copytree(SERVER / "gradwire_server", tmp_path / "gradwire_server", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_the_modules_named_exist_and_setup_compiles_those():
    for module in compiled.MODULES:
        assert os.path.exists(compiled.source_path(module)), module
    assert "compiled.py" in (SERVER.parent / "setup.py").read_text()


@pytest.mark.skipif(not os.environ.get("GRADWIRE_EXPECT_COMPILED"), reason="CI sets GRADWIRE_EXPECT_COMPILED: its machine has a compiler")
def test_ci_runs_the_compiled_modules():
    report = imported(SERVER)
    assert set(report["status"].values()) == {"compiled"}, report["status"]
    assert all(not path.endswith(".py") for path in report["files"].values()), report["files"]


@needs_build
def test_matching_extensions_run_and_say_nothing(server_copy):
    report = imported(server_copy)
    assert report["warnings"] == []
    for module, path in report["files"].items():
        assert report["status"][module] == "compiled" and not path.endswith(".py"), (module, path)


@needs_build
def test_an_edited_module_runs_its_source_with_a_warning_the_others_stay_compiled(server_copy):
    edited = "gradwire_server.quotas"
    with open(compiled.source_path(edited, str(server_copy)), "a") as f:
        f.write("\nEDITED_AFTER_THE_BUILD = True\n")
    report = imported(server_copy)
    assert report["files"][edited] == compiled.source_path(edited, str(server_copy))
    assert report["status"][edited] == "source"
    (warning,) = report["warnings"]
    assert edited in warning and "pip install -e ." in warning
    others = {m: p for m, p in report["files"].items() if m != edited}
    assert all(not p.endswith(".py") for p in others.values()), others


@needs_build
def test_a_missing_record_runs_every_module_from_source(server_copy):
    (server_copy / "gradwire_server" / compiled.RECORD).unlink()
    report = imported(server_copy)
    assert set(report["status"].values()) == {"source"}
    assert all(path.endswith(".py") for path in report["files"].values())
    assert len(report["warnings"]) == 1


@needs_build
def test_pure_python_runs_every_module_from_source_quietly(server_copy):
    report = imported(server_copy, GRADWIRE_PURE_PYTHON="1")
    assert set(report["status"].values()) == {"source"} and report["warnings"] == []
    assert all(path.endswith(".py") for path in report["files"].values())


@needs_build
def test_the_record_holds_the_digest_of_each_compiled_source():
    record = json.loads((SERVER / "gradwire_server" / compiled.RECORD).read_text())
    assert sorted(record) == sorted(compiled.MODULES)
    for module, digest in record.items():
        assert len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)
