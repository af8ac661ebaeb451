"""The ``dedup`` command line. It parses arguments, calls the library and prints; nothing else.

Exit codes: 0 success; 1 duplicates found with ``--fail-on-duplicates``; 2 usage or input
errors; 130 interrupted. Heavy modules (numpy, the compiled kernels) are imported inside the
commands, so ``dedup --help`` answers at once.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import os
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import IO, Any, NoReturn, TextIO

import click

from dedup.config import DEFAULT_BATCH_PARAGRAPHS, DEFAULT_MAX_CHARS

EXIT_DUPLICATES = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"dedup: error: {message}", err=True)
    sys.exit(code)


# A lone surrogate (JSON text may carry one, as "\ud800") has no UTF-8 form: it is written as
# that escape, which inside a JSON string reads back as the same character.
UNENCODABLE = "backslashreplace"
# Warnings of one kind listed one by one before the rest are counted in one line.
MAX_LISTED = 20


def warn(message: str) -> None:
    click.echo(f"dedup: warning: {message}", err=True)


class ShingleType(click.ParamType):
    name = "KIND:N"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from dedup.shingling import ShingleSpec

        if isinstance(value, ShingleSpec):
            return value
        try:
            return ShingleSpec.parse(value)
        except ValueError as err:
            self.fail(str(err), param, ctx)


def refuse_overwriting_inputs(readers: list[Any], outputs: dict[str, str | None]) -> None:
    """Stop before anything is written when an output (``{option: path}``, ``-`` for standard
    output) is one of the input files, standard input, or another output: writing it would
    destroy what is being read (the filter writes its output as it goes). Files are compared
    by identity (device and inode), so a link or another spelling of the path is caught too.
    Only regular files count: ``/dev/null`` may take every output."""
    from dedup.documents import STDIN, escape_controls

    def identity(path: str | IO[Any]) -> tuple[int, int] | None:
        try:
            st = os.stat(path) if isinstance(path, str) else os.fstat(path.fileno())
        except (OSError, ValueError):  # no such file; a stream with no file (io.UnsupportedOperation)
            return None
        return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None

    inputs: dict[tuple[int, int], str] = {}
    for reader in readers:
        for name in reader.files():
            key = identity(name)
            if key is not None:
                inputs.setdefault(key, name)
        if STDIN in reader.sources and (key := identity(sys.stdin)) is not None:
            inputs.setdefault(key, "standard input")
    taken: dict[tuple[int, int], str] = {}
    for option, path in outputs.items():
        if path is None:
            continue
        key = identity(sys.stdout if path == "-" else path)
        if key is None:
            continue
        where = "standard output" if path == "-" else escape_controls(path)
        if key in inputs:
            raise click.UsageError(f"{option} {where} is the input {escape_controls(inputs[key])}: writing it would destroy what is being read; write elsewhere")
        if key in taken:
            raise click.UsageError(f"{option} and {taken[key]} are the same file ({where}): give each output a file of its own")
        taken[key] = option


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def cap_threads(ctx: click.Context, param: click.Parameter, value: int | None) -> None:
    """--threads: the kernels' thread cap, for this run."""
    if value is not None:
        from dedup._kernel._lib import set_threads

        set_threads(value)


def input_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by the commands that read documents."""

    def text_encoding(ctx: click.Context, param: click.Parameter, value: str) -> str:
        from dedup.documents import text_codec

        try:
            text_codec(value)
        except ValueError:
            raise click.BadParameter(f"{value!r} is not a text encoding Python knows (such as utf-8, latin-1, cp1252, utf-16)") from None
        return value

    options = [
        click.option(
            "--jsonl",
            is_flag=True,
            help="Every input is JSON Lines, one document per line (files named *.jsonl or *.ndjson always are; standard input is when its first line is a JSON object holding --text-field).",
        ),
        click.option("--text", "stdin_text", is_flag=True, help="Standard input is text, whatever its first line looks like."),
        click.option("--text-field", default="text", show_default=True, help="JSONL or Parquet field holding the text."),
        click.option(
            "--id-field",
            default="id",
            show_default=True,
            help='JSONL or Parquet field naming the document: a string, or an integer (7 and "7" name the same document); other types skip the line.',
        ),
        click.option("--encoding", default="utf-8", show_default=True, callback=text_encoding, metavar="NAME", help="Encoding of text files (JSON Lines is UTF-8); a UTF-16 or UTF-32 byte-order mark overrides it."),
        click.option(
            "--glob",
            "globs",
            multiple=True,
            metavar="PATTERN",
            help="File names to read from directories (repeatable; a compressed file's inner name counts). Default: *.txt, *.md and README, CHANGELOG, changelog, NEWS, copyright, COPYING, LICENSE, AUTHORS files with no extension.",
        ),
        click.option(
            "-j",
            "--threads",
            type=click.IntRange(min=1),
            default=None,
            expose_value=False,
            callback=cap_threads,
            help="Most threads the compiled stages use. Default: DEDUP_THREADS, else every core this process may use.",
        ),
        click.option("-q", "--quiet", is_flag=True, help="Count skipped inputs by reason in one line instead of listing them."),
        click.option("-v", "--verbose", is_flag=True, help=f"List every skipped input (by default the first {MAX_LISTED}, and the rest counted by reason)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def matching_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options that decide what counts as a near-duplicate."""
    from dedup.config import DEFAULT_NUM_PERM, DEFAULT_SEED, DEFAULT_THRESHOLD, MAX_SEED
    from dedup.shingling import DEFAULT_SHINGLE

    options = [
        click.option(
            "--threshold",
            type=click.FloatRange(0.0, 1.0, min_open=True),
            default=DEFAULT_THRESHOLD,
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
        click.option("--num-perm", type=click.IntRange(2, 4096), default=DEFAULT_NUM_PERM, show_default=True, help="MinHash permutations."),
        click.option("--seed", type=click.IntRange(0, MAX_SEED), default=DEFAULT_SEED, show_default=True, help="MinHash seed."),
        click.option(
            "--min-words",
            type=click.IntRange(0),
            default=0,
            show_default=True,
            help="Leave paragraphs with fewer words out of matching (report: still counted; filter: kept, not indexed).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected failures into one line on stderr and an exit code, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from dedup._settings import SettingError
        from dedup.documents import InputError
        from dedup.index import IndexError_

        try:
            return command(*args, **kwargs)
        except (InputError, IndexError_, SettingError) as err:
            fail(str(err))
        except click.ClickException:
            raise  # a usage error raised in the body: click prints it and exits 2
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
    written beside its destination and renamed over it only once complete, with the mode the
    file had (or a new file's). Anything that is not a regular file (``/dev/null``, a FIFO) is
    written in place."""
    if path == "-":
        sys.stdout.reconfigure(errors=UNENCODABLE)  # type: ignore[union-attr]
        yield sys.stdout
        sys.stdout.flush()
        return
    try:
        existing: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        with open(path, "w", encoding="utf-8", errors=UNENCODABLE, newline="") as out:
            yield out
        return
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".dedup-", dir=directory)
    except OSError as err:
        raise OSError(err.errno, err.strerror, path) from None
    try:
        if existing is not None:
            mode = stat.S_IMODE(existing.st_mode)
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", errors=UNENCODABLE, newline="") as out:
            yield out
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class Progress:
    """Documents read so far, on ``file`` (stderr), only when it is a terminal: click's progress
    bar, with the share done and the time left when their number is known beforehand (text
    files: one document each), else a running count (standard input, JSON Lines); after
    reading, the stage under way, so that a long run is never silent."""

    INTERVAL = 0.1  # seconds between redraws: a million small documents are not a million redraws

    def __init__(self, enabled: bool, label: str, total: int | None = None, file: TextIO | None = None) -> None:
        self.enabled = enabled
        self.label = label
        self.count = 0
        self.next_draw = 0.0
        # An iterable of unknown length makes a bar without a total: a count and a pulse.
        self.bar: Any = click.progressbar(
            iter(()) if total else (None for _ in ()),
            length=total or None,
            label=f"{label} documents",
            hidden=not enabled,
            show_pos=True,
            show_percent=bool(total),
            width=24,
            file=file if file is not None else sys.stderr,
            bar_template="%(label)s [%(bar)s] %(info)s",
        )
        self.bar.render_progress()

    def advance(self, _: object = None) -> None:
        self.count += 1
        if self.enabled and time.monotonic() >= self.next_draw:
            self.bar.update(self.count - self.bar.pos)
            self.next_draw = time.monotonic() + self.INTERVAL

    def stage(self, name: str) -> None:
        """After reading, name the stage under way."""
        if not self.enabled or name == "read":
            return
        self.bar.label = f"{self.label}: {self.count:,} document{'' if self.count == 1 else 's'} read; now {name}"
        if self.bar.length is not None:
            self.bar.length = self.count  # reading is done: files skipped or unreadable are not to come
        self.bar.update(self.count - self.bar.pos)
        self.bar.render_progress()

    def close(self) -> None:
        if self.enabled:
            self.bar.update(self.count - self.bar.pos)
            self.bar.render_finish()  # the last state stays on its line, the cursor shown again
        self.enabled = False


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dedup", prog_name="dedup")
def main() -> None:
    """Find paragraphs repeated, exactly or nearly, across documents.

    \b
    Paragraphs are normalized and shingled; MinHash LSH proposes candidate
    pairs; every pair is checked against its exact Jaccard similarity.

    \b
    Exit codes: 0 success; 1 duplicates found (report --fail-on-duplicates);
    2 usage, input or index error; 70 internal error; 130 interrupted.
    """


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@matching_options
@click.option("--scope", type=click.Choice(["all", "cross-doc"]), default="all", show_default=True, help="cross-doc: only clusters spanning two or more documents.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "jsonl", "csv", "pairs", "pairs-csv", "html"]),
    default="text",
    show_default=True,
    help="text, json, jsonl (a cluster a line), csv (a member a row), pairs or pairs-csv (every verified pair), html (one page).",
)
@click.option("--reuse", is_flag=True, help="Also find paragraphs made of earlier documents' text, across paragraph boundaries (slower).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default="-", help="Write the report here (default: stdout).")
@input_options
@click.option("--fail-on-duplicates", is_flag=True, help="Exit with status 1 when any cluster is found.")
@click.option("--profile", is_flag=True, help="Print the time spent in each stage on stderr.")
@click.option("--max-chars", type=click.IntRange(1), default=DEFAULT_MAX_CHARS, show_default=True, help="Leave longer paragraphs out of matching, with a warning.")
@click.option("--top", type=click.IntRange(0), default=None, help="Text report: show only the N largest clusters (and N reused paragraphs); what is left out is counted.")
@click.option("--max-members", type=click.IntRange(1), default=None, help="Text report: show at most N members of each cluster, and N links of each member.")
@click.option("--top-documents", type=click.IntRange(0), default=20, show_default=True, help="Text report: list the N documents with the highest duplicate share.")
@click.option("--width", type=click.IntRange(40), default=None, help="Text report: line width (default: the terminal's, or 100 when piped).")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True, help="local: in this process; ray: on a Ray cluster (pip install 'dedup[ray]'), with the same report.")
@click.option("--address", metavar="ADDR", default=None, help="With --engine ray: the cluster (auto, host:port, ray://host:port); default: a Ray of its own on this machine.")
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
    stdin_text: bool,
    encoding: str,
    quiet: bool,
    verbose: bool,
    fail_on_duplicates: bool,
    profile: bool,
    max_chars: int,
    reuse: bool,
    top: int | None,
    max_members: int | None,
    top_documents: int,
    width: int | None,
    engine: str,
    address: str | None,
) -> None:
    """Report clusters of near-duplicate paragraphs in PATH... (files, directories, - for stdin).

    \b
    Examples:
      dedup report seeds/
      dedup report a.txt b.txt --format json -o clusters.json
      cat docs.jsonl | dedup report --jsonl - --scope cross-doc --format csv
      dedup report seeds/ --format html -o report.html
      dedup report shards/ --jsonl --engine ray --address auto
    """

    from dedup.documents import DocumentReader, escape_controls, skip_warnings
    from dedup.pipeline import Config, Timer, find_duplicates
    from dedup.report import write_report

    if paths.count("-") > 1:
        raise click.BadParameter("- (stdin) can be given only once", param_hint="PATH")
    config = Config(threshold=threshold, shingle=shingle, num_perm=num_perm, seed=seed, min_words=min_words, scope=scope, max_chars=max_chars, reuse=reuse)  # type: ignore[arg-type]
    listing = listed(quiet, verbose)
    if jsonl and stdin_text:
        raise click.UsageError("--jsonl and --text contradict each other: give one")
    if address is not None and engine != "ray":
        raise click.UsageError("--address needs --engine ray")
    if reuse and engine == "ray":
        raise click.UsageError("--reuse runs on the local engine only")
    reader = DocumentReader.choosing(paths, globs, jsonl=jsonl, text=stdin_text, encoding=encoding, text_field=text_field, id_field=id_field)
    if engine == "local":
        reader.check()  # the Ray engine checks the local sources, and opens URLs where it reads them
    refuse_overwriting_inputs([reader], {"-o": output})
    timer = Timer()
    progress = Progress(stderr_is_terminal(), "Reading", reader.file_count() if stderr_is_terminal() else None)
    timer.on_stage = progress.stage
    keep_pairs = fmt in ("pairs", "pairs-csv", "html")
    try:
        if engine == "ray":
            from dedup.ray import EngineError, report_from_reader

            try:
                result = report_from_reader(reader, config, address, timer=timer, keep_pairs=keep_pairs)
            except EngineError as err:
                fail(str(err))
        else:
            result = find_duplicates(reader, config, skipped=reader.skipped, timer=timer, on_document=progress.advance, keep_pairs=keep_pairs)
    finally:
        progress.close()
    result.inputs = list(paths)
    for line in reader.warnings + skip_warnings(reader.skipped, listing):
        warn(line)
    for p in result.too_long[:MAX_LISTED]:
        warn(f"{escape_controls(p.doc)}:{p.line}: paragraph of {len(p.text):,} characters left out of matching (--max-chars {max_chars:,})")
    if len(result.too_long) > MAX_LISTED:
        warn(f"{len(result.too_long) - MAX_LISTED:,} more paragraphs over --max-chars {max_chars:,} left out of matching (in the stats as too_long_paragraphs)")
    if result.stats.documents == 0:
        fail(nothing_read(len(reader.skipped), quiet))
    start = time.perf_counter()
    # The result lives until the process ends: spare it the collector's passes while the
    # report's many small objects are made.
    gc.freeze()
    if width is None and output == "-" and sys.stdout.isatty():
        width = max(40, shutil.get_terminal_size().columns)
    with open_output(output) as out:
        write_report(result, out, fmt, width=width, top=top, max_members=max_members, top_documents=top_documents)
    timer.seconds["output"] += time.perf_counter() - start
    if profile:
        total = sum(timer.seconds.values())
        click.echo("stage        seconds   share", err=True)
        for stage, seconds in timer.seconds.items():
            click.echo(f"{stage:<11} {seconds:8.3f}  {100 * seconds / total if total else 0:5.1f}%", err=True)
        click.echo(f"{'total':<11} {total:8.3f}", err=True)
    if fail_on_duplicates and result.clusters:
        sys.exit(EXIT_DUPLICATES)


# ---------------------------------------------------------------------------------------------
# dedup filter, and the maintenance of its index.


def filter_sources(
    inputs: tuple[str, ...], jsonl: bool, globs: tuple[str, ...], text_field: str, id_field: str, stdin_text: bool = False, encoding: str = "utf-8"
) -> list[Any]:
    """One reader per input, reading as ``report`` does: ``*.jsonl``/``*.ndjson`` files are
    JSON Lines, other files text (all JSON Lines with ``--jsonl``), and standard input is JSON
    Lines when its first line is a JSON object holding the text field (``--text``: text)."""
    from dedup.documents import STDIN, DocumentReader

    sources = inputs or (STDIN,)
    if sources.count(STDIN) > 1:
        raise click.BadParameter("- (stdin) can be given only once", param_hint="INPUT")
    if jsonl and stdin_text:
        raise click.UsageError("--jsonl and --text contradict each other: give one")
    readers = [
        DocumentReader.choosing([source], globs, jsonl=jsonl, text=stdin_text, encoding=encoding, text_field=text_field, id_field=id_field)
        for source in sources
    ]
    for reader in readers:
        reader.check()
    return readers


@contextlib.contextmanager
def open_stream(path: str) -> Iterator[IO[bytes]]:
    """Standard output for ``-``, else the file, truncated. Not atomic on purpose: the filter
    writes and flushes each batch before committing it, so after a crash the file holds every
    document the index has taken in."""
    if path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with open(path, "wb") as out:
        yield out


def _jsonl(rows: list[Any]) -> bytes:
    import json

    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8", UNENCODABLE)


def listed(quiet: bool, verbose: bool) -> int:
    """How many skipped inputs are listed one a line (the rest are counted by reason)."""
    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose contradict each other: give one")
    return 0 if quiet else sys.maxsize if verbose else MAX_LISTED


def nothing_read(skipped: int, quiet: bool = False) -> str:
    if not skipped:
        return "no documents to read"
    return f"no documents to read ({skipped:,} input{'s' if skipped != 1 else ''} skipped, {'counted by reason above; without --quiet they are listed' if quiet else 'see the warnings above'})"


def filter_summary(stats: Any, seconds: float, skipped: int, marked: bool = False) -> list[str]:
    """The filter's summary lines; with ``marked`` (``--mark``) nothing was dropped: the
    duplicates were listed in their documents, which were written whole."""
    duplicates = sum(stats.dropped.values())
    rate = stats.paragraphs / seconds if seconds > 0 else 0.0
    verb = "marked" if marked else "dropped"
    reasons = (
        f"{stats.dropped['index']:,} already in the index, {stats.dropped['input']:,} repeating earlier input, "
        + (f"{stats.dropped['reuse']:,} reusing earlier documents, " if stats.dropped.get("reuse") else "")
        + f"{stats.dropped['document']:,} with their document"
    )
    documents = f"  documents   {stats.documents:,} read, {stats.written:,} written"
    if marked:
        documents += f", {skipped:,} inputs skipped"
        paragraphs = f"  paragraphs  {stats.paragraphs:,} read, {stats.kept:,} new, {duplicates:,} marked as duplicates (kept, listed in their document)"
    else:
        documents += f", {stats.emptied:,} emptied (every paragraph dropped), {stats.dropped_documents:,} dropped whole, {skipped:,} inputs skipped"
        paragraphs = f"  paragraphs  {stats.paragraphs:,} read, {stats.kept:,} kept, {duplicates:,} dropped"
    return [
        "Summary",
        documents,
        paragraphs,
        f"  {verb:<10}  {reasons}",
        f"  throughput  {rate:,.0f} paragraphs/s ({seconds:.2f} s)",
    ]


@main.command("filter")
@click.argument("inputs", nargs=-1, metavar="[INPUT]...")
@click.option("--index", "index_spec", required=True, metavar="PATH", help="The index: a directory (created on first use) or redis://host:port/db.")
@matching_options
@input_options
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default="-", help="Write the kept documents here (default: stdout).")
@click.option("--rejects", type=click.Path(dir_okay=False), metavar="FILE", help="Write one JSON line per dropped paragraph here: reason, similarity, match.")
@click.option("--mark", is_flag=True, help="Keep every text whole and list its duplicate paragraphs in a field instead.")
@click.option("--mark-field", default="duplicates", show_default=True, help="The field that --mark adds.")
@click.option("--drop-doc-above", type=click.FloatRange(0.0, 1.0), metavar="RATIO", help="Drop a whole document whose share of duplicate paragraphs exceeds RATIO.")
@click.option("--max-chars", type=click.IntRange(1), default=DEFAULT_MAX_CHARS, show_default=True, help="Keep longer paragraphs without matching them.")
@click.option(
    "--containment",
    type=click.FloatRange(0.0, 1.0, min_open=True),
    metavar="T",
    help="Also drop a paragraph when earlier documents (the index's and this input's) hold at least this share of its words, "
    "in runs of word 5-grams that may cross their paragraphs (reason reuse; the rejects line names the sources and spans). "
    "Needs an index that keeps n-gram postings for all it holds.",
)
@click.option(
    "--postings",
    "store_postings",
    is_flag=True,
    help="Store the kept paragraphs' word 5-gram postings, so that later runs can use --containment (always, with --containment). "
    "They make the index larger and the filter slower, so by default they are stored only with --containment.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1),
    default=DEFAULT_BATCH_PARAGRAPHS,
    show_default=True,
    help="Paragraphs per batch, committed to the index at once; a document is committed whole, and a longer one matched this many paragraphs at a time.",
)
@handle_errors
def filter_command(
    inputs: tuple[str, ...],
    index_spec: str,
    threshold: float,
    shingle: Any,
    num_perm: int,
    seed: int,
    min_words: int,
    jsonl: bool,
    text_field: str,
    id_field: str,
    globs: tuple[str, ...],
    stdin_text: bool,
    encoding: str,
    quiet: bool,
    verbose: bool,
    output: str,
    rejects: str | None,
    mark: bool,
    mark_field: str,
    drop_doc_above: float | None,
    max_chars: int,
    containment: float | None,
    store_postings: bool,
    batch_size: int,
) -> None:
    """Drop paragraphs that near-duplicate one already in the index, or an earlier one of the
    input (with --containment, also those mostly made of earlier documents' text), and add the
    kept ones to the index. INPUT... are JSONL files (*.jsonl), text files or
    directories (with --jsonl, of JSONL files); - or nothing reads stdin: JSONL when its first
    line is a JSON object holding --text-field, else one text document. Each batch is written
    and flushed before it is committed to the index. Kept documents are JSONL, with every field
    of the input (text files become {"id": path, "text": ...}); a document left with no
    paragraph is left out.

    \b
    Examples:
      dedup filter --index idx/ docs.jsonl > kept.jsonl
      cat docs.jsonl | dedup filter --index idx/ --rejects rejects.jsonl
      dedup filter --index idx/ a.txt b.txt --mark --drop-doc-above 0.8 -o out.jsonl
      dedup filter --index idx/ --containment 0.5 --rejects rejects.jsonl news.jsonl
    """

    from dedup.filter import index_params

    from dedup.documents import skip_warnings

    listing = listed(quiet, verbose)
    readers = filter_sources(inputs, jsonl, globs, text_field, id_field, stdin_text, encoding)
    refuse_overwriting_inputs(readers, {"-o": output, "--rejects": rejects})
    filter_options = {
        "min_words": min_words,
        "max_chars": max_chars,
        "drop_doc_above": drop_doc_above,
        "mark": mark,
        "mark_field": mark_field,
        "text_field": text_field,
        "id_field": id_field,
        "batch_paragraphs": batch_size,
        "containment": containment,
        "postings": containment is not None or store_postings,
    }

    def documents() -> Iterator[Any]:
        for reader in readers:
            yield from reader

    params = index_params(threshold, shingle, num_perm, seed)
    start = time.perf_counter()
    # The first document is read before the index is opened: a run with nothing it can read
    # stops without leaving a new, empty index behind.
    stream = documents()
    first = next(stream, None)
    skipped_early = [skip for reader in readers for skip in reader.skipped]
    if first is None and skipped_early:
        for line in [note for reader in readers for note in reader.warnings] + skip_warnings(skipped_early, listing):
            warn(line)
        fail(nothing_read(len(skipped_early), quiet))
    try:
        flt = run_filter(readers, first, stream, index_spec, params, output, rejects, filter_options)
    except BrokenPipeError:
        # The reader of the output went away: what it did not get was not committed, so the
        # run is not complete, and a rerun of the same input goes on from there.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        fail("the output was closed before the run was complete; the batch in flight was not added to the index: run the same input again to go on")
    seconds = time.perf_counter() - start
    skipped = [skip for reader in readers for skip in reader.skipped]
    for line in [note for reader in readers for note in reader.warnings] + skip_warnings(skipped, listing):
        warn(line)
    for line in filter_summary(flt.stats, seconds, len(skipped), marked=mark):
        click.echo(line, err=True)
    if flt.stats.documents == 0 and skipped:
        fail(nothing_read(len(skipped)))


def run_filter(
    readers: list[Any], first: Any, stream: Iterator[Any], index_spec: str, params: Any, output: str, rejects: str | None, options: dict[str, Any]
) -> Any:
    """Filter the documents into ``output`` (and the drops into ``rejects``), a batch at a
    time, each written and flushed before it is committed; return the filter, for its stats."""
    from dedup.filter import Filter
    from dedup.index import open_index

    with contextlib.ExitStack() as stack:
        index = stack.enter_context(open_index(index_spec, params))
        index.on_wait = warn
        flt = Filter(index, **options)
        out = stack.enter_context(open_stream(output))
        rejected = stack.enter_context(open(rejects, "wb")) if rejects else None
        counts = [reader.file_count() for reader in readers] if stderr_is_terminal() else [None]
        progress = Progress(stderr_is_terminal(), "Filtering", None if None in counts else sum(c or 0 for c in counts))
        stack.callback(progress.close)
        shown = 0
        # Closed before the index: an error here rolls the batch in flight back first.
        batches = stack.enter_context(contextlib.closing(flt.batches(itertools.chain([first] if first is not None else [], stream))))
        for outcomes in batches:
            # Written and flushed before the batch commits (when the loop asks for the next):
            # a crash can make a rerun emit a batch twice, but never lose one.
            out.write(_jsonl([o.output.fields for o in outcomes if o.output is not None]))
            out.flush()
            if rejected is not None:
                rejected.write(_jsonl([drop.as_dict() for o in outcomes for drop in o.drops]))
                rejected.flush()
            for _ in range(shown, flt.stats.documents):
                progress.advance()
            shown = flt.stats.documents
    return flt


@main.group("index")
def index_group() -> None:
    """Inspect and maintain the index of dedup filter (a directory, or redis://...)."""


@index_group.command("stats")
@click.argument("spec", metavar="PATH")
@click.option("--json", "as_json", is_flag=True, help="Print the stats as JSON.")
@handle_errors
def index_stats(spec: str, as_json: bool) -> None:
    """Counts and settings of the index at PATH.

    \b
    Example:
      dedup index stats idx/
    """
    import json

    from dedup.index import iso_time
    from dedup.index import open_index

    with open_index(spec, None, read_only=True) as index:
        stats = index.stats()
    for key in ("oldest", "newest"):  # times as in the rejects file: ISO 8601, UTC
        if stats.get(key) is not None:
            stats[key] = iso_time(stats[key])
    if as_json:
        click.echo(json.dumps(stats, indent=2))
        return
    for key, value in stats.items():
        if value is None:  # no paragraph, so no oldest; no writer holding the lock
            value = "nobody" if key == "locked_by" else "-"
        elif key == "params":
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        elif isinstance(value, int):
            value = f"{value:,}"
        click.echo(f"{key.replace('_', ' '):<26} {value}")


@index_group.command("remove")
@click.argument("spec", metavar="PATH")
@click.argument("doc_ids", nargs=-1, required=True, metavar="DOC_ID...")
@handle_errors
def index_remove(spec: str, doc_ids: tuple[str, ...]) -> None:
    """Forget every paragraph of documents DOC_ID... (as they were named when filtered).

    \b
    Example:
      dedup index remove idx/ seeds/003_2475bc7a0b5db3b5.txt
    """
    from dedup.index import open_index

    with open_index(spec, None, create=False) as index:
        count = index.remove(list(doc_ids))
    click.echo(f"removed {count:,} paragraphs of {len(doc_ids):,} document id{'s' if len(doc_ids) != 1 else ''}", err=True)
    if count == 0:
        warn("none of these document ids is in the index (ids are as the documents were named when filtered)")


def parse_date(value: str) -> float:
    """An ISO 8601 date or time as Unix seconds; UTC unless it names its offset.

    >>> parse_date("1970-01-02"), parse_date("1970-01-01T01:00:00+01:00")
    (86400.0, 0.0)
    """
    from datetime import datetime, timezone

    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date or time (such as 2024-01-31 or 2024-01-31T12:00:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


@index_group.command("prune")
@click.argument("spec", metavar="PATH")
@click.option("--before", required=True, metavar="DATE", help="ISO 8601 date or time, UTC unless it names an offset.")
@handle_errors
def index_prune(spec: str, before: str) -> None:
    """Forget paragraphs ingested before DATE.

    \b
    Example:
      dedup index prune idx/ --before 2024-01-01
    """
    from dedup.index import iso_time
    from dedup.index import open_index

    try:
        moment = parse_date(before)
    except click.BadParameter as err:
        err.param_hint = "'--before'"
        raise
    with open_index(spec, None, create=False) as index:
        count = index.prune(moment)
    click.echo(f"pruned {count:,} paragraphs ingested before {iso_time(moment)}", err=True)


@index_group.command("export")
@click.argument("spec", metavar="PATH")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default="-", help="Write here (default: stdout).")
@handle_errors
def index_export(spec: str, output: str) -> None:
    """Every paragraph of the index as JSONL: pid, doc, paragraph, ingested_at (ISO 8601,
    UTC) and shingles (the size of its shingle set), by ingest time.

    \b
    Example:
      dedup index export idx/ > index.jsonl
    """
    import json

    from dedup.index import iso_time
    from dedup.index import open_index

    with open_index(spec, None, read_only=True) as index, open_output(output) as out:
        for row in index.export():
            row["ingested_at"] = iso_time(row["ingested_at"])
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
