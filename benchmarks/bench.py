"""Benchmark migrator against ast-grep, semgrep and ruff on the corpora of `corpus.py`.

Run from a checkout: ``python benchmarks/bench.py [--runs 5] [--densities 50 15 5]
[--scales 1 4] [--jobs 2] [--skip-semgrep]``. Quick check: ``--runs 1 --densities 50
--scales 1``.

For every scale and density (one file in N with dispatcher sites), `--runs` rounds of:

- `migrator audit` cold (no cache), warm (nothing changed), and warm after one site
  file changed (a function appended to the first file of ``sites.json``; each round
  appends a different one, and the file is restored afterwards);
- `migrator fix --diff` cold;
- `ast-grep scan` and `semgrep scan` with rules that look for the same thing as the
  default pack's: a call whose callee's last name is one of its classes, aliases,
  factories, context managers or legacy factories (both peers match the names, not
  the imports: they find what migrator finds and more);
- `ruff check --select F` (pyflakes' rules, no cache), as a reference of what a fast
  analyser of every file costs.

The rounds interleave the commands, so that a slower minute of a shared machine
weighs on every tool alike. Each measure is a median over the rounds: wall time, CPU
time (the process and its waited-for children), and peak memory, the largest sum of
the resident sizes of the whole process tree, sampled every 10 ms. Before every run
the corpus is read once, so that every tool finds it in the page cache. Every tool
gets `--jobs` workers and sees every file (no ignore files). Ratios are to ast-grep's
median wall time on the same corpus in the same session.

The output is Markdown: the targets of issue 11, then one table per corpus. Raw
samples go to ``benchmarks/out/`` (git-ignored); ``--from-json`` prints a saved run's
tables again. On a busy or slow machine, ``--timeout S`` stops a command after S
seconds (its wall time and peak memory then count as lower bounds, shown ``≥``) and
``--deadline HH:MM`` (UTC) starts no further round of a corpus that its last round
says would end later, and stops any command still running then: rounds go over every
corpus in turn, ast-grep first, so each corpus has its first runs and a base for its
ratios. ast-grep (PyPI ``ast-grep-cli``), semgrep and ruff are installed, if missing,
into ``benchmarks/.corpus/tools``, a virtual environment of their own. This is a
benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import venv
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))

from corpus import CORPUS, DENSITIES, build, site_files, size  # noqa: E402

PACK = REPO / "rules" / "tool-dispatcher.yaml"

#: Ratio to ast-grep (or MB for memory) that issue 11 asks for, per scale.
TARGETS = {
    "audit-cold": 0.35,
    "audit-warm": 0.10,
    "audit-changed": 0.15,
    "fix-diff": 0.50,
}
MEMORY_TARGET_MB = {1: 200, 4: 300}
MIGRATOR_KEYS = ("audit-cold", "audit-warm", "audit-changed", "fix-diff")
LABELS = {
    "audit-cold": "`migrator audit`, cold",
    "audit-warm": "`migrator audit`, warm (nothing changed)",
    "audit-changed": "`migrator audit`, warm, one site file changed",
    "fix-diff": "`migrator fix --diff`, cold",
    "ast-grep": "`ast-grep scan`",
    "semgrep": "`semgrep scan`",
    "ruff": "`ruff check --select F`",
}


@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float
    peak_mb: float
    error: str = ""
    #: Stopped at `--timeout`: the wall time is a lower bound.
    timed_out: bool = False


@dataclass
class Series:
    """Every run of one command on one corpus."""

    key: str
    samples: list[Sample] = field(default_factory=list)
    findings: int | None = None

    @property
    def error(self) -> str:
        return next((s.error for s in self.samples if s.error and not s.timed_out), "")

    @property
    def lower_bound(self) -> bool:
        """True when the median is that of runs cut short by `--timeout`."""
        cut = sum(s.timed_out for s in self.samples)
        return cut > 0 and cut >= len(self.samples) / 2

    def median(self, attribute: str) -> float | None:
        """The median over the runs; a run cut short counts for wall time and peak memory
        (as lower bounds), not for CPU time: its killed workers are never waited for.
        """
        values = [
            getattr(s, attribute)
            for s in self.samples
            if not s.error or (s.timed_out and attribute != "cpu")
        ]
        return statistics.median(values) if values else None


@dataclass
class Result:
    scale: int
    density: int
    corpus: dict[str, float]
    series: dict[str, Series]

    def ratio(self, key: str, attribute: str = "wall") -> float | None:
        """`key`'s median over ast-grep's: wall time (the targets) or CPU time."""
        reference = self.series["ast-grep"].median(attribute) if "ast-grep" in self.series else None
        value = self.series[key].median(attribute) if key in self.series else None
        if reference is None or value is None:
            return None
        return value / reference

    def migrator_peak(self) -> tuple[float, bool] | None:
        """The largest median peak of migrator's commands, and whether it is a lower bound."""
        peaks = [
            (peak, self.series[key].lower_bound)
            for key in MIGRATOR_KEYS
            if key in self.series and (peak := self.series[key].median("peak_mb")) is not None
        ]
        return max(peaks) if peaks else None


# --- tools -------------------------------------------------------------------


def tool_bin(tools: Path, name: str) -> Path:
    return tools / "bin" / name


def install_tools(tools: Path) -> str | None:
    """ast-grep, semgrep and ruff in a venv of their own; an error text, or None."""
    if all(tool_bin(tools, name).exists() for name in ("ast-grep", "semgrep", "ruff")):
        return None
    if not tool_bin(tools, "python").exists():
        venv.EnvBuilder(with_pip=True).create(tools)
    print("installing ast-grep-cli, semgrep and ruff", file=sys.stderr)
    result = subprocess.run(
        [
            str(tool_bin(tools, "python")),
            "-m",
            "pip",
            "install",
            "--quiet",
            "ast-grep-cli",
            "semgrep",
            "ruff",
        ],
        capture_output=True,
        text=True,
    )
    return None if result.returncode == 0 else result.stderr.strip()[-2000:]


def version(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return out.strip().split()[-1] if out.strip() else "?"


def migrator_version() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()

    dirty = " (with uncommitted changes)" if git("status", "--porcelain", "--", "migrator") else ""
    return f"{git('rev-parse', '--short', 'HEAD')}{dirty}"


def pack_callees(pack: Path = PACK) -> list[str]:
    """The last names of every callable of the pack that makes a site."""
    data = yaml.safe_load(pack.read_text())
    names: list[str] = []
    for entry in data.get("classes", []):
        names.append(entry["class"])
        names.extend(entry.get("aliases", []))
        for key in ("factory", "context_manager"):
            if key in entry:
                names.append(entry[key]["call"])
    names.extend(entry["call"] for entry in data.get("legacy_factories", []))
    return sorted({name.rsplit(".", 1)[-1] for name in names})


def write_rules(folder: Path, callees: list[str]) -> tuple[Path, Path]:
    """The ast-grep and semgrep rules: a call whose callee's last name is one of `callees`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules").mkdir(exist_ok=True)
    alternation = "|".join(callees)
    (folder / "rules" / "dispatcher.yml").write_text(
        "id: dispatcher-creation\nlanguage: python\nseverity: warning\n"
        "message: dispatcher creation site\n"
        "rule:\n  kind: call\n  has:\n    field: function\n"
        f"    regex: '(^|\\.)({alternation})$'\n"
    )
    sgconfig = folder / "sgconfig.yml"
    sgconfig.write_text("ruleDirs: [rules]\n")
    semgrep_rule = folder / "semgrep.yml"
    patterns = "\n".join(
        f"      - pattern: {name}(...)\n      - pattern: $X.{name}(...)" for name in callees
    )
    semgrep_rule.write_text(
        "rules:\n  - id: dispatcher-creation\n    languages: [python]\n    severity: WARNING\n"
        f"    message: dispatcher creation site\n    pattern-either:\n{patterns}\n"
    )
    return sgconfig, semgrep_rule


# --- measuring ---------------------------------------------------------------

_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _tree_rss_kb(root_pid: int) -> int:
    """Sum of resident sizes over `root_pid` and its descendants.

    Walks `/proc/<pid>/task/<tid>/children` down from the root instead of reading
    every process's status: sampled every 10 ms on a 2-core machine, a walk over all
    of /proc took about 1.7 ms, a sixth of a core taken from the tool being measured.
    """
    total = 0
    stack = [root_pid]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * _PAGE_KB
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children") as handle:
                    stack.extend(int(child) for child in handle.read().split())
        except (OSError, ValueError):
            continue  # the process ended between two reads
    return total


def warm_page_cache(tree: Path) -> None:
    """Read every file of the tree once, so that no tool pays for the disk.

    This machine's kernel (DAMON reclaim) pages out memory untouched for a minute,
    the page cache included: without this, whichever tool ran first after a pause
    read the corpus from disk.
    """
    for folder, _, names in os.walk(tree):
        for name in names:
            try:
                with open(os.path.join(folder, name), "rb") as handle:
                    while handle.read(1 << 20):
                        pass
            except OSError:
                continue


def measure_once(
    command: list[str], cwd: Path, env: dict[str, str], output: Path, timeout: float | None
) -> Sample:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with output.open("wb") as stdout:
        start = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, so that a timeout stops its workers
        )
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss_kb(process.pid))
                done.wait(0.01)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        timed_out = False
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(process.pid, signal.SIGKILL)
            _, stderr = process.communicate()
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    error = ""
    if timed_out:
        error = f"stopped after {timeout:.0f} s (--timeout or --deadline)"
        wall = float(timeout or wall)
    elif process.returncode not in (0, 1):  # 1: findings (migrator, semgrep, ruff)
        error = f"exit {process.returncode}: {stderr.decode(errors='replace').strip()[-300:]}"
    return Sample(wall, cpu, peak / 1024, error, timed_out)


def count_findings(key: str, output: Path) -> int | None:
    """Findings in a command's last output (None if it cannot be read)."""
    try:
        data = json.loads(output.read_bytes() or b"null")
    except (OSError, ValueError):
        return None
    if key.startswith("audit") and isinstance(data, dict):
        return sum(data["summary"]["by_kind"].values())
    if key == "semgrep" and isinstance(data, dict):
        return len(data.get("results", []))
    if isinstance(data, list):  # ast-grep, ruff
        return len(data)
    return None


@dataclass(frozen=True)
class Command:
    key: str
    argv: list[str]
    env: dict[str, str]
    prepare: Callable[[int], None]


class Session:
    """The commands on one corpus, and every sample taken so far."""

    def __init__(
        self, scale: int, density: int, jobs: int, tools: Path, corpus: Path, skip_semgrep: bool
    ) -> None:
        self.tree = build(scale, density, corpus)
        self.size = size(self.tree)
        self.result = Result(scale, density, asdict(self.size), {})
        self.scratch = OUT / "scratch" / self.tree.name
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.changed = self.tree / site_files(self.tree)[0].path
        self.original = self.changed.read_bytes()
        self.last_round: float | None = None  # seconds the last round took
        self.commands = self._commands(jobs, tools, skip_semgrep)
        for command in self.commands:
            self.result.series[command.key] = Series(command.key)

    def _commands(self, jobs: int, tools: Path, skip_semgrep: bool) -> list[Command]:
        tree = self.tree

        def cold(_: int) -> None:
            self.restore()
            warm_page_cache(tree)

        def warm(_: int) -> None:
            warm_page_cache(tree)

        def change(round_: int) -> None:
            # A real edit (not a comment), different in every round: one file to re-analyse.
            edit = f"\n\ndef _benchmark_edit_{round_}(value):\n    return value + {round_}\n"
            self.changed.write_bytes(self.original + edit.encode())
            warm_page_cache(tree)

        sgconfig, semgrep_rule = write_rules(self.scratch / "rules", pack_callees())
        env = dict(os.environ, PYTHONPATH=str(REPO))
        j = str(jobs)
        audit = [sys.executable, "-m", "migrator", "audit", "--root", ".", "--jobs", j]
        audit += ["--format", "json", "."]
        commands = [
            Command("audit-cold", audit, env, cold),
            Command("audit-warm", audit, env, warm),
            Command("audit-changed", audit, env, change),
            Command(
                "fix-diff",
                [
                    sys.executable,
                    "-m",
                    "migrator",
                    "fix",
                    "--diff",
                    "--root",
                    ".",
                    "--jobs",
                    j,
                    ".",
                ],
                env,
                cold,
            ),
            Command(
                "ast-grep",
                [
                    str(tool_bin(tools, "ast-grep")),
                    "scan",
                    "-c",
                    str(sgconfig),
                    "--json=compact",
                    "--no-ignore",
                    "parent",
                    "--no-ignore",
                    "vcs",
                    "-j",
                    j,
                    ".",
                ],
                dict(os.environ),
                warm,
            ),
        ]
        if not skip_semgrep:
            # --project-root: the tree's empty .semgrepignore, not the default list (which
            # skips tests/); no size limit and no per-file timeout, so that it sees every file.
            commands.append(
                Command(
                    "semgrep",
                    [
                        str(tool_bin(tools, "semgrep")),
                        "scan",
                        "--config",
                        str(semgrep_rule),
                        "--metrics=off",
                        "--disable-version-check",
                        "--no-git-ignore",
                        "--project-root",
                        ".",
                        "--max-target-bytes",
                        "0",
                        "--timeout",
                        "0",
                        "--json",
                        "--jobs",
                        j,
                        "--quiet",
                        ".",
                    ],
                    dict(os.environ, SEMGREP_ENABLE_VERSION_CHECK="0", SEMGREP_SEND_METRICS="off"),
                    warm,
                )
            )
        commands.append(
            Command(
                "ruff",
                [
                    str(tool_bin(tools, "ruff")),
                    "check",
                    "--select",
                    "F",
                    "--isolated",
                    "--no-cache",
                    "--no-respect-gitignore",
                    "--exit-zero",
                    "--output-format",
                    "json",
                    ".",
                ],
                dict(os.environ, RAYON_NUM_THREADS=j),
                warm,
            )
        )
        # ast-grep first: if a deadline cuts a round short, its ratios still have a base.
        order = ["ast-grep", *MIGRATOR_KEYS, "ruff", "semgrep"]
        return sorted(commands, key=lambda command: order.index(command.key))

    def restore(self) -> None:
        self.changed.write_bytes(self.original)
        shutil.rmtree(self.tree / ".migrator_cache", ignore_errors=True)

    def round(self, number: int, runs: int, timeout: float | None, deadline: float | None) -> None:
        """One run of every command; none starts within 5 s of `deadline`, none ends after it."""
        started = time.monotonic()
        try:
            for command in self.commands:
                limit = timeout
                if deadline is not None:
                    left = deadline - time.time()
                    if left < 5:
                        print(f"  {self.tree.name}: deadline reached", file=sys.stderr)
                        break
                    limit = left if limit is None else min(limit, left)
                command.prepare(number)
                output = self.scratch / f"{command.key}.out"
                sample = measure_once(command.argv, self.tree, command.env, output, limit)
                series = self.result.series[command.key]
                series.samples.append(sample)
                found = count_findings(command.key, output)
                if found is not None:
                    series.findings = found
                print(
                    f"  {self.tree.name} round {number + 1}/{runs} {command.key}: "
                    f"{sample.wall:.2f} s wall, {sample.cpu:.2f} s CPU, {sample.peak_mb:.0f} MB "
                    f"{sample.error}",
                    file=sys.stderr,
                    flush=True,
                )
        finally:
            self.restore()
        self.last_round = time.monotonic() - started


# --- the tables --------------------------------------------------------------


def _num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _cell(
    value: float | None, limit: float | None = None, digits: int = 2, bound: bool = False
) -> str:
    """A number; `≥` when runs were cut short; bold with ✗ when over `limit`."""
    if value is None:
        return "—"
    text = ("≥ " if bound else "") + _num(value, digits)
    return f"**{text}** ✗" if limit is not None and value > limit else text


def _ratio_cell(result: Result, key: str, limit: float | None = None) -> str:
    series = result.series.get(key)
    return _cell(result.ratio(key), limit, bound=series is not None and series.lower_bound)


def _runs(result: Result) -> int:
    return min((len(s.samples) for s in result.series.values()), default=0)


def summary_table(results: list[Result]) -> str:
    head = [f"{r.scale}x, 1 in {r.density}" for r in results]
    out = [
        "| ratio to ast-grep (wall) | " + " | ".join(head) + " | target |",
        "| --- | " + " | ".join("---:" for _ in results) + " | --- |",
    ]
    for key in MIGRATOR_KEYS:
        cells = [_ratio_cell(r, key, TARGETS[key]) for r in results]
        out.append(f"| {LABELS[key]} | " + " | ".join(cells) + f" | ≤ {TARGETS[key]:.2f} |")
    peaks = []
    for r in results:
        peak = r.migrator_peak()
        limit = MEMORY_TARGET_MB.get(r.scale, MEMORY_TARGET_MB[max(MEMORY_TARGET_MB)])
        peaks.append("—" if peak is None else _cell(peak[0], limit, 0, bound=peak[1]))
    memory_targets = ", ".join(f"≤ {mb} MB at {s}x" for s, mb in sorted(MEMORY_TARGET_MB.items()))
    out.append(
        "| peak memory of migrator's process tree, MB (largest command) | "
        + " | ".join(peaks)
        + f" | {memory_targets} |"
    )
    for key in ("semgrep", "ruff"):
        if any(key in r.series for r in results):
            out.append(
                f"| {LABELS[key]} (for reference) | "
                + " | ".join(_ratio_cell(r, key) for r in results)
                + " | |"
            )
    out.append(
        "| `ast-grep scan`, wall s | "
        + " | ".join(_num(r.series["ast-grep"].median("wall")) for r in results)
        + " | |"
    )
    out.append("| runs (medians of) | " + " | ".join(str(_runs(r)) for r in results) + " | |")
    return "\n".join(out)


def _audit_with_findings(result: Result) -> str:
    """The first audit whose output was read (a cold one cut short has none)."""
    return next(
        (
            k
            for k in MIGRATOR_KEYS[:3]
            if k in result.series and result.series[k].findings is not None
        ),
        "audit-cold",
    )


def corpus_table(results: list[Result]) -> str:
    out = [
        "| corpus | files | lines | files with sites | their lines, mean (median) "
        "| sites woven (in tests) | findings: migrator / ast-grep / semgrep |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        c = r.corpus
        found = " / ".join(
            "—"
            if key not in r.series or r.series[key].findings is None
            else f"{r.series[key].findings:,}"
            for key in (_audit_with_findings(r), "ast-grep", "semgrep")
        )
        out.append(
            f"| {r.scale}x, 1 in {r.density} | {int(c['files']):,} | {int(c['lines']):,} "
            f"| {int(c['site_files']):,} "
            f"| {c['site_lines_mean']:,.0f} ({int(c['site_lines_median']):,}) "
            f"| {int(c['sites']):,} ({int(c['test_sites']):,}) | {found} |"
        )
    return "\n".join(out)


def detail_table(result: Result) -> str:
    out = [
        f"#### {result.scale}x, one file in {result.density} with sites (runs: {_runs(result)})",
        "",
        "| command | wall s | range s | CPU s | peak MB | wall ÷ ast-grep | CPU ÷ ast-grep |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for key, series in result.series.items():
        if series.error:
            out.append(f"| {LABELS[key]} | — | {series.error} | | | | |")
            continue
        if not series.samples:
            out.append(f"| {LABELS[key]} | — | not run | | | | |")
            continue
        walls = [s.wall for s in series.samples]
        out.append(
            f"| {LABELS[key]} | {_cell(series.median('wall'), bound=series.lower_bound)} "
            f"| {min(walls):.2f}–{max(walls):.2f} "
            f"| {_num(series.median('cpu'))} "
            f"| {_cell(series.median('peak_mb'), digits=0, bound=series.lower_bound)} "
            f"| {_ratio_cell(result, key)} | {_num(result.ratio(key, 'cpu'))} |"
        )
    return "\n".join(out)


def report(results: list[Result], runs: int, jobs: int, versions: dict[str, str], load: str) -> str:
    tools = ", ".join(f"{name} {value}" for name, value in versions.items())
    parts = [
        f"Medians of up to {runs} run{'s' if runs != 1 else ''} (see each column); "
        f"{os.cpu_count()} cores, `--jobs {jobs}` for every tool; Python "
        f"{sys.version.split()[0]}; {tools}. Load average {load}. "
        "≥: runs stopped at `--timeout` or `--deadline` (a lower bound); ✗: target missed. "
        "CPU ÷ ast-grep is less sensitive to other processes than wall time.",
        "",
        summary_table(results),
        "",
        corpus_table(results),
        "",
    ]
    for result in results:
        parts += [detail_table(result), ""]
    return "\n".join(parts)


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def deadline_at(text: str) -> float:
    """`HH:MM` (UTC, today) as a `time.time()` value."""
    hours, minutes = (int(part) for part in text.split(":"))
    now = time.gmtime()
    midnight = time.time() - (now.tm_hour * 3600 + now.tm_min * 60 + now.tm_sec)
    return midnight + hours * 3600 + minutes * 60


def reprint(path: Path) -> str:
    """The report of a saved run."""
    data = json.loads(path.read_text())
    results = [
        Result(
            item["scale"],
            item["density"],
            item["corpus"],
            {
                key: Series(
                    key, [Sample(**sample) for sample in value["samples"]], value["findings"]
                )
                for key, value in item["series"].items()
            },
        )
        for item in data["results"]
    ]
    return report(results, data["runs"], data["jobs"], data["versions"], data["load"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds; medians over them (default 5)")
    parser.add_argument(
        "--densities",
        type=int,
        nargs="+",
        default=list(DENSITIES),
        help="one file in N has sites (default: %(default)s)",
    )
    parser.add_argument(
        "--scales", type=int, nargs="+", default=[1, 4], help="corpus copies (default: 1 4)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="workers for every tool (default 2)")
    parser.add_argument("--skip-semgrep", action="store_true", help="leave the slowest tool out")
    parser.add_argument(
        "--dir", type=Path, default=CORPUS, help="corpus folder (default: %(default)s)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        help="stop a command after this many seconds; its time counts as a lower bound",
    )
    parser.add_argument(
        "--deadline",
        help="HH:MM (UTC): after the first, start no round of a corpus that its last round's "
        "duration says would end later, and stop any command at that time (a lower bound); "
        "the tables say how many runs each corpus got",
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        metavar="RESULTS",
        help="print the tables of a saved run (its results.json) instead of running",
    )
    args = parser.parse_args()
    if args.from_json is not None:
        print(reprint(args.from_json))
        return
    if args.runs < 1 or any(d < 2 for d in args.densities):
        parser.error("--runs must be at least 1 and every density at least 2")
    deadline = deadline_at(args.deadline) if args.deadline else None
    tools = args.dir / "tools"
    problem = install_tools(tools)
    if problem is not None:
        sys.exit(f"bench.py: could not install ast-grep, semgrep and ruff into {tools}: {problem}")
    versions = {
        "migrator": migrator_version(),
        "ast-grep": version([str(tool_bin(tools, "ast-grep")), "--version"]),
        "semgrep": version([str(tool_bin(tools, "semgrep")), "--version"]),
        "ruff": version([str(tool_bin(tools, "ruff")), "--version"]),
    }
    # Byte-compile migrator as `pip install` does: run from a checkout where bytecode
    # is not written (PYTHONDONTWRITEBYTECODE), every process would compile its
    # modules from source, which no installed copy does.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(REPO / "migrator")],
        check=True,
    )
    sessions = [
        Session(scale, density, args.jobs, tools, args.dir, args.skip_semgrep)
        for scale in args.scales
        for density in args.densities
    ]
    load_before = load_average()
    started = time.monotonic()
    # Round by round over every corpus: when time runs short, each corpus still has
    # its first runs.
    for number in range(args.runs):
        for session in sessions:
            if (
                deadline is not None
                and number > 0
                and time.time() + (session.last_round or 0.0) > deadline
            ):
                print(
                    f"  {session.tree.name}: no time left for round {number + 1}", file=sys.stderr
                )
                continue
            session.round(number, args.runs, args.timeout, deadline)
    results = [session.result for session in sessions]
    load = f"{load_before} before, {load_average()} after"
    text = report(results, args.runs, args.jobs, versions, load)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    saved = OUT / f"bench-{stamp}"
    saved.mkdir(parents=True)
    (saved / "results.json").write_text(
        json.dumps(
            {
                "versions": versions,
                "runs": args.runs,
                "jobs": args.jobs,
                "load": load,
                "results": [
                    {
                        "scale": r.scale,
                        "density": r.density,
                        "corpus": r.corpus,
                        "series": {k: asdict(v) for k, v in r.series.items()},
                    }
                    for r in results
                ],
            },
            indent=1,
        )
    )
    (saved / "table.md").write_text(text)
    print(text)
    print(f"{time.monotonic() - started:.0f} s in all; samples in {saved}", file=sys.stderr)


if __name__ == "__main__":
    main()
