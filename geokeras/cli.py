"""The ``geokeras`` command line.

    geokeras run SPEC [key=value ...] [-o DIR] [--resume]
    geokeras validate SPEC [SPEC ...]
    geokeras render SPEC [key=value ...]
    geokeras schema [-o FILE]
    geokeras compare RUN_DIR [RUN_DIR ...]
    geokeras sweep SPEC key=v1,v2,... [key2=...] [--runs-root DIR] [--jobs N] [--metric NAME]
    geokeras report RUN_DIR [--format png|svg|pdf] [--dpi N]

Exit codes: 0 success, 2 bad spec or bad input (one message, no traceback), 1 anything else.
``validate``, ``render`` and ``schema`` never import TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

from geokeras.errors import GeokerasInputError

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2
DEFAULT_SPEC = Path("specs/quickstart.yaml")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="geokeras", description="Geometric deep learning experiments from YAML specs."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run a spec and write its run directory")
    run.add_argument("spec", type=Path, help="the spec file")
    run.add_argument("overrides", nargs="*", metavar="key=value", help="overrides, e.g. train.epochs=5")
    run.add_argument("-o", "--out", type=Path, default=None, help="run directory (default runs/<name>-<hash12>)")
    run.add_argument("--resume", action="store_true", help="continue an interrupted run from its checkpoint")

    validate = commands.add_parser("validate", help="check specs without running them")
    validate.add_argument("specs", type=Path, nargs="+", metavar="SPEC")

    render = commands.add_parser("render", help="print the resolved spec with its hash")
    render.add_argument("spec", type=Path)
    render.add_argument("overrides", nargs="*", metavar="key=value")

    schema = commands.add_parser("schema", help="print the JSON Schema of spec files")
    schema.add_argument("-o", "--out", type=Path, default=None, help="write it to this file")

    compare = commands.add_parser("compare", help="the main metrics of run directories side by side")
    compare.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR")

    sweep = commands.add_parser("sweep", help="run a spec over a grid of overrides; summary table and phase diagram")
    sweep.add_argument("spec", type=Path, help="the spec file every point starts from")
    sweep.add_argument(
        "grid", nargs="+", metavar="key=v1,v2,...", help="one grid axis per key, e.g. manifold.turns=1,2,3"
    )
    sweep.add_argument("--runs-root", type=Path, default=Path("runs"), help="where run directories go (default runs/)")
    sweep.add_argument("--jobs", type=int, default=1, help="points run at once, each in its own process (default 1)")
    sweep.add_argument("--metric", default=None, help="metric of the phase diagram, e.g. reconstruction.mse")

    _add_report_command(commands)
    return parser


# ----------------------------------------------------------------------------- geokeras report
def _add_report_command(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser(
        "report", help="redraw the figures and rewrite report.md of a finished run (no training)"
    )
    report.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a finished run directory")
    report.add_argument(
        "--format", choices=("png", "svg", "pdf"), default=None, help="figure file type (default: the run's)"
    )
    report.add_argument("--dpi", type=int, default=None, help="figure resolution (default: the run's)")


def _report(arguments: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from geokeras.report_rerender import rerender

    result = rerender(arguments.run_dir, format=arguments.format, dpi=arguments.dpi)
    kept = f"; {len(result.differing)} metric(s) differ, metrics.json kept" if result.differing else ""
    print(f"geokeras: rewrote {result.run_dir}/report.md and {len(result.figures)} figure(s){kept}")
    return EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the console script; returns the exit code."""
    arguments = _parser().parse_args(argv)
    try:
        return _COMMANDS[arguments.command](arguments)
    except GeokerasInputError as error:
        print(f"geokeras: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("geokeras: interrupted.", file=sys.stderr)
        return EXIT_FAILURE


def _run(arguments: argparse.Namespace) -> int:
    # TensorFlow's C++ start-up chatter (CPU features, missing CUDA) buries the results;
    # set TF_CPP_MIN_LOG_LEVEL yourself to see it.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from geokeras.api import run
    from geokeras.report.markdown import metric_warnings

    result = run(arguments.spec, arguments.out, arguments.overrides, resume=arguments.resume)
    training = result.metrics["training"]
    print(
        f"geokeras: wrote {result.run_dir} (final loss {training['final_loss']:.6g} after "
        f"{training['epochs']} epochs, {training['seconds']:.1f} s)"
    )
    for section, text in metric_warnings(result.metrics):  # also listed at the top of report.md
        print(f"geokeras: warning: {section}: {text}", file=sys.stderr)
    return EXIT_OK


def _validate(arguments: argparse.Namespace) -> int:
    from geokeras.spec import load_spec

    status = EXIT_OK
    for path in arguments.specs:
        try:
            line = f"{path}: ok ({load_spec(path).run_name})"  # everything computed before anything is printed
        except GeokerasInputError as error:
            print(f"geokeras: error: {error}", file=sys.stderr)
            status = EXIT_BAD_INPUT
        else:
            print(line)
    return status


def _render(arguments: argparse.Namespace) -> int:
    from geokeras.spec import load_spec

    spec = load_spec(arguments.spec, arguments.overrides)
    sys.stdout.write(f"# {spec.run_name}\n# sha256: {spec.content_hash}\n{spec.to_yaml()}")
    return EXIT_OK


def _schema(arguments: argparse.Namespace) -> int:
    from geokeras.spec import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if arguments.out is None:
        sys.stdout.write(text)
    else:
        arguments.out.parent.mkdir(parents=True, exist_ok=True)
        arguments.out.write_text(text, encoding="utf-8")
    return EXIT_OK


def _compare(arguments: argparse.Namespace) -> int:
    from geokeras.report.compare import compare_runs

    sys.stdout.write(compare_runs(arguments.run_dirs))
    return EXIT_OK


def _sweep(arguments: argparse.Namespace) -> int:
    from geokeras.sweep import sweep

    result = sweep(
        arguments.spec, arguments.grid, runs_root=arguments.runs_root, jobs=arguments.jobs, metric=arguments.metric
    )
    for point in result.points:
        values = ", ".join(f"{key}={value}" for key, value in point.values.items())
        print(f"{point.status:>7}  {values}  {point.detail or point.run_dir}")
    print(f"geokeras: wrote {result.sweep_dir}/summary.md ({len(result.failed)} of {len(result.points)} points failed)")
    return EXIT_FAILURE if result.failed else EXIT_OK


_COMMANDS = {
    "run": _run,
    "validate": _validate,
    "render": _render,
    "schema": _schema,
    "compare": _compare,
    "sweep": _sweep,
    "report": _report,
}


if __name__ == "__main__":
    sys.exit(main())
