"""Report: clusters as text for people, or JSON, JSON Lines and CSV for scripts.

Every format carries the same facts: for each cluster its members in input order (the first is
the representative), each with its document, paragraph number, line, character span, exact
Jaccard and containment against the representative, and its text exactly as in the source.

The text format is read on a terminal, and document names and texts are other people's: in it,
control characters, bidirectional overrides and the like are shown as escapes (``\\x1b``,
``\\u202e``; see :func:`~dedup.documents.escape_controls`), so that no input can move the
cursor, rewrite what was printed or reorder a line. The formats for scripts keep them exact.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from typing import IO, Any

from dedup.documents import escape_controls
from dedup.lsh import lsh_params
from dedup.pipeline import Cluster, Member, Result

_json_string = json.encoder.encode_basestring  # the C encoder's, as json.dumps(..., ensure_ascii=False) uses

__all__ = ["FORMATS", "write_report", "cluster_dict", "result_dict"]


def member_dict(member: Member) -> dict[str, Any]:
    p = member.paragraph
    return {
        "doc": p.doc,
        "paragraph": p.number,
        "line": p.line,
        "start": p.start,
        "end": p.end,
        "text": p.text,
        "jaccard": round(member.jaccard, 6),
        "containment": round(member.containment, 6),
    }


def member_json(member: Member) -> str:
    """:func:`member_dict` as JSON text, written out directly: a report holds one per
    paragraph, and the general encoder's set-up per call cost more than the encoding."""
    p = member.paragraph
    return (
        f'{{"doc": {_json_string(p.doc)}, "paragraph": {p.number}, "line": {p.line}, "start": {p.start}, '
        f'"end": {p.end}, "text": {_json_string(p.text)}, "jaccard": {round(member.jaccard, 6)!r}, '
        f'"containment": {round(member.containment, 6)!r}}}'
    )


def _cluster_json(cluster: Cluster, indent: str = "") -> str:
    """One cluster as JSON text. With ``indent``, each member is on a line of its own at that
    indent, and the closing bracket two spaces less; without, all is on one line."""
    documents = ", ".join(map(_json_string, cluster.documents))
    members = map(member_json, cluster.members)
    listed = f"\n{indent}" + f",\n{indent}".join(members) + f"\n{indent[:-2]}" if indent else ", ".join(members)
    return f'{{"id": {cluster.id}, "size": {cluster.size}, "documents": [{documents}], "members": [{listed}]}}'


def cluster_dict(cluster: Cluster) -> dict[str, Any]:
    return {
        "id": cluster.id,
        "size": cluster.size,
        "documents": cluster.documents,
        "members": [member_dict(m) for m in cluster.members],
    }


def params_dict(result: Result) -> dict[str, Any]:
    c = result.config
    bands, rows = lsh_params(c.threshold, c.num_perm)
    return {
        "threshold": c.threshold,
        "shingle": str(c.shingle),
        "num_perm": c.num_perm,
        "seed": c.seed,
        "bands": bands,
        "rows": rows,
        "min_words": c.min_words,
        "scope": c.scope,
    }


def stats_dict(result: Result) -> dict[str, Any]:
    stats = result.stats.as_dict()
    stats["skipped"] = [{"source": s.source, "reason": s.reason} for s in result.skipped]
    return stats


def result_dict(result: Result) -> dict[str, Any]:
    return {
        "clusters": [cluster_dict(c) for c in result.clusters],
        "stats": stats_dict(result),
        "params": params_dict(result),
    }


def _snippet(text: str, width: int) -> str:
    """The start of ``text`` on one line of at most ``width`` characters: whitespace (line
    breaks and tabs included) collapsed to single spaces, other controls escaped."""
    line = escape_controls(" ".join(text.split()))
    return line if len(line) <= width else line[: width - 1] + "…"


def write_text(result: Result, out: IO[str]) -> None:
    """The report for people: each cluster's members with a one-line preview, then a summary.
    Document names and texts are shown with :func:`~dedup.documents.escape_controls`."""
    clusters = result.clusters
    shown: dict[str, str] = {}  # each document's name as printed, escaped once

    def name(doc: str) -> str:
        if doc not in shown:
            shown[doc] = escape_controls(doc)
        return shown[doc]

    width = max((len(f"{name(m.doc)}:{m.line}") for c in clusters for m in c.members), default=0)
    for cluster in clusters:
        docs = len(cluster.documents)
        out.write(
            f"Cluster {cluster.id}: {cluster.size} paragraphs in {docs} document{'s' if docs != 1 else ''}\n"
        )
        for k, m in enumerate(cluster.members):
            where = f"{name(m.doc)}:{m.line}".ljust(width)
            score = "  rep" if k == 0 else f"{m.jaccard:5.2f}"
            out.write(f"  {where}  {score}  {_snippet(m.text, max(30, 100 - width))}\n")
        out.write("\n")
    s = result.stats
    p = params_dict(result)
    if not clusters:
        out.write("No duplicate paragraphs found.\n\n")
    out.write("Summary\n")
    out.write(f"  documents             {s.documents}\n")
    out.write(f"  paragraphs            {s.paragraphs}")
    left_out = [
        f"{count} {what}" for count, what in ((s.empty, "empty"), (s.short, "short"), (s.too_long, "too long")) if count
    ]
    out.write(f" ({', '.join(left_out)} left out of matching)\n" if left_out else "\n")
    out.write(f"  clusters              {s.clusters}\n")
    out.write(f"  duplicate paragraphs  {s.duplicate_paragraphs}\n")
    if result.skipped:
        out.write(f"  skipped inputs        {len(result.skipped)}\n")
    out.write(
        f"  settings              threshold {p['threshold']}, shingle {p['shingle']}, "
        f"num_perm {p['num_perm']} ({p['bands']} bands x {p['rows']} rows), seed {p['seed']}\n"
    )
    shares = [(name(doc), total, dups) for doc, (total, dups) in s.per_document.items() if dups]
    if shares:
        out.write("  duplicate share per document\n")
        name_width = max(len(shown_name) for shown_name, _, _ in shares)
        for shown_name, total, dups in shares:
            out.write(f"    {shown_name.ljust(name_width)}  {dups:>4} of {total:<5} {100 * dups / total:5.1f}%\n")


def write_json(result: Result, out: IO[str]) -> None:
    """:func:`result_dict` as JSON, one member a line, written cluster by cluster so that a
    million-paragraph report is never one string in memory."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    out.write('{\n  "clusters": [')
    for k, cluster in enumerate(result.clusters):
        out.write(("\n    " if k == 0 else ",\n    ") + _cluster_json(cluster, "      "))
    out.write("\n  ]" if result.clusters else "]")
    out.write(f',\n  "stats": {encode(stats_dict(result))},\n  "params": {encode(params_dict(result))}\n}}\n')


def write_jsonl(result: Result, out: IO[str]) -> None:
    for cluster in result.clusters:
        out.write(_cluster_json(cluster))
        out.write("\n")


CSV_COLUMNS = ["cluster", "size", "doc", "paragraph", "line", "start", "end", "jaccard", "containment", "representative", "text"]


def write_csv(result: Result, out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for cluster in result.clusters:
        for k, m in enumerate(cluster.members):
            d = member_dict(m)
            writer.writerow(
                [cluster.id, cluster.size, d["doc"], d["paragraph"], d["line"], d["start"], d["end"], d["jaccard"], d["containment"], k == 0, d["text"]]
            )


FORMATS: dict[str, Callable[[Result, IO[str]], None]] = {
    "text": write_text,
    "json": write_json,
    "jsonl": write_jsonl,
    "csv": write_csv,
}


def write_report(result: Result, out: IO[str], fmt: str = "text") -> None:
    """Write ``result`` to ``out`` in format ``fmt`` (one of :data:`FORMATS`)."""
    try:
        writer = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}") from None
    writer(result, out)
