"""Mutation score of crimetiles' core modules: how many small bugs put into a module its tests catch.

For each core module, every mutant Cosmic Ray can make of it (an operator, comparison, number,
boolean or `break` changed, a decorator dropped, a loop skipped...) is written into the source file
in turn and the module's *targeted* tests (the test files that exercise it, a few seconds per run)
are run against it in a subprocess: a failing run kills the mutant, a passing one lets it survive,
one slower than `--timeout` counts as a timeout (killed too: the mutant broke something). Then it
prints one table row per module: module | mutants | killed | survived | timeout | score.

Why Cosmic Ray (8.x): it mutates the file on disk and runs any test command, so it needs nothing of
the project's layout (the repo's `artifact/`, `precompute/` and `server/` folders are installed as
`crimetiles.*` through package-dir, editable): the installed package imports the mutated file as it
is. mutmut 3 copies the tree into `mutants/` and puts that folder first on `sys.path`, which imports
`precompute.density` rather than `crimetiles.precompute.density` (its mutants would never run);
pytest-gremlins instruments modules it finds from the test session's rootdir, with the same mapping
problem, and runs every test that covers a line rather than our chosen files. Cosmic Ray is used as
a library here (its `init` to list mutants, `use_mutation` to write one into its file), one mutant
at a time. Each test run is a fork of this process, which has imported the libraries the tests use
(`PRELOADED`) once: a fresh interpreter per run spent half its time importing them.

The source tree is left as it was: each module's bytes are kept before its run and written back when
the run ends, fails or is interrupted (Ctrl-C or SIGTERM), then compared with what was kept. A
module with more mutants than `--max-mutants` is sampled deterministically: the mutants sorted by
position and operator, every k-th one kept (the table says so).

A run of every mutant (`--max-mutants 0`) takes hours, so `--journal FILE` appends each outcome
to a JSON-lines file as it comes and a later run with the same journal goes on where the last one
stopped; outcomes recorded against another version of the module's source are not reused.
`--shard K/N` runs every N-th mutant from the K-th, so N copies of the repository (one per core,
each mutating its own files) share one journal; `--rerun timeout` runs again the mutants recorded as
timeouts (a run paused under load times out without being killed by a test), `--rerun survived`
those that survived (after new tests).

    .venv/bin/python tools/mutation.py density classify          # two modules
    .venv/bin/python tools/mutation.py --survivors survivors.txt  # every module, diffs of survivors
    .venv/bin/python tools/mutation.py --max-mutants 0 --journal mutants.jsonl   # every mutant, resumable
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import difflib
import hashlib
import importlib
import json
import math
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from cosmic_ray.commands import init
from cosmic_ray.mutating import use_mutation
from cosmic_ray.plugins import get_operator
from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import WorkItem

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Target:
    """A core module (path from the repo root) and the pytest arguments that run the tests
    exercising it: test files, `-k` selections, `--noconftest` where they need none of the
    session fixtures (the root conftest imports the whole app and builds Durham on demand)."""

    name: str
    path: str
    tests: tuple[str, ...]
    durham_build: bool = False
    """The tests use the `durham_build` fixture: it is made once before the mutants run (`prepared_durham_build`)."""


PURE = "--noconftest"
CLASSIFY_FAST = "not build_takes and not generators_output and not offenses_lists_values"
"""Classification tests but a build and two subprocesses (their classification is tested in process too)."""
ENCODER_TESTS = "tests/precompute/test_mvt_encoder.py"
ENCODER_FAST = "not random_layers and not durham_tile"
"""The encoder's tests but the 400 random layers (2 minutes) and the Durham build's tiles."""
NESTING_FAST = "not built and not tract"
"""The complements' tests on generated grids and arrays, not those that build."""
SERVER_FAST = "not hot_swap and not large_archive"
"""The fast path's tests but those that build twice more or read 64 MiB."""
TARGETS = (
    Target("density", "precompute/density.py", (PURE, "tests/precompute/test_density.py")),
    Target("classify", "precompute/classify.py", (PURE, "tests/precompute/test_classify.py", "-k", CLASSIFY_FAST)),
    Target("pbf", "artifact/pbf.py", (PURE, ENCODER_TESTS, "-k", ENCODER_FAST)),
    Target("mvt", "artifact/mvt.py", (PURE, ENCODER_TESTS, "tests/precompute/test_mvt.py", "-k", ENCODER_FAST)),
    Target("style", "server/style.py", (PURE, "tests/server/test_style_legend.py")),
    Target("export", "artifact/export.py", (PURE, "tests/precompute/test_export_text.py")),
    Target("value_text", "artifact/value_text.py", (PURE, "tests/precompute/test_export_text.py")),
    Target("nesting", "precompute/nesting.py", (PURE, "tests/precompute/test_nesting.py", "-k", NESTING_FAST)),
    Target("on_demand", "server/on_demand.py", ("tests/server/test_row_group_tiles.py",), durham_build=True),
    Target(
        "tiles",
        "server/tiles.py",
        (
            "tests/server/test_tile_service.py",
            "tests/server/test_tiles.py",
            "tests/server/test_http_details.py",
            "tests/server/test_live.py::test_burst_on_a_cold_tile_encodes_it_once",
        ),
        durham_build=True,
    ),
    Target(
        "fastpath",
        "server/fastpath.py",
        ("tests/server/test_fastpath_headers.py", "tests/server/test_fastpath.py", "-k", SERVER_FAST),
        durham_build=True,
    ),
    Target(
        "tile_answer",
        "server/tile_answer.py",
        (
            "tests/server/test_tile_answer.py",
            "tests/server/test_fastpath_headers.py",
            "tests/server/test_fastpath.py",
            "-k",
            SERVER_FAST,
        ),
        durham_build=True,
    ),
    Target(
        "routes",
        "server/routes.py",
        (
            "tests/server/test_route_headers.py",
            "tests/server/test_tiles.py",
            "tests/server/test_metadata.py",
            "tests/server/test_summaries.py",
        ),
        durham_build=True,
    ),
)
BY_NAME = {target.name: target for target in TARGETS}


@dataclass(frozen=True)
class Outcome:
    """What became of one mutant: `killed`, `survived`, `timeout` or `error` (no test run)."""

    verdict: str
    line: int
    operator: str
    diff: str


@dataclass(frozen=True)
class Shard:
    """The `index`-th (from 0) of `count` interleaved parts of each module's mutants."""

    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`K/N` (K from 1 to N)."""
        number, _, count = text.partition("/")
        if not (number.isdigit() and count.isdigit() and 1 <= int(number) <= int(count)):
            raise argparse.ArgumentTypeError(f"expected K/N with 1 <= K <= N, got {text!r}")
        return cls(int(number) - 1, int(count))

    def of(self, items: list[WorkItem]) -> list[WorkItem]:
        return items[self.index :: self.count]


class Journal:
    """Outcomes appended as JSON lines, one per mutant, keyed by module, source digest and mutant
    (operator and occurrence): a resumed run skips what is recorded for the same source. One
    `write` per line, opened for appending, so shards running at once do not interleave lines."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.recorded: dict[tuple[str, str, str], Outcome] = {}
        if path is not None and path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                entry = json.loads(line)
                outcome = Outcome(entry["verdict"], entry["line"], entry["operator"], entry["diff"])
                self.recorded[(entry["module"], entry["source"], entry["mutant"])] = outcome

    def get(self, module: str, source: str, mutant: str) -> Outcome | None:
        return self.recorded.get((module, source, mutant))

    def record(self, module: str, source: str, mutant: str, outcome: Outcome) -> None:
        self.recorded[(module, source, mutant)] = outcome
        if self.path is None:
            return
        entry = {"module": module, "source": source, "mutant": mutant, **outcome.__dict__}
        with self.path.open("a", encoding="utf-8") as journal:
            journal.write(json.dumps(entry) + "\n")


def mutant_key(item: WorkItem) -> str:
    """Names a mutant within one version of its module: Cosmic Ray's operator and occurrence."""
    mutation = item.mutations[0]
    return f"{mutation.operator_name}#{mutation.occurrence}"


def source_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


@dataclass(frozen=True)
class ModuleScore:
    """One table row; `sampled` is the number of mutants Cosmic Ray makes of the module when only
    a sample of them was run, else None."""

    target: Target
    outcomes: tuple[Outcome, ...]
    sampled: int | None
    missing: int = 0
    """Mutants of the sample neither run nor recorded (other shards' share, still running)."""

    def count(self, verdict: str) -> int:
        return sum(outcome.verdict == verdict for outcome in self.outcomes)

    @property
    def score(self) -> float:
        """Killed or timed out, as a share of the mutants whose tests ran."""
        ran = len(self.outcomes) - self.count("error")
        return (self.count("killed") + self.count("timeout")) / ran if ran else 1.0


PYTEST_OPTIONS = ("-x", "-q", "-p", "no:cacheprovider", "--no-header")
"""Stop at the first failure, write no cache into the tree."""
PREPARED_BUILD = "CRIMETILES_TEST_DURHAM_BUILD"
"""tests/conftest.py's `PREPARED_BUILD`: a Durham build for the `durham_build` fixture."""


def test_command(target: Target) -> str:
    """The target's test run as a command line (to see why a baseline fails)."""
    return shlex.join([sys.executable, "-m", "pytest", *PYTEST_OPTIONS, *target.tests])


def all_mutants(path: Path) -> list[WorkItem]:
    """Every mutant Cosmic Ray's core operators make of the module at `path`, in position order
    (then operator and occurrence: Cosmic Ray lists its work items in no set order, and shards
    must split the same list), except those inside type annotations: with `from __future__ import annotations` (every core
    module has it) an annotation is never evaluated, so `A | B` made `A - B` there cannot change
    anything (Cosmic Ray does not know that)."""
    with tempfile.TemporaryDirectory() as scratch, use_db(Path(scratch) / "session.sqlite", WorkDB.Mode.create) as db:
        init([path], db, {})
        items = list(db.pending_work_items)
    spans = annotation_spans(path.read_text(encoding="utf-8"))
    kept = [item for item in items if not any(start <= item.mutations[0].start_pos < end for start, end in spans)]
    return sorted(kept, key=lambda item: (item.mutations[0].start_pos, mutant_key(item)))


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) (line, column) of every annotation in `source`: arguments, returns, annotated names."""
    if "from __future__ import annotations" not in source:
        return []
    spans = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            annotation: ast.expr | None = node.annotation
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            annotation = node.returns
        else:
            continue
        if annotation is not None:
            end = (annotation.end_lineno or annotation.lineno, annotation.end_col_offset or 0)
            spans.append(((annotation.lineno, annotation.col_offset), end))
    return spans


def sample(items: list[WorkItem], limit: int) -> list[WorkItem]:
    """At most `limit` of `items`, evenly spaced (every k-th, k = ceil(n / limit)): the same sample every run."""
    step = max(1, math.ceil(len(items) / limit))
    return items[::step]


PRELOADED = (
    "numpy", "pandas", "pyarrow", "shapely", "pyproj", "geopandas", "mercantile", "mapbox_vector_tile", "cachetools",
    "click", "flask", "werkzeug", "requests", "prometheus_client", "hypothesis", "pytest",
)  # fmt: skip
"""Libraries the targeted tests import, imported once by this process: each test run is a fork of
it and starts with them loaded (about half of a run's time otherwise). Never crimetiles itself, nor
the tests: a run must import the mutated module from its file."""


def preload_libraries() -> None:
    for name in PRELOADED:
        importlib.import_module(name)
    # No bytecode written: a mutant of the same size written in the same second as the one before
    # would otherwise be run from the other's cached bytecode (its timestamp and size match).
    sys.dont_write_bytecode = True


def forked_tests(target: Target, timeout: float) -> str:
    """Run `target`'s tests with pytest in a fork of this process (its own process group, output
    discarded): `passed`, `failed` or `timeout` (the group then killed)."""
    pid = os.fork()
    if pid == 0:  # the child: never returns
        status = 70
        try:
            os.setpgid(0, 0)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            import pytest

            status = int(pytest.main(list(PYTEST_OPTIONS + target.tests)))
        finally:
            os._exit(status)
    deadline = time.monotonic() + timeout
    while True:
        done, wait_status = os.waitpid(pid, os.WNOHANG)
        if done:
            return "passed" if os.waitstatus_to_exitcode(wait_status) == 0 else "failed"
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout"
        time.sleep(0.01)


VERDICTS = {"passed": "survived", "failed": "killed", "timeout": "timeout"}


def run_mutant(item: WorkItem, target: Target, timeout: float) -> Outcome:
    """Write the mutant into its module, run the target's tests, put the module back."""
    mutation = item.mutations[0]
    operator = get_operator(mutation.operator_name)(**mutation.operator_args)
    with use_mutation(mutation.module_path, operator, mutation.occurrence) as (original, mutated):
        if mutated is None:
            return Outcome("error", mutation.start_pos[0], mutation.operator_name, "")
        verdict = VERDICTS[forked_tests(target, timeout)]
    diff = "\n".join(difflib.unified_diff(original.split("\n"), mutated.split("\n"), target.path, target.path, lineterm=""))
    return Outcome(verdict, mutation.start_pos[0], mutation.operator_name, diff)


@contextmanager
def source_kept(path: Path) -> Iterator[None]:
    """Write `path`'s bytes back however the block ends, and check they are the original ones."""
    original = path.read_bytes()
    try:
        yield
    finally:
        path.write_bytes(original)
        if path.read_bytes() != original:
            raise RuntimeError(f"{path} could not be restored")


DURHAM_BUILD = """
import sys
from pathlib import Path
from crimetiles.precompute.synth import generate_durham_exports, write_exports
from tests.conftest import build_durham
incidents, out = Path(sys.argv[1]) / "incidents", Path(sys.argv[1]) / "build"
write_exports(generate_durham_exports(), incidents)
build_durham(incidents, out)
"""
"""Run in a child interpreter: this process must not import crimetiles (`PRELOADED`)."""


@contextmanager
def prepared_durham_build(needed: bool) -> Iterator[None]:
    """When `needed`, build the Durham demo once, with the unmutated code, into a temporary
    directory named to the tests by `CRIMETILES_TEST_DURHAM_BUILD` (tests/conftest.py): the
    server modules' mutants do not change a build, and a build per mutant would cost a minute."""
    if not needed:
        yield
        return
    with tempfile.TemporaryDirectory() as scratch:
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", DURHAM_BUILD, scratch], cwd=ROOT, check=True)
        print(f"Durham build for the server modules' tests: {time.monotonic() - started:.0f} s", file=sys.stderr)
        os.environ[PREPARED_BUILD] = str(Path(scratch) / "build")
        try:
            yield
        finally:
            del os.environ[PREPARED_BUILD]


def baseline_seconds(target: Target) -> float:
    """Run the unmutated module's tests once: they must pass, or no mutant could survive them."""
    started = time.monotonic()
    if forked_tests(target, timeout=600) != "passed":
        raise SystemExit(f"{target.name}: the tests fail without any mutant; see why with:\n{test_command(target)}")
    return time.monotonic() - started


def score_module(
    target: Target, limit: int, timeout: float | None, journal: Journal, shard: Shard, rerun: set[str]
) -> ModuleScore:
    """Run the (sampled) mutants of `target` one by one, but those `journal` has for this source
    (unless their verdict is in `rerun`) and those of other shards; progress on stderr."""
    path = ROOT / target.path
    every = all_mutants(path)
    chosen = sample(every, limit) if limit else every
    source = source_digest(path)

    def recorded(item: WorkItem) -> Outcome | None:
        return journal.get(target.name, source, mutant_key(item))

    todo = [item for item in shard.of(chosen) if (outcome := recorded(item)) is None or outcome.verdict in rerun]
    outcomes = {mutant_key(item): outcome for item in chosen if (outcome := recorded(item)) is not None}
    print(f"{target.name}: {len(chosen)} of {len(every)} mutants, {len(outcomes)} recorded, {len(todo)} to run", file=sys.stderr)
    if todo:
        seconds = baseline_seconds(target)
        limit_s = timeout or max(10.0, 3 * seconds + 5)
        print(f"{target.name}: tests {seconds:.1f} s, timeout {limit_s:.0f} s", file=sys.stderr)
        with source_kept(path):
            for number, item in enumerate(todo, start=1):
                outcome = run_mutant(item, target, limit_s)
                journal.record(target.name, source, mutant_key(item), outcome)
                outcomes[mutant_key(item)] = outcome
                print(f"  {number}/{len(todo)} line {outcome.line} {outcome.operator}: {outcome.verdict}", file=sys.stderr)
    ordered = tuple(outcomes[key] for item in chosen if (key := mutant_key(item)) in outcomes)
    sampled = len(every) if len(chosen) < len(every) else None
    return ModuleScore(target, ordered, sampled, missing=len(chosen) - len(ordered))


def table(scores: Sequence[ModuleScore]) -> str:
    """The Markdown table of module scores (RESULTS.md takes it as printed)."""
    lines = ["| module | mutants | killed | survived | timeout | score |", "|---|---:|---:|---:|---:|---:|"]
    for row in scores:
        mutants = f"{len(row.outcomes)}" + (f" (sample of {row.sampled})" if row.sampled else "")
        if row.missing:
            mutants += f", {row.missing} not yet run"
        errors = row.count("error")
        lines.append(
            f"| {row.target.path} | {mutants}{f', {errors} not run' if errors else ''} | {row.count('killed')} "
            f"| {row.count('survived')} | {row.count('timeout')} | {row.score:.0%} |"
        )
    return "\n".join(lines)


def survivor_report(scores: Sequence[ModuleScore]) -> str:
    """The diff of every surviving mutant, module by module."""
    parts = []
    for row in scores:
        for outcome in row.outcomes:
            if outcome.verdict == "survived":
                parts.append(f"## {row.target.path}:{outcome.line} {outcome.operator}\n{outcome.diff}")
    return "\n".join(parts)


def _interrupted(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=f"modules (default: all, in order: {', '.join(BY_NAME)})")
    parser.add_argument(
        "--max-mutants", type=int, default=40, help="sample a module above this many mutants (default 40; 0: every mutant)"
    )
    parser.add_argument("--timeout", type=float, help="seconds per mutant's test run (default: 3 x baseline + 5, at least 10)")
    parser.add_argument(
        "--tests", help="pytest arguments replacing the modules' own selection, e.g. an older copy of a test file to score it"
    )
    parser.add_argument("--survivors", type=Path, help="write the diff of every surviving mutant to this file")
    parser.add_argument("--journal", type=Path, help="append each outcome to this JSON-lines file and skip those it records")
    parser.add_argument("--shard", type=Shard.parse, default=Shard(), metavar="K/N", help="run every N-th mutant from the K-th")
    parser.add_argument(
        "--rerun",
        action="append",
        choices=("timeout", "survived", "killed"),
        default=[],
        help="run again the mutants the journal records with this verdict (repeatable)",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.modules if name not in BY_NAME]
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)} (known: {', '.join(BY_NAME)})")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupted)
    targets = [BY_NAME[name] for name in args.modules] or list(TARGETS)
    if args.tests:
        targets = [replace(target, tests=tuple(shlex.split(args.tests))) for target in targets]
    preload_libraries()
    journal = Journal(args.journal)
    scores: list[ModuleScore] = []
    with prepared_durham_build(any(target.durham_build for target in targets)):
        for target in targets:
            scores.append(score_module(target, args.max_mutants, args.timeout, journal, args.shard, set(args.rerun)))
            if args.survivors:
                args.survivors.write_text(survivor_report(scores), encoding="utf-8")
    print(table(scores))
    return 0


if __name__ == "__main__":
    sys.exit(main())
