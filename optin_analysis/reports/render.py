"""Render outgoing-report notebooks to self-contained HTML that opens offline.

How the pieces fit (SPEC section 6: "Reports open offline", aggregated charts only):

* ``use_offline_charts()`` (first code cell of an outgoing-report notebook) enables an
  Altair renderer whose output per chart is only ``<div class="chart" id=...>`` plus a
  short ``<script>`` calling ``vegaEmbed``. The Vega / Vega-Lite / vega-embed JavaScript
  (``vl_convert.javascript_bundle()``, ~0.9 MB) is *not* repeated per chart:
  ``notebook_to_html`` puts it once in the page ``<head>`` through the ``offline``
  nbconvert template.
* For live JupyterLab the same call also displays the bundle once, as a "live-only"
  output that ``notebook_to_html`` drops. JupyterLab prefers ``text/html`` (rank 50) over
  any Vega-Lite mimetype (rank 57), so the chart HTML has to work by itself there; it does
  once the bundle output has run. Limitation: after reopening a saved notebook the
  charts only redraw if the notebook is trusted (JupyterLab runs no scripts otherwise).
* ``chart_block()`` wraps a chart in ``<figure>`` with a caption and the same figures
  as a table, and refuses patient-level data.
* ``notebook_to_html()`` drops code, prompts, stderr and live-only outputs, refuses
  error / widget / refused-chart outputs, and refuses to return HTML that would load
  anything (script, stylesheet, image, font) from outside the file.
* ``write_html_atomically()`` never leaves a half-written report behind.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import html as html_lib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import altair as alt
import nbformat
import pandas as pd

__all__ = [
    "EMBED_OPTIONS",
    "MAX_CHART_ROWS",
    "PATIENT_LEVEL_COLUMNS",
    "RENDERER_NAME",
    "chart_block",
    "find_external_resources",
    "notebook_to_html",
    "use_offline_charts",
    "vega_bundle",
    "write_html_atomically",
]

RENDERER_NAME = "optin_offline"
#: Set in the kernels of batch runs, whose notebooks are only exported (never viewed live).
BATCH_ENV = "OPTIN_ANALYSIS_BATCH"
#: Passed to ``vegaEmbed``: no action menu (no "open in editor" link), SVG output.
EMBED_OPTIONS: dict[str, Any] = {"actions": False, "renderer": "svg"}
#: Outgoing charts are drawn from aggregated tables; more rows than this is refused.
MAX_CHART_ROWS = 500
#: Column names (normalised: lower case, non-alphanumerics as "_") never allowed in a
#: chart or table that leaves the practice.
PATIENT_LEVEL_COLUMNS = frozenset({"patient_id", "nhs_number", "date_of_birth"})

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "offline"

_BUNDLE_MARK = 'data-optin-role="vega-bundle"'
_CHART_MARK = "data-optin-chart"
_REFUSED_MARK = "data-optin-refused"
_VEGA_MIME = re.compile(r"^application/vnd\.vega(lite)?\.v\d+[.+]json$")
# Any absolute URL to a .js file, or a CDN host, inside an HTML output (e.g. Altair's
# default "html" renderer loads Vega from jsdelivr at run time).
_REMOTE_JS = re.compile(r"(?:https?:)?//[^\s\"'<>]+?\.m?js\b|cdn\.jsdelivr\.net|unpkg\.com", re.I)

# ---------------------------------------------------------------------------
# Vega JavaScript bundle
# ---------------------------------------------------------------------------


@functools.cache
def vega_bundle() -> str:
    """Vega + Vega-Lite + vega-embed as one script defining ``window.vegaEmbed``.

    Wrapped in a function so the bundle's top-level names stay out of the page's global
    scope, and guarded so running it twice (re-run cell in JupyterLab) is harmless.
    Built by vl-convert for the Vega-Lite version Altair targets (~1 s, then cached).
    """
    import vl_convert as vlc

    wanted = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    kwargs = {"vl_version": wanted} if wanted in vlc.get_vegalite_versions() else {}
    js = vlc.javascript_bundle(**kwargs)
    if "</script" in js.lower():  # would end the inline <script> early
        raise RuntimeError("vl_convert bundle contains '</script'; cannot inline it")
    return "(function () {\nif (window.vegaEmbed) { return; }\n" + js + "\n}).call(window);"


def _bundle_script() -> str:
    return f"<script {_BUNDLE_MARK}>\n{vega_bundle()}\n</script>"


# ---------------------------------------------------------------------------
# Privacy checks on what a chart or table would put in the page
# ---------------------------------------------------------------------------


def _normalise(name: object) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_")


_DENIED = PATIENT_LEVEL_COLUMNS | {c.replace("_", "") for c in PATIENT_LEVEL_COLUMNS}


def _denied_columns(names: Iterator[object] | list[object]) -> list[str]:
    found = []
    for name in names:
        norm = _normalise(name)
        if norm in _DENIED or norm.replace("_", "") in _DENIED:
            found.append(str(name))
    return sorted(set(found))


def _walk(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _spec_problems(spec: dict) -> list[str]:
    """Why a Vega-Lite spec may not go into an outgoing report (empty list: it may)."""
    problems: list[str] = []
    datasets: list[tuple[str, list]] = list((spec.get("datasets") or {}).items())
    for node in _walk(spec):
        data = node.get("data")
        if isinstance(data, dict):
            if "url" in data:
                problems.append(f"data is loaded from a URL ({data['url']!r}), not embedded")
            if isinstance(data.get("values"), list):
                datasets.append(("inline values", data["values"]))
    for name, rows in datasets:
        if len(rows) > MAX_CHART_ROWS:
            problems.append(
                f"dataset {name!r} has {len(rows)} rows (more than {MAX_CHART_ROWS}); "
                "outgoing charts are drawn from aggregated tables only"
            )
        columns = {key for row in rows if isinstance(row, dict) for key in row}
        if denied := _denied_columns(list(columns)):
            problems.append(f"dataset {name!r} has patient-level column(s) {denied}")
    return problems


def _table_problems(table: pd.DataFrame) -> list[str]:
    problems = []
    if len(table) > MAX_CHART_ROWS:
        problems.append(f"table has {len(table)} rows (more than {MAX_CHART_ROWS})")
    names = [*table.columns, *(n for n in table.index.names if n is not None)]
    if denied := _denied_columns(names):
        problems.append(f"table has patient-level column(s) {denied}")
    return problems


# ---------------------------------------------------------------------------
# Chart HTML and the Altair renderer
# ---------------------------------------------------------------------------

_issued_ids: dict[str, int] = {}


def _chart_id(spec: dict) -> str:
    """Stable id: hash of the spec, plus a suffix if the same spec was shown before.

    A fresh kernel (every Papermill run) gives the same ids for the same notebook.
    """
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str)
    base = "chart-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]
    _issued_ids[base] = _issued_ids.get(base, 0) + 1
    return base if _issued_ids[base] == 1 else f"{base}-{_issued_ids[base]}"


def _script_json(value: Any) -> str:
    # "<" only occurs inside JSON strings; escaping it keeps "</script>" and "<!--" out.
    return json.dumps(value, separators=(",", ":"), default=str).replace("<", "\\u003c")


def _chart_html(spec: dict, embed_options: dict | None = None) -> str:
    chart_id = _chart_id(spec)
    options = {**EMBED_OPTIONS, **(embed_options or {})}
    return (
        f'<div class="chart" id="{chart_id}" {_CHART_MARK}></div>\n'
        "<script>(function () {\n"
        f"  var id = {_script_json(chart_id)}, el = document.getElementById(id);\n"
        "  if (typeof window.vegaEmbed !== 'function') {\n"
        "    el.textContent = 'Chart not drawn: the chart library is missing from this page.';\n"
        "    console.error('vegaEmbed missing for #' + id);\n"
        "    return;\n"
        "  }\n"
        f"  window.vegaEmbed(el, {_script_json(spec)}, {_script_json(options)})"
        ".catch(function (err) {\n"
        "    el.textContent = 'Chart not drawn: ' + err;\n"
        "    console.error(err);\n"
        "  });\n"
        "})();</script>"
    )


def _refusal_html(problems: list[str]) -> str:
    items = "".join(f"<li>{html_lib.escape(p)}</li>" for p in problems)
    reason = html_lib.escape("; ".join(problems), quote=True)
    return (
        f'<div class="chart-refused" {_REFUSED_MARK}="{reason}">'
        f"Chart withheld:<ul>{items}</ul></div>"
    )


def _offline_renderer(spec: dict, **metadata: Any) -> dict[str, str]:
    """Altair renderer: ``<div>`` + ``vegaEmbed`` script; the bundle lives in the page head.

    A chart that fails the privacy checks renders as a visible "withheld" block that
    ``notebook_to_html`` refuses (raising inside a renderer would only print a traceback:
    IPython catches exceptions from ``_repr_mimebundle_``).
    """
    if problems := _spec_problems(spec):
        return {
            "text/html": _refusal_html(problems),
            "text/plain": "Chart withheld: " + "; ".join(problems),
        }
    html = _chart_html(spec, metadata.get("embed_options"))
    return {"text/html": html, "text/plain": f"<Altair chart, {len(html)} characters of HTML>"}


_live_bundle_shown = False


def _show(bundle: dict[str, str], metadata: dict | None = None) -> None:
    """Display a raw mimebundle in a kernel; outside IPython print only its text form."""
    from IPython import get_ipython
    from IPython.display import display

    if get_ipython() is None:
        if bundle.get("text/plain"):
            print(bundle["text/plain"])
        return
    display(bundle, raw=True, metadata=metadata or {})


def _display_live_bundle() -> None:
    """Show the Vega bundle once so charts also draw in live JupyterLab (dropped on export)."""
    global _live_bundle_shown
    _show(
        {"text/html": _bundle_script(), "text/plain": ""},
        {"optin_analysis": {"live_only": True}},
    )
    _live_bundle_shown = True


def use_offline_charts() -> None:
    """Enable the offline chart renderer; call in the first code cell of an outgoing report.

    Charts then render as ``<div class="chart">`` + a ``vegaEmbed`` call, with
    ``EMBED_OPTIONS`` (no action menu, SVG, tooltips on). Also displays the Vega bundle
    once for live JupyterLab; ``notebook_to_html`` removes that output.
    """
    if RENDERER_NAME not in alt.renderers.names():
        alt.renderers.register(RENDERER_NAME, _offline_renderer)
    alt.renderers.enable(RENDERER_NAME)
    if not os.environ.get(BATCH_ENV):  # a batch run exports the page: no live output needed
        _display_live_bundle()


# ---------------------------------------------------------------------------
# chart_block: chart + caption + the figures as a table
# ---------------------------------------------------------------------------


def _figure_html(
    chart: alt.TopLevelMixin, table: pd.DataFrame, title: str, description: str
) -> str:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame, not {type(table).__name__}")
    if not str(title).strip() or not str(description).strip():
        raise ValueError("chart_block needs a non-empty title and description")
    spec = chart.to_dict()
    problems = _spec_problems(spec) + _table_problems(table)
    if problems:
        raise ValueError(f"chart {title!r} refused for an outgoing report: " + "; ".join(problems))
    show_index = any(name is not None for name in table.index.names)
    table_html = table.to_html(index=show_index, border=0, classes="figures", na_rep="–")
    return (
        '<figure class="chart-block">\n'
        f'<figcaption><span class="chart-title">{html_lib.escape(title)}</span> '
        f'<span class="chart-description">{html_lib.escape(description)}</span></figcaption>\n'
        f"{_chart_html(spec)}\n"
        f"<details><summary>Figures as a table</summary>\n{table_html}\n</details>\n"
        "</figure>"
    )


def chart_block(
    chart: alt.TopLevelMixin, table: pd.DataFrame, title: str, description: str
) -> None:
    """Display ``chart`` as an accessible figure: caption, chart, and ``table`` as text.

    ``table`` should hold the same (aggregated) figures the chart draws. Raises
    ``ValueError`` if the chart's data or the table has more than ``MAX_CHART_ROWS``
    rows, a column named like a patient identifier (``PATIENT_LEVEL_COLUMNS``), or data
    loaded from a URL; ``TypeError`` if ``table`` is not a DataFrame.
    """
    figure = _figure_html(chart, table, title, description)
    if not _live_bundle_shown:
        _display_live_bundle()
    _show({"text/html": figure, "text/plain": f"{title}: {description}\n{table.to_string()}"})


# ---------------------------------------------------------------------------
# Notebook -> HTML
# ---------------------------------------------------------------------------

# (tag, attribute) pairs a browser fetches on its own when the page loads.
_FETCHING_ATTRS = (
    ("script", "src"),
    ("link", "href"),
    ("img", "src"),
    ("img", "srcset"),
    ("source", "src"),
    ("source", "srcset"),
    ("iframe", "src"),
    ("frame", "src"),
    ("embed", "src"),
    ("object", "data"),
    ("video", "src"),
    ("video", "poster"),
    ("audio", "src"),
    ("track", "src"),
    ("input", "src"),
    ("image", "href"),
    ("image", "xlink:href"),
    ("use", "href"),
    ("use", "xlink:href"),
)
_CSS_URL = re.compile(r"""url\(\s*['"]?\s*([^'")\s]*)|@import\s+['"]([^'"]+)""", re.I)


def _is_local(value: str) -> bool:
    value = value.strip().lower()
    return value.startswith("data:") or (value.startswith("#") and len(value) > 1)


def find_external_resources(html: str) -> list[str]:
    """Everything in ``html`` the browser would fetch from outside the page itself.

    Checks resource-loading attributes (script src, link href, img src, ...), CSS
    ``url()`` / ``@import`` in ``<style>`` and ``style=""``. Only ``data:`` URIs and
    in-page ``#fragments`` are allowed; empty ``src`` counts too (it re-requests the
    page). Ordinary ``<a href>`` links are not fetches and are allowed.
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    found: list[str] = []
    for tag_name, attr in _FETCHING_ATTRS:
        for tag in soup.find_all(tag_name):
            if tag.has_attr(attr):
                value = str(tag[attr])
                if not _is_local(value):
                    found.append(f"<{tag_name} {attr}={value[:120]!r}>")
    css_chunks = [s.get_text() for s in soup.find_all("style")]
    css_chunks += [str(t["style"]) for t in soup.find_all(style=True)]
    for css in css_chunks:
        for match in _CSS_URL.finditer(css):
            value = match.group(1) or match.group(2) or ""
            if value and not _is_local(value):
                found.append(f"css url({value[:120]!r})")
    return found


def _output_html(output: nbformat.NotebookNode) -> str:
    data = output.get("data", {})
    value = data.get("text/html", "")
    return "".join(value) if isinstance(value, list) else str(value)


def _prepare_for_export(nb: nbformat.NotebookNode) -> int:
    """Strip what must not leave the practice; return the number of charts kept."""
    nb.metadata.pop("widgets", None)
    charts = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "error":
                raise ValueError(f"cell {index} has an error output ({output.get('ename')})")
            if kind == "stream":
                if output.get("name") != "stderr":  # warnings/logs stay out of reports
                    kept.append(output)
                continue
            if kind not in ("display_data", "execute_result"):
                continue
            meta = output.get("metadata", {}).get("optin_analysis", {})
            html = _output_html(output)
            if meta.get("live_only") or _BUNDLE_MARK in html:
                continue
            data = output.get("data", {})
            if "application/vnd.jupyter.widget-view+json" in data:
                raise ValueError(f"cell {index} shows a widget; widgets cannot go in a report")
            if _REFUSED_MARK in html:
                raise ValueError(f"cell {index} has a chart withheld by the privacy checks")
            if "text/html" not in data and any(_VEGA_MIME.match(m) for m in data):
                raise ValueError(
                    f"cell {index} has a chart without offline HTML: call "
                    "use_offline_charts() before drawing charts in an outgoing report"
                )
            if _CHART_MARK not in html and (match := _REMOTE_JS.search(html)):
                raise ValueError(
                    f"cell {index} output loads JavaScript from the network ({match.group(0)!r})"
                )
            charts += html.count(_CHART_MARK)
            kept.append(output)
        cell.outputs = kept
    return charts


def _exporter():
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_anchor_links=True,
        sanitize_html=False,  # sanitising would strip the chart scripts
        embed_images=True,  # markdown images as data: URIs
    )


def notebook_to_html(notebook: nbformat.NotebookNode, title: str) -> str:
    """Convert an executed notebook to a self-contained, print-friendly HTML page.

    No code, no prompts, no stderr, no network fetches: the Vega bundle is inlined once
    in ``<head>`` when the page has charts. The input notebook is not modified. Raises
    ``ValueError`` for an empty title, error / widget / withheld-chart outputs, charts
    drawn without ``use_offline_charts()``, or if the result would reference anything
    outside the file (see ``find_external_resources``).
    """
    if not str(title).strip():
        raise ValueError("the report needs a title")
    nb = copy.deepcopy(notebook)
    charts = _prepare_for_export(nb)
    nb.metadata["title"] = str(title)
    resources = {
        "metadata": {"name": str(title)},
        "optin_vega_bundle": _bundle_script() if charts else "",
    }
    html, _ = _exporter().from_notebook_node(nb, resources=resources)
    if external := find_external_resources(html):
        raise ValueError("report would fetch from outside the file: " + ", ".join(external[:10]))
    return html


def write_html_atomically(html: str, path: Path | str) -> Path:
    """Write ``html`` (UTF-8) to ``path`` via a temp file in the same folder + ``os.replace``.

    Readers see either the old file or the complete new one, never a partial write; on
    any error the temp file is removed and an existing file is left untouched. Creates
    the folder if needed. Keeps the mode of a file it replaces (new files: 0644).
    """
    path = Path(path)
    data = html.encode("utf-8")  # fail before touching the disk
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    with contextlib.suppress(OSError):  # persist the rename (best effort; POSIX only)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return path
