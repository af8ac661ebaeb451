"""Report as one self-contained HTML page: overview, sortable cluster table, word diffs, reuse.

The page is a single file that works offline: its style and script are inline, it loads
nothing (its Content-Security-Policy allows no fetch at all, and only its own script and
style, by hash), and the report is embedded as JSON in a ``<script type="application/json">``
element that the page's script parses and draws.

Document names and texts are other people's, so nothing of the data ever becomes markup:

- In the embedded JSON, ``<``, ``>`` and ``&`` are written as ``\\u003c``, ``\\u003e`` and
  ``\\u0026`` (as are U+2028, U+2029 and lone surrogates), so no text can close the element
  (``</script>``) or open a comment (``<!--``) in it, whatever it holds; ``JSON.parse`` reads
  the same strings back.
- The script inserts every name and text with ``textContent`` or text nodes, never as HTML,
  and inside ``<bdi>`` so that a bidirectional override stays within its own text.
- The policy's script hash admits the page's own script only: an injected ``<script>`` or
  ``onerror=`` would not run even if markup ever slipped through.

The page draws what the report has: ``clusters``, ``stats`` and ``params`` (the JSON report),
and, when present, ``version``, ``inputs``, ``timings``, each member's ``also`` (other
clusters it matches), ``pairs`` (every verified pair, for the similarity histogram; else the
members' Jaccard against their representative) and ``reuse`` (reused paragraphs and their
sources, for the reuse view).

>>> import io, json, re
>>> out = io.StringIO()
>>> render({"clusters": [], "stats": {}, "params": {"threshold": 0.4}, "inputs": ["</script><!--"]}, out)
>>> page = out.getvalue()
>>> data = re.search(r'<script type="application/json" id="dedup-data">(.*?)</script>', page, re.S).group(1)
>>> data
'{"clusters":[],"stats":{},"params":{"threshold":0.4},"inputs":["\\\\u003c/script\\\\u003e\\\\u003c!--"]}'
>>> json.loads(data)["inputs"]
['</script><!--']
"""

from __future__ import annotations

import base64
import codecs
import hashlib
import json
import re
from collections.abc import Mapping
from typing import IO, Any

__all__ = ["render"]

# Characters that must never appear raw in the embedded JSON: the three that can end the
# element or start markup in it, the two line separators that older JavaScript parsers
# took for line ends, and lone surrogates (no UTF-8 form).
_UNSAFE = re.compile("[<>&\u2028\u2029\ud800-\udfff]")
# Lists (clusters, pairs, reuse) are encoded this many items at a time: a million pairs never
# become one string, and the C encoder's set-up is paid once per chunk, not per item.
_CHUNK = 2000


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _safe(json_text: str) -> str:
    """JSON text with every character of :data:`_UNSAFE` written as a ``\\uXXXX`` escape. They
    can occur only inside strings, where the escape reads back as the same character."""
    return _UNSAFE.sub(_escape, json_text)


def _writes_utf8(out: IO[str]) -> bool:
    """Whether ``out`` encodes text as UTF-8 (an in-memory stream has no encoding: it keeps
    the characters). Elsewhere the data is written as ASCII, which any encoding holds."""
    encoding = getattr(out, "encoding", None)
    if encoding is None:
        return True
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def _write_data(report: Mapping[str, Any], out: IO[str]) -> None:
    encode = json.JSONEncoder(ensure_ascii=not _writes_utf8(out), allow_nan=False, separators=(",", ":")).encode
    out.write("{")
    for k, (key, value) in enumerate(report.items()):
        if not isinstance(key, str):
            raise TypeError(f"the report's keys must be strings, not {key!r}")
        out.write(("," if k else "") + _safe(encode(key)) + ":")
        if isinstance(value, (list, tuple)):
            out.write("[")
            for start in range(0, len(value), _CHUNK):
                out.write(("," if start else "") + _safe(encode(list(value[start : start + _CHUNK]))[1:-1]))
            out.write("]")
        else:
            out.write(_safe(encode(value)))
    out.write("}")


def render(report: Mapping[str, Any], out: IO[str]) -> None:
    """Write ``report`` (the dict of ``dedup report --format json``, with the optional keys
    the module's doc lists) to ``out`` as one self-contained HTML page.

    ``out`` should encode UTF-8 (the page says it is UTF-8); on a stream of another encoding
    the data is written as ASCII escapes. Raises ``TypeError`` for a report that is not a
    mapping with string keys, ``ValueError`` for a number JSON cannot hold (NaN, infinity)."""
    if not isinstance(report, Mapping):
        raise TypeError(f"report must be a mapping (the JSON report's dict), not {type(report).__name__}")
    out.write(_HEAD)
    out.write('<script type="application/json" id="dedup-data">')
    _write_data(report, out)
    out.write("</script>\n<script>")
    out.write(_SCRIPT)
    out.write("</script>\n</body>\n</html>\n")


_STYLE = r"""
:root {
  --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; --accent: #0550ae;
  --del-bg: #ffebe9; --del-fg: #82071e; --ins-bg: #dafbe1; --ins-fg: #0f5323;
  --src0: #ffe08a; --src1: #b6d7ff; --src2: #b8f0c4; --src3: #ffc8e1; --src4: #d9ccff; --src5: #ffd3a8;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; color: var(--fg); background: #fff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
header, nav, main { max-width: 1180px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 20px; }
h1 { font-size: 22px; margin: 0 0 8px; display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; }
h1 .version { font-size: 14px; font-weight: 400; color: var(--muted); }
h2 { font-size: 18px; margin: 28px 0 12px; }
h3 { font-size: 15px; margin: 0; }
a { color: var(--accent); }
bdi { unicode-bidi: isolate; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; font-size: 14px; }
.meta dt { color: var(--muted); }
.meta dd { margin: 0; overflow-wrap: anywhere; }
.meta .sep { color: var(--muted); padding: 0 6px; }
.meta [data-param], .meta [data-stage] { white-space: nowrap; }
.meta details { display: inline; }
.meta summary { cursor: pointer; color: var(--accent); display: inline; }
.meta ul { margin: 4px 0; padding-left: 20px; }
nav { margin-top: 16px; border-bottom: 1px solid var(--line); display: flex; gap: 4px; }
nav a {
  padding: 8px 14px; text-decoration: none; color: var(--muted); border: 1px solid transparent;
  border-bottom: 0; border-radius: 6px 6px 0 0; margin-bottom: -1px;
}
nav a[aria-current="page"] { color: var(--fg); border-color: var(--line); background: #fff; font-weight: 600; }
nav a:hover { color: var(--fg); }
main { padding-bottom: 48px; }
.counts { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; }
.count { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; background: var(--soft); }
.count .value { font-size: 24px; font-weight: 600; font-variant-numeric: tabular-nums; }
.count .label { color: var(--muted); font-size: 13px; }
.notes { color: var(--muted); font-size: 14px; margin: 10px 0 0; }
#doc-shares h3 { margin: 22px 0 8px; }
.notes ul { margin: 4px 0; padding-left: 20px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 16px; margin-top: 16px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 12px 12px 6px; }
figcaption { font-weight: 600; font-size: 14px; }
figcaption .sub { font-weight: 400; color: var(--muted); }
svg.chart { width: 100%; height: auto; display: block; font-size: 11px; }
svg.chart .bar { fill: #5b8fd6; }
svg.chart .bar:hover { fill: #0550ae; }
svg.chart .axis { stroke: #8c959f; stroke-width: 1; }
svg.chart .grid { stroke: #eaeef2; stroke-width: 1; }
svg.chart text { fill: var(--muted); }
svg.chart text.barlabel { fill: var(--fg); }
svg.chart .marker { stroke: #cf222e; stroke-width: 1.5; stroke-dasharray: 4 3; }
svg.chart text.markerlabel { fill: #cf222e; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
th button { font: inherit; font-weight: 600; color: inherit; background: none; border: 0; padding: 0; cursor: pointer; }
th button::after { content: ""; display: inline-block; width: 1em; color: var(--muted); }
th[aria-sort="ascending"] button::after { content: "\25B2"; font-size: 10px; text-align: center; }
th[aria-sort="descending"] button::after { content: "\25BC"; font-size: 10px; text-align: center; }
#cluster-table tbody tr { cursor: pointer; }
#cluster-table tbody tr:hover, #cluster-table tbody tr:focus { background: #f0f6ff; outline: none; }
td.docs { max-width: 320px; }
td.docs .place, .ellipsis { display: block; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
td.docs .more { color: var(--muted); font-size: 13px; }
td.snippet { color: #3d444d; max-width: 460px; }
.filters { display: flex; flex-wrap: wrap; gap: 10px 22px; align-items: center; margin-bottom: 12px; font-size: 14px; }
.filters label { display: inline-flex; align-items: center; gap: 8px; color: var(--muted); }
.filters input[type="search"] { width: 240px; }
.filters input[type="number"] { width: 70px; }
.filters output { min-width: 2.5em; color: var(--fg); font-variant-numeric: tabular-nums; }
input[type="search"], input[type="number"] { font: inherit; padding: 4px 8px; border: 1px solid var(--line); border-radius: 6px; color: var(--fg); }
.filters .shown { margin-left: auto; color: var(--muted); }
.pager { display: flex; gap: 10px; align-items: center; justify-content: flex-end; margin-top: 10px; font-size: 14px; color: var(--muted); }
button.btn, a.btn {
  font: inherit; font-size: 14px; padding: 4px 12px; border: 1px solid var(--line); border-radius: 6px;
  background: var(--soft); color: var(--fg); cursor: pointer; text-decoration: none;
}
button.btn:disabled { opacity: .45; cursor: default; }
button.link { font: inherit; color: var(--accent); background: none; border: 0; padding: 0; cursor: pointer; text-align: left; text-decoration: underline; }
.empty { color: var(--muted); padding: 18px 0; }
.viewnav { display: flex; gap: 10px; align-items: center; margin-top: 20px; }
.viewnav .spacer { flex: 1; }
.summary { color: var(--muted); margin: 4px 0 14px; }
.legend { font-size: 13px; color: var(--muted); margin-bottom: 12px; }
.member { border: 1px solid var(--line); border-radius: 8px; margin: 0 0 14px; overflow: hidden; }
.member > .head {
  display: flex; flex-wrap: wrap; gap: 4px 14px; align-items: baseline; padding: 8px 14px;
  background: var(--soft); border-bottom: 1px solid var(--line); font-size: 14px;
}
.member.rep { border-color: #8c959f; }
.badge { font-size: 12px; font-weight: 600; padding: 1px 8px; border-radius: 10px; background: #e7ecf0; color: var(--fg); }
.member.rep .badge { background: #1f2328; color: #fff; }
.where { font-weight: 600; overflow-wrap: anywhere; }
.score { color: var(--muted); font-variant-numeric: tabular-nums; }
.score b { color: var(--fg); font-weight: 600; }
.also { font-size: 13px; color: var(--muted); }
.also a { margin-left: 4px; }
.text { display: block; padding: 10px 14px; max-width: 80ch; white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.6; }
.text.diff { white-space: normal; }
.note { color: var(--muted); font-size: 13px; font-style: italic; margin: 0 0 6px; }
del { background: var(--del-bg); color: var(--del-fg); text-decoration: line-through; text-decoration-thickness: 1px; }
ins { background: var(--ins-bg); color: var(--ins-fg); text-decoration: underline; text-decoration-thickness: 1px; text-underline-offset: 2px; }
.reuse-item { border: 1px solid var(--line); border-radius: 8px; margin: 0 0 16px; overflow: hidden; }
.reuse-item > .head { padding: 8px 14px; background: var(--soft); border-bottom: 1px solid var(--line); font-size: 14px; display: flex; flex-wrap: wrap; gap: 4px 14px; }
.reuse-grid { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
.reuse-grid > div { padding: 10px 14px; min-width: 0; }
.reuse-grid > div + div { border-left: 1px solid var(--line); }
.reuse-grid h4 { margin: 0 0 6px; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.reuse-grid .text { padding: 0; }
.source { margin-bottom: 12px; }
.source .shead { font-size: 14px; margin-bottom: 4px; display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 3px; border: 1px solid rgba(0, 0, 0, .25); flex: none; align-self: center; }
.span { margin: 4px 0 8px; }
.span .where-in { font-size: 12px; color: var(--muted); }
mark { color: inherit; border-radius: 2px; padding: 1px 0; }
mark.multi { outline: 2px dotted rgba(0, 0, 0, .45); }
.src0 { background: var(--src0); } .src1 { background: var(--src1); } .src2 { background: var(--src2); }
.src3 { background: var(--src3); } .src4 { background: var(--src4); } .src5 { background: var(--src5); }
@media (max-width: 760px) {
  .reuse-grid { grid-template-columns: 1fr; }
  .reuse-grid > div + div { border-left: 0; border-top: 1px solid var(--line); }
  td.snippet { display: none; }
}
"""

_SCRIPT = r"""
"use strict";
(function () {
  var SVG_NS = "http://www.w3.org/2000/svg";
  var PAGE_SIZE = 50;
  var REUSE_BATCH = 25;
  var MAX_DIFF_CELLS = 8e6;  // word pairs of one LCS table: 16 MB at most
  var COLOURS = 6;

  function $(id) { return document.getElementById(id); }
  function str(v) { return v === null || v === undefined ? "" : String(v); }
  function num(v) { return typeof v === "number" && isFinite(v) ? v : null; }
  function list(v) { return Array.isArray(v) ? v : []; }

  // Elements are made here only: strings always become text nodes (append), attributes are
  // set one by one, so no data is ever parsed as HTML.
  function add(el, children) {
    for (var i = 0; i < children.length; i++) {
      var c = children[i];
      if (c === null || c === undefined || c === false) continue;
      if (Array.isArray(c)) add(el, c);
      else el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }
  function attrs(el, a) {
    if (!a) return el;
    Object.keys(a).forEach(function (k) {
      var v = a[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "class") el.setAttribute("class", v);
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    });
    return el;
  }
  function h(tag, a) { return add(attrs(document.createElement(tag), a), Array.prototype.slice.call(arguments, 2)); }
  function s(tag, a) { return add(attrs(document.createElementNS(SVG_NS, tag), a), Array.prototype.slice.call(arguments, 2)); }
  function name(doc) { return h("bdi", { class: "doc", title: str(doc) }, str(doc)); }
  function where(m) { return h("span", { class: "where" }, name(m.doc), ":" + str(m.line)); }
  function clusterLink(id) { return h("a", { href: "#cluster-" + id }, "cluster " + id); }

  function fmtInt(n) { return n === null ? "\u2013" : Number(n).toLocaleString("en-US"); }
  function fmtSim(x) { return num(x) === null ? "\u2013" : x.toFixed(2); }
  function fmtPct(x) { return num(x) === null ? "\u2013" : Math.round(100 * x) + "%"; }
  function fmtBytes(n) {
    if (n < 1000) return fmtInt(n) + " B";
    var units = ["kB", "MB", "GB", "TB"], v = n, u = -1;
    do { v /= 1000; u++; } while (v >= 1000 && u < units.length - 1);
    return v.toFixed(v < 10 ? 2 : 1) + " " + units[u];
  }
  function fmtSeconds(x) {
    if (x === null) return "\u2013";
    if (x < 1) return (1000 * x).toFixed(x < 0.01 ? 2 : 1) + " ms";
    return x.toFixed(x < 10 ? 2 : 1) + " s";
  }
  function plural(n, one, many) { return fmtInt(n) + " " + (n === 1 ? one : many); }
  function range(pair, what) {
    var p = list(pair);
    if (!p.length) return "";
    return p[0] === p[p.length - 1] ? what + " " + p[0] : what + "s " + p[0] + "\u2013" + p[p.length - 1];
  }

  // Bytes of a string in UTF-8 (a lone surrogate counts 3, as Python's surrogatepass writes it).
  function utf8Length(text) {
    var n = 0;
    for (var i = 0; i < text.length; i++) {
      var c = text.charCodeAt(i);
      if (c < 0x80) n += 1;
      else if (c < 0x800) n += 2;
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { n += 4; i++; }
      else n += 3;
    }
    return n;
  }

  // ------------------------------------------------------------------------------------------
  // The data

  var report;
  try {
    report = JSON.parse($("dedup-data").textContent);
  } catch (err) {
    $("list-view").replaceChildren(h("p", { class: "empty" }, "This report's data could not be read: " + err));
    return;
  }
  var clusters = list(report.clusters);
  var stats = report.stats && typeof report.stats === "object" ? report.stats : {};
  var params = report.params && typeof report.params === "object" ? report.params : {};
  var reuse = Array.isArray(report.reuse) && report.reuse.length ? report.reuse : null;
  var threshold = num(params.threshold);

  var savedBytes = 0;
  var rows = clusters.map(function (c, index) {
    var members = list(c.members), lo = null;
    for (var k = 1; k < members.length; k++) {
      var j = num(members[k].jaccard);
      if (j !== null && (lo === null || j < lo)) lo = j;
      savedBytes += utf8Length(str(members[k].text));
    }
    var docs = Array.isArray(c.documents) ? c.documents : Array.from(new Set(members.map(function (m) { return m.doc; })));
    var rep = members[0] || {};
    return { c: c, index: index, id: c.id, size: num(c.size) !== null ? c.size : members.length, sim: lo,
             docs: docs, rep: rep, repDoc: str(rep.doc), docsKey: null };
  });
  var byId = new Map(rows.map(function (r) { return [r.id, r]; }));

  // ------------------------------------------------------------------------------------------
  // Header

  function renderHeader() {
    var inputs = Array.isArray(report.inputs) ? report.inputs : null;
    document.title = "dedup report" + (inputs && inputs.length ? ": " + inputs.slice(0, 3).map(str).join(", ") + (inputs.length > 3 ? ", \u2026" : "") : "");
    if (report.version !== undefined && report.version !== null) $("version").textContent = "dedup " + str(report.version);
    var dl = $("meta");
    function row(key, label, value) { dl.append(h("dt", null, label), h("dd", { "data-meta": key }, value)); }
    function joined(items) {
      var out = [];
      items.forEach(function (item, k) { if (k) out.push(h("span", { class: "sep" }, "\u00b7")); out.push(item); });
      return out;
    }
    if (inputs) {
      var shown = inputs.slice(0, 8).map(name);
      var value = joined(shown);
      if (inputs.length > 8) {
        value.push(" ", h("details", null, h("summary", null, "and " + plural(inputs.length - 8, "more", "more")),
          h("ul", null, inputs.slice(8).map(function (i) { return h("li", null, name(i)); }))));
      }
      row("inputs", "Inputs", value);
    }
    var keys = Object.keys(params);
    if (keys.length) {
      row("params", "Settings", joined(keys.map(function (k) {
        var v = params[k];
        return h("span", { "data-param": k }, k + " ", h("b", null, typeof v === "object" ? JSON.stringify(v) : str(v)));
      })));
    }
    var timings = report.timings && typeof report.timings === "object" ? report.timings : null;
    if (timings && Object.keys(timings).length) {
      var total = 0;
      var parts = Object.keys(timings).map(function (stage) {
        var t = num(timings[stage]);
        total += t || 0;
        return h("span", { "data-stage": stage }, stage + " ", h("b", null, fmtSeconds(t)));
      });
      parts.push(h("span", { "data-stage": "total" }, "total ", h("b", null, fmtSeconds(total))));
      row("timings", "Timings", joined(parts));
    }
  }

  // ------------------------------------------------------------------------------------------
  // Overview: counts and histograms

  function renderOverview() {
    var duplicates = num(stats.duplicate_paragraphs);
    if (duplicates === null) duplicates = rows.reduce(function (n, r) { return n + r.size - 1; }, 0);
    var cards = [
      ["clusters", "clusters", num(stats.clusters) !== null ? stats.clusters : clusters.length],
      ["duplicate_paragraphs", "duplicate paragraphs", duplicates],
      ["documents", "documents", num(stats.documents)],
      ["paragraphs", "paragraphs", num(stats.paragraphs)],
    ];
    var box = $("counts");
    cards.forEach(function (card) {
      box.append(h("div", { class: "count", "data-stat": card[0], "data-value": card[2] === null ? "" : card[2] },
        h("div", { class: "value" }, fmtInt(card[2])), h("div", { class: "label" }, card[1])));
    });
    box.append(h("div", { class: "count", "data-stat": "saved_bytes", "data-value": savedBytes,
                          title: fmtInt(savedBytes) + " bytes: the UTF-8 text of every duplicate paragraph (every member but the representative)" },
      h("div", { class: "value" }, fmtBytes(savedBytes)),
      h("div", { class: "label" }, "saved by deduplication (" + fmtInt(savedBytes) + " bytes)")));

    var notes = [];
    var leftOut = [["empty_paragraphs", "empty"], ["short_paragraphs", "short"], ["too_long_paragraphs", "too long"]]
      .filter(function (k) { return num(stats[k[0]]); })
      .map(function (k) { return fmtInt(stats[k[0]]) + " " + k[1]; });
    if (leftOut.length) notes.push(h("p", null, "Left out of matching: " + leftOut.join(", ") + "."));
    var skipped = list(stats.skipped);
    if (skipped.length) {
      notes.push(h("details", null, h("summary", null, plural(skipped.length, "input", "inputs") + " skipped"),
        h("ul", null, skipped.map(function (sk) { return h("li", null, name(sk.source), ": ", str(sk.reason)); }))));
    }
    if (notes.length) $("notes").append.apply($("notes"), notes);

    // Similarities: every verified pair when the report lists them, else each member against
    // its representative.
    var sims = [];
    if (Array.isArray(report.pairs)) {
      report.pairs.forEach(function (p) { var j = num(p && p.jaccard); if (j !== null) sims.push(j); });
    } else {
      clusters.forEach(function (c) {
        var m = list(c.members);
        for (var k = 1; k < m.length; k++) { var j = num(m[k].jaccard); if (j !== null) sims.push(j); }
      });
    }
    var bins = [];
    for (var b = 0; b < 20; b++) bins.push({ label: (b / 20).toFixed(2) + "\u2013" + ((b + 1) / 20).toFixed(2), count: 0 });
    sims.forEach(function (j) { bins[Math.max(0, Math.min(19, Math.floor(j * 20 + 1e-9)))].count++; });
    $("similarity-chart").append(
      h("figcaption", null, "Pair similarity ", h("span", { class: "sub" },
        "(exact Jaccard, " + plural(sims.length, Array.isArray(report.pairs) ? "verified pair" : "member against its representative",
                                     Array.isArray(report.pairs) ? "verified pairs" : "members against their representative") + ")")),
      barChart(bins, { continuous: true, marker: threshold, markerLabel: threshold === null ? "" : "threshold " + threshold, xTitle: "Jaccard similarity" }));

    var maxSize = rows.reduce(function (m, r) { return Math.max(m, r.size); }, 2);
    var edges = [];  // each bin: [lo, hi] sizes
    if (maxSize <= 16) { for (var sz = 2; sz <= maxSize; sz++) edges.push([sz, sz]); }
    else {
      edges.push([2, 2], [3, 3], [4, 4]);
      for (var lo = 5, hi = 7; lo <= maxSize; lo = hi + 1, hi = 2 * hi + 1) edges.push([lo, hi]);
    }
    var sizeBins = edges.map(function (e) { return { label: e[0] === e[1] ? String(e[0]) : e[0] + "\u2013" + e[1], count: 0, lo: e[0] }; });
    rows.forEach(function (r) {
      var k = 0;
      while (k + 1 < edges.length && r.size >= edges[k + 1][0]) k++;
      sizeBins[k].count++;
    });
    $("size-chart").append(
      h("figcaption", null, "Cluster size ", h("span", { class: "sub" }, "(paragraphs per cluster, " + plural(rows.length, "cluster", "clusters") + ")")),
      barChart(sizeBins, { continuous: false, xTitle: "paragraphs in the cluster" }));

    renderDocShares();
  }

  // The top of a count axis with four gridlines: a round whole number of at least n whose
  // quarters are whole numbers too.
  function niceMax(n) {
    var quarter = Math.max(n, 1) / 4, p = Math.pow(10, Math.floor(Math.log10(quarter))), steps = [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];
    for (var i = 0; i < steps.length; i++) {
      var step = steps[i] * p;
      if (step >= quarter && Number.isInteger(step)) return 4 * step;
    }
    return 4 * Math.ceil(quarter);
  }

  // A bar chart as inline SVG. Continuous charts span [0, 1] on x (the bins split it evenly)
  // and may mark a value on it; others label each bar.
  function barChart(bins, opt) {
    var W = 520, H = 240, L = 46, R = 14, T = 34, B = 44;
    var pw = W - L - R, ph = H - T - B;
    var top = niceMax(bins.reduce(function (m, b) { return Math.max(m, b.count); }, 0));
    var svg = s("svg", { class: "chart", viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": opt.xTitle });
    for (var g = 0; g <= 4; g++) {
      var y = T + ph - ph * g / 4, v = top * g / 4;
      svg.append(s("line", { class: "grid", x1: L, x2: L + pw, y1: y, y2: y }),
                 s("text", { x: L - 6, y: y + 4, "text-anchor": "end" }, Number.isInteger(v) ? fmtInt(v) : v.toFixed(1)));
    }
    // Few bars stay narrow, centred on the axis.
    var bw = Math.min(pw / Math.max(bins.length, 1), opt.continuous ? Infinity : 64), x0 = L + (pw - bw * bins.length) / 2;
    // Counts above the bars only when every one fits its bar (about 6.5 units a character);
    // else the axis and each bar's tooltip tell.
    var labelled = bins.every(function (bin) { return fmtInt(bin.count).length * 6.5 <= bw; });
    bins.forEach(function (bin, k) {
      var bh = bin.count ? Math.max(1.5, ph * bin.count / top) : 0, x = x0 + k * bw;
      var rect = s("rect", { class: "bar", x: x + 1, y: T + ph - bh, width: Math.max(bw - 2, 1), height: bh, "data-count": bin.count, "data-bin": bin.label },
                   s("title", null, bin.label + ": " + fmtInt(bin.count)));
      svg.append(rect);
      if (bin.count && labelled) {
        svg.append(s("text", { class: "barlabel", x: x + bw / 2, y: T + ph - bh - 4, "text-anchor": "middle" }, fmtInt(bin.count)));
      }
      if (!opt.continuous) svg.append(s("text", { x: x + bw / 2, y: T + ph + 15, "text-anchor": "middle" }, bin.label));
    });
    if (opt.continuous) {
      for (var t = 0; t <= 5; t++) {
        var tx = L + pw * t / 5;
        svg.append(s("line", { class: "axis", x1: tx, x2: tx, y1: T + ph, y2: T + ph + 4 }),
                   s("text", { x: tx, y: T + ph + 16, "text-anchor": "middle" }, (t / 5).toFixed(1)));
      }
      if (opt.marker !== null && opt.marker !== undefined) {
        var mx = L + pw * Math.max(0, Math.min(1, opt.marker));
        svg.append(s("line", { class: "marker", x1: mx, x2: mx, y1: T - 16, y2: T + ph, "data-marker": opt.marker }),
                   s("text", { class: "markerlabel", x: mx + (opt.marker > 0.75 ? -4 : 4), y: T - 20, "text-anchor": opt.marker > 0.75 ? "end" : "start" }, opt.markerLabel));
      }
    }
    svg.append(s("line", { class: "axis", x1: L, x2: L + pw, y1: T + ph, y2: T + ph }),
               s("text", { x: L + pw / 2, y: H - 6, "text-anchor": "middle" }, opt.xTitle));
    return svg;
  }

  function renderDocShares() {
    var per = stats.per_document && typeof stats.per_document === "object" ? stats.per_document : {};
    // The ten with the most, found in one pass: a corpus may have millions of documents.
    var shown = [], count = 0;
    function before(a, b) { return per[a].duplicates > per[b].duplicates || (per[a].duplicates === per[b].duplicates && a < b); }
    for (var d in per) {
      if (!num(per[d] && per[d].duplicates)) continue;
      count++;
      if (shown.length === 10 && !before(d, shown[9])) continue;
      var at = shown.length === 10 ? 9 : shown.length;
      while (at > 0 && before(d, shown[at - 1])) { shown[at] = shown[at - 1]; at--; }
      shown[at] = d;
    }
    if (!count) return;
    var body = h("tbody", null, shown.map(function (d) {
      var p = per[d], share = num(p.paragraphs) ? p.duplicates / p.paragraphs : null;
      return h("tr", null,
        h("td", { class: "docs" }, h("button", { class: "link ellipsis", title: "Show the clusters of " + d, onclick: function () { setDocFilter(d); } }, name(d))),
        h("td", { class: "num" }, fmtInt(p.duplicates)), h("td", { class: "num" }, fmtInt(num(p.paragraphs))),
        h("td", { class: "num" }, share === null ? "\u2013" : (100 * share).toFixed(1) + "%"));
    }));
    $("doc-shares").append(
      h("h3", null, "Documents with the most duplicate paragraphs" + (count > 10 ? " (10 of " + fmtInt(count) + ")" : "")),
      h("table", { id: "doc-table" }, h("thead", null, h("tr", null, h("th", null, "Document"), h("th", { class: "num" }, "Duplicates"),
        h("th", { class: "num" }, "Paragraphs"), h("th", { class: "num" }, "Share"))), body));
  }

  // ------------------------------------------------------------------------------------------
  // The cluster table: filtered, sorted, a page at a time

  var state = { sort: "size", dir: -1, doc: "", minSim: 0, minSize: 2, page: 0 };
  var view = null;  // the rows shown, in order, across pages

  var compare = {
    id: function (a, b) { return a.id - b.id; },
    size: function (a, b) { return a.size - b.size; },
    sim: function (a, b) { return (a.sim === null ? 2 : a.sim) - (b.sim === null ? 2 : b.sim); },
    doc: function (a, b) { return a.repDoc < b.repDoc ? -1 : a.repDoc > b.repDoc ? 1 : (num(a.rep.line) || 0) - (num(b.rep.line) || 0); },
  };

  function computeView() {
    var needle = state.doc.toLowerCase();
    var filtered = rows.filter(function (r) {
      if (r.size < state.minSize) return false;
      if (state.minSim > 0 && (r.sim === null || r.sim < state.minSim - 1e-9)) return false;
      if (needle) {
        if (r.docsKey === null) r.docsKey = r.docs.map(str).join("\n").toLowerCase();
        if (r.docsKey.indexOf(needle) < 0) return false;
      }
      return true;
    });
    var cmp = compare[state.sort], dir = state.dir;
    // Ties keep the report's order (size, then first appearance) whichever way a column sorts.
    filtered.sort(function (a, b) { return dir * cmp(a, b) || a.index - b.index; });
    view = filtered;
  }

  function snippet(text, width) {
    var line = str(text).replace(/\s+/g, " ").trim();
    if (line.length <= width) return line;
    var cut = width - 1;
    if (/[\ud800-\udbff]/.test(line.charAt(cut - 1))) cut--;  // never half a surrogate pair
    return line.slice(0, cut) + "\u2026";
  }

  function renderTable() {
    if (view === null) computeView();
    var pages = Math.max(1, Math.ceil(view.length / PAGE_SIZE));
    state.page = Math.max(0, Math.min(state.page, pages - 1));
    var first = state.page * PAGE_SIZE, shown = view.slice(first, first + PAGE_SIZE);
    var body = $("cluster-table").tBodies[0];
    if (!shown.length) {
      body.replaceChildren(h("tr", null, h("td", { colspan: 5, class: "empty" },
        rows.length ? "No cluster matches these filters." : "No duplicate paragraphs found.")));
    } else {
      body.replaceChildren.apply(body, shown.map(function (r) {
        var more = r.docs.length - 1;
        return h("tr", { "data-cluster": r.id, tabindex: 0 },
          h("td", { class: "num" }, h("a", { href: "#cluster-" + r.id }, "#" + r.id)),
          h("td", { class: "num" }, fmtInt(r.size)),
          h("td", { class: "num" }, fmtSim(r.sim)),
          h("td", { class: "docs" }, h("span", { class: "place" }, name(r.repDoc), ":" + str(r.rep.line)),
            more > 0 ? h("span", { class: "more" }, "+ " + plural(more, "more document", "more documents")) : null),
          h("td", { class: "snippet" }, h("bdi", null, snippet(r.rep.text, 160))));
      }));
    }
    $("shown").textContent = view.length === rows.length ? plural(rows.length, "cluster", "clusters")
      : fmtInt(view.length) + " of " + plural(rows.length, "cluster", "clusters");
    $("page-info").textContent = view.length ? "Rows " + fmtInt(first + 1) + "\u2013" + fmtInt(first + shown.length) + " of " + fmtInt(view.length) + " \u00b7 page " + fmtInt(state.page + 1) + " of " + fmtInt(pages) : "";
    $("prev-page").disabled = state.page === 0;
    $("next-page").disabled = state.page >= pages - 1;
    Array.prototype.forEach.call(document.querySelectorAll("#cluster-table th[data-sort]"), function (th) {
      th.setAttribute("aria-sort", th.getAttribute("data-sort") === state.sort ? (state.dir > 0 ? "ascending" : "descending") : "none");
    });
  }

  function refilter() { view = null; state.page = 0; renderTable(); }

  function setDocFilter(doc) {
    $("filter-doc").value = doc;
    state.doc = doc;
    refilter();
    $("clusters").scrollIntoView();
  }

  function bindTable() {
    var timer = null;
    $("filter-doc").addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { state.doc = $("filter-doc").value; refilter(); }, 120);
    });
    $("filter-sim").addEventListener("input", function () {
      state.minSim = Number($("filter-sim").value) || 0;
      $("filter-sim-value").textContent = state.minSim.toFixed(2);
      refilter();
    });
    $("filter-size").addEventListener("input", function () {
      var v = Math.floor(Number($("filter-size").value));
      state.minSize = isFinite(v) && v > 2 ? v : 2;
      refilter();
    });
    Array.prototype.forEach.call(document.querySelectorAll("#cluster-table th[data-sort] button"), function (button) {
      button.addEventListener("click", function () {
        var key = button.parentNode.getAttribute("data-sort");
        if (state.sort === key) state.dir = -state.dir;
        else { state.sort = key; state.dir = key === "doc" || key === "id" ? 1 : -1; }
        refilter();
      });
    });
    $("prev-page").addEventListener("click", function () { state.page--; renderTable(); });
    $("next-page").addEventListener("click", function () { state.page++; renderTable(); });
    var body = $("cluster-table").tBodies[0];
    function open(event) {
      var tr = event.target.closest("tr[data-cluster]");
      if (tr && !event.target.closest("a")) location.hash = "cluster-" + tr.getAttribute("data-cluster");
    }
    body.addEventListener("click", open);
    body.addEventListener("keydown", function (event) { if (event.key === "Enter") open(event); });
  }

  // ------------------------------------------------------------------------------------------
  // The cluster view: each member against the representative, word by word

  function words(text) { return str(text).split(/\s+/).filter(function (w) { return w.length; }); }

  // The longest common subsequence of two word lists, as runs of ["=", words], ["-", words]
  // (only in a) and ["+", words] (only in b); null when the table would be too large.
  function diffWords(a, b) {
    var pre = 0, suf = 0;
    while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
    while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
    var n = a.length - pre - suf, m = b.length - pre - suf;
    if (n * m > MAX_DIFF_CELLS) return null;
    var ids = new Map(), x = new Int32Array(n), y = new Int32Array(m);
    function id(w) { var v = ids.get(w); if (v === undefined) { v = ids.size; ids.set(w, v); } return v; }
    for (var i = 0; i < n; i++) x[i] = id(a[pre + i]);
    for (var j = 0; j < m; j++) y[j] = id(b[pre + j]);
    var W = m + 1, table = Math.min(n, m) < 65535 ? new Uint16Array((n + 1) * W) : new Uint32Array((n + 1) * W);
    for (i = n - 1; i >= 0; i--) {
      for (j = m - 1; j >= 0; j--) {
        var at = i * W + j;
        table[at] = x[i] === y[j] ? table[at + W + 1] + 1 : Math.max(table[at + W], table[at + 1]);
      }
    }
    var runs = [];
    function push(op, w) {
      var last = runs[runs.length - 1];
      if (last && last[0] === op) last[1].push(w); else runs.push([op, [w]]);
    }
    for (i = 0; i < pre; i++) push("=", a[i]);
    i = 0; j = 0;
    while (i < n && j < m) {
      if (x[i] === y[j]) { push("=", a[pre + i]); i++; j++; }
      else if (table[(i + 1) * W + j] >= table[i * W + j + 1]) { push("-", a[pre + i]); i++; }
      else { push("+", b[pre + j]); j++; }
    }
    for (; i < n; i++) push("-", a[pre + i]);
    for (; j < m; j++) push("+", b[pre + j]);
    for (i = a.length - suf; i < a.length; i++) push("=", a[i]);
    return runs;
  }

  function renderDiff(repText, text) {
    var runs = diffWords(words(repText), words(text));
    if (runs === null) {
      return h("div", { class: "text" }, h("p", { class: "note" }, "Too long for a word-by-word comparison; shown as it is."), h("bdi", null, str(text)));
    }
    var changed = runs.some(function (r) { return r[0] !== "="; });
    var box = h("div", { class: "text diff", "data-diff": "" }, changed ? null : h("p", { class: "note" }, "Same words as the representative."));
    var body = h("bdi", { class: "words" });
    runs.forEach(function (run, k) {
      if (k) body.append(" ");
      var t = run[1].join(" ");
      body.append(run[0] === "=" ? t : h(run[0] === "-" ? "del" : "ins",
        { title: run[0] === "-" ? "only in the representative" : "only in this paragraph" }, t));
    });
    box.append(body);
    return box;
  }

  function renderMember(m, k, rep) {
    var head = h("div", { class: "head" },
      h("span", { class: "badge" }, k === 0 ? "representative" : "member " + (k + 1)),
      where(m),
      h("span", { class: "score" }, "paragraph " + str(m.paragraph)));
    if (k > 0) {
      head.append(h("span", { class: "score" }, "Jaccard ", h("b", { "data-jaccard": "" }, fmtSim(m.jaccard))),
                  h("span", { class: "score" }, "containment ", h("b", null, fmtSim(m.containment))));
    }
    // Every verified pair whose other paragraph is outside this cluster: in another cluster (a
    // link to it) or in none (named only), so that no verified pair is hidden.
    var also = list(m.also).filter(function (x) { return x && typeof x === "object"; });
    if (also.length) {
      var box = h("span", { class: "also" }, "also matches");
      also.forEach(function (x, i) {
        var where = str(x.doc).split("/").pop() + ":" + str(x.line);
        var title = str(x.doc) + ":" + str(x.line) + ", Jaccard " + fmtSim(x.jaccard) + ", containment " + fmtSim(x.containment);
        var label = Number.isInteger(x.cluster)
          ? h("a", { href: "#cluster-" + x.cluster, "data-also": x.cluster, title: title }, "cluster " + x.cluster + ", " + where)
          : h("span", { title: title }, where + ", in no cluster");
        box.append(i ? "; " : " ", label, " (" + fmtSim(x.jaccard) + ")");
      });
      head.append(box);
    }
    return h("article", { class: "member" + (k === 0 ? " rep" : ""), "data-member": k }, head,
      k === 0 ? h("div", { class: "text" }, h("bdi", null, str(m.text))) : renderDiff(rep.text, m.text));
  }

  function renderCluster(id) {
    var box = $("cluster-view");
    var r = byId.get(id);
    if (view === null) computeView();
    var at = r ? view.indexOf(r) : -1;
    function step(delta, label) {
      var other = at >= 0 ? view[at + delta] : undefined;
      return other ? h("a", { class: "btn", href: "#cluster-" + other.id }, label) : h("button", { class: "btn", disabled: true }, label);
    }
    var nav = h("div", { class: "viewnav" }, h("a", { class: "btn", href: "#" }, "\u2190 All clusters"), h("span", { class: "spacer" }),
      step(-1, "\u2039 Previous"), step(1, "Next \u203a"));
    if (!r) { box.replaceChildren(nav, h("p", { class: "empty" }, "There is no cluster " + id + " in this report.")); return; }
    var members = list(r.c.members);
    box.replaceChildren();
    add(box, [nav,
      h("h2", null, "Cluster " + r.id),
      h("p", { class: "summary" }, plural(r.size, "paragraph", "paragraphs") + " in " + plural(r.docs.length, "document", "documents") +
        (r.sim === null ? "" : " \u00b7 lowest Jaccard " + fmtSim(r.sim))),
      h("p", { class: "legend" }, "Each member is compared word by word with the representative: ",
        h("del", null, "struck out"), " only in the representative, ", h("ins", null, "underlined"), " only in the member."),
      members.map(function (m, k) { return renderMember(m, k, members[0]); })]);
  }

  // ------------------------------------------------------------------------------------------
  // The reuse view: each reused paragraph beside its sources, a colour per source

  // Pieces of text between code point offsets (the report counts code points, JavaScript
  // strings count UTF-16 units).
  function cutter(text) {
    if (!/[\ud800-\udfff]/.test(text)) return { length: text.length, slice: function (a, b) { return text.slice(a, b); } };
    var cps = Array.from(text);
    return { length: cps.length, slice: function (a, b) { return cps.slice(a, b).join(""); } };
  }

  function highlighted(text, ranges) {
    var cut = cutter(text), points = [0, cut.length];
    ranges.forEach(function (rg) {
      rg.start = Math.max(0, Math.min(cut.length, rg.start));
      rg.end = Math.max(rg.start, Math.min(cut.length, rg.end));
      points.push(rg.start, rg.end);
    });
    points = Array.from(new Set(points)).sort(function (a, b) { return a - b; });
    var out = h("bdi", { class: "text" });
    for (var k = 0; k + 1 < points.length; k++) {
      var p = points[k], q = points[k + 1], piece = cut.slice(p, q), over = [];
      ranges.forEach(function (rg) { if (rg.start <= p && rg.end >= q && over.indexOf(rg.source) < 0) over.push(rg.source); });
      if (!over.length) { out.append(piece); continue; }
      over.sort(function (a, b) { return a - b; });
      out.append(h("mark", { class: "src" + (over[0] % COLOURS) + (over.length > 1 ? " multi" : ""), "data-source": over.join(" "),
                             title: "source " + over.map(function (o) { return o + 1; }).join(" and ") }, piece));
    }
    return out;
  }

  function renderReuseItem(link) {
    var sources = list(link.sources), base = num(link.start) || 0, ranges = [];
    sources.forEach(function (src, k) {
      list(src.spans).forEach(function (sp) {
        if (num(sp.start) !== null && num(sp.end) !== null) ranges.push({ start: sp.start - base, end: sp.end - base, source: k });
      });
    });
    var left = typeof link.text === "string" ? highlighted(link.text, ranges)
      : h("div", { class: "text" }, h("p", { class: "note" }, "The paragraph's text is not in this report."));
    var right = sources.map(function (src, k) {
      var colour = "src" + (k % COLOURS);
      return h("div", { class: "source", "data-source": k },
        h("div", { class: "shead" }, h("span", { class: "swatch " + colour }), h("span", { class: "where" }, name(src.doc)),
          h("span", { class: "score" }, range(src.lines, "line")),
          h("span", { class: "score" }, "covers ", h("b", null, fmtPct(src.coverage)), k ? ", adds " + fmtPct(src.added) : "")),
        list(src.spans).map(function (sp) {
          var label = range(sp.source_paragraphs, "paragraph") + (num(sp.words) !== null ? " \u00b7 " + plural(sp.words, "word", "words") : "");
          var body = typeof sp.source_text === "string" ? h("bdi", { class: "text" }, h("mark", { class: colour, "data-source": k }, sp.source_text))
            : h("p", { class: "note" }, "characters " + str(sp.source_start) + "\u2013" + str(sp.source_end));
          return h("div", { class: "span" }, h("div", { class: "where-in" }, label), body);
        }));
    });
    return h("article", { class: "reuse-item", "data-reuse": str(link.doc) + ":" + str(link.paragraph) },
      h("div", { class: "head" }, where(link), h("span", { class: "score" }, "paragraph " + str(link.paragraph)),
        h("span", { class: "score" }, h("b", null, fmtPct(link.coverage)), " of " + plural(num(link.words), "word", "words") + " reused from " +
          plural(sources.length, "source", "sources"))),
      h("div", { class: "reuse-grid" }, h("div", null, h("h4", null, "Reused paragraph"), left), h("div", null, h("h4", null, "Sources"), right)));
  }

  var reuseState = { doc: "", shown: 0, matches: null };

  function renderReuse(more) {
    var box = $("reuse-list");
    if (!more) {
      var needle = reuseState.doc.toLowerCase();
      reuseState.matches = reuse.filter(function (link) {
        if (!needle) return true;
        if (str(link.doc).toLowerCase().indexOf(needle) >= 0) return true;
        return list(link.sources).some(function (src) { return str(src.doc).toLowerCase().indexOf(needle) >= 0; });
      });
      reuseState.shown = 0;
      box.replaceChildren();
    }
    var next = reuseState.matches.slice(reuseState.shown, reuseState.shown + REUSE_BATCH);
    box.append.apply(box, next.map(renderReuseItem));
    reuseState.shown += next.length;
    var left = reuseState.matches.length - reuseState.shown;
    $("reuse-count").textContent = reuseState.matches.length === reuse.length ? plural(reuse.length, "reused paragraph", "reused paragraphs")
      : fmtInt(reuseState.matches.length) + " of " + plural(reuse.length, "reused paragraph", "reused paragraphs");
    $("reuse-more").hidden = left <= 0;
    $("reuse-more").textContent = "Show " + fmtInt(Math.min(left, REUSE_BATCH)) + " more";
    if (!reuseState.matches.length) box.append(h("p", { class: "empty" }, reuse.length ? "No reused paragraph matches this filter." : "No reused paragraphs found."));
  }

  function buildReuseView() {
    var timer = null;
    var filter = h("input", { type: "search", id: "reuse-doc", placeholder: "name contains\u2026" });
    filter.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { reuseState.doc = filter.value; renderReuse(false); }, 120);
    });
    var more = h("button", { class: "btn", id: "reuse-more", hidden: true });
    more.addEventListener("click", function () { renderReuse(true); });
    $("reuse-view").replaceChildren(
      h("h2", null, "Reused text"),
      h("p", { class: "summary" }, "Paragraphs whose words are found, in order, in earlier documents. Each source has its colour, on both sides."),
      h("div", { class: "filters" }, h("label", null, "Document", filter), h("span", { class: "shown", id: "reuse-count" })),
      h("div", { id: "reuse-list" }), more);
    renderReuse(false);
  }

  // ------------------------------------------------------------------------------------------
  // Views, by the URL's fragment: #cluster-N, #reuse, or the overview and table

  var listScroll = 0, current = "list", reuseBuilt = false;

  function route() {
    var match = /^#cluster-(\d+)$/.exec(location.hash);
    var next = match ? "cluster" : location.hash === "#reuse" && reuse ? "reuse" : "list";
    if (current === "list" && next !== "list") listScroll = window.scrollY;
    $("list-view").hidden = next !== "list";
    $("cluster-view").hidden = next !== "cluster";
    $("reuse-view").hidden = next !== "reuse";
    $("tab-clusters").setAttribute("aria-current", next === "reuse" ? "false" : "page");
    if (reuse) $("tab-reuse").setAttribute("aria-current", next === "reuse" ? "page" : "false");
    if (next === "cluster") { renderCluster(Number(match[1])); window.scrollTo(0, 0); }
    else if (next === "reuse") { if (!reuseBuilt) { buildReuseView(); reuseBuilt = true; } window.scrollTo(0, 0); }
    else if (current !== "list") window.scrollTo(0, listScroll);
    current = next;
  }

  function buildTabs() {
    var tabs = $("tabs");
    tabs.append(h("a", { href: "#", id: "tab-clusters" }, "Clusters (" + fmtInt(rows.length) + ")"));
    if (reuse) tabs.append(h("a", { href: "#reuse", id: "tab-reuse" }, "Reused text (" + fmtInt(reuse.length) + ")"));
  }

  renderHeader();
  buildTabs();
  bindTable();
  renderTable();
  performance.mark("dedup:table-rendered");
  renderOverview();
  window.addEventListener("hashchange", route);
  route();
})();
"""

_BODY = """<body>
<header>
<h1>dedup report <span class="version" id="version"></span></h1>
<dl class="meta" id="meta"></dl>
</header>
<nav id="tabs" aria-label="Views"></nav>
<main>
<noscript><p>This report is drawn by its script: allow JavaScript to see it.</p></noscript>
<div id="list-view">
<section id="overview">
<h2>Overview</h2>
<div class="counts" id="counts"></div>
<div class="notes" id="notes"></div>
<div class="charts"><figure id="similarity-chart"></figure><figure id="size-chart"></figure></div>
<div id="doc-shares"></div>
</section>
<section id="clusters">
<h2>Clusters</h2>
<div class="filters" role="search">
<label>Document <input type="search" id="filter-doc" placeholder="name contains&hellip;" autocomplete="off"></label>
<label>Lowest Jaccard at least <input type="range" id="filter-sim" min="0" max="1" step="0.01" value="0"><output id="filter-sim-value" for="filter-sim">0.00</output></label>
<label>Size at least <input type="number" id="filter-size" min="2" step="1" value="2"></label>
<span class="shown" id="shown"></span>
</div>
<table id="cluster-table">
<thead><tr>
<th class="num" data-sort="id"><button type="button">Cluster</button></th>
<th class="num" data-sort="size"><button type="button">Size</button></th>
<th class="num" data-sort="sim"><button type="button" title="The lowest Jaccard similarity of a member to the representative">Lowest Jaccard</button></th>
<th data-sort="doc"><button type="button" title="The representative's document and line">Document</button></th>
<th>Representative</th>
</tr></thead>
<tbody></tbody>
</table>
<div class="pager"><span id="page-info"></span><button type="button" class="btn" id="prev-page">&lsaquo; Previous</button><button type="button" class="btn" id="next-page">Next &rsaquo;</button></div>
</section>
</div>
<section id="cluster-view" hidden></section>
<section id="reuse-view" hidden></section>
</main>
"""


def _hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii") + "'"


# Nothing may be fetched: no network, no other file. Only this script and this style apply.
_POLICY = (
    f"default-src 'none'; script-src {_hash(_SCRIPT)}; style-src {_hash(_STYLE)}; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)

_HEAD = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="generator" content="dedup">
<title>dedup report</title>
<link rel="icon" href="data:,">
<style>{_STYLE}</style>
</head>
{_BODY}"""
