"""The ``dedup`` command line. It parses arguments, calls the library and prints; nothing else.

Exit codes: 0 success; 1 duplicates found with ``--fail-on-duplicates``; 2 usage or input
errors; 130 interrupted. Heavy modules (numpy, numba) are imported inside the commands, so
``dedup --help`` answers at once.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from typing import IO, Any, NoReturn

import click

EXIT_DUPLICATES = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"dedup: error: {message}", err=True)
    sys.exit(code)


def warn(message: str) -> None:
    click.echo(f"dedup: warning: {message}", err=True)


class ShingleType(click.ParamType):
    name = "KIND:N"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from dedup.shingles import ShingleSpec

        if isinstance(value, ShingleSpec):
            return value
        try:
            return ShingleSpec.parse(value)
        except ValueError as err:
            self.fail(str(err), param, ctx)


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def input_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by the commands that read documents."""
    options = [
        click.option("--jsonl", is_flag=True, help="Inputs are JSON Lines, one document per line."),
        click.option("--text-field", default="text", show_default=True, help="JSONL field holding the text."),
        click.option("--id-field", default="id", show_default=True, help="JSONL field naming the document."),
        click.option(
            "--glob",
            "globs",
            multiple=True,
            metavar="PATTERN",
            help="File names to read from directories (repeatable). Default: *.txt and *.md.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def matching_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options that decide what counts as a near-duplicate."""
    from dedup.shingles import DEFAULT_SHINGLE

    options = [
        click.option(
            "--threshold",
            type=click.FloatRange(0.0, 1.0, min_open=True),
            default=0.4,
            show_default=True,
            help="Exact Jaccard similarity at or above which paragraphs are near-duplicates.",
        ),
        click.option(
            "--shingle",
            type=ShingleType(),
            default=str(DEFAULT_SHINGLE),
            show_default=True,
            help="Shingles: word:N (N-word runs) or char:N (N-character runs).",
        ),
        click.option("--num-perm", type=click.IntRange(2, 4096), default=128, show_default=True, help="MinHash permutations."),
        click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=1, show_default=True, help="MinHash seed."),
        click.option(
            "--min-words",
            type=click.IntRange(0),
            default=0,
            show_default=True,
            help="Leave paragraphs with fewer words out of matching (they are still counted).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected failures into one line on stderr and an exit code, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from dedup.documents import InputError

        try:
            return command(*args, **kwargs)
        except InputError as err:
            fail(str(err))
        except KeyboardInterrupt:
            click.echo("dedup: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            # The reader went away (``dedup report ... | head``): not an error of ours.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(0)
        except MemoryError:
            fail("out of memory; try fewer documents per run", EXIT_INTERNAL)
        except OSError as err:
            fail(f"{err.filename + ': ' if err.filename else ''}{err.strerror or err}")
        except Exception as err:  # a bug of ours: still one line, unless asked for more
            if os.environ.get("DEDUP_DEBUG"):
                raise
            fail(f"internal error: {type(err).__name__}: {err} (set DEDUP_DEBUG=1 for the traceback)", EXIT_INTERNAL)

    return wrapper


@contextlib.contextmanager
def open_output(path: str) -> Iterator[IO[str]]:
    """Standard output for ``-``; otherwise a file that appears whole or not at all: it is
    written beside its destination and renamed over it only once complete."""
    if path == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".dedup-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            yield out
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class Progress:
    """A progress bar over documents read, on stderr, only when stderr is a terminal."""

    def __init__(self, enabled: bool, label: str) -> None:
        self.bar = click.progressbar(length=None, label=label, file=sys.stderr, show_pos=True) if enabled else None
        if self.bar is not None:
            self.bar.__enter__()

    def advance(self, _: object = None) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dedup", prog_name="dedup")
def main() -> None:
    """Find paragraphs repeated, exactly or nearly, across documents.

    \b
    Paragraphs are normalized and shingled; MinHash LSH proposes candidate
    pairs; every pair is checked against its exact Jaccard similarity.
    """


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@matching_options
@click.option("--scope", type=click.Choice(["all", "cross-doc"]), default="all", show_default=True, help="cross-doc: only clusters spanning two or more documents.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "jsonl", "csv"]), default="text", show_default=True, help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default="-", help="Write the report here (default: stdout).")
@input_options
@click.option("--fail-on-duplicates", is_flag=True, help="Exit with status 1 when any cluster is found.")
@click.option("--profile", is_flag=True, help="Print the time spent in each stage on stderr.")
@click.option("--max-chars", type=click.IntRange(1), default=1_000_000, show_default=True, help="Leave longer paragraphs out of matching, with a warning.")
@handle_errors
def report(
    paths: tuple[str, ...],
    threshold: float,
    shingle: Any,
    num_perm: int,
    seed: int,
    min_words: int,
    scope: str,
    fmt: str,
    output: str,
    jsonl: bool,
    text_field: str,
    id_field: str,
    globs: tuple[str, ...],
    fail_on_duplicates: bool,
    profile: bool,
    max_chars: int,
) -> None:
    """Report clusters of near-duplicate paragraphs in PATH... (files, directories, - for stdin).

    \b
    Examples:
      dedup report seeds/
      dedup report a.txt b.txt --format json -o clusters.json
      cat docs.jsonl | dedup report --jsonl - --scope cross-doc --format csv
    """
    import time

    from dedup.documents import DEFAULT_GLOBS, DocumentReader
    from dedup.pipeline import Config, Timer, find_duplicates
    from dedup.report import write_report

    if paths.count("-") > 1:
        raise click.BadParameter("- (stdin) can be given only once", param_hint="PATH")
    config = Config(threshold=threshold, shingle=shingle, num_perm=num_perm, seed=seed, min_words=min_words, scope=scope, max_chars=max_chars)  # type: ignore[arg-type]
    reader = DocumentReader(list(paths), globs=tuple(globs) or DEFAULT_GLOBS, jsonl=jsonl, text_field=text_field, id_field=id_field)
    reader.check()
    timer = Timer()
    progress = Progress(stderr_is_terminal(), "Reading")
    try:
        result = find_duplicates(reader, config, skipped=reader.skipped, timer=timer, on_document=progress.advance)
    finally:
        progress.close()
    for skip in reader.skipped:
        warn(f"skipped {skip}")
    for p in result.too_long:
        warn(f"{p.doc}:{p.line}: paragraph of {len(p.text):,} characters left out of matching (--max-chars {max_chars:,})")
    if result.stats.documents == 0:
        fail("no documents to read" + (f" ({len(reader.skipped)} inputs skipped)" if reader.skipped else ""))
    start = time.perf_counter()
    with open_output(output) as out:
        write_report(result, out, fmt)
    timer.seconds["output"] += time.perf_counter() - start
    if profile:
        total = sum(timer.seconds.values())
        click.echo("stage        seconds   share", err=True)
        for stage, seconds in timer.seconds.items():
            click.echo(f"{stage:<11} {seconds:8.3f}  {100 * seconds / total if total else 0:5.1f}%", err=True)
        click.echo(f"{'total':<11} {total:8.3f}", err=True)
    if fail_on_duplicates and result.clusters:
        sys.exit(EXIT_DUPLICATES)
