"""README's table of measured numbers is the one benchmarks/readme_numbers.py last wrote (issue 24): a number
edited by hand, or a table not regenerated after its JSON changed, fails here. Measuring again is the script's
own `--check` (minutes of runs: a benchmark, not a test)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def script():
    spec = importlib.util.spec_from_file_location("readme_numbers", ROOT / "benchmarks" / "readme_numbers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readmes_table_is_the_generated_one():
    numbers = script()
    table = json.loads(numbers.TABLE.read_text(encoding="utf-8"))
    readme = numbers.README.read_text(encoding="utf-8")
    start, end = readme.index(numbers.BEGIN), readme.index(numbers.END) + len(numbers.END)
    assert readme[start:end] == numbers.render(table)
    for row in table["rows"]:  # every number the text shows is one the script measured, in its order
        assert row["numbers"] and all(isinstance(v, (int, float)) for v, _ in row["numbers"])


def test_the_check_allows_each_number_its_stated_spread():
    numbers = script()
    old = {"rows": [{"what": "a", "numbers": [[1.0, 0.1], [2.0, 0], [30.0, None]]}]}
    assert numbers.check(old, [{"numbers": [[1.29, 0], [2.0, 0], [99.0, None]]}]) == []  # wall time: not judged
    moved = numbers.check(old, [{"numbers": [[1.31, 0], [2.001, 0], [30.0, None]]}])
    assert len(moved) == 2 and moved[0].startswith("a: 1 -> 1.31")
