"""Mutation testing of one module: how many small changes to the code its tests notice.

    python -m tools.mutation services/permissions.py [--sample N] [--seed S] [-j N]
    make mutation MODULE=services/permissions.py

Each mutant is one change to the module's syntax tree:

* a comparison flipped at its edge (``<`` → ``<=``, ``==`` → ``!=``, ``in`` → ``not in``...);
* ``and`` ↔ ``or``; a ``not`` dropped; the condition of an ``if``/``while``/ternary negated;
* ``return X`` → ``return None``; ``break`` ↔ ``continue``;
* a number ±1, ``True`` ↔ ``False``; ``+`` ↔ ``-``, ``*`` ↔ ``/``, ``//``;
* a call statement deleted (``await row.save()`` → ``pass``).

Not mutated: docstrings, annotations, logging calls (``log.*``/``logger.*``: nothing a
test can observe), and lines marked ``# mutation: equivalent — <why>``; those are
listed as equivalent in the report, with the reason, and left out of the score.

The module's own fast tests (``TESTS`` below, SQLite only, PostgreSQL switched off)
run in a copy of the working tree, so the tree itself is never changed. The
unchanged module is run first (it must pass, and its time sets the timeout); with
coverage installed, a mutant on a line those tests never run is counted as
survived without running them. A mutant is caught when the tests fail or hang (a
hang counts as caught: ``stop()`` waiting for ever is noticed by a time-out).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# each module's own fast tests (pytest arguments); SQLite only
TESTS: dict[str, list[str]] = {
    "services/permissions.py": ["tests/test_permissions.py"],
    "services/quicklog.py": ["tests/test_quicklog.py", "tests/test_quicklog_corpus.py"],
    "services/quicklog_dates.py": ["tests/test_quicklog.py", "tests/test_quicklog_corpus.py"],
    "notifications/claimloop.py": ["tests/test_claimloop.py", "tests/test_reminders.py",
                                   "tests/test_outbox.py"],
    "notifications/reminders.py": ["tests/test_reminders.py"],
    "notifications/outbox.py": ["tests/test_outbox.py", "tests/test_messaging.py"],
    "sync/engine.py": ["tests/test_sync_engine.py", "tests/test_calendar_sync.py"],
}

EQUIVALENT = re.compile(r"#\s*mutation:\s*equivalent\b[\s:—-]*(.*)$")
CMP_SWAP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
            ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
            ast.Is: ast.IsNot, ast.IsNot: ast.Is}
BIN_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
            ast.FloorDiv: ast.Mult, ast.Mod: ast.FloorDiv}
LOGGERS = {"log", "logger", "logging"}


@dataclass
class Mutant:
    index: int  # the position of the node in ast.walk order
    kind: str
    line: int
    text: str  # what changes, for the report
    equivalent: str | None = None
    outcome: str = ""  # caught | survived | not run | timeout | equivalent
    seconds: float = 0.0


def _is_logging(node: ast.AST) -> bool:
    call = node.value if isinstance(node, ast.Expr) else node
    if isinstance(call, ast.Await):
        call = call.value
    if not isinstance(call, ast.Call):
        return False
    f = call.func
    while isinstance(f, ast.Attribute):
        f = f.value
    return isinstance(f, ast.Name) and f.id in LOGGERS


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """ids of nodes never mutated: docstrings, annotations, logging calls."""
    skip: set[int] = set()

    def all_of(node):
        skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(
                    body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                all_of(body[0])
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for a in (*node.args.args, *node.args.kwonlyargs, *node.args.posonlyargs,
                      node.args.vararg, node.args.kwarg):
                if a is not None and a.annotation is not None:
                    all_of(a.annotation)
            if node.returns is not None:
                all_of(node.returns)
        if isinstance(node, ast.AnnAssign):
            all_of(node.annotation)
        if _is_logging(node):
            all_of(node)
    return skip


def _mutations(node: ast.AST) -> list[tuple[str, str]]:
    """(kind, description) of each mutation possible at ``node``."""
    out: list[tuple[str, str]] = []
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in CMP_SWAP:
                out.append((f"cmp{i}", f"{type(op).__name__} → {CMP_SWAP[type(op)].__name__}"))
    elif isinstance(node, ast.BoolOp):
        out.append(("boolop", "and → or" if isinstance(node.op, ast.And) else "or → and"))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        out.append(("notdrop", "not dropped"))
    elif isinstance(node, ast.If | ast.While | ast.IfExp):
        out.append(("negate", f"{type(node).__name__.lower()} condition negated"))
    elif isinstance(node, ast.Return) and node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None):
        out.append(("return", "return value → None"))
    elif isinstance(node, ast.Break):
        out.append(("loopctl", "break → continue"))
    elif isinstance(node, ast.Continue):
        out.append(("loopctl", "continue → break"))
    elif isinstance(node, ast.Constant) and type(node.value) is bool:
        out.append(("bool", f"{node.value} → {not node.value}"))
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
        out.append(("num+", f"{node.value!r} → {node.value + 1!r}"))
        if node.value != 0:
            out.append(("num-", f"{node.value!r} → {node.value - 1!r}"))
    elif isinstance(node, ast.BinOp) and type(node.op) in BIN_SWAP:
        out.append(("binop", f"{type(node.op).__name__} → {BIN_SWAP[type(node.op)].__name__}"))
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call | ast.Await):
        out.append(("delcall", "call deleted"))
    return out


def _apply(node: ast.AST, kind: str) -> ast.AST:
    """Return the node that replaces ``node`` (mutating it in place where possible)."""
    if kind.startswith("cmp"):
        i = int(kind[3:])
        node.ops[i] = CMP_SWAP[type(node.ops[i])]()
    elif kind == "boolop":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif kind == "notdrop":
        return node.operand
    elif kind == "negate":
        node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)
    elif kind == "return":
        node.value = ast.Constant(value=None)
    elif kind == "loopctl":
        return ast.Continue() if isinstance(node, ast.Break) else ast.Break()
    elif kind == "bool":
        node.value = not node.value
    elif kind == "num+":
        node.value = node.value + 1
    elif kind == "num-":
        node.value = node.value - 1
    elif kind == "binop":
        node.op = BIN_SWAP[type(node.op)]()
    elif kind == "delcall":
        return ast.Pass()
    return node


def find_mutants(source: str) -> list[Mutant]:
    tree = ast.parse(source)
    lines = source.splitlines()
    skip = _skipped_nodes(tree)
    found = []
    for index, node in enumerate(ast.walk(tree)):
        if id(node) in skip:
            continue
        for kind, text in _mutations(node):
            line = getattr(node, "lineno", 0)
            m = EQUIVALENT.search(lines[line - 1]) if 0 < line <= len(lines) else None
            found.append(Mutant(index, kind, line, text,
                                equivalent=(m.group(1).strip() or "marked") if m else None))
    return found


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, kind: str):
        self.target, self.kind = target, kind

    def generic_visit(self, node):
        node = super().generic_visit(node)
        if node is self.target:
            return _apply(node, self.kind)
        return node


def mutated_source(source: str, mutant: Mutant) -> str:
    tree = ast.parse(source)
    target = list(ast.walk(tree))[mutant.index]
    tree = _Replace(target, mutant.kind).visit(tree)
    ast.fix_missing_locations(tree)
    return ast.unparse(tree)


# --- running ---------------------------------------------------------------------------
def _copy_tree(dest: Path) -> None:
    ignore = shutil.ignore_patterns(".venv", ".git", "__pycache__", "data", ".mutation",
                                    ".pytest_cache", ".ruff_cache", "*.egg-info")
    shutil.copytree(ROOT, dest, ignore=ignore, dirs_exist_ok=True)


def _env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KONTAKT_TEST_POSTGRES_URL"}
    env["PYTHONPATH"] = str(tree)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _pytest(tree: Path, tests: list[str], timeout: float, extra: list[str] = ()) -> tuple[
        str, float]:
    cmd = [sys.executable, *extra, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
           "-p", "no:randomly", "--timeout", str(max(30, int(timeout))), *tests]
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=tree, env=_env(tree), capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - started
    spent = time.monotonic() - started
    if proc.returncode == 0:
        return "passed", spent
    return "failed:" + proc.stdout[-3000:], spent


def _covered_lines(tree: Path, module: str, tests: list[str], timeout: float) -> set[int] | None:
    try:
        import coverage  # noqa: F401
    except ImportError:
        return None
    data = tree / ".coverage"
    cmd = [sys.executable, "-m", "coverage", "run", f"--data-file={data}",
           f"--include={tree / module}", "-m", "pytest", "-q", "-p", "no:cacheprovider",
           *tests]
    subprocess.run(cmd, cwd=tree, env=_env(tree), capture_output=True, text=True,
                   timeout=timeout)
    import coverage

    cov = coverage.Coverage(data_file=str(data))
    cov.load()
    lines = cov.get_data().lines(str(tree / module))
    return set(lines or ())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("module", help="a path such as services/permissions.py")
    ap.add_argument("--tests", nargs="*", help="pytest arguments (default: TESTS[module])")
    ap.add_argument("--sample", type=int, default=0,
                    help="run a random sample of this many mutants (0: all)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-j", "--jobs", type=int, default=1)
    ap.add_argument("--lines", help="only mutants on these lines, e.g. 40-80")
    ap.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    ap.add_argument("--no-coverage", action="store_true")
    args = ap.parse_args(argv)

    module = args.module.replace("\\", "/")
    if module.endswith(".py") is False:
        module = module.replace(".", "/") + ".py"
    tests = args.tests or TESTS.get(module)
    if not tests:
        ap.error(f"no tests known for {module}: give --tests")
    tests = [t for t in tests if not t.endswith(".py") or (ROOT / t).exists()]
    source = (ROOT / module).read_text(encoding="utf-8")
    mutants = find_mutants(source)
    if args.lines:
        lo, _, hi = args.lines.partition("-")
        mutants = [m for m in mutants if int(lo) <= m.line <= int(hi or lo)]
    equivalent = [m for m in mutants if m.equivalent]
    live = [m for m in mutants if not m.equivalent]
    if args.sample and args.sample < len(live):
        live = sorted(random.Random(args.seed).sample(live, args.sample),
                      key=lambda m: (m.line, m.index))
    if args.list:
        for m in live + equivalent:
            print(f"{module}:{m.line}: {m.text}" + (f"  [equivalent: {m.equivalent}]"
                                                    if m.equivalent else ""))
        print(f"{len(live)} mutants, {len(equivalent)} marked equivalent")
        return 0

    work = Path(tempfile.mkdtemp(prefix="kontakt-mutation-"))
    trees = [work / f"t{i}" for i in range(max(1, args.jobs))]
    try:
        for t in trees:
            _copy_tree(t)
        outcome, base = _pytest(trees[0], tests, timeout=1800)
        if outcome != "passed":
            print(f"the unchanged module's tests do not pass:\n{outcome}", file=sys.stderr)
            return 2
        timeout = max(3 * base, base + 30)
        print(f"{module}: {len(live)} mutants to run ({len(equivalent)} marked equivalent); "
              f"tests {' '.join(tests)} take {base:.1f} s", flush=True)
        covered = None if args.no_coverage else _covered_lines(trees[0], module, tests,
                                                               timeout=10 * base + 60)

        free = list(trees)

        def run(m: Mutant) -> Mutant:
            if covered is not None and m.line not in covered:
                m.outcome = "not run"
                return m
            tree = free.pop()
            try:
                (tree / module).write_text(mutated_source(source, m), encoding="utf-8")
                result, m.seconds = _pytest(tree, tests, timeout=timeout)
            finally:
                (tree / module).write_text(source, encoding="utf-8")
                free.append(tree)
            m.outcome = ("survived" if result == "passed" else "timeout"
                         if result == "timeout" else "caught")
            print(f"  {m.outcome:8} {module}:{m.line}: {m.text} ({m.seconds:.1f} s)",
                  flush=True)
            return m

        with ThreadPoolExecutor(max_workers=len(trees)) as pool:
            done = list(pool.map(run, live))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    caught = [m for m in done if m.outcome in ("caught", "timeout")]
    survived = [m for m in done if m.outcome in ("survived", "not run")]
    print("\nsurvived:")
    for m in sorted(survived, key=lambda m: m.line):
        print(f"  {module}:{m.line}: {m.text}" + (" (line not run by the tests)"
                                                  if m.outcome == "not run" else ""))
    if equivalent:
        print("marked equivalent (left out of the score):")
        for m in equivalent:
            print(f"  {module}:{m.line}: {m.text} — {m.equivalent}")
    score = round(100 * len(caught) / len(done), 1) if done else 100.0
    report = {"module": module, "mutants": len(done), "caught": len(caught),
              "timeout": sum(m.outcome == "timeout" for m in done),
              "survived": len(survived), "equivalent": len(equivalent),
              "score": score, "sample": args.sample or None, "seed": args.seed}
    out = ROOT / ".mutation"
    out.mkdir(exist_ok=True)
    (out / (module.replace("/", "_") + ".json")).write_text(json.dumps(
        {**report, "survivors": [{"line": m.line, "change": m.text, "outcome": m.outcome}
                                 for m in survived]}, ensure_ascii=False, indent=1))
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
