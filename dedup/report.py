"""Report: clusters as text for people, or JSON, JSON Lines and CSV for scripts, or one HTML page.

Every format carries the same facts: for each cluster its members in input order (the first is
the representative), each with its document, paragraph number, line, character span, exact
Jaccard and containment against the representative, and its text exactly as in the source;
the verified pairs whose paragraphs ended up apart (``also``: a member that also matches a
paragraph of another cluster, or of none, links to it, so no verified pair is invisible); and
the reused paragraphs (:mod:`dedup.reuse`), each with its coverage, its sources and the spans
matched on both sides. ``pairs`` lists every verified pair, one a line (JSON Lines) or a row
(``pairs-csv``).

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
from dedup.pipeline import Cluster, Member, Pair, PairEnd, Result
from dedup.reuse import ReuseLink

_json_string = json.encoder.encode_basestring  # the C encoder's, as json.dumps(..., ensure_ascii=False) uses

__all__ = ["FORMATS", "write_report", "cluster_dict", "result_dict", "pair_dict"]


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


def _end_dict(end: PairEnd) -> dict[str, Any]:
    p = end.paragraph
    return {"doc": p.doc, "paragraph": p.number, "line": p.line, "cluster": end.cluster}


def pair_dict(pair: Pair) -> dict[str, Any]:
    return {"a": _end_dict(pair.a), "b": _end_dict(pair.b), "jaccard": round(pair.jaccard, 6), "containment": round(pair.containment, 6)}


def also_of(result: Result) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """For each paragraph, by ``(doc, paragraph number)``, the verified pairs that link it to a
    paragraph outside its own cluster."""
    links: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for pair in result.also:
        for mine, other in ((pair.a, pair.b), (pair.b, pair.a)):
            if mine.cluster is None:
                continue
            p = other.paragraph
            links.setdefault((mine.paragraph.doc, mine.paragraph.number), []).append(
                {"cluster": other.cluster, "doc": p.doc, "paragraph": p.number, "line": p.line, "jaccard": round(pair.jaccard, 6), "containment": round(pair.containment, 6)}
            )
    return links


def result_dict(result: Result) -> dict[str, Any]:
    also = also_of(result)
    clusters = []
    for c in result.clusters:
        row = cluster_dict(c)
        for member, m in zip(row["members"], c.members):
            if (found := also.get((m.doc, m.paragraph.number))) is not None:
                member["also"] = found
        clusters.append(row)
    report: dict[str, Any] = {
        "clusters": clusters,
        "reuse": [link.as_dict() for link in result.reuse],
        "also": [pair_dict(pair) for pair in result.also],
        "stats": stats_dict(result),
        "params": params_dict(result),
    }
    if result.pairs is not None:
        report["pairs"] = [pair_dict(pair) for pair in result.pairs]
    return report


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

    also = also_of(result)
    width = max((len(f"{name(m.doc)}:{m.line}") for c in clusters for m in c.members), default=0)
    for cluster in clusters:
        docs = len(cluster.documents)
        out.write(
            f"Cluster {cluster.id}: {cluster.size} paragraphs in {docs} document{'s' if docs != 1 else ''}\n"
        )
        for k, m in enumerate(cluster.members):
            where = f"{name(m.doc)}:{m.line}".ljust(width)
            score = "  rep" if k == 0 else f"{m.jaccard:5.2f}"
            # Containment explains a match that Jaccard alone reads as weak: one paragraph is
            # (most of) the other, trimmed.
            held = f" (contains {m.containment:.2f})" if k and m.containment >= m.jaccard + 0.25 else ""
            out.write(f"  {where}  {score}  {_snippet(m.text, max(30, 100 - width - len(held)))}{held}\n")
            for link in also.get((m.doc, m.paragraph.number), []):
                elsewhere = f"cluster {link['cluster']}, " if link["cluster"] is not None else ""
                out.write(f"  {' ' * width}         also {link['jaccard']:.2f} with {elsewhere}{name(link['doc'])}:{link['line']}\n")
        out.write("\n")
    # Reuse that a cluster above shows already (the paragraph joined one whose representative
    # is in its one source) is left out here; the formats for scripts list it all.
    rep_doc = {(m.doc, m.paragraph.number): c.representative.doc for c in clusters for m in c.members[1:]}
    reused = [link for link in result.reuse if not (len(link.sources) == 1 and rep_doc.get((link.doc, link.paragraph)) == link.sources[0].doc)]
    if reused:
        out.write(f"Reused text: {len(reused)} more paragraph{'s' if len(reused) != 1 else ''} mostly made of earlier documents\n")
        reuse_width = max(len(f"{name(link.doc)}:{link.line}") for link in reused)
        for link in reused:
            where = f"{name(link.doc)}:{link.line}".ljust(reuse_width)
            out.write(f"  {where}  {link.coverage:4.0%}  {_snippet(link.text, max(30, 100 - reuse_width))}\n")
            for source in link.sources:
                lines = f"{source.lines[0]}" if source.lines[0] == source.lines[1] else f"{source.lines[0]}-{source.lines[1]}"
                out.write(f"  {' ' * reuse_width}        from {name(source.doc)}:{lines} ({source.added:.0%})\n")
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
    if result.config.reuse:
        out.write(f"  reused paragraphs     {len(result.reuse)}\n")
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


def _listed(rows: list[Any], encode: Callable[[Any], str]) -> str:
    """A JSON list of ``rows``, one a line."""
    return "[\n    " + ",\n    ".join(map(encode, rows)) + "\n  ]" if rows else "[]"


def _cluster_text(cluster: Cluster, also: dict[tuple[str, int], list[dict[str, Any]]], indent: str = "") -> str:
    """One cluster as JSON text: the fast path, or the general encoder for the few clusters
    with links to others."""
    if not any((m.doc, m.paragraph.number) in also for m in cluster.members):
        return _cluster_json(cluster, indent)
    row = cluster_dict(cluster)
    for member, m in zip(row["members"], cluster.members):
        if (found := also.get((m.doc, m.paragraph.number))) is not None:
            member["also"] = found
    return json.dumps(row, ensure_ascii=False)


def write_json(result: Result, out: IO[str]) -> None:
    """:func:`result_dict` as JSON, one member a line, written cluster by cluster so that a
    million-paragraph report is never one string in memory."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    also = also_of(result)
    out.write('{\n  "clusters": [')
    for k, cluster in enumerate(result.clusters):
        out.write(("\n    " if k == 0 else ",\n    ") + _cluster_text(cluster, also, "      "))
    out.write("\n  ]" if result.clusters else "]")
    out.write(f',\n  "reuse": {_listed([link.as_dict() for link in result.reuse], encode)}')
    out.write(f',\n  "also": {_listed([pair_dict(pair) for pair in result.also], encode)}')
    if result.pairs is not None:
        out.write(f',\n  "pairs": {_listed([pair_dict(pair) for pair in result.pairs], encode)}')
    out.write(f',\n  "stats": {encode(stats_dict(result))},\n  "params": {encode(params_dict(result))}\n}}\n')


def write_jsonl(result: Result, out: IO[str]) -> None:
    """One cluster a line, then one reused paragraph a line (``"type": "reuse"``)."""
    also = also_of(result)
    for cluster in result.clusters:
        out.write(_cluster_text(cluster, also))
        out.write("\n")
    for link in result.reuse:
        out.write(json.dumps({"type": "reuse", **link.as_dict()}, ensure_ascii=False))
        out.write("\n")


def write_pairs(result: Result, out: IO[str]) -> None:
    """Every verified pair, one a line of JSON: both paragraphs (document, paragraph, line and
    the cluster each is in), the Jaccard and the containment."""
    for pair in result.pairs or []:
        out.write(json.dumps(pair_dict(pair), ensure_ascii=False))
        out.write("\n")


PAIRS_CSV_COLUMNS = ["a_doc", "a_paragraph", "a_line", "a_cluster", "b_doc", "b_paragraph", "b_line", "b_cluster", "jaccard", "containment"]


def write_pairs_csv(result: Result, out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PAIRS_CSV_COLUMNS)
    for pair in result.pairs or []:
        a, b = pair.a, pair.b
        writer.writerow([a.paragraph.doc, a.paragraph.number, a.paragraph.line, a.cluster, b.paragraph.doc, b.paragraph.number, b.paragraph.line, b.cluster, round(pair.jaccard, 6), round(pair.containment, 6)])


def write_html(result: Result, out: IO[str]) -> None:
    """One self-contained page (:mod:`dedup.html`)."""
    from dedup import __version__
    from dedup.html import render

    report = result_dict(result)
    report["version"] = __version__
    report["inputs"] = list(result.inputs)
    report["timings"] = dict(result.timings)
    render(report, out)


CSV_COLUMNS = ["cluster", "size", "doc", "paragraph", "line", "start", "end", "jaccard", "containment", "representative", "text", "coverage", "sources"]


def write_csv(result: Result, out: IO[str]) -> None:
    """One cluster member a row; then one reused paragraph a row, with no cluster, its
    ``coverage``, and its ``sources`` as ``doc:first_line-last_line`` joined by ``; ``."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for cluster in result.clusters:
        for k, m in enumerate(cluster.members):
            d = member_dict(m)
            writer.writerow(
                [cluster.id, cluster.size, d["doc"], d["paragraph"], d["line"], d["start"], d["end"], d["jaccard"], d["containment"], k == 0, d["text"], "", ""]
            )
    for link in result.reuse:
        sources = "; ".join(f"{s.doc}:{s.lines[0]}-{s.lines[1]}" for s in link.sources)
        writer.writerow(["", "", link.doc, link.paragraph, link.line, link.start, link.end, "", "", "", link.text, round(link.coverage, 6), sources])


FORMATS: dict[str, Callable[[Result, IO[str]], None]] = {
    "text": write_text,
    "json": write_json,
    "jsonl": write_jsonl,
    "csv": write_csv,
    "pairs": write_pairs,
    "pairs-csv": write_pairs_csv,
    "html": write_html,
}


def write_report(result: Result, out: IO[str], fmt: str = "text") -> None:
    """Write ``result`` to ``out`` in format ``fmt`` (one of :data:`FORMATS`)."""
    try:
        writer = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}") from None
    writer(result, out)
