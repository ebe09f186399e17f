"""Build the benchmark corpus: real pure-Python packages plus generated dispatcher modules.

Run from a checkout: ``python benchmarks/corpus.py [--scale N]``.

1. Installs a fixed set of large pure-Python packages from the package index into
   ``benchmarks/.corpus/site`` (``pip install --no-deps --target``; git-ignored), once.
   Their thousands of files never mention a dispatcher: the prefilter's case.
2. Builds ``benchmarks/.corpus/tree-<N>x``: N copies of those packages (hard links
   where the file system allows, else copies) plus generated packages whose modules
   are the bodies of ``fixtures/audit/*`` (single files and multi-module cases, with
   their packages renamed so that every copy is a distinct module), at a density of
   about one site file in 50.

The tree has no ``.gitignore``: every tool sees every file. An empty ``.semgrepignore``
switches off semgrep's default ignore list (which would skip ``tests/`` folders).
Prints the tree's path and its size in files and lines.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CORPUS = HERE / ".corpus"
SITE = CORPUS / "site"
FIXTURES = REPO / "fixtures" / "audit"

#: Pure-Python packages (pinned, so the corpus is the same everywhere).
PACKAGES = (
    "django==5.1.4",
    "twisted==24.11.0",
    "networkx==3.4.2",
    "pip==24.3.1",
    "setuptools==75.6.0",
    "pygments==2.18.0",
    "docutils==0.21.2",
    "ansible-core==2.17.7",
    "sphinx==8.1.3",
    "openpyxl==3.1.5",
    "hypothesis==6.122.3",
    "faker==33.1.0",
)
#: One generated site file per this many real files.
DENSITY = 50
_WORDS = (
    "billing",
    "search",
    "chat",
    "ingest",
    "reports",
    "alerts",
    "planner",
    "gateway",
    "support",
    "insights",
    "catalog",
    "payments",
    "inbox",
    "scheduler",
    "notebook",
    "crm",
)


def install_site() -> Path:
    """Install the packages once; a marker file records the exact list."""
    marker = SITE / ".migrator-corpus"
    wanted = "\n".join(PACKAGES)
    if marker.is_file() and marker.read_text() == wanted:
        return SITE
    if SITE.exists():
        shutil.rmtree(SITE)
    SITE.mkdir(parents=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--no-compile",
        "--target",
        str(SITE),
        *PACKAGES,
    ]
    print("installing the corpus packages:", " ".join(PACKAGES), file=sys.stderr)
    subprocess.run(command, check=True)
    marker.write_text(wanted)
    return SITE


def _package_dirs(site: Path) -> list[Path]:
    return sorted(
        p
        for p in site.iterdir()
        if p.is_dir()
        and not p.name.endswith((".dist-info", ".data"))
        and p.name not in {"bin", "__pycache__"}
        and any(p.rglob("*.py"))
    )


def _link_tree(source: Path, target: Path) -> None:
    for folder, dirs, files in os.walk(source):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        rel = Path(folder).relative_to(source)
        (target / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            if not name.endswith(".py"):
                continue
            src, dst = Path(folder) / name, target / rel / name
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)


def _fixture_cases() -> tuple[list[Path], list[Path]]:
    files = sorted(p for p in FIXTURES.glob("*.py"))
    dirs = sorted(p for p in FIXTURES.iterdir() if p.is_dir())
    return files, dirs


def _generate(target: Path, count: int, seed: int) -> int:
    """Write `count` generated files under `target` (cycling through the fixture shapes)."""
    files, dirs = _fixture_cases()
    written = 0
    index = 0
    while written < count:
        word = _WORDS[(index + seed) % len(_WORDS)]
        package = target / f"gen_{word}_{seed}_{index:03d}"
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text(f'"""Generated {word} service #{index}."""\n')
        written += 1
        items: list[tuple[Path, str]] = []
        # Every single-file shape once per package, under a varied module name.
        for number, case in enumerate(files):
            items.append(
                (package / f"{word}_{case.stem}_{number}.py", case.read_text(encoding="utf-8"))
            )
        # The multi-module shapes, with their top-level packages renamed per copy.
        suffix = f"_{seed}_{index:03d}"
        for case in dirs:
            tops = sorted(p.name for p in case.iterdir() if p.is_dir())
            renames = {name: name + suffix for name in tops}
            pattern = re.compile(r"\b(" + "|".join(map(re.escape, tops)) + r")\b") if tops else None
            for path in sorted(case.rglob("*.py")):
                rel = path.relative_to(case)
                parts = [renames.get(rel.parts[0], rel.parts[0]), *rel.parts[1:]]
                dst = (
                    target / Path(*parts)
                    if len(parts) > 1
                    else package / f"{case.name}_{path.name}"
                )
                text = path.read_text(encoding="utf-8")
                if pattern is not None:
                    text = pattern.sub(lambda m, names=renames: names[m.group(1)], text)
                items.append((dst, text))
        # Interleave the shapes so that a partial package still has a bit of everything.
        items = items[::2] + items[1::2]
        for dst, text in items:
            if written >= count:
                break
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_text(text)
            written += 1
        index += 1
    return written


def build(scale: int = 1, density: int = DENSITY) -> Path:
    """The corpus tree: `scale` copies of the packages, one site file per `density` files."""
    site = install_site()
    tree = CORPUS / (f"tree-{scale}x" if density == DENSITY else f"tree-{scale}x-d{density}")
    marker = tree / ".migrator-corpus"
    if marker.is_file() and marker.read_text() == f"{scale}\n" + "\n".join(PACKAGES):
        return tree
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    packages = _package_dirs(site)
    real = 0
    for copy in range(scale):
        base = tree / f"copy{copy}" if scale > 1 else tree
        for package in packages:
            _link_tree(package, base / package.name)
        real += sum(1 for _ in base.rglob("*.py"))
    generated = 0
    for copy in range(scale):
        base = tree / f"copy{copy}" if scale > 1 else tree
        wanted = sum(1 for _ in base.rglob("*.py")) // (density - 1)
        generated += _generate(base / "generated", wanted, seed=copy)
    (tree / ".semgrepignore").write_text("")
    marker.write_text(f"{scale}\n" + "\n".join(PACKAGES))
    return tree


def size(tree: Path) -> tuple[int, int, int]:
    """(files, lines, bytes) of the .py files under `tree`."""
    files = lines = total = 0
    for path in tree.rglob("*.py"):
        data = path.read_bytes()
        files += 1
        lines += data.count(b"\n")
        total += len(data)
    return files, lines, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1, help="copies of the corpus (default 1)")
    parser.add_argument(
        "--density",
        type=int,
        default=DENSITY,
        help=f"one generated site file per this many files (default {DENSITY}); "
        "a lower number stands for a code base where more files mention the dispatcher",
    )
    args = parser.parse_args()
    if args.density < 2:
        parser.error("--density must be at least 2")
    tree = build(args.scale, args.density)
    files, lines, total = size(tree)
    generated = sum(1 for _ in tree.rglob("generated/**/*.py"))
    print(
        f"{tree}: {files:,} files, {lines:,} lines, {total / 1e6:.1f} MB; {generated} generated site files"
    )


if __name__ == "__main__":
    main()
