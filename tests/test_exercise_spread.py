"""Every random answer's tolerance against its spread over seeds, computed: the measuring run of each number
exercise is repeated with seeds 0-4 and the tolerance must cover two standard deviations of the answers (for a
tolerance by factor, two standard deviations of their logarithm). Minutes of CPU: the slow suite's."""

from __future__ import annotations

import math
import statistics

import pytest

from nnlab.exercise import catalog, measure

SEEDS = range(5)
NUMBERS = [e for e in catalog.all_exercises() if e.kind == "number"]


@pytest.fixture(scope="module")
def over_seeds(tmp_path_factory):
    runs = tmp_path_factory.mktemp("spread")
    cache: dict[tuple, dict] = {}

    def values(e) -> list[float]:
        out = []
        for seed in SEEDS:
            plan = measure.plan([e], [f"seed={seed}"])[0]
            key = (plan.command, plan.quick, plan.set_pairs)
            if key not in cache:
                others = [x for x in NUMBERS if x.run_key == e.run_key]
                plan = measure.plan(others, [f"seed={seed}"])[0]
                cache[key] = {o.exercise.id: o for o in measure.run_plan(plan, runs)}
            outcome = cache[key][e.id]
            assert outcome.measured is not None, outcome.error
            out.append(outcome.measured.value)
        return out

    return values


@pytest.mark.slow
@pytest.mark.parametrize("e", NUMBERS, ids=lambda e: e.id)
def test_the_tolerance_covers_two_standard_deviations_over_seeds(e, over_seeds):
    values = over_seeds(e)
    t = e.tolerance
    if t.factor is not None:
        assert all(v > 0 for v in values) or all(v < 0 for v in values), values
        spread = statistics.pstdev(math.log(abs(v)) for v in values)
        assert math.log(t.factor) >= 2 * spread, (values, spread)
    else:
        spread = statistics.pstdev(values)
        assert t.abs + t.rel * abs(statistics.fmean(values)) >= 2 * spread, (values, spread)
