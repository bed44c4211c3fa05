"""Mutation fuzzer of the spec loader: every input ends in a Spec or a located SpecError.

Each mutant starts from one shipped spec (``specs/**/*.yaml``) and applies one to three
seeded mutations: byte flips, control characters, deleted / duplicated / re-indented lines,
truncation, random bytes and unicode, alias bombs, deep nesting, huge numbers, ``.nan`` /
``.inf``, YAML tags, merge keys, random keys, hostile ``extends`` values and random
command-line overrides. The mutant is written next to its original in a copy of the specs
tree (so that ``extends: surface.yaml`` still resolves) and loaded with
:func:`geokeras.spec.load_spec`; the load must

* end in a :class:`~geokeras.spec.Spec` whose hash, run name and YAML can be computed, or in
  a :class:`~geokeras.errors.GeokerasInputError` each of whose errors carries a location;
* finish within ``--seconds`` (a hang detector, enforced with SIGALRM where there is one);
* allocate at most ``--megabytes`` at its peak (tracemalloc);
* never quote a file that ``extends`` names but that is not a spec (a planted secret).

Usage::

    .venv/bin/python scripts/fuzz_specs.py [--mutants 5000] [--seed 1] [--seconds 5] [--megabytes 200]

Prints the count of each outcome and of each mutation; exits with status 1 when a mutant
crashed (any other exception), lost its location, leaked the secret, or ran out of time or
memory, and prints those mutants (reproduce one with ``--only INDEX``).
"""

from __future__ import annotations

import argparse
import collections
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
import tracemalloc
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from geokeras.errors import GeokerasInputError, SpecError, SpecErrors  # noqa: E402
from geokeras.spec import load_spec  # noqa: E402

SECRET = "SECRET-TOKEN-7f3a9c"
"""Planted in files beside the specs that are not specs; no error message may quote it."""

SECRET_FILES = {
    "secret.txt": f"{SECRET}: value\n",
    "secret_list.yaml": f"- {SECRET}\n",
    "secret_text.yaml": f"{SECRET} and more\n",
    "secret_broken.yaml": f"{SECRET}: [unclosed\n",
    "secret_tagged.yaml": f"key: !{SECRET} x\n",
}

CONTROL = [chr(code) for code in range(32) if chr(code) not in "\t\n\r"] + ["\x7f", "\x85", "\u2028", "\ufeff"]
TAGS = [
    "!!binary",
    "!!timestamp",
    "!!set",
    "!!omap",
    "!!python/object:os.system",
    "!foo",
    "!!int",
    "!!float",
    "!!bool",
    "!!str",
    "!!null",
    "!!map",
    "!!seq",
    "!<tag:yaml.org,2002:merge>",
]
ODD_SCALARS = [
    ".nan",
    ".NaN",
    ".inf",
    "-.inf",
    "+.inf",
    "1e999",
    "1.0e+999",
    "-1.0e+999",
    "0x" + "f" * 40,
    "1" * 30,
    "1" * 5000,
    "0b" + "1" * 200,
    "190:20:30",
    "2001-12-14",
    "=",
    "~",
    "null",
    "'\\ud800'",
    '"\\ud800"',
    '"\\x00"',
    '"\\u2028"',
    "yes",
    "No",
    "0o17",
    "-0",
    "1_000",
    "&a [*a]",
    "*undefined",
    "[",
    "]",
    "{",
    "}",
    "'unclosed",
    '"unclosed',
    "|",
    ">",
    "- - -",
    "? x",
    "<<: {seed: 3}",
    "%YAML 1.1",
    "---",
    "...",
    "@",
    "`",
    "\t1",
]
OVERRIDE_KEYS = [
    "seed",
    "name",
    "manifold",
    "manifold.type",
    "manifold.samples",
    "model.encoder.widths",
    "model.encoder.widths.0",
    "model.encoder.widths.-1",
    "model.encoder.widths.99",
    "train.optimizer.learning_rate",
    "train.epochs",
    "evaluate.0",
    "evaluate.0.type",
    "latent_ot",
    "latent_ot.source",
    "runtime",
    "report",
    "extends",
    "seed.x",
    "1",
    "-1",
    "a.b.c.d",
    ".",
    "..",
    "x" * 300,
    "1" * 30,
    "a." * 70 + "b",
    "é",
    "\u2028",
]


@dataclass
class Mutant:
    """One fuzz input: the mutated bytes of ``origin`` and the overrides to load it with."""

    index: int
    origin: Path
    data: bytes
    overrides: list[str] = field(default_factory=list)
    mutations: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- mutations
def _lines(text: str) -> list[str]:
    return text.split("\n")


def _value_line(rng: random.Random, lines: list[str]) -> Optional[int]:
    """A line of the form ``key: value`` (value on the same line), if any."""
    candidates = [
        i
        for i, line in enumerate(lines)
        if ": " in line and not line.lstrip().startswith("#") and line.split(": ", 1)[1].strip()
    ]
    return rng.choice(candidates) if candidates else None


def _replace_value(rng: random.Random, text: str, value: str) -> str:
    lines = _lines(text)
    index = _value_line(rng, lines)
    if index is None:
        return text + f"\nkey: {value}\n"
    key = lines[index].split(": ", 1)[0]
    lines[index] = f"{key}: {value}"
    return "\n".join(lines)


def _insert_line(rng: random.Random, text: str, line: str) -> str:
    lines = _lines(text)
    lines.insert(rng.randrange(len(lines) + 1), line)
    return "\n".join(lines)


def byte_flip(rng: random.Random, data: bytes, spec: "Context") -> bytes:
    array = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if array:
            array[rng.randrange(len(array))] ^= 1 << rng.randrange(8)
    return bytes(array)


def random_bytes(rng: random.Random, data: bytes, spec: "Context") -> bytes:
    start = rng.randrange(len(data) + 1)
    noise = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return data[:start] + noise + data[start + rng.randint(0, 16) :]


def truncate(rng: random.Random, data: bytes, spec: "Context") -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def control_char(rng: random.Random, data: bytes, spec: "Context") -> bytes:
    text = data.decode("utf-8", "replace")
    position = rng.randrange(len(text) + 1)
    return (text[:position] + rng.choice(CONTROL) + text[position:]).encode("utf-8")


def delete_line(rng: random.Random, data: bytes, spec: "Context") -> bytes:
    lines = data.split(b"\n")
    del lines[rng.randrange(len(lines))]
    return b"\n".join(lines)


def duplicate_line(rng: random.Random, data: bytes, spec: "Context") -> bytes:
    lines = data.split(b"\n")
    index = rng.randrange(len(lines))
    lines.insert(rng.randrange(len(lines) + 1), lines[index])
    return b"\n".join(lines)


def reindent(rng: random.Random, data: bytes, spec: "Context") -> bytes:
    lines = data.split(b"\n")
    index = rng.randrange(len(lines))
    indent = rng.choice([b" " * rng.randint(0, 12), b"\t", b" \t ", b""])
    lines[index] = indent + lines[index].lstrip()
    return b"\n".join(lines)


def alias_bomb(rng: random.Random, data: bytes, spec: "Context") -> bytes:
    width, levels = rng.randint(3, 12), rng.randint(3, 9)
    names = [f"b{level}" for level in range(levels)]
    bomb = [f"{names[0]}: &{names[0]} [" + ", ".join(["x"] * width) + "]"]
    for previous, name in zip(names, names[1:]):
        bomb.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * width) + "]")
    text = data.decode("utf-8", "replace")
    if rng.random() < 0.5:  # the bomb under a free-form key of an existing section
        return (text + "\n" + "\n".join(bomb) + "\n").encode("utf-8")
    inline = "{" + ", ".join(f"{line.split(':', 1)[0]}: {line.split(': ', 1)[1]}" for line in bomb) + "}"
    return _replace_value(rng, text, f"{inline}").encode("utf-8")


def deep_nesting(rng: random.Random, data: bytes, spec: "Context") -> bytes:
    depth = rng.choice([rng.randint(50, 80), rng.randint(500, 1500), rng.randint(4000, 6000)])
    text = data.decode("utf-8", "replace")
    if rng.random() < 0.6:
        opener, closer = rng.choice([("[", "]"), ("{a: ", "}"), ("- ", "")])
        value = opener * depth + "1" + closer * (depth if rng.random() < 0.8 else 0)
        return _replace_value(rng, text, value).encode("utf-8")
    block = "".join(" " * level + f"k{level}:\n" for level in range(min(depth, 1500)))
    return (text + "\ndeep:\n" + "\n".join(" " + line for line in block.splitlines()) + "\n").encode("utf-8")


def huge_number(rng: random.Random, data: bytes, spec: "Context") -> bytes:
    value = rng.choice(
        [
            "9" * rng.randint(19, 6000),
            "1e999",
            "-1.0e+999",
            "0x" + "f" * rng.randint(16, 3000),
            "1." + "0" * 3000,
            "0b" + "1" * rng.randint(60, 20000),
            "-" + "9" * 25,
        ]
    )
    return _replace_value(rng, data.decode("utf-8", "replace"), value).encode("utf-8")


def non_finite(rng: random.Random, data: bytes, spec: "Context") -> bytes:
    value = rng.choice([".nan", ".inf", "-.inf", ".NaN", "+.Inf", "[1, .nan]", "{a: .inf}"])
    return _replace_value(rng, data.decode("utf-8", "replace"), value).encode("utf-8")


def odd_scalar(rng: random.Random, data: bytes, spec: "Context") -> bytes:
    return _replace_value(rng, data.decode("utf-8", "replace"), rng.choice(ODD_SCALARS)).encode("utf-8")


def tagged(rng: random.Random, data: bytes, spec: "Context") -> bytes:
    lines = _lines(data.decode("utf-8", "replace"))
    index = _value_line(rng, lines)
    if index is None:
        return data
    key, value = lines[index].split(": ", 1)
    tag = rng.choice(TAGS)
    value = "gICA" if tag == "!!binary" and rng.random() < 0.5 else value
    lines[index] = f"{key}: {tag} {value}"
    return "\n".join(lines).encode("utf-8")


def merge_key(rng: random.Random, data: bytes, spec: "Context") -> bytes:
    text = data.decode("utf-8", "replace")
    choice = rng.randrange(4)
    if choice == 0:
        return (f"defaults: &defaults {{seed: {rng.randint(0, 9)}, name: merged}}\n" + text).encode("utf-8")
    if choice == 1:
        return (text + "\n<<: {seed: 3, name: merged-spec}\n").encode("utf-8")
    if choice == 2:
        return (text + "\n<<: [*nothing]\n").encode("utf-8")
    return _insert_line(rng, text, rng.choice(["<<: 3", "<<: [1, 2]", "x: &m {<<: *m}", "<<: {seed: 1}"])).encode()


def random_key(rng: random.Random, data: bytes, spec: "Context") -> bytes:
    alphabet = "abcdefghijklmnopqrstuvwxyz_.-0123456789 éß漢\u2028\"'#&*!|>%@`[]{},?:"
    key = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
    indent = " " * rng.choice([0, 0, 2, 4])
    line = f"{indent}{key}: {rng.choice(ODD_SCALARS + ['1', 'x', '[1, 2]', '{a: 1}'])}"
    return _insert_line(rng, data.decode("utf-8", "replace"), line).encode("utf-8")


def hostile_extends(rng: random.Random, data: bytes, spec: "Context") -> bytes:
    target = rng.choice(
        [
            "/etc/passwd",
            "/etc/hostname",
            "/dev/zero",
            "/dev/null",
            "/proc/self/environ",
            ".",
            "..",
            "/",
            "/tmp",
            "nowhere.yaml",
            spec.origin.name,
            "secret.txt",
            "secret_list.yaml",
            "secret_text.yaml",
            "secret_broken.yaml",
            "secret_tagged.yaml",
            '"a\\0b.yaml"',
            "a" * 5000 + ".yaml",
            "[1, 2]",
            "{a: 1}",
            "3",
            "''",
            "~",
            spec.sibling(rng),
            "../" + spec.sibling(rng),
            "x/" * 300 + "y.yaml",
        ]
    )
    text = data.decode("utf-8", "replace")
    text = "\n".join(line for line in _lines(text) if not line.startswith("extends:"))
    return (f"extends: {target}\n" + text).encode("utf-8")


def splice(rng: random.Random, data: bytes, spec: "Context") -> bytes:
    other = spec.texts[rng.randrange(len(spec.texts))].split(b"\n")
    lines = data.split(b"\n")
    start = rng.randrange(len(other))
    piece = other[start : start + rng.randint(1, 6)]
    position = rng.randrange(len(lines) + 1)
    return b"\n".join(lines[:position] + piece + lines[position:])


def unicode_noise(rng: random.Random, data: bytes, spec: "Context") -> bytes:
    text = data.decode("utf-8", "replace")
    noise = rng.choice(["\ufeff", "\u2028", "\u2029", "\x85", "é", "\U0001f600", "\u0301", "\uffff", "\ue000"])
    position = rng.randrange(len(text) + 1)
    encoded = (text[:position] + noise + text[position:]).encode("utf-8")
    if rng.random() < 0.3:  # a lone surrogate, as Python's surrogatepass writes it: not UTF-8
        encoded = encoded[:position] + "\ud800".encode("utf-8", "surrogatepass") + encoded[position:]
    return encoded


MUTATIONS: dict[str, Callable[[random.Random, bytes, "Context"], bytes]] = {
    function.__name__: function
    for function in (
        byte_flip,
        random_bytes,
        truncate,
        control_char,
        delete_line,
        duplicate_line,
        reindent,
        alias_bomb,
        deep_nesting,
        huge_number,
        non_finite,
        odd_scalar,
        tagged,
        merge_key,
        random_key,
        hostile_extends,
        splice,
        unicode_noise,
    )
}


def random_override(rng: random.Random) -> str:
    key = rng.choice(OVERRIDE_KEYS)
    value = rng.choice(
        ODD_SCALARS
        + [
            "1",
            "0.5",
            "-3",
            "[8, 8]",
            "{type: sgd}",
            "circle",
            "",
            "[" * 3000,
            "[" * 70 + "]" * 70,
            "{a: &a [1,1,1,1,1,1], b: [*a,*a,*a,*a,*a,*a]}",
            "".join(rng.choice(CONTROL) for _ in range(2)),
        ]
    )
    return (
        rng.choice([f"{key}={value}", f"{key}", f"={value}", f"{key}=={value}"])
        if rng.random() < 0.1
        else f"{key}={value}"
    )


@dataclass
class Context:
    """What a mutation may draw on: the original's path and every shipped spec's bytes."""

    origin: Path
    texts: list[bytes]
    names: list[str]

    def sibling(self, rng: random.Random) -> str:
        return rng.choice(self.names)


def make_mutant(index: int, seed: int, originals: list[Path], texts: list[bytes]) -> Mutant:
    """Mutant ``index`` of run ``seed``: the same on every machine and in every order."""
    rng = random.Random(seed * 1_000_003 + index)
    position = rng.randrange(len(originals))
    origin = originals[position]
    context = Context(origin, texts, [path.name for path in originals if path.parent == origin.parent])
    mutant = Mutant(index, origin, texts[position])
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        name = rng.choice(sorted(MUTATIONS))
        mutant.data = MUTATIONS[name](rng, mutant.data, context)
        mutant.mutations.append(name)
    if rng.random() < 0.25:
        mutant.overrides = [random_override(rng) for _ in range(rng.randint(1, 3))]
        mutant.mutations.append("overrides")
    return mutant


# ----------------------------------------------------------------------------- running
class Hang(BaseException):
    """Raised by SIGALRM; a BaseException so that no handler in the loader can swallow it."""


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    if not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum, frame):
        raise Hang()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Outcome:
    kind: str  # spec | error | crash | unlocated | leak | hang | memory
    seconds: float
    megabytes: float
    detail: str = ""


def errors_of(error: GeokerasInputError) -> list[GeokerasInputError]:
    return list(error.errors) if isinstance(error, SpecErrors) else [error]


def load_mutant(mutant: Mutant, tree: Path, seconds: float, megabytes: float) -> Outcome:
    """Write ``mutant`` next to its original inside ``tree`` and load it within the bounds."""
    path = tree / mutant.origin.parent / f"{mutant.origin.stem}.mutant-{mutant.index}.yaml"
    path.write_bytes(mutant.data)
    tracemalloc.start()
    start = time.perf_counter()
    kind, detail = "spec", ""
    try:
        with deadline(seconds):
            try:
                spec = load_spec(path, mutant.overrides)
                detail = f"{spec.run_name} {len(spec.to_yaml())}"
            except GeokerasInputError as error:
                kind, detail = "error", str(error)
                bad = [item for item in errors_of(error) if not isinstance(item, SpecError) or not item.location]
                if bad:
                    kind, detail = "unlocated", str(bad[0])
                elif SECRET in detail:
                    kind = "leak"
    except Hang:
        kind, detail = "hang", f"more than {seconds} s"
    except Exception:  # noqa: BLE001  (the fuzzer's job: any other exception is the finding)
        kind, detail = "crash", traceback.format_exc(limit=-6)
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        path.unlink()
    if kind in ("spec", "error") and peak > megabytes:
        kind, detail = "memory", f"peak {peak:.0f} MB"
    return Outcome(kind, elapsed, peak, detail)


def spec_tree(destination: Path) -> tuple[Path, list[Path]]:
    """A copy of the shipped specs (plus the planted secrets) in ``destination``; the originals relative to it."""
    tree = destination / "tree"
    shutil.copytree(ROOT / "specs", tree / "specs")
    for directory in {path.parent for path in (tree / "specs").rglob("*.yaml")}:
        for name, text in SECRET_FILES.items():
            (directory / name).write_text(text, encoding="utf-8")
    originals = sorted(path.relative_to(ROOT) for path in (ROOT / "specs").rglob("*.yaml"))
    return tree, originals


def fuzz(
    count: int, seed: int, seconds: float = 5.0, megabytes: float = 200.0, only: Optional[int] = None
) -> tuple[collections.Counter, list[tuple[Mutant, Outcome]]]:
    """Run ``count`` mutants; (outcome counts, the mutants that failed with their outcomes)."""
    counts: collections.Counter = collections.Counter()
    failures: list[tuple[Mutant, Outcome]] = []
    with tempfile.TemporaryDirectory(prefix="geokeras-fuzz-") as scratch:
        tree, originals = spec_tree(Path(scratch))
        texts = [(ROOT / path).read_bytes() for path in originals]
        indices = [only] if only is not None else range(count)
        for index in indices:
            mutant = make_mutant(index, seed, originals, texts)
            outcome = load_mutant(mutant, tree, seconds, megabytes)
            counts[outcome.kind] += 1
            counts["slowest_ms"] = max(counts["slowest_ms"], round(outcome.seconds * 1000))
            counts["peak_mb"] = max(counts["peak_mb"], round(outcome.megabytes))
            for name in mutant.mutations:
                counts[f"mutation {name}"] += 1
            if outcome.kind not in ("spec", "error"):
                failures.append((mutant, outcome))
    return counts, failures


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mutants", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=5.0, help="time bound per mutant (hang detector)")
    parser.add_argument("--megabytes", type=float, default=200.0, help="tracemalloc peak bound per mutant")
    parser.add_argument("--only", type=int, default=None, help="run this one mutant and print it")
    arguments = parser.parse_args(argv)
    start = time.perf_counter()
    counts, failures = fuzz(arguments.mutants, arguments.seed, arguments.seconds, arguments.megabytes, arguments.only)
    total = time.perf_counter() - start
    if arguments.only is not None:
        originals = sorted(path.relative_to(ROOT) for path in (ROOT / "specs").rglob("*.yaml"))
        mutant = make_mutant(arguments.only, arguments.seed, originals, [(ROOT / p).read_bytes() for p in originals])
        print(
            f"# mutant {mutant.index} of {mutant.origin}: {', '.join(mutant.mutations)}; overrides {mutant.overrides}"
        )
        print(mutant.data[:2000].decode("utf-8", "backslashreplace"))
    outcomes = ["spec", "error", "crash", "unlocated", "leak", "hang", "memory"]
    mutants = sum(counts[kind] for kind in outcomes)
    print(
        f"{mutants} mutants (seed {arguments.seed}) in {total:.1f} s; slowest {counts['slowest_ms']} ms, "
        f"largest tracemalloc peak {counts['peak_mb']} MB"
    )
    for kind in outcomes:
        print(f"  {kind:<10} {counts[kind]}")
    print("mutations applied:")
    for key in sorted(key for key in counts if key.startswith("mutation ")):
        print(f"  {key[len('mutation ') :]:<16} {counts[key]}")
    for mutant, outcome in failures[:20]:
        print(
            f"\n== mutant {mutant.index} ({mutant.origin}; {', '.join(mutant.mutations)}): {outcome.kind}\n"
            f"{outcome.detail[:3000]}"
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
