"""The build's one step beyond pyproject.toml: the server's hot path compiled with Cython.

The modules in ``server/gradwire_server/compiled.py`` (every command's decode and dispatch, the
engine's apply and record, the backward walk) are plain Python; Cython compiles them unchanged into
extension modules, which run the same code with about a third less interpreter overhead per op. The
build records a digest of each module's source beside the extensions, so that a later edit runs the
edited source rather than a stale extension (``compiled.guard``). Without a C compiler the build goes
on without them (``optional``), and the server runs its Python source. ``GRADWIRE_PURE_PYTHON=1`` at
build time skips the step.
"""

import json
import os
import runpy
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# read, not imported: importing the package would run its guard against the build in progress
compiled = runpy.run_path(os.path.join("server", "gradwire_server", "compiled.py"))


class BuildAndRecord(build_ext):
    """build_ext, then the record of what each extension was compiled from, beside them."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1  # one compiler process per core: the modules are independent

    def run(self):
        super().run()
        built = {ext.name for ext in self.extensions if os.path.exists(self.get_ext_fullpath(ext.name))}
        record = {name: compiled["digest"](compiled["source_path"](name, "server")) for name in sorted(built)}
        path = os.path.join(os.path.dirname(self.get_ext_fullpath("gradwire_server.compiled")), compiled["RECORD"])
        with open(path, "w") as f:
            json.dump(record, f, indent=1)


def extensions():
    if os.environ.get("GRADWIRE_PURE_PYTHON"):
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:  # a build without its isolated environment (--no-build-isolation) and no Cython: Python source
        print("gradwire: Cython is not installed; the server's hot path stays Python source", file=sys.stderr)
        return []

    modules = [Extension(name, [compiled["source_path"](name, "server")], optional=True, extra_compile_args=["-g0"]) for name in compiled["MODULES"]]
    directives = {
        "language_level": 3,
        "annotation_typing": False,  # annotations stay annotations: `x: float` must not become a C double
        "binding": True,  # functions keep Python's introspection (signatures, __name__, __qualname__)
    }
    return cythonize(modules, compiler_directives=directives, build_dir="build/cython", quiet=True, nthreads=os.cpu_count() or 1)


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildAndRecord})
