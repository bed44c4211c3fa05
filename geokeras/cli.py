"""The ``geokeras`` command line.

    geokeras --version
    geokeras run [SPEC] [key=value ...] [-o DIR] [--resume | --force]
    geokeras validate SPEC [SPEC ...]
    geokeras render SPEC [key=value ...]
    geokeras schema [-o FILE]
    geokeras compare RUN_DIR|SWEEP_DIR [...] [--only-differing] [--format markdown|csv]
    geokeras sweep SPEC key=v1,v2,... [key2=...] [--runs-root DIR] [--jobs N] [--metric NAME]
                   [--executor local|ray] [--address ADDR] [--gpus-per-point N]
    geokeras report RUN_DIR [--format png|svg|pdf] [--dpi N]

Exit codes: 0 success, 2 bad spec or bad input (one message, no traceback), 1 anything else.
``validate``, ``render`` and ``schema`` never import TensorFlow. Progress (stage lines, bars)
goes to stderr; ``-v``/``--verbose``, before or after the command, keeps TensorFlow's logs and
warnings.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional, Sequence

from geokeras.errors import GeokerasInputError

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2
DEFAULT_SPEC = Path("specs/quickstart.yaml")


def _subcommand(commands: argparse._SubParsersAction, name: str, help: str, examples: str) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` ends with ``examples`` (kept as written)."""
    return commands.add_parser(
        name,
        help=help,
        description=help[0].upper() + help[1:] + ".",
        epilog="examples:\n" + examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


_OVERRIDE_HELP = (
    "overrides applied after the spec's extends, values read as YAML 1.2 (docs/spec.md), "
    "e.g. train.epochs=5 model.encoder.widths=[32,32]"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="geokeras",
        description="Geometric deep learning experiments from YAML specs.",
        epilog="Exit codes: 0 success, 2 bad spec or bad input, 1 anything else. "
        "`geokeras COMMAND --help` shows a command's options and examples.",
    )
    parser.add_argument(
        "--version", action="version", version=f"geokeras {package_version()}", help="print the version and exit"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", help="what to do")

    run = _subcommand(
        commands,
        "run",
        "run a spec and write its run directory",
        "  geokeras run                                   # specs/quickstart.yaml, the default spec\n"
        "  geokeras run specs/quickstart.yaml train.epochs=10\n"
        "  geokeras run specs/paper/spiral.yaml seed=3 -o runs/spiral-seed3 --force\n"
        "  geokeras run specs/quickstart.yaml -o runs/q --resume   # continue an interrupted run",
    )
    run.add_argument(
        "spec",
        type=Path,
        nargs="?",
        default=None,
        metavar="SPEC",
        help=f"the spec file (default {DEFAULT_SPEC}, when it exists in the current directory)",
    )
    run.add_argument("overrides", nargs="*", metavar="key=value", help=_OVERRIDE_HELP)
    run.add_argument("-o", "--out", type=Path, default=None, help="run directory (default runs/<name>-<hash12>)")
    run.add_argument("--resume", action="store_true", help="continue an interrupted run from its checkpoint")
    run.add_argument(
        "--force",
        action="store_true",
        help="replace a finished run directory at the destination (removed only once the new run is complete)",
    )

    validate = _subcommand(
        commands,
        "validate",
        "check specs without running them (every check that needs no TensorFlow)",
        "  geokeras validate specs/quickstart.yaml\n  geokeras validate specs/*.yaml specs/paper/*.yaml",
    )
    validate.add_argument("specs", type=Path, nargs="+", metavar="SPEC", help="the spec files to check")

    render = _subcommand(
        commands,
        "render",
        "print the resolved spec with its hash",
        "  geokeras render specs/quickstart.yaml\n  geokeras render specs/quickstart.yaml seed=3 train.epochs=5",
    )
    render.add_argument("spec", type=Path, metavar="SPEC", help="the spec file")
    render.add_argument("overrides", nargs="*", metavar="key=value", help=_OVERRIDE_HELP)

    schema = _subcommand(
        commands,
        "schema",
        "print the JSON Schema of spec files",
        "  geokeras schema -o schema/geokeras.schema.json",
    )
    schema.add_argument("-o", "--out", type=Path, default=None, help="write it to this file")

    compare = _subcommand(
        commands,
        "compare",
        "runs side by side: the spec keys that differ, then the metrics",
        "  geokeras compare runs/quickstart-spiral-*\n  geokeras compare runs/sweep-spiral-* --diff --format csv",
    )
    compare.add_argument(
        "run_dirs", type=Path, nargs="+", metavar="RUN_DIR", help="run directories and sweep folders (a sweep's runs)"
    )
    compare.add_argument(
        "--only-differing",
        "--diff",
        action="store_true",
        help="only the rows whose values are not the same in every run",
    )
    compare.add_argument(
        "--format", choices=("markdown", "csv"), default="markdown", help="table format (default markdown)"
    )

    sweep = _subcommand(
        commands,
        "sweep",
        "run a spec over a grid of overrides; summary table and phase diagram",
        "  geokeras sweep specs/paper/spiral.yaml manifold.turns=0.5,1,1.5 seed=7,8\n"
        "  geokeras sweep specs/quickstart.yaml 'seed=range(0,4)' 'manifold.turns=linspace(0.5,2,4)' --jobs 2\n"
        "  geokeras sweep specs/quickstart.yaml model.encoder.widths=[16],[64,64]\n"
        "  geokeras sweep specs/quickstart.yaml 'seed=range(0,16)' --executor ray --address auto",
    )
    sweep.add_argument("spec", type=Path, help="the spec file every point starts from")
    sweep.add_argument(
        "grid",
        nargs="+",
        metavar="key=v1,v2,...",
        help="one grid axis per key: values v1,v2,..., a list [v1,v2,...] or range(1,4), linspace(0.5,2,4), "
        "logspace(-3,-1,3) (docs/sweeps.md)",
    )
    sweep.add_argument("--runs-root", type=Path, default=Path("runs"), help="where run directories go (default runs/)")
    sweep.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="points run at once, each in its own process (default 1; with Ray, the CPUs of the local Ray it starts)",
    )
    sweep.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="local: a process pool here (default); ray: a Ray task per point (pip install 'geokeras[ray]')",
    )
    sweep.add_argument(
        "--address",
        default=None,
        metavar="ADDR",
        help="with --executor ray: the Ray cluster to join (auto, host:6379, ray://host:10001); "
        "default a local Ray started for the sweep",
    )
    sweep.add_argument(
        "--gpus-per-point",
        type=int,
        default=0,
        metavar="N",
        help="with --executor ray: GPUs each point's task asks for (default 0)",
    )
    sweep.add_argument("--metric", default=None, help="metric of the phase diagram, e.g. reconstruction.mse")
    _add_report_command(commands)
    _add_verbose_flag(parser, *commands.choices.values())
    return parser


def package_version() -> str:
    """The installed distribution's version; ``geokeras.__version__`` when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("geokeras")
    except PackageNotFoundError:
        import geokeras

        return getattr(geokeras, "__version__", "unknown")


def _add_verbose_flag(*parsers: argparse.ArgumentParser) -> None:
    """``-v`` before or after the command (a subcommand's default must not undo the main parser's)."""
    for index, parser in enumerate(parsers):
        parser.add_argument(
            "-v",
            "--verbose",
            action="store_true",
            default=False if index == 0 else argparse.SUPPRESS,
            help="show TensorFlow's logs and Keras's and TensorFlow's warnings",
        )


# ----------------------------------------------------------------------------- geokeras report
def _add_report_command(commands: argparse._SubParsersAction) -> None:
    report = _subcommand(
        commands,
        "report",
        "redraw the figures and rewrite report.md of a finished run (no training)",
        "  geokeras report runs/quickstart-spiral-<hash12> --format svg\n  geokeras report RUN_DIR --dpi 300",
    )
    report.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a finished run directory")
    report.add_argument(
        "--format", choices=("png", "svg", "pdf"), default=None, help="figure file type (default: the run's)"
    )
    report.add_argument("--dpi", type=int, default=None, help="figure resolution (default: the run's)")


def _report(arguments: argparse.Namespace) -> int:
    if not arguments.verbose:
        from geokeras.tf_logging import quiet_tensorflow

        quiet_tensorflow()
    from geokeras.report_rerender import rerender

    result = rerender(arguments.run_dir, format=arguments.format, dpi=arguments.dpi)
    kept = f"; {len(result.differing)} metric(s) differ, metrics.json kept" if result.differing else ""
    print(f"geokeras: rewrote {result.run_dir}/report.md and {len(result.figures)} figure(s){kept}")
    return EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the console script; returns the exit code."""
    arguments = _parse(_parser(), argv)
    try:
        return _COMMANDS[arguments.command](arguments)
    except GeokerasInputError as error:
        print(f"geokeras: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("geokeras: interrupted.", file=sys.stderr)
        return EXIT_FAILURE


def _parse(parser: argparse.ArgumentParser, argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """The parsed command line, with ``key=value`` arguments written after an option
    (``geokeras run SPEC -o DIR seed=3``) joined to the command's overrides or grid, as
    argparse alone refuses them there."""
    arguments, unknown = parser.parse_known_args(argv)
    listed = next((name for name in ("overrides", "grid") if hasattr(arguments, name)), None)
    late = [item for item in unknown if "=" in item and not item.startswith("-")]
    if listed is None or len(late) < len(unknown):
        parser.parse_args(argv)  # argparse's own message and exit status 2 for what is left
    if late:
        setattr(arguments, listed, [*getattr(arguments, listed), *late])
    return arguments


def run_spec_and_overrides(spec: Optional[Path], overrides: Sequence[str]) -> tuple[Path, list[str]]:
    """The spec and overrides of ``geokeras run [SPEC] [key=value ...]``.

    Without a SPEC (or when the first argument is an override, ``geokeras run train.epochs=5``) the
    default :data:`DEFAULT_SPEC` is run, if it exists in the current directory.
    """
    overrides = list(overrides)
    if spec is not None and "=" in str(spec) and not spec.exists():
        overrides.insert(0, str(spec))
        spec = None
    if spec is not None:
        return spec, overrides
    if not DEFAULT_SPEC.is_file():
        raise GeokerasInputError(
            f"expected a SPEC file: geokeras run SPEC [key=value ...]. Received none, and the default "
            f"{DEFAULT_SPEC} is not in the current directory ({Path.cwd()})."
        )
    print(f"geokeras: running the default spec {DEFAULT_SPEC}", file=sys.stderr)
    return DEFAULT_SPEC, overrides


def _run(arguments: argparse.Namespace) -> int:
    if arguments.force and arguments.resume:
        raise GeokerasInputError(
            "expected either --resume (continue an interrupted run) or --force (replace a finished one). Received both."
        )
    spec, overrides = run_spec_and_overrides(arguments.spec, arguments.overrides)
    from geokeras.api import run
    from geokeras.report.markdown import metric_warnings

    result = run(
        spec, arguments.out, overrides, resume=arguments.resume, force=arguments.force, verbose=arguments.verbose
    )
    training = result.metrics["training"]
    done = f"final loss {training['final_loss']:.6g} after {training['epochs']} epochs, {training['seconds']:.1f} s"
    if getattr(result, "chief", True) is False:  # a task of a multi-worker run: the chief writes the run directory
        print(f"geokeras: trained as a worker ({done}); the chief writes {result.run_dir}")
        return EXIT_OK
    print(f"geokeras: wrote {result.run_dir} ({done})")
    for section, text in metric_warnings(result.metrics):  # also listed at the top of report.md
        print(f"geokeras: warning: {section}: {text}", file=sys.stderr)
    return EXIT_OK


def _validate(arguments: argparse.Namespace) -> int:
    from geokeras.preflight import check_before_running
    from geokeras.spec import load_spec

    status = EXIT_OK
    for path in arguments.specs:
        try:
            spec = load_spec(path)
            check_before_running(spec)  # every check a run makes before it imports TensorFlow
            line = f"{path}: ok ({spec.run_name})"  # everything computed before anything is printed
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
    from geokeras.report.compare import compare

    comparison = compare(arguments.run_dirs, only_differing=arguments.only_differing)
    for note in comparison.notes:
        print(f"geokeras: note: {note}", file=sys.stderr)
    sys.stdout.write(comparison.render(arguments.format))
    return EXIT_OK


def _sweep(arguments: argparse.Namespace) -> int:
    from geokeras.sweep import sweep

    result = sweep(  # a line per point on stderr as it finishes
        arguments.spec,
        arguments.grid,
        runs_root=arguments.runs_root,
        jobs=arguments.jobs,
        metric=arguments.metric,
        verbose=arguments.verbose,
        executor=arguments.executor,
        address=arguments.address,
        gpus_per_point=arguments.gpus_per_point,
    )
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
