"""The HTML report (dedup/html.py): one self-contained page, tested as a file and in Chromium.

The browser tests open the page in Debian's headless ``chromium`` through ``chromedriver``
(selenium). Without them they are skipped, except in CI (``CI`` set), where ``.ci/run``
installs both and they must run. Screenshots go to ``DEDUP_SCREENSHOT_DIR`` when it is set.
"""

from __future__ import annotations

import base64
import glob
import hashlib
import io
import itertools
import json
import math
import os
import random
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dedup
from dedup.html import render
from dedup.pipeline import Config, Result, find_duplicates
from dedup.report import result_dict
from dedup.reuse import find_reuse

ROOT = Path(__file__).resolve().parent.parent
DATA = re.compile(r'<script type="application/json" id="dedup-data">(.*?)</script>', re.S)
# What JavaScript's \s matches: the page splits words with it.
JS_SPACE = re.compile("[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+")


# ---------------------------------------------------------------------------------------------
# Reports: the seeds with every optional key, a crafted chain for links between clusters,
# hostile names and texts, and a large generated one.


def seed_documents() -> dict[str, str]:
    """The seeds, named as ``dedup report seeds/`` names them (run from the project root)."""
    return {
        os.path.relpath(path, ROOT): Path(path).read_text(encoding="utf-8-sig")
        for path in sorted(glob.glob(str(ROOT / "seeds" / "*.txt")))
    }


def full_report(documents: dict[str, str], config: Config | None = None, inputs: list[str] | None = None) -> dict[str, Any]:
    """The report of ``documents`` as ``dedup report --format html`` hands it to the page: the
    JSON report with every pair (``pairs``), each member's other clusters (``also``) and the
    reused paragraphs with their texts on both sides (``reuse``), and the version, inputs and
    timings."""
    result: Result = find_duplicates(documents, config or Config(reuse=True), keep_pairs=True)
    report = result_dict(result)
    report["version"] = dedup.__version__
    report["inputs"] = inputs if inputs is not None else sorted({os.path.dirname(name) + "/" for name in documents})
    report["timings"] = {stage: round(seconds, 6) for stage, seconds in result.timings.items()}
    return report


def where(member: dict[str, Any]) -> dict[str, Any]:
    return {"doc": member["doc"], "paragraph": member["paragraph"], "line": member["line"]}


def chain_documents() -> dict[str, str]:
    """A drifts to B, B to C, and D copies C: B joins A's cluster, C and D make one of their
    own, and B also matches C and D across the two clusters (A and C are too far apart)."""
    words = "the river rose slowly over the old stone bridge while people in the town square watched boats drift past the mill and church towers at dawn".split()
    return {
        "chain/a.txt": " ".join(words[0:20]),
        "chain/b.txt": " ".join(words[5:25]),
        "chain/c.txt": " ".join(words[10:30]),
        "chain/d.txt": " ".join(words[10:30]) + " today",
    }


HOSTILE = [
    "<script>window.__pwned = 1</script>",
    "</script><script>window.__pwned = 2; alert(2)</script>",
    '</textarea><img src=x onerror="window.__pwned = 3; alert(3)">',
    "<svg onload=window.__pwned=4>",
    "<!-- an open comment, --> a closed one, <!--",
    "\"double\" 'single' `back` quotes",
    "a line\u2028separator and a paragraph\u2029separator",
    "\u202eright-to-left override\u202c \u2067isolate\u2069 \u200fmark",
    "zero\u200bwidth, emoji \U0001f469\u200d\U0001f469\u200d\U0001f467 and \U0001d518\U0001d52b\U0001d526",
    "&lt;not an entity&gt; &amp; &#60;",
    "javascript:window.__pwned=5",
]


def hostile_documents() -> dict[str, str]:
    """Two documents whose names and repeated paragraphs are each of :data:`HOSTILE`."""
    docs = {}
    for k, (first, second) in enumerate(zip(HOSTILE, HOSTILE[1:] + HOSTILE[:1])):
        paragraphs = [f"Paragraph {k} quotes {bad} among the ordinary words that make it long enough to match" for bad in HOSTILE]
        docs[f"{first} {k}"] = "\n\n".join(paragraphs[k:] + paragraphs[:k])
        docs[f"{second}.txt"] = "\n\n".join(paragraphs)
    return docs


def large_report(clusters: int, seed: int = 7) -> dict[str, Any]:
    """A generated report of ``clusters`` clusters of 2 to 6 members, each of 40 words."""
    rng = random.Random(seed)
    vocabulary = [f"{rng.choice('bcdfghklmnprstvw')}{rng.choice('aeiou')}{rng.choice('lmnrst')}{rng.choice('aeiouy')}{k}" for k in range(800)]
    found = []
    for _ in range(clusters):
        size = 2 + (rng.random() < 0.35) + (rng.random() < 0.15) + 2 * (rng.random() < 0.05)
        base = [rng.choice(vocabulary) for _ in range(40)]
        members = []
        for k in range(size):
            words = list(base)
            if k:
                for _ in range(rng.randrange(0, 8)):
                    words[rng.randrange(len(words))] = rng.choice(vocabulary)
            text = " ".join(words)
            line = rng.randrange(1, 5000)
            members.append({
                "doc": f"corpus/part-{rng.randrange(400):03d}/doc-{rng.randrange(10**6):06d}.txt", "paragraph": line, "line": line,
                "start": 0, "end": len(text), "text": text,
                "jaccard": 1.0 if k == 0 else round(rng.uniform(0.4, 1.0), 6), "containment": 1.0 if k == 0 else round(rng.uniform(0.6, 1.0), 6),
            })
        found.append(members)
    found.sort(key=len, reverse=True)
    rows = [
        {"id": k, "size": len(members), "documents": list(dict.fromkeys(m["doc"] for m in members)), "members": members}
        for k, members in enumerate(found, start=1)
    ]
    duplicates = sum(len(m) - 1 for m in found)
    per_document: dict[str, dict[str, Any]] = {}
    for members in found:
        for k, m in enumerate(members):
            row = per_document.setdefault(m["doc"], {"paragraphs": rng.randrange(5, 50), "duplicates": 0})
            row["duplicates"] += k > 0
    for row in per_document.values():
        row["paragraphs"] += row["duplicates"]
        row["duplicate_share"] = round(row["duplicates"] / row["paragraphs"], 4)
    return {
        "clusters": rows,
        "stats": {"documents": 400_000, "paragraphs": 4_000_000, "clusters": clusters, "duplicate_paragraphs": duplicates, "per_document": per_document},
        "params": {"threshold": 0.4, "shingle": "word:3", "num_perm": 128, "seed": 1, "bands": 31, "rows": 3, "min_words": 0, "scope": "all"},
        "version": dedup.__version__,
        "inputs": ["corpus/"],
    }


def page(report: dict[str, Any]) -> str:
    out = io.StringIO()
    render(report, out)
    return out.getvalue()


def embedded(html: str) -> str:
    match = DATA.search(html)
    assert match is not None
    return match.group(1)


def saved_bytes(report: dict[str, Any]) -> int:
    return sum(len(m["text"].encode("utf-8", "surrogatepass")) for c in report["clusters"] for m in c["members"][1:])


@pytest.fixture(scope="module")
def seeds_report() -> dict[str, Any]:
    return full_report(seed_documents())


# ---------------------------------------------------------------------------------------------
# The file


def test_the_data_reads_back_as_the_report(seeds_report: dict[str, Any]) -> None:
    assert json.loads(embedded(page(seeds_report))) == seeds_report


def test_no_text_can_end_the_data_element_or_open_markup_in_it() -> None:
    report = full_report(hostile_documents(), inputs=HOSTILE)
    html = page(report)
    data = embedded(html)
    assert json.loads(data) == report
    for unsafe in "<>&\u2028\u2029":
        assert unsafe not in data
    # The data element is the page's only one with these texts: none of them became markup.
    assert html.count("<script") == 2 and html.count("</script>") == 2
    assert "<!--" not in html and "<img" not in html and "<svg" not in html


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(st.characters(codec=None)), min_size=1, max_size=4))
def test_any_text_round_trips_and_stays_inside_the_element(texts: list[str]) -> None:
    report = {"clusters": [{"id": 1, "size": 2, "documents": texts, "members": [{"doc": t, "text": t} for t in texts]}], "inputs": texts}
    data = embedded(page(report))
    assert json.loads(data) == report
    assert not re.search("[<>&\u2028\u2029\ud800-\udfff]", data)


@pytest.mark.parametrize("encoding", [pytest.param("utf-8", id="utf-8"), pytest.param("latin-1", id="latin-1"), pytest.param("ascii", id="ascii")])
def test_a_stream_of_any_encoding_gets_a_page_it_can_hold(encoding: str) -> None:
    report = full_report(hostile_documents(), inputs=HOSTILE)
    raw = io.BytesIO()
    with io.TextIOWrapper(raw, encoding=encoding, newline="") as out:
        render(report, out)
        out.flush()
        html = raw.getvalue().decode(encoding)
    assert json.loads(embedded(html)) == report
    if encoding != "utf-8":
        assert html.isascii()


def test_the_page_loads_nothing_from_anywhere(seeds_report: dict[str, Any]) -> None:
    html = page(seeds_report)
    outside = html.replace(embedded(html), "")
    # The only URLs: in-page fragments, the empty data: icon, and the SVG namespace (a name,
    # never fetched).
    for attribute in re.findall(r'\b(?:src|href|action|srcset|poster|data)\s*=\s*"([^"]*)"', outside):
        assert attribute.startswith("#") or attribute == "data:,", attribute
    assert re.findall(r"https?://[^\s\"']*", outside) == ["http://www.w3.org/2000/svg"]
    assert not re.search(r"@import|url\(|<link(?![^>]*rel=\"icon\" href=\"data:,\")|<iframe|<object|<embed|fetch\(|XMLHttpRequest|WebSocket|import\(", outside)
    assert "<script src" not in outside


def test_the_policy_admits_the_pages_own_script_and_style_only(seeds_report: dict[str, Any]) -> None:
    html = page(seeds_report)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html)
    assert policy is not None
    directives = dict(d.strip().split(" ", 1) for d in policy.group(1).split(";"))
    assert directives["default-src"] == "'none'"

    def digest(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert len(scripts) == 1 and len(styles) == 1
    assert directives["script-src"] == digest(scripts[0])
    assert directives["style-src"] == digest(styles[0])


def test_the_pages_own_text_is_ascii_and_its_script_never_closes_early() -> None:
    html = page({"clusters": []})
    assert html.isascii()
    (script,) = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert "</" not in script and "<!--" not in script


def test_what_is_not_a_report_is_refused() -> None:
    with pytest.raises(TypeError, match="mapping"):
        page([])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="keys must be strings"):
        page({1: []})  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        page({"clusters": [], "stats": {"x": math.nan}})


def test_the_fixtures_hold_what_the_browser_tests_look_for(seeds_report: dict[str, Any]) -> None:
    """The seeds have reuse across documents; the chain has links between clusters."""
    assert len(seeds_report["reuse"]) >= 5
    assert {s["doc"] for link in seeds_report["reuse"] for s in link["sources"]} >= {"seeds/001_e804c163b52665c0.txt", "seeds/003_2475bc7a0b5db3b5.txt"}
    chain = full_report(chain_documents())
    assert [[m["doc"] for m in c["members"]] for c in chain["clusters"]] == [["chain/a.txt", "chain/b.txt"], ["chain/c.txt", "chain/d.txt"]]
    b = chain["clusters"][0]["members"][1]
    assert [x["cluster"] for x in b["also"]] == [2, 2]


# ---------------------------------------------------------------------------------------------
# In the browser

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
]


def missing_browser() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"{path} is missing (apt-get install {package})"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = missing_browser()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}; CI must install it for the HTML report's browser tests", pytrace=False)
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="dedup-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An alert stays open, so that the tests can see that none was.
    options.unhandled_prompt_behavior = "ignore"
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = os.environ.get("DEDUP_SCREENSHOT_DIR")
    path = Path(directory) if directory else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


class Page:
    """The report open in the browser, with the checks every test makes."""

    def __init__(self, driver: Any, path: Path) -> None:
        self.driver = driver
        self.url = path.as_uri()

    def open(self, fragment: str = "") -> Page:
        self.driver.get("about:blank")
        self.driver.get(self.url + fragment)
        return self

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def css(self, selector: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def text(self, selector: str) -> list[str]:
        return self.js("return Array.from(document.querySelectorAll(arguments[0]), e => e.textContent)", selector)

    def go(self, fragment: str) -> None:
        self.js("location.hash = arguments[0]", fragment)

    def set_input(self, selector: str, value: str) -> None:
        self.js(
            "const el = document.querySelector(arguments[0]); el.value = arguments[1]; el.dispatchEvent(new Event('input', {bubbles: true}))",
            selector,
            value,
        )

    def wait(self, script: str, timeout: float = 5.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.js(script)
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.05)

    def errors(self) -> list[dict[str, Any]]:
        return [entry for entry in self.driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]

    def assert_clean(self) -> None:
        """No console error or warning, no alert open, nothing from the data ran."""
        from selenium.common.exceptions import NoAlertPresentException

        with pytest.raises(NoAlertPresentException):
            self.driver.switch_to.alert.text  # noqa: B018
        assert self.js("return typeof window.__pwned") == "undefined"
        assert self.errors() == []

    def screenshot(self, path: Path) -> None:
        # The whole page, up to a limit: the window's height is the page's plus its own frame.
        height, frame = self.js("return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight]")
        self.driver.set_window_size(1280, min(max(height, 800), 3000) + frame)
        self.driver.save_screenshot(str(path))
        self.driver.set_window_size(1280, 1000)
        assert path.stat().st_size > 10_000


def open_report(browser: Any, tmp_path: Path, report: dict[str, Any], fragment: str = "") -> Page:
    path = tmp_path / "report.html"
    with open(path, "w", encoding="utf-8", newline="") as out:
        render(report, out)
    browser.get_log("browser")  # what earlier tests left
    return Page(browser, path).open(fragment)


def test_the_seeds_report_in_the_browser(browser: Any, tmp_path: Path, seeds_report: dict[str, Any], screenshots: Path) -> None:
    p = open_report(browser, tmp_path, seeds_report)
    stats = seeds_report["stats"]
    # Header: version, inputs, every setting and stage.
    assert p.text("#version") == [f"dedup {dedup.__version__}"]
    assert p.text("[data-meta=inputs] bdi") == ["seeds/"]
    assert p.text("[data-param=threshold] b") == ["0.4"]
    assert set(p.js("return Array.from(document.querySelectorAll('[data-param]'), e => e.dataset.param)")) == set(seeds_report["params"])
    assert set(p.js("return Array.from(document.querySelectorAll('[data-stage]'), e => e.dataset.stage)")) == {*seeds_report["timings"], "total"}
    # Overview: the counts are the report's, and the bytes saved are the duplicates' UTF-8.
    counts = dict(p.js("return Array.from(document.querySelectorAll('[data-stat]'), e => [e.dataset.stat, Number(e.dataset.value)])"))
    assert counts == {
        "clusters": stats["clusters"],
        "duplicate_paragraphs": stats["duplicate_paragraphs"],
        "documents": stats["documents"],
        "paragraphs": stats["paragraphs"],
        "saved_bytes": saved_bytes(seeds_report),
    }
    assert p.text("[data-stat=clusters] .value") == ["25"]
    # Histograms: every pair and every cluster counted once, the threshold marked.
    similarity = p.js("return Array.from(document.querySelectorAll('#similarity-chart rect'), r => Number(r.dataset.count))")
    assert len(similarity) == 20 and sum(similarity) == len(seeds_report["pairs"])
    assert sum(similarity[:8]) == 0  # nothing below the threshold of 0.4
    assert p.js("return document.querySelector('#similarity-chart .marker').dataset.marker") == "0.4"
    sizes = p.js("return Array.from(document.querySelectorAll('#size-chart rect'), r => [r.dataset.bin, Number(r.dataset.count)])")
    expected_sizes = {str(n): sum(c["size"] == n for c in seeds_report["clusters"]) for n in range(2, max(c["size"] for c in seeds_report["clusters"]) + 1)}
    assert dict(sizes) == expected_sizes
    assert p.text("#doc-table bdi") == top_documents(stats["per_document"])
    # The table: every cluster (25 fit on the first page), in the report's order.
    ids = p.js("return Array.from(document.querySelectorAll('#cluster-table tbody tr'), r => Number(r.dataset.cluster))")
    assert ids == [c["id"] for c in seeds_report["clusters"]]
    p.assert_clean()
    p.screenshot(screenshots / "overview.png")

    # A row opens its cluster: representative, members with their places and scores, and diffs.
    p.css("#cluster-table tbody tr[data-cluster='1'] td.snippet")[0].click()
    assert p.wait("return location.hash === '#cluster-1' && !document.getElementById('cluster-view').hidden")
    cluster = seeds_report["clusters"][0]
    assert p.js("return document.getElementById('list-view').hidden")
    assert p.text("#cluster-view h2") == ["Cluster 1"]
    shown = p.text("#cluster-view article.member .where")
    assert shown == [f"{m['doc']}:{m['line']}" for m in cluster["members"]]
    assert p.text("#cluster-view [data-jaccard]") == [f"{m['jaccard']:.2f}" for m in cluster["members"][1:]]
    assert p.text("#cluster-view article[data-member='0'] .text bdi") == [cluster["members"][0]["text"]]
    assert p.text("article[data-member='1'] ins") == ["also", "a murder"]  # "Soldiers are also on standby ... a murder charge"
    assert p.text("article[data-member='1'] del")[-2:] == ["the", "Picture: Getty"]
    check_diffs(p, cluster)
    p.assert_clean()
    p.screenshot(screenshots / "cluster.png")

    # Back to the table, then straight to a cluster by its URL.
    p.css(".viewnav a[href='#']")[0].click()
    assert p.wait("return !document.getElementById('list-view').hidden")
    p.open("#cluster-16")
    assert p.text("#cluster-view h2") == ["Cluster 16"]
    check_diffs(p, next(c for c in seeds_report["clusters"] if c["id"] == 16))
    p.assert_clean()


def top_documents(per_document: dict[str, dict[str, Any]]) -> list[str]:
    """The ten documents with the most duplicate paragraphs (by name among equals)."""
    return sorted((d for d, row in per_document.items() if row["duplicates"]), key=lambda d: (-per_document[d]["duplicates"], d))[:10]


def words(text: str) -> list[str]:
    return [w for w in JS_SPACE.split(text) if w]


def lcs_length(a: list[str], b: list[str]) -> int:
    row = [0] * (len(b) + 1)
    for x in a:
        previous_diagonal = 0
        for j, y in enumerate(b, start=1):
            previous_diagonal, row[j] = row[j], previous_diagonal + 1 if x == y else max(row[j], row[j - 1])
    return row[-1]


def check_diffs(p: Page, cluster: dict[str, Any]) -> None:
    """Each member's diff against the representative is a longest common subsequence of their
    words: its common and inserted words are the member's, its common and deleted words the
    representative's, and the common words are as many as an LCS has."""
    runs = p.js(
        """return Array.from(document.querySelectorAll('#cluster-view article.member'), a => {
             const box = a.querySelector('.words');
             return box ? Array.from(box.childNodes, n => [n.nodeName, n.textContent]) : null; })"""
    )
    rep = words(cluster["members"][0]["text"])
    assert runs[0] is None
    for member, pieces in zip(cluster["members"][1:], runs[1:]):
        mine = words(member["text"])
        kept = [w for kind, text in pieces if kind == "#text" for w in words(text)]
        assert [w for kind, text in pieces if kind != "DEL" for w in words(text)] == mine
        assert [w for kind, text in pieces if kind != "INS" for w in words(text)] == rep
        assert len(kept) == lcs_length(rep, mine)


def test_links_to_the_other_clusters_a_member_matches(browser: Any, tmp_path: Path) -> None:
    report = full_report(chain_documents())
    p = open_report(browser, tmp_path, report, "#cluster-1")
    assert p.text("article[data-member='1'] [data-also]") == ["cluster 2, c.txt:1", "cluster 2, d.txt:1"]
    p.css("article[data-member='1'] [data-also]")[0].click()
    assert p.wait("return location.hash === '#cluster-2'")
    assert p.text("#cluster-view .where") == ["chain/c.txt:1", "chain/d.txt:1"]
    assert p.text("article[data-member='0'] [data-also]") == ["cluster 1, b.txt:1"]
    p.assert_clean()


def test_a_match_with_a_paragraph_in_no_cluster_is_shown_too(browser: Any, tmp_path: Path) -> None:
    # Without d, c joins nobody: b's match with c must still be on the page, named.
    documents = {name: text for name, text in chain_documents().items() if name != "chain/d.txt"}
    report = full_report(documents)
    p = open_report(browser, tmp_path, report, "#cluster-1")
    assert p.text("article[data-member='1'] .also span[title]") == ["c.txt:1, in no cluster"]
    p.assert_clean()


def two_source_documents() -> dict[str, str]:
    """A paragraph made of a sentence from each of two earlier documents."""
    soldiers = "Soldiers are on standby for armed police after scores of officers stood down from firearms duties this week."
    crisis = "The crisis has emerged after a police officer was charged with murder over the fatal shooting in south London last year."
    return {
        "wire/soldiers.txt": soldiers,
        "agency/crisis.txt": "Other news first.\n\n" + crisis,
        "paper/today.txt": f"Our reporter writes: {soldiers} {crisis} More to follow.",
    }


def check_reuse(p: Page, reuse: list[dict[str, Any]]) -> None:
    """Each reused paragraph is shown whole, each source with its spans' text, and the text a
    source's spans cover in the paragraph is marked in that source's colour, one per source."""
    p.css("#tab-reuse")[0].click()
    assert p.wait("return !document.getElementById('reuse-view').hidden")
    items = p.js(
        """return Array.from(document.querySelectorAll('.reuse-item'), item => {
             const colour = e => getComputedStyle(e).backgroundColor;
             const left = item.querySelector('.reuse-grid > div:first-child');
             return {
               text: left.querySelector('bdi.text').textContent,
               marks: Array.from(left.querySelectorAll('mark'), m => [m.dataset.source.split(' ').map(Number), m.textContent, colour(m)]),
               sources: Array.from(item.querySelectorAll('.source'), s => ({
                 doc: s.querySelector('.where').textContent, swatch: colour(s.querySelector('.swatch')),
                 spans: Array.from(s.querySelectorAll('mark'), m => [m.textContent, colour(m)]) })) };
           })"""
    )
    assert len(items) == min(len(reuse), 25)
    for link, item in zip(reuse, items):
        assert item["text"] == link["text"]
        swatches = [source["swatch"] for source in item["sources"]]
        assert len(set(swatches)) == len(swatches) == len(link["sources"])
        for k, (source, shown) in enumerate(zip(link["sources"], item["sources"])):
            assert shown["doc"] == source["doc"]
            assert [text for text, _ in shown["spans"]] == [span["source_text"] for span in source["spans"]]
            assert {colour for _, colour in shown["spans"]} == {shown["swatch"]}
            covered: set[int] = set()
            for span in source["spans"]:
                covered.update(range(span["start"] - link["start"], span["end"] - link["start"]))
            marked = [text for sources, text, _ in item["marks"] if k in sources]
            assert sum(len(text) for text in marked) == len(covered)
            # Text marked for this source alone is in its colour.
            assert {colour for sources, _, colour in item["marks"] if sources == [k]} <= {shown["swatch"]}
    p.assert_clean()


def test_the_reuse_view_colours_each_source_alike_on_both_sides(browser: Any, tmp_path: Path, seeds_report: dict[str, Any], screenshots: Path) -> None:
    p = open_report(browser, tmp_path, seeds_report)
    check_reuse(p, seeds_report["reuse"])
    p.screenshot(screenshots / "reuse.png")
    report = full_report(two_source_documents())
    assert [len(link["sources"]) for link in report["reuse"]] == [2]
    p = open_report(browser, tmp_path, report)
    check_reuse(p, report["reuse"])
    p.screenshot(screenshots / "reuse-two-sources.png")


def test_filters_sorting_and_pages(browser: Any, tmp_path: Path) -> None:
    report = large_report(400, seed=3)
    p = open_report(browser, tmp_path, report)

    def table() -> list[dict[str, Any]]:
        return p.js(
            """return Array.from(document.querySelectorAll('#cluster-table tbody tr[data-cluster]'), r => {
                 const c = r.querySelectorAll('td');
                 return {id: Number(r.dataset.cluster), size: Number(c[1].textContent), sim: Number(c[2].textContent)}; })"""
        )

    clusters = {c["id"]: c for c in report["clusters"]}
    assert [r["id"] for r in table()] == list(range(1, 51))
    assert p.text("#page-info") == ["Rows 1\u201350 of 400 \u00b7 page 1 of 8"]
    p.css("#next-page")[0].click()
    assert [r["id"] for r in table()] == list(range(51, 101))

    p.css("th[data-sort='sim'] button")[0].click()  # lowest Jaccard, highest first
    sims = [r["sim"] for r in table()]
    assert len(sims) == 50 and sims == sorted(sims, reverse=True)
    assert p.js("return document.querySelector(\"th[data-sort='sim']\").getAttribute('aria-sort')") == "descending"
    p.css("th[data-sort='sim'] button")[0].click()
    assert [r["sim"] for r in table()] == sorted(r["sim"] for r in table())

    p.css("th[data-sort='doc'] button")[0].click()
    firsts = [clusters[r["id"]]["members"][0]["doc"] for r in table()]
    assert firsts == sorted(firsts) and firsts[0] == min(c["members"][0]["doc"] for c in report["clusters"])

    p.set_input("#filter-size", "4")
    assert all(r["size"] >= 4 for r in table())
    assert p.text("#shown") == [f"{sum(c['size'] >= 4 for c in report['clusters'])} of 400 clusters"]
    p.set_input("#filter-size", "2")
    p.set_input("#filter-sim", "0.9")
    expected = sum(min(m["jaccard"] for m in c["members"][1:]) >= 0.9 for c in report["clusters"])
    assert p.text("#shown") == [f"{expected} of 400 clusters"]
    p.set_input("#filter-sim", "0")

    needle = "PART-017/"  # case does not matter
    p.set_input("#filter-doc", needle)
    expected = sorted(c["id"] for c in report["clusters"] if any(needle.lower() in d.lower() for d in c["documents"]))
    assert p.wait(f"return document.getElementById('shown').textContent === '{len(expected)} of 400 clusters'")
    assert sorted(r["id"] for r in table()) == expected

    # Next and previous in the cluster view follow the table's order.
    first, second = table()[0]["id"], table()[1]["id"]
    p.go(f"cluster-{first}")
    p.css(".viewnav a.btn:last-child")[0].click()
    assert p.wait(f"return location.hash === '#cluster-{second}'")
    p.go("cluster-99999")
    assert p.text("#cluster-view .empty") == ["There is no cluster 99999 in this report."]
    p.assert_clean()


def test_10000_clusters_open_in_under_2_seconds(browser: Any, tmp_path: Path) -> None:
    report = large_report(10_000)
    path = tmp_path / "large.html"
    with open(path, "w", encoding="utf-8", newline="") as out:
        render(report, out)
    browser.get_log("browser")
    p = Page(browser, path)
    browser.get("about:blank")
    start = time.perf_counter()
    browser.get(p.url)  # returns once the page has loaded: its script has run
    loaded = time.perf_counter() - start
    # Milliseconds from the navigation's start to the table's first rows in the DOM.
    rendered = p.js("return performance.getEntriesByName('dedup:table-rendered')[0].startTime")
    print(f"\n10,000 clusters ({path.stat().st_size / 1e6:.1f} MB): table rows in the DOM after {rendered:.0f} ms, page loaded in {loaded * 1000:.0f} ms")
    assert len(p.css("#cluster-table tbody tr[data-cluster]")) == 50
    assert rendered < 2000
    assert loaded < 4
    counts = dict(p.js("return Array.from(document.querySelectorAll('[data-stat]'), e => [e.dataset.stat, Number(e.dataset.value)])"))
    assert counts["clusters"] == 10_000 and counts["saved_bytes"] == saved_bytes(report)
    assert p.text("#doc-table bdi") == top_documents(report["stats"]["per_document"])
    p.assert_clean()


def test_hostile_names_and_texts_are_shown_as_text_and_never_run(browser: Any, tmp_path: Path, screenshots: Path) -> None:
    documents = hostile_documents()
    report = full_report(documents, inputs=HOSTILE)
    assert {bad for bad in HOSTILE for c in report["clusters"] for m in c["members"] if bad in m["text"]} == set(HOSTILE)
    assert report["reuse"]
    p = open_report(browser, tmp_path, report)
    p.assert_clean()
    assert p.text("[data-meta=inputs] bdi") == HOSTILE
    assert p.text("#cluster-table td.docs bdi.doc") == [c["members"][0]["doc"] for c in report["clusters"]]
    assert p.text("#doc-table bdi") == top_documents(report["stats"]["per_document"])
    # The representatives' texts on one line: runs of white space (U+2028 and U+2029 too) as one space.
    lines = [" ".join(words(c["members"][0]["text"])) for c in report["clusters"]]
    assert p.text("#cluster-table td.snippet") == [line if len(line) <= 160 else line[:159] + "\u2026" for line in lines]
    shown_names: set[str] = set()
    for cluster in report["clusters"]:
        p.go(f"cluster-{cluster['id']}")
        assert p.wait(f"return document.querySelector('#cluster-view h2')?.textContent === 'Cluster {cluster['id']}'")
        assert p.text("#cluster-view .where .doc") == [m["doc"] for m in cluster["members"]]
        assert p.text("article[data-member='0'] .text bdi") == [cluster["members"][0]["text"]]
        check_diffs(p, cluster)
        shown_names.update(p.text("#cluster-view .where .doc"))
    assert shown_names == set(documents)
    p.go("reuse")
    assert p.wait("return !document.getElementById('reuse-view').hidden")
    texts = p.text(".reuse-item .reuse-grid > div:first-child bdi.text")
    assert texts == [link["text"] for link in report["reuse"]][:25]
    source_texts = p.text(".reuse-item .source mark")
    assert source_texts == [span["source_text"] for link in report["reuse"][:25] for s in link["sources"] for span in s["spans"]]
    p.assert_clean()
    p.go("")
    p.screenshot(screenshots / "hostile.png")
    p.assert_clean()


def test_a_report_without_the_optional_keys_or_any_cluster(browser: Any, tmp_path: Path) -> None:
    report = result_dict(find_duplicates({"a": "Nothing repeats here.", "b": "Nor does it here, at all."}))
    p = open_report(browser, tmp_path, report)
    assert p.text("#cluster-table tbody td.empty") == ["No duplicate paragraphs found."]
    assert p.css("#tab-reuse") == []
    assert p.text("#version") == [""]
    counts = dict(p.js("return Array.from(document.querySelectorAll('[data-stat]'), e => [e.dataset.stat, Number(e.dataset.value)])"))
    assert counts == {"clusters": 0, "duplicate_paragraphs": 0, "documents": 2, "paragraphs": 2, "saved_bytes": 0}
    p.assert_clean()
