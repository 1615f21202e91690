"""C accelerators for the per-cycle parsers and line rendering.

Both are optional: without a C compiler the build goes on without them and
the pure-Python code does the same work (see docs/BENCHMARKS.md for what they
save). Everything else is in pyproject.toml.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("parsers._speedups", ["parsers/_speedups.c"], optional=True,
                  extra_compile_args=["-O2", "-fvisibility=hidden"]),
        Extension("carbon_client._speedups", ["carbon_client/_speedups.c"], optional=True,
                  extra_compile_args=["-O2", "-fvisibility=hidden"]),
    ],
)
