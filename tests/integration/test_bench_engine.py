"""The engine benchmark still does what it measures (on a few runs, not for its figures):
a change to the store's contract must not leave `bench/` broken until someone measures."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from tests.conftest import ROOT


def engine_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "engine_bench", ROOT / "bench" / "engine_bench.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_engine_benchmark_claims_every_run_and_stores_every_request() -> None:
    bench = engine_bench()
    assert bench.bench_plans(n=3) > 0
    assert bench.bench_claims(n=5) > 0  # it asserts that all five were claimed and ended
    assert bench.bench_requests(n=5) > 0
