"""Benchmark migrator against ast-grep and semgrep on the corpus of `benchmarks/corpus.py`.

Run from a checkout:
``python benchmarks/bench.py [--scale 1 4] [--density 50] [--jobs 2] [--repeat 5] [--shards 4] [--skip-semgrep]``.

In one session and in turn: `migrator audit` cold (empty cache), with `--shards N`
each `migrator audit --shard I/N` cold (the slowest shard is shown: a CI matrix
waits for it), `migrator audit` warm (cache filled, nothing changed), `migrator fix --diff`, `migrator --help`,
`ast-grep scan` and `semgrep scan` with an equivalent rule (a call whose callee's
last name is one of the rule pack's constructors or factories). Each command runs
`--repeat` times, the corpus read into the page cache before every run; the table
shows the run of median wall time: wall time, CPU time (the process and all its
children) and peak memory (the largest sum of the resident sizes of the process
tree, sampled every 10 ms), with each ratio to ast-grep's wall time.

ast-grep and semgrep are installed from the package index into their own virtual
environment, ``benchmarks/.corpus/tools`` (git-ignored), so that their
dependencies never meet migrator's. This is a benchmark, not a test: it asserts
nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
import venv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TOOLS = HERE / ".corpus" / "tools"
sys.path.insert(0, str(HERE))

from corpus import DENSITY, build, size  # noqa: E402

CALLEES = (
    "ToolDispatcher",
    "UnifiedToolDispatcher",
    "AdminToolDispatcher",
    "create_legacy_global",
    "create_legacy_tool_dispatcher",
    "create_tool_dispatcher",
    "create_request_scoped",
    "create_scoped_context",
    "create_admin_dispatcher",
)


@dataclass
class Row:
    name: str
    wall: float | None = None
    cpu: float | None = None
    peak_mb: float | None = None
    note: str = ""


def tool_bin(name: str) -> Path:
    return TOOLS / "bin" / name


def install_tools() -> str | None:
    """Install ast-grep and semgrep into their own venv; returns an error text or None."""
    if tool_bin("ast-grep").exists() and tool_bin("semgrep").exists():
        return None
    if not (TOOLS / "bin" / "python").exists():
        venv.EnvBuilder(with_pip=True).create(TOOLS)
    result = subprocess.run(
        [
            str(TOOLS / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "ast-grep-cli",
            "semgrep",
        ],
        capture_output=True,
        text=True,
    )
    return None if result.returncode == 0 else result.stderr.strip()[-2000:]


def write_rules(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    alternation = "|".join(CALLEES)
    (folder / "rules").mkdir(exist_ok=True)
    (folder / "rules" / "dispatcher.yml").write_text(
        "id: dispatcher-creation\nlanguage: python\nseverity: warning\nmessage: dispatcher creation site\n"
        "rule:\n  kind: call\n  has:\n    field: function\n"
        f"    regex: '(^|\\.)({alternation})$'\n"
    )
    sgconfig = folder / "sgconfig.yml"
    sgconfig.write_text("ruleDirs: [rules]\n")
    semgrep_rule = folder / "semgrep.yml"
    patterns = "\n".join(
        f"      - pattern: {name}(...)\n      - pattern: $X.{name}(...)" for name in CALLEES
    )
    semgrep_rule.write_text(
        "rules:\n  - id: dispatcher-creation\n    languages: [python]\n    severity: WARNING\n"
        f"    message: dispatcher creation site\n    pattern-either:\n{patterns}\n"
    )
    return sgconfig, semgrep_rule


def _tree_rss_kb(root_pid: int) -> int:
    """Sum of VmRSS over `root_pid` and its descendants.

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


_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def warm_page_cache(tree: Path) -> None:
    """Read every file of the tree once, so that no tool pays for the disk.

    This machine's kernel (DAMON reclaim) pages out memory untouched for a minute,
    the page cache included: without this, whichever tool ran first after a pause
    read the corpus from disk, a difference of about 0.3 s on the 1x corpus.
    """
    for folder, _, names in os.walk(tree):
        for name in names:
            try:
                with open(os.path.join(folder, name), "rb") as handle:
                    while handle.read(1 << 20):
                        pass
            except OSError:
                continue


def measure(
    name: str,
    command: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    *,
    repeat: int = 1,
    prepare: Callable[[], None] | None = None,
) -> Row:
    """Run `command` `repeat` times (`prepare` before each); the run of median wall time."""
    runs = []
    for _ in range(repeat):
        if prepare is not None:
            prepare()
        runs.append(_measure_once(name, command, cwd, env))
    failed = [row for row in runs if row.note]
    if failed:
        return failed[0]
    runs.sort(key=lambda row: row.wall or 0.0)
    median = runs[len(runs) // 2]
    if repeat > 1:
        median.note = f"median of {repeat}: {runs[0].wall:.2f}–{runs[-1].wall:.2f} s"
    return median


def _measure_once(name: str, command: list[str], cwd: Path, env: dict[str, str] | None) -> Row:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
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
    _, stderr = process.communicate()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    note = ""
    if process.returncode not in (0, 1):
        note = f"exit {process.returncode}: {stderr.decode(errors='replace').strip()[-300:]}"
    return Row(name, wall, cpu, peak / 1024, note)


def run(
    scale: int, jobs: int, skip_semgrep: bool, repeat: int, shards: int, density: int
) -> list[Row]:
    tree = build(scale, density)
    files, lines, total = size(tree)
    print(
        f"corpus: {tree} ({files:,} files, {lines:,} lines, {total / 1e6:.1f} MB), {os.cpu_count()} cores"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    migrator = [sys.executable, "-m", "migrator"]
    # Byte-compile migrator as `pip install` does: run from a checkout where bytecode
    # is not written (PYTHONDONTWRITEBYTECODE), every process would compile its
    # modules from source, which no installed copy does.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(REPO / "migrator"), str(REPO / "codemods")],
        check=True,
    )

    def warm() -> None:
        warm_page_cache(tree)

    def cold() -> None:
        shutil.rmtree(tree / ".migrator_cache", ignore_errors=True)
        warm_page_cache(tree)

    rows: list[Row] = []
    audit = [*migrator, "audit", "--root", ".", "--jobs", str(jobs), "--format", "json", "."]
    rows.append(measure("migrator audit (cold)", audit, tree, env, repeat=repeat, prepare=cold))
    if shards > 1:
        # Each CI job of a matrix runs one shard: the matrix waits for the slowest.
        per_shard = [
            measure(
                f"migrator audit --shard {index}/{shards} (cold)",
                [*audit[:-1], "--shard", f"{index}/{shards}", "."],
                tree,
                env,
                repeat=repeat,
                prepare=cold,
            )
            for index in range(1, shards + 1)
        ]
        slowest = max(per_shard, key=lambda row: row.wall or 0.0)
        fastest = min(per_shard, key=lambda row: row.wall or 0.0)
        slowest.name = f"migrator audit --shard I/{shards} (cold), slowest shard"
        slowest.note = (
            f"shards {fastest.wall or 0:.2f}–{slowest.wall or 0:.2f} s; {slowest.note}".strip()
        )
        rows.append(slowest)
    rows.append(measure("migrator audit (warm)", audit, tree, env, repeat=repeat, prepare=warm))
    rows.append(
        measure(
            "migrator fix --diff",
            [*migrator, "fix", "--diff", "--root", ".", "--jobs", str(jobs), "."],
            tree,
            env,
            repeat=repeat,
            prepare=warm,
        )
    )
    rows.append(measure("migrator --help", [*migrator, "--help"], tree, env, repeat=repeat))
    problem = install_tools()
    sgconfig, semgrep_rule = write_rules(tree.parent / "bench-rules")
    if problem is not None or not tool_bin("ast-grep").exists():
        rows.append(Row("ast-grep scan", note=f"not installed: {problem}"))
    else:
        rows.append(
            measure(
                "ast-grep scan",
                [
                    str(tool_bin("ast-grep")),
                    "scan",
                    "-c",
                    str(sgconfig),
                    "--json=compact",
                    "-j",
                    str(jobs),
                    ".",
                ],
                tree,
                repeat=repeat,
                prepare=warm,
            )
        )
    if skip_semgrep:
        rows.append(Row("semgrep scan", note="skipped (--skip-semgrep)"))
    elif not tool_bin("semgrep").exists():
        rows.append(Row("semgrep scan", note=f"not installed: {problem}"))
    else:
        rows.append(
            measure(
                "semgrep scan",
                [
                    str(tool_bin("semgrep")),
                    "scan",
                    "--config",
                    str(semgrep_rule),
                    "--metrics=off",
                    "--disable-version-check",
                    "--no-git-ignore",
                    "--json",
                    "--jobs",
                    str(jobs),
                    "--quiet",
                    ".",
                ],
                tree,
                dict(os.environ, SEMGREP_ENABLE_VERSION_CHECK="0", SEMGREP_SEND_METRICS="off"),
                repeat=repeat,
                prepare=warm,
            )
        )
    return rows


def table(rows: list[Row]) -> str:
    reference = next((r.wall for r in rows if r.name == "ast-grep scan" and r.wall), None)
    out = [
        "| command | wall s | CPU s | peak MB | wall ÷ ast-grep | note |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:

        def fmt(value: float | None, digits: int = 2) -> str:
            return "—" if value is None else f"{value:.{digits}f}"

        ratio = fmt(row.wall / reference) if reference and row.wall else "—"
        out.append(
            f"| {row.name} | {fmt(row.wall)} | {fmt(row.cpu)} | {fmt(row.peak_mb, 0)} | {ratio} | {row.note} |"
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=int, nargs="+", default=[1], help="corpus sizes to run (e.g. 1 4)"
    )
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="workers for every tool"
    )
    parser.add_argument("--skip-semgrep", action="store_true", help="semgrep is slow; leave it out")
    parser.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="runs of each command; the table shows the run of median wall time (default 5)",
    )
    parser.add_argument(
        "--shards",
        type=int,
        default=0,
        help="also time a cold `audit --shard I/N` for each I; the table shows the slowest",
    )
    parser.add_argument(
        "--density",
        type=int,
        default=DENSITY,
        help=f"one generated site file per this many files (default {DENSITY}), as corpus.py",
    )
    args = parser.parse_args()
    for scale in args.scale:
        print(f"\n## {scale}x corpus\n")
        print(
            table(run(scale, args.jobs, args.skip_semgrep, args.repeat, args.shards, args.density)),
            flush=True,
        )


if __name__ == "__main__":
    main()
