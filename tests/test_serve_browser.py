"""`nnlab serve` in a real browser: Debian's chromium, driven by Selenium through Debian's chromedriver (nothing
is downloaded: the driver's path is given, so selenium-manager is never asked). A real server (uvicorn, on a
free loopback port) runs real commands in worker processes: init --quick from its form, and a full
train-mnist run that is cancelled. As tests/test_lecture.py: in CI a missing browser fails, elsewhere it skips.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytestmark = pytest.mark.slow  # a browser, a server and real runs: about 40 s on two busy cores

FINAL = ("completed", "diverged", "failed", "interrupted", "crashed", "refused", "cancelled")


@contextlib.contextmanager
def running_server(app: Any) -> Iterator[str]:
    """`app` served by uvicorn on a free loopback port, in a thread; yields its base URL. Leaving stops it the
    way Ctrl-C does (the app's shutdown closes its running runs)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(60)


def browser_paths() -> tuple[str, str]:
    chromium = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
    driver = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver")
                                              else None)
    missing = [name for name, path in (("chromium", chromium), ("chromium-driver", driver)) if path is None]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install 'nnlab[serve]')")
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"no {', '.join(missing)}: CI must install them (.ci/run)")
        pytest.skip(f"no {', '.join(missing)} here; in CI this test fails instead")
    return chromium, driver


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    from nnlab.serve.app import create_app

    out = tmp_path_factory.mktemp("lab") / "outputs"
    app = create_app(out, workers=1)
    with running_server(app) as url:
        yield {"url": url, "out": out, "jobs": app.state.jobs}


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-extensions", "--window-size=1300,1100"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def wait(driver, until, timeout: float = 120.0):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(until)


def css(driver, selector: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def problems(driver, base: str) -> list[str]:
    """Console errors, and any request that left the server (the pages fetch nothing from elsewhere)."""
    logged = [e["message"] for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    requests = driver.execute_script("return performance.getEntriesByType('resource').map(r => r.name)")
    return logged + [f"request {r}" for r in requests if not r.startswith(base)]


def open_page(driver, url: str, ready: str) -> None:
    driver.get(url)
    wait(driver, lambda d: css(d, ready), 60)


def run_dirs(out: Path, command: str) -> list[Path]:
    parent = out / command
    return sorted(p for p in parent.iterdir() if not p.is_symlink()) if parent.is_dir() else []


def field(driver, name: str):
    (element,) = css(driver, f"[data-field='{name}']")
    return element


def test_home_shows_the_lectures_sections_in_order(lab, browser):
    from nnlab.registry import COMMANDS

    open_page(browser, lab["url"] + "/", "section.lecture-section")
    sections = [s.get_attribute("data-command") for s in css(browser, "section.lecture-section")]
    assert sections == list(COMMANDS)
    assert "nnlab init" in css(browser, "[data-command='init'] a.command")[0].text
    assert problems(browser, lab["url"]) == []


def test_init_from_its_form_quick_shows_progress_verdicts_figures_and_the_url_keeps_it(lab, browser):
    import nnlab

    base = lab["url"]
    open_page(browser, base + "/commands/init", "#config-form")
    scale = field(browser, "scale")
    scale.clear()
    scale.send_keys("0.05")
    css(browser, "#quick")[0].click()
    assert browser.current_url == base + "/commands/init?quick=1&scale=0.05"
    assert css(browser, "#cli")[0].text == "nnlab init --quick --scale 0.05"
    browser.refresh()  # the URL alone restores the form
    wait(browser, lambda d: css(d, "#config-form"), 60)
    assert field(browser, "scale").get_attribute("value") == "0.05" and css(browser, "#quick")[0].is_selected()
    assert field(browser, "width").get_attribute("value") == "4096"  # the default, not the quick preset's
    css(browser, "#run")[0].click()
    status = wait(browser, lambda d: css(d, ".job .job-status"), 60)[0]
    seen = set()
    wait(browser, lambda d: seen.add(status.get_attribute("data-status")) or status.get_attribute("data-status")
         in FINAL, 180)
    assert status.get_attribute("data-status") == "completed", css(browser, ".job")[0].text
    assert seen & {"starting", "running"}  # the progress was shown live, before the end
    wait(browser, lambda d: css(d, "#result .run-result"), 60)
    (run_dir,) = run_dirs(lab["out"], "init")
    record = json.loads((run_dir / "summary.json").read_text())
    marks = [m.text for m in css(browser, "#result .verdicts.claims td .verdict")]
    assert marks == ["✓" if c["holds"] else "✗" for c in record["claims"]] and marks
    assert len(css(browser, "#result .verdicts.checks td .verdict")) == len(record["checks"])
    wait(browser, lambda d: d.execute_script("return [...document.images].every(i => i.complete)"), 60)
    widths = browser.execute_script("return [...document.querySelectorAll('#result figure img')].map(i => "
                                    "i.naturalWidth)")
    assert len(widths) == len(list((run_dir / "plots").glob("*.png"))) > 0 and all(w > 0 for w in widths)
    assert problems(browser, base) == []
    # the same command line, same seed: the same numbers (in this process, into the same --out)
    result = nnlab.run("init", quick=True, scale=["0.05"], out=lab["out"], plots=False)
    from nnlab.core.record import RunRecord

    served = RunRecord(run_dir)
    assert result.numbers == served.numbers and served.config == RunRecord(result.path).config
    assert [c["measured"] for c in served.claims] == [c["measured"] for c in result.summary["claims"]]


def test_a_bad_value_shows_its_message_and_starts_no_run(lab, browser):
    open_page(browser, lab["url"] + "/commands/init?quick=1&width=0", "#config-form")
    before = run_dirs(lab["out"], "init")
    css(browser, "#run")[0].click()
    message = wait(browser, lambda d: [e for e in css(d, "#error") if e.is_displayed()], 30)[0]
    assert message.text == "--width: must be >= 1, got 0"
    assert run_dirs(lab["out"], "init") == before and not css(browser, ".job")
    assert not any(j.command == "init" and j.args == ["--quick", "--width=0"] for j in lab["jobs"].jobs.values())
    assert [p for p in problems(browser, lab["url"]) if "/api/runs" not in p or "422" not in p] == []  # the 422 only


def test_two_runs_side_by_side_with_curves_and_the_exact_value_under_the_pointer(lab, browser):
    from selenium.webdriver.common.action_chains import ActionChains

    ids = [f"init/{p.name}" for p in run_dirs(lab["out"], "init")]
    assert len(ids) == 2  # the served run and the command line's
    open_page(browser, lab["url"] + "/runs?command=init", "table.runs")
    for box in css(browser, "input.pick"):
        box.click()
    css(browser, "#compare")[0].click()
    wait(browser, lambda d: css(d, ".chart svg polyline"), 60)
    assert "/compare?runs=" in browser.current_url
    assert css(browser, ".differ p.muted")[0].text == "The same config."  # one command line, run twice
    rows = [[c.text for c in r.find_elements("css selector", "td")] for r in css(browser, "table.numbers tbody tr")]
    assert rows and all(row[1] == row[2] for row in rows)  # identical numbers side by side
    svg = css(browser, ".chart svg")[0]
    ActionChains(browser).move_to_element_with_offset(svg, 0, 0).perform()
    chart = css(browser, ".chart")[0]
    wait(browser, lambda d: chart.get_attribute("data-y"), 10)
    metric = css(browser, "#metric")[0].get_attribute("value")
    metrics = [json.loads(line) for line in (lab["out"] / ids[0] / "metrics.jsonl").read_text().splitlines()]
    assert float(chart.get_attribute("data-y")) in {m[metric] for m in metrics if metric in m}
    assert chart.get_attribute("data-y") in css(browser, ".chart-tip")[0].text
    assert problems(browser, lab["url"]) == []


def test_cancel_a_running_run_and_see_it_interrupted(lab, browser):
    open_page(browser, lab["url"] + "/commands/train-mnist", "#config-form")  # a full run: tens of seconds
    css(browser, "#run")[0].click()
    box = wait(browser, lambda d: [b for b in css(d, ".job") if b.find_elements("css selector", "a")], 120)[0]
    status = box.find_element("css selector", ".job-status")
    wait(browser, lambda d: status.get_attribute("data-status") == "running", 60)
    box.find_element("css selector", "button.cancel").click()
    wait(browser, lambda d: status.get_attribute("data-status") in FINAL, 120)
    assert status.get_attribute("data-status") == "interrupted"
    (run_dir,) = run_dirs(lab["out"], "train-mnist")
    assert json.loads((run_dir / "meta.json").read_text())["status"] == "interrupted"
    open_page(browser, f"{lab['url']}/runs/train-mnist/{run_dir.name}", "h1 .status")
    assert css(browser, "h1 .status")[0].text == "interrupted"


def test_a_runs_page_reopens_its_config_in_the_form_and_a_report_of_selected_runs(lab, browser):
    served = run_dirs(lab["out"], "init")[0]  # the run started from the form
    open_page(browser, f"{lab['url']}/runs/init/{served.name}", "#rerun")
    css(browser, "#rerun")[0].click()
    wait(browser, lambda d: css(d, "#config-form"), 60)
    assert browser.current_url == lab["url"] + "/commands/init?quick=1&scale=0.05"
    assert field(browser, "scale").get_attribute("value") == "0.05" and css(browser, "#quick")[0].is_selected()
    open_page(browser, lab["url"] + "/runs?command=init", "table.runs")
    for box in css(browser, "input.pick"):
        box.click()
    css(browser, "#report")[0].click()
    link = wait(browser, lambda d: css(d, "#report-link"), 120)[0]
    link.click()
    wait(browser, lambda d: d.execute_script("return document.images.length > 0 && [...document.images].every("
                                             "i => i.complete)"), 60)
    widths = browser.execute_script("return [...document.images].map(i => i.naturalWidth)")
    assert widths and all(w > 0 for w in widths)  # the lecture's report, its figures decoded
    assert "init" in browser.page_source


def test_home_shows_the_latest_verdicts_and_the_runs_filter(lab, browser):
    open_page(browser, lab["url"] + "/", "[data-command='init'] .latest a")
    assert css(browser, "[data-command='init'] .latest .verdict")
    open_page(browser, lab["url"] + "/runs?status=interrupted", "table.runs")
    assert [r.text for r in css(browser, "table.runs tbody td:nth-child(2) a")] == [
        f"train-mnist/{run_dirs(lab['out'], 'train-mnist')[0].name}"]
    assert problems(browser, lab["url"]) == []


# -- in Chinese: ?lang=zh (these run last: they add an init run the tests above do not expect) ---------------------
# The words a page writes, without the identifiers it shows as typed (run ids, claim ids, config keys, the command
# line: code and pre), the chart (its metric names) and the options of a select (command names).
PAGE_WORDS = ("const c = document.body.cloneNode(true); c.querySelectorAll('code, pre, svg, option, script')"
              ".forEach(e => e.remove()); return c.textContent")


def test_the_home_page_and_a_run_started_in_chinese_read_in_chinese(lab, browser):
    from nnlab.core.i18n import share_cjk

    base = lab["url"]
    open_page(browser, base + "/?lang=zh", "[data-command='init'] .latest a")
    words = browser.execute_script(PAGE_WORDS)
    assert share_cjk(words) > 0.5, words
    assert browser.execute_script("return document.documentElement.lang") == "zh-CN"
    assert css(browser, "[data-command='init'] a.command")[0].get_attribute("href").endswith("/commands/init?lang=zh")
    assert css(browser, "[data-command='init'] .latest a")[0].get_attribute("href").endswith("?lang=zh")
    assert problems(browser, base) == []
    before = run_dirs(lab["out"], "init")
    open_page(browser, base + "/commands/init?quick=1&lang=zh", "#config-form")
    assert css(browser, "#run")[0].text == "运行"
    css(browser, "#run")[0].click()
    status = wait(browser, lambda d: css(d, ".job .job-status"), 60)[0]
    wait(browser, lambda d: status.get_attribute("data-status") in FINAL, 180)
    assert status.get_attribute("data-status") == "completed" and status.text == "已完成"
    (run_dir,) = [p for p in run_dirs(lab["out"], "init") if p not in before]
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["lang"] == "zh" and "--lang=zh" in meta["argv"]  # its figures are drawn in Chinese
    open_page(browser, f"{base}/runs/init/{run_dir.name}?lang=zh", "#result .run-result, .run-result")
    wait(browser, lambda d: css(d, ".chart svg"), 60)
    words = browser.execute_script(PAGE_WORDS)
    assert share_cjk(words) > 0.5, words
    record = json.loads((run_dir / "summary.json").read_text())
    claims = [td.text for td in css(browser, ".verdicts.claims tbody td:nth-child(3)")]
    assert [c.split("\n")[0] for c in claims] == [c["claim_zh"] + (" [nnlab 补充]" if c["source"] == "nnlab" else "")
                                                  for c in record["claims"]]
    assert css(browser, "#rerun")[0].get_attribute("href").endswith("lang=zh")
    assert problems(browser, base) == []


def test_the_switch_flips_the_language_in_place_and_keeps_the_rest_of_the_url(lab, browser):
    base = lab["url"]
    open_page(browser, base + "/commands/init?quick=1&scale=0.05&lang=zh", "#config-form")
    assert css(browser, "#lang-switch")[0].text == "English"
    width = field(browser, "width")
    width.clear()
    width.send_keys("1024")  # the form writes its URL: the language stays in it
    assert browser.current_url == base + "/commands/init?quick=1&scale=0.05&width=1024&lang=zh"
    css(browser, "#lang-switch")[0].click()
    wait(browser, lambda d: css(d, "#lang-switch") and css(d, "#lang-switch")[0].text == "中文", 60)
    wait(browser, lambda d: css(d, "#config-form"), 60)
    assert browser.current_url == base + "/commands/init?quick=1&scale=0.05&width=1024"
    assert field(browser, "width").get_attribute("value") == "1024" and css(browser, "#run")[0].text == "Run"
    assert browser.execute_script("return document.documentElement.lang") == "en"
    css(browser, "#lang-switch")[0].click()
    wait(browser, lambda d: css(d, "#lang-switch")[0].text == "English", 60)
    assert browser.current_url == base + "/commands/init?quick=1&scale=0.05&width=1024&lang=zh"
    open_page(browser, base + "/runs?status=completed&lang=zh", "table.runs")
    assert css(browser, "#filter-status")[0].get_attribute("value") == "completed"
    assert css(browser, "table.runs th")[1].text == "运行"
    css(browser, "#lang-switch")[0].click()
    wait(browser, lambda d: css(d, "table.runs th") and css(d, "table.runs th")[1].text == "run", 60)
    assert browser.current_url == base + "/runs?status=completed"
    assert problems(browser, base) == []
