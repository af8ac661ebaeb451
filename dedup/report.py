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
import difflib
import json
import re
import textwrap
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


DEFAULT_WIDTH = 100  # columns of the text report when the caller gives none: piped output stays the same
MIN_WIDTH = 40  # a narrower width is taken as this one
MIN_PREVIEW = 20  # characters of text a member's line keeps, however long its document's name
DEFAULT_TOP_DOCUMENTS = 20
_CONTEXT_WORDS = 3  # words shown before the first one that differs from the representative
_WORDS = re.compile(r"\w+")


def _clip(line: str, width: int) -> str:
    """``line`` cut to ``width`` characters, its end replaced by "…" when cut."""
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"


def _middle(name: str, width: int) -> str:
    """``name`` shortened to ``width`` characters in the middle, with "…", keeping more of its
    end (where a path has its file name).

    >>> _middle("/usr/share/doc/libexample-dev/changelog.Debian.gz", 30)
    '/usr/shar…/changelog.Debian.gz'
    """
    if len(name) <= width:
        return name
    if width <= 1:
        return "…"[:width]
    head = (width - 1) // 3
    return name[:head] + "…" + name[len(name) - (width - 1 - head) :]


def _snippet(text: str, width: int) -> str:
    """The start of ``text`` on one line of at most ``width`` characters: whitespace (line
    breaks and tabs included) collapsed to single spaces, other controls escaped."""
    return _clip(escape_controls(" ".join(text.split())), width)


def _word_keys(word: str) -> list[str]:
    """What a word is compared by: its runs of letters and digits, casefolded, so that case and
    punctuation (which normalization drops too) make no difference."""
    return _WORDS.findall(word.casefold())


_MARKS = {"+": ("{+", "+}"), "-": ("[-", "-]")}
_LACKED_WORDS = 4  # a longer run of words a member lacks is shown as its first two and "…"


def differs(text: str, representative: set[str], width: int, representative_text: str | None = None) -> str | None:
    """Where ``text`` differs from a representative whose words (:func:`_word_keys`) are
    ``representative``: from a few words before the first difference, on one line of at most
    ``width`` characters, "…" where text is left out. Each run of words the representative
    lacks is marked ``{+ … +}``, as ``git diff --word-diff=plain`` and ``wdiff`` mark added
    words. When it lacks none and ``representative_text`` is given, the words ``text`` lacks
    (trimmed or cut from the representative) are shown where they were, marked ``[- … -]``
    (a run of more than four by its first two words and "…").
    ``None`` when there is no difference to show.

    >>> rep = set(_word_keys("Soldiers are on standby for armed police after scores of officers stood down."))
    >>> differs("Soldiers are also on standby for armed police, after many officers stood down.", rep, 70)
    'Soldiers are {+also+} on standby for armed police, after {+many+}…'
    >>> rep = set(_word_keys("The crisis has emerged after a police officer was charged with murder."))
    >>> differs("The crisis has emerged after an unnamed officer was charged with murder.", rep, 40)
    '…has emerged after {+an unnamed+}…'
    >>> full = "The committee agreed to fund three new libraries in the northern districts next year."
    >>> differs("The committee agreed to fund three new libraries next year.", set(_word_keys(full)), 70, full)
    '…three new libraries [-in the northern districts-] next year.'
    """
    words = text.split()
    new = [any(key not in representative for key in _word_keys(word)) for word in words]
    if True in new:
        return _marked_line(words, ["+" if n else "" for n in new], width)
    if representative_text is None:
        return None
    items, marks = _with_deletions(words, representative_text.split())
    return _marked_line(items, marks, width) if any(marks) else None


def _with_deletions(words: list[str], rep_words: list[str]) -> tuple[list[str], list[str]]:
    """``words`` with the representative's words they lack put back where they were, marked
    ``-`` (words in another place than in the representative are marked ``+``): a word diff."""
    key = lambda word: " ".join(_word_keys(word))  # noqa: E731
    items: list[str] = []
    marks: list[str] = []
    matcher = difflib.SequenceMatcher(None, [key(w) for w in words], [key(w) for w in rep_words], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op in ("replace", "insert"):
            # A long run the paragraph lacks is named by its start, so that the paragraph's own
            # words still show.
            lacked = rep_words[j1:j2] if j2 - j1 <= _LACKED_WORDS else [*rep_words[j1 : j1 + 2], "…"]
            items += lacked
            marks += ["-"] * len(lacked)
        if op != "insert":
            items += words[i1:i2]
            marks += ["" if op == "equal" else "+"] * (i2 - i1)
    return items, marks


def _marked_line(words: list[str], marks: list[str], width: int) -> str:
    """``words`` on one line of at most ``width`` characters, from a few words before the first
    marked one, each run of words with the same mark (``+``, ``-``) in its brackets."""
    first = next(k for k, mark in enumerate(marks) if mark)
    start = max(0, first - _CONTEXT_WORDS)
    # The line as tokens, each with the mark of the run open after it; only as many words as
    # can show.
    tokens: list[tuple[str, str]] = [("…", "")] if start else []
    length = len(tokens)
    k = start
    while k < len(words) and length <= width:
        before = len(tokens)
        mark = marks[k]
        if k > start:
            tokens.append((" ", mark if marks[k - 1] == mark else ""))
        if mark and (k == start or marks[k - 1] != mark):
            tokens.append((_MARKS[mark][0], mark))
        tokens.append((escape_controls(words[k]), mark))
        if mark and (k + 1 == len(words) or marks[k + 1] != mark):
            tokens.append((_MARKS[mark][1], ""))
        length += sum(len(token) for token, _ in tokens[before:])
        k += 1
    line = "".join(token for token, _ in tokens)
    if k == len(words) and len(line) <= width:
        return line
    # Cut: what fits before "…", or before "…+}" (or "…-]") where it closes a run left open.
    brackets = {"…", " "} | {b for pair in _MARKS.values() for b in pair}
    kept: list[str] = []
    used, open_mark, marked = 0, "", False
    for token, open_after in tokens:
        is_word = token not in brackets
        if used + len(token) + 3 <= width:
            kept.append(token)
            used += len(token)
            open_mark = open_after
            marked = marked or (is_word and bool(open_after))
            continue
        if is_word and not marked:  # as much as fits of a word, until one that differs shows
            part = token[: width - used - 3]
            if part:
                kept.append(part)
                open_mark = open_after
        break
    if kept and kept[-1] in ("{+", "[-"):
        kept.pop()
        open_mark = ""
    if kept and kept[-1] == " ":
        kept.pop()
    return "".join(kept) + ("…" + _MARKS[open_mark][1] if open_mark else "…")


def _count(n: int, thing: str) -> str:
    """``n`` things, in words: ``1 member``, ``1,234 members``."""
    return f"{n:,} {thing}{'' if n == 1 else 's'}"


def _wrapped(label: str, value: str, width: int, indent: int = 24) -> list[str]:
    """A summary line, ``label`` then ``value`` from column ``indent``, wrapped to ``width``."""
    return textwrap.wrap(
        value, width, initial_indent=f"  {label}".ljust(indent), subsequent_indent=" " * indent, break_on_hyphens=False
    ) or [f"  {label}"]


def write_text(
    result: Result,
    out: IO[str],
    *,
    width: int | None = None,
    top: int | None = None,
    max_members: int | None = None,
    top_documents: int | None = DEFAULT_TOP_DOCUMENTS,
) -> None:
    """The report for people: each cluster's members, one line each, then the summary.

    Clusters come largest first; ``top`` shows only the first ``top`` of them, and the first
    ``top`` reused paragraphs, and ``max_members`` the first ``max_members`` members of each
    cluster (its representative included) and of each member's ``also`` links; what is left out
    is counted on a line of its own. The summary counts everything, and lists the
    ``top_documents`` documents with the highest share of duplicate paragraphs (``None``:
    all).

    Every line is at most ``width`` characters (``None``: :data:`DEFAULT_WIDTH`, so that the
    report does not depend on where it is written; at least :data:`MIN_WIDTH`). Characters are
    counted as code points: an East Asian wide character counts as one, so a line holding them
    takes more columns on a terminal than it has characters. A member's line is its
    ``document:line``, its Jaccard similarity to the representative (``rep`` for the
    representative), and a preview of at least :data:`MIN_PREVIEW` characters; a document name
    too long for that is shortened in the middle with "…". The preview of an exact copy
    (Jaccard 1.0), of the representative and of a member all of whose words are in it is the
    start of the text; for any other member it is where it differs (:func:`differs`): from a
    few words before the first word the representative lacks, words it lacks marked
    ``{+ … +}``; for a member that only lacks words of the representative (trimmed, or with a
    phrase cut), those words, marked ``[- … -]`` where they were. Where one paragraph holds most of the other (containment at least 0.25 above
    Jaccard), ``(contains 0.95)`` follows, on the same line if it leaves the preview its room.

    Document names and texts are shown with :func:`~dedup.documents.escape_controls`.
    """
    for option, value, least in (("top", top, 0), ("max_members", max_members, 1), ("top_documents", top_documents, 0)):
        if value is not None and value < least:
            raise ValueError(f"{option} must be at least {least} (or None: all), not {value!r}")
    width = DEFAULT_WIDTH if width is None else max(width, MIN_WIDTH)
    clusters = result.clusters
    shown_clusters = clusters if top is None else clusters[:top]
    shown: dict[str, str] = {}  # each document's name as printed, escaped once

    def name(doc: str) -> str:
        if doc not in shown:
            shown[doc] = escape_controls(doc)
        return shown[doc]

    def write(line: str) -> None:
        out.write(_clip(line, width) + "\n")

    def members_of(cluster: Cluster) -> tuple[Member, ...]:
        return cluster.members if max_members is None else cluster.members[:max_members]

    def location(doc: str, line: int | str, room: int) -> str:
        suffix = f":{line}"
        return _middle(name(doc), max(1, room - len(suffix))) + suffix

    also = also_of(result)
    # The location column: as wide as the widest shown, but no wider than the preview ("  "
    # location "  " score "  " preview), and never so wide that a preview gets less than
    # MIN_PREVIEW characters.
    most = min((width - 11) // 2, width - 11 - MIN_PREVIEW)
    where_width = min(most, max((len(f"{name(m.doc)}:{m.line}") for c in shown_clusters for m in members_of(c)), default=0))
    preview = width - 11 - where_width
    under = " " * (where_width + 11)  # continuation lines start under the preview
    for cluster in shown_clusters:
        docs = len(cluster.documents)
        write(f"Cluster {cluster.id}: {_count(cluster.size, 'paragraph')} in {_count(docs, 'document')}")
        rep_words: set[str] | None = None
        shown_members = members_of(cluster)
        for k, m in enumerate(shown_members):
            where = location(m.doc, m.line, where_width).ljust(where_width)
            # Containment explains a match that Jaccard alone reads as weak: one paragraph is
            # (most of) the other, trimmed.
            held = f"(contains {m.containment:.2f})" if k and m.containment >= m.jaccard + 0.25 else ""
            room = preview - len(held) - 1 if held and preview - len(held) - 1 >= MIN_PREVIEW else preview
            excerpt = None
            if k and m.jaccard < 1.0:
                if rep_words is None:
                    rep_words = set(_word_keys(cluster.representative.text))
                excerpt = differs(m.text, rep_words, room, cluster.representative.text)
            text = excerpt if excerpt is not None else _snippet(m.text, room)
            score = "  rep" if k == 0 else f"{m.jaccard:5.2f}"
            if held and room < preview:
                write(f"  {where}  {score}  {text} {held}")
            else:
                write(f"  {where}  {score}  {text}")
                if held:
                    write(f"{under}{held}")
            links = also.get((m.doc, m.paragraph.number), [])
            for link in links if max_members is None else links[:max_members]:
                elsewhere = f"cluster {link['cluster']}, " if link["cluster"] is not None else ""
                start = f"{under}also {link['jaccard']:.2f} with {elsewhere}"
                write(start + location(link["doc"], link["line"], width - len(start)))
            if max_members is not None and len(links) > max_members:
                write(f"{under}… {_count(len(links) - max_members, 'more link')} (--max-members)")
        if len(shown_members) < cluster.size:
            write(f"  … {_count(cluster.size - len(shown_members), 'more member')} (--max-members)")
        out.write("\n")
    if len(shown_clusters) < len(clusters):
        write(f"… {_count(len(clusters) - len(shown_clusters), 'more cluster')} (--top)")
        out.write("\n")
    # Reuse that a cluster above shows already (the paragraph joined one whose representative
    # is in its one source) is left out here; the formats for scripts list it all.
    rep_doc = {(m.doc, m.paragraph.number): c.representative.doc for c in clusters for m in c.members[1:]}
    reused = [link for link in result.reuse if not (len(link.sources) == 1 and rep_doc.get((link.doc, link.paragraph)) == link.sources[0].doc)]
    if reused:
        shown_reused = reused if top is None else reused[:top]
        for line in textwrap.wrap(f"Reused text: {_count(len(reused), 'more paragraph')} mostly made of earlier documents", width):
            write(line)
        reuse_width = min((width - 10) // 2, width - 10 - MIN_PREVIEW, max((len(f"{name(link.doc)}:{link.line}") for link in shown_reused), default=0))
        from_under = " " * (reuse_width + 10)
        for reused_link in shown_reused:
            where = location(reused_link.doc, reused_link.line, reuse_width).ljust(reuse_width)
            write(f"  {where}  {reused_link.coverage:4.0%}  {_snippet(reused_link.text, width - 10 - reuse_width)}")
            for source in reused_link.sources:
                span = f"{source.lines[0]}" if source.lines[0] == source.lines[1] else f"{source.lines[0]}-{source.lines[1]}"
                added = f" ({source.added:.0%})"
                start = f"{from_under}from "
                write(start + location(source.doc, span, width - len(start) - len(added)) + added)
        if len(shown_reused) < len(reused):
            write(f"… {_count(len(reused) - len(shown_reused), 'more reused paragraph')} (--top)")
        out.write("\n")
    s = result.stats
    p = params_dict(result)
    if not clusters:
        write("No duplicate paragraphs found.")
        out.write("\n")
    lines = ["Summary", *_wrapped("documents", f"{s.documents:,}", width)]
    left_out = [f"{count:,} {what}" for count, what in ((s.empty, "empty"), (s.short, "short"), (s.too_long, "too long")) if count]
    lines += _wrapped("paragraphs", f"{s.paragraphs:,}" + (f" ({', '.join(left_out)} left out of matching)" if left_out else ""), width)
    lines += _wrapped("clusters", f"{s.clusters:,}", width)
    lines += _wrapped("duplicate paragraphs", f"{s.duplicate_paragraphs:,}", width)
    if result.config.reuse:
        lines += _wrapped("reused paragraphs", f"{len(result.reuse):,}", width)
    if result.skipped:
        lines += _wrapped("skipped inputs", f"{len(result.skipped):,}", width)
    settings = (
        f"threshold {p['threshold']}, shingle {p['shingle']}, "
        f"num_perm {p['num_perm']} ({p['bands']} bands x {p['rows']} rows), seed {p['seed']}, "
        f"scope {p['scope']}, min_words {p['min_words']}"
    )
    lines += _wrapped("settings", settings, width)
    for line in lines:
        write(line)
    # Highest share first; between equal shares, more duplicates first, then in input order.
    shares = sorted(
        ((doc, total, dups) for doc, (total, dups) in s.per_document.items() if dups),
        key=lambda row: (-row[2] / row[1], -row[2]),
    )
    if shares:
        listed = shares if top_documents is None else shares[:top_documents]
        write("  duplicate share per document")
        counts = [(f"{dups:,}", f"{total:,}", f"{100 * dups / total:.1f}%") for _, total, dups in listed]
        dups_width, total_width = (max(len(row[i]) for row in counts) for i in (0, 1))
        tails = [f"  {d:>{dups_width}} of {t:<{total_width}}  {share:>6}" for d, t, share in counts]
        name_width = min(max(len(name(doc)) for doc, _, _ in listed), width - 4 - max(map(len, tails)))
        for (doc, _, _), tail in zip(listed, tails):
            write(f"    {_middle(name(doc), name_width).ljust(name_width)}{tail}")
        if len(listed) < len(shares):
            write(f"    … {_count(len(shares) - len(listed), 'more document')} (--top-documents)")


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
    """One cluster a line, then one reused paragraph a line (``"type": "reuse"``), then one
    last line with the run's stats and settings (``"type": "stats"``), as ``json`` gives them."""
    also = also_of(result)
    for cluster in result.clusters:
        out.write(_cluster_text(cluster, also))
        out.write("\n")
    for link in result.reuse:
        out.write(json.dumps({"type": "reuse", **link.as_dict()}, ensure_ascii=False))
        out.write("\n")
    out.write(json.dumps({"type": "stats", "stats": stats_dict(result), "params": params_dict(result)}, ensure_ascii=False))
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


def write_report(
    result: Result,
    out: IO[str],
    fmt: str = "text",
    *,
    width: int | None = None,
    top: int | None = None,
    max_members: int | None = None,
    top_documents: int | None = DEFAULT_TOP_DOCUMENTS,
) -> None:
    """Write ``result`` to ``out`` in format ``fmt`` (one of :data:`FORMATS`).

    ``width``, ``top``, ``max_members`` and ``top_documents`` shape the text report (see
    :func:`write_text`); the other formats always hold everything, and ignore them."""
    try:
        writer = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}") from None
    if writer is write_text:
        write_text(result, out, width=width, top=top, max_members=max_members, top_documents=top_documents)
    else:
        writer(result, out)
