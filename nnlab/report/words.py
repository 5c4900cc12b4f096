"""The report's own words, in English and Chinese, shared by report.html and report.md (nnlab.core.i18n)."""

from __future__ import annotations

from typing import Any

from nnlab.core.i18n import current, tr

WORDS: dict[str, tuple[str, str]] = {
    "overview": ("Overview", "概览"),
    "headline": ("Headline", "主要结果"),
    "claims": ("Claims", "说法"),
    "checks": ("Sanity checks", "合理性检验"),
    "identities": ("(identities, not claims)", "（恒等式，不是说法）"),
    "no claims": ("no claims recorded", "没有记录说法"),
    "no run directory": ("no run directory (it failed before one was made)", "没有运行目录（运行在建立目录之前失败）"),
    "status": ("status", "状态"),
    "run directory": ("run directory", "运行目录"),
    "quoted": ("the lecture, quoted", "讲义原文"),
    "paraphrased": ("the lecture, paraphrased", "讲义要点"),
    "about": ("about this report", "关于本报告"),
}
# The overview table's and a claims table's columns.
SECTIONS_COLUMNS = (("section", "章节"), ("command", "命令"), ("status", "状态"), ("lecture claims", "讲义的说法"),
                    ("nnlab claims", "nnlab 的说法"), ("checks", "检验"), ("time", "用时"))
CLAIM_COLUMNS = (("claim", "说法"), ("source", "出处"), ("measured", "测得"), ("expected", "要求"), ("holds", "成立"))
SOURCES = {"lecture": ("lecture", "讲义"), "nnlab": ("nnlab", "nnlab 的补充")}


STATUS = {"completed": "完成", "diverged": "发散", "failed": "失败", "interrupted": "中断", "running": "运行中",
          "abandoned": "已中止"}


def status_word(status: str) -> str:
    """A run's status as the page shows it (the status itself, a fixed English word, stays in the record)."""
    return tr(status, STATUS.get(status, status))


def heading(sec: Any) -> str:
    """A section's title in the current language (the lecture's own heading in Chinese)."""
    return sec.title_zh if current() == "zh" and sec.title_zh else sec.title


def word(key: str) -> str:
    return tr(*WORDS[key])


def columns(pairs: tuple[tuple[str, str], ...], *, without: tuple[str, ...] = ()) -> list[str]:
    """The columns' headers in the current language, leaving out those named (in English) in `without`."""
    return [tr(en, zh) for en, zh in pairs if en not in without]


def source(name: object) -> str:
    return tr(*SOURCES[name]) if name in SOURCES else str(name or "")


def verdict(lecture: str, nnlab: str, checks: str, finished: str) -> str:
    """The overview's line: how many claims of each kind held (the counts already formatted)."""
    return tr(f"{lecture} of the lecture's claims held · {nnlab} of nnlab's own claims · {checks} sanity checks"
              f" · {finished}",
              f"讲义的说法成立 {lecture} · nnlab 的补充说法 {nnlab} · 合理性检验 {checks} · {finished}")


def run_of(i: int, n: int) -> str:
    return tr(f"Run {i} of {n}", f"第 {i} 次运行（共 {n} 次）")
