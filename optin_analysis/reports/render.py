"""Render outgoing-report notebooks to self-contained HTML that reads anywhere.

How the pieces fit (SPEC section 6: reports open offline, charts from aggregates only):

* ``chart_block()`` turns an Altair chart into static SVG (vl-convert, no JavaScript) and
  shows it inline as a ``<figure>``: a caption stating the chart's message, the SVG with
  a title and description for screen readers, and the same figures as a table. It
  refuses charts or tables with patient-level columns or more than ``MAX_CHART_ROWS``
  rows. So a report reads fully with scripts disabled (mail previews, document viewers,
  print), and no chart data beyond what is drawn reaches the page.
* ``notebook_to_html()`` drops code, prompts, stderr and live-only outputs, refuses
  error and widget outputs, and refuses to return HTML that holds a script or would load
  anything (script, stylesheet, image, font) from outside the file.
* ``write_html_atomically()`` never leaves a half-written report behind.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html as html_lib
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
import pandas as pd

from optin_analysis.reports import fonts
from optin_analysis.reports.files import write_bytes_atomically

if TYPE_CHECKING:  # Altair is imported where charts are drawn (kernels), not by every run
    import altair as alt

#: Outgoing charts are drawn from aggregated tables; more rows than this is refused.
MAX_CHART_ROWS = 500
#: Column names (normalised: lower case, non-alphanumerics as "_") never allowed in a
#: chart or table that leaves the practice.
PATIENT_LEVEL_COLUMNS = frozenset({"patient_id", "nhs_number", "date_of_birth"})

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "offline"

_CHART_MARK = "data-optin-chart"
_VEGA_MIME = re.compile(r"^application/vnd\.vega(lite)?\.v\d+[.+]json$")
_SCRIPT = re.compile(r"<script\b", re.I)


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
# chart_block: caption, static SVG chart, and the figures as a table
# ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _vegalite_version() -> dict[str, str]:
    import altair as alt
    import vl_convert as vlc

    wanted = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return {"vl_version": wanted} if wanted in vlc.get_vegalite_versions() else {}


def _chart_id(spec: dict) -> str:
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str)
    return "chart-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]


def warm_up() -> None:
    """Start vl-convert's engine with the reports' fonts (a second, once a process); not
    where the address space is limited (``ulimit -v``), where its JavaScript engine may
    not start: a run that draws no chart must not fail for it."""
    import vl_convert as vlc

    fonts.register_for_charts()
    try:
        import resource

        limited = resource.getrlimit(resource.RLIMIT_AS)[0] != resource.RLIM_INFINITY
    except ImportError:  # not a POSIX system
        limited = False
    if not limited:
        vlc.vegalite_to_svg({"mark": "point", "config": {"font": fonts.FAMILY}})


def chart_svg(spec: dict, title: str, description: str) -> str:
    """The chart as inline SVG, labelled for screen readers by ``title`` and
    ``description`` (vl-convert renders it without a browser or network)."""
    import vl_convert as vlc

    fonts.register_for_charts()
    svg = vlc.vegalite_to_svg(spec, **_vegalite_version())
    ident = _chart_id(spec)
    label = (
        f'<title id="{ident}-t">{html_lib.escape(title)}</title>'
        f'<desc id="{ident}-d">{html_lib.escape(description)}</desc>'
    )
    head, sep, body = svg.partition(">")
    head = head.replace("<svg ", f'<svg role="img" aria-labelledby="{ident}-t {ident}-d" ', 1)
    return f"{head}{sep}{label}{body}"


def _figure_html(
    chart: alt.TopLevelMixin, table: pd.DataFrame, title: str, message: str, alt_text: str
) -> str:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame, not {type(table).__name__}")
    if not str(title).strip() or not str(message).strip():
        raise ValueError("chart_block needs a non-empty title and message")
    from optin_analysis.reports.charts import attach_datasets

    spec = attach_datasets(chart.to_dict(validate=False))  # tests validate report charts
    problems = _spec_problems(spec) + _table_problems(table)
    if problems:
        raise ValueError(f"chart {title!r} refused for an outgoing report: " + "; ".join(problems))
    table_html = table.to_html(index=False, border=0, classes="figures", na_rep="[c]")
    return (
        f'<figure class="chart-block" {_CHART_MARK}>\n'
        f'<figcaption><span class="chart-title">{html_lib.escape(title)}</span> '
        f'<span class="chart-description">{html_lib.escape(message)}</span></figcaption>\n'
        f'<div class="chart">{chart_svg(spec, title, alt_text or message)}</div>\n'
        f"<details><summary>Figures as a table</summary>\n{table_html}\n</details>\n"
        "</figure>"
    )


#: A chart as :func:`chart_block` draws it in a page: inline SVG between these.
_INLINE_CHART = re.compile(r'(<div class="chart">)(<svg\b.*?</svg>)(</div>)', re.S)
_SVG_LABEL = re.compile(r'<title id="[^"]*">(.*?)</title><desc id="[^"]*">(.*?)</desc>', re.S)


def charts_as_images(page: str) -> str:
    """``page`` with each chart's inline SVG turned into an ``<img>`` of the same SVG (a
    ``data:`` URI), its title and description as the alternative text.

    For notebooks kept to be opened again: JupyterLab strips inline SVG from the HTML
    output of a notebook it does not trust (leaving the chart's text run together) but
    shows an image, whose SVG runs no script. Reports keep the inline SVG.
    """

    def image(match: re.Match) -> str:
        svg = match.group(2)
        label = _SVG_LABEL.search(svg)
        alt_text = ": ".join(html_lib.unescape(x) for x in label.groups()) if label else ""
        data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
        text = html_lib.escape(alt_text, quote=True)
        img = f'<img src="data:image/svg+xml;base64,{data}" alt="{text}" style="max-width:100%">'
        return match.group(1) + img + match.group(3)

    return _INLINE_CHART.sub(image, page)


def chart_block(
    chart: alt.TopLevelMixin,
    table: pd.DataFrame,
    title: str,
    message: str,
    alt_text: str = "",
) -> None:
    """Display ``chart`` as an accessible figure: caption, static chart, ``table`` as text.

    ``message`` is what the chart shows, in a sentence (the caption); ``alt_text`` what a
    screen reader hears instead of the picture (default: the message). ``table`` holds the
    same aggregated figures, as shown to people. Raises ``ValueError`` when the chart's
    data or the table has more than ``MAX_CHART_ROWS`` rows, a column named like a patient
    identifier (``PATIENT_LEVEL_COLUMNS``) or data loaded from a URL; ``TypeError`` when
    ``table`` is not a DataFrame.
    """
    figure = _figure_html(chart, table, title, message, alt_text)
    _show({"text/html": figure, "text/plain": f"{title}: {message}\n{table.to_string()}"})


def _show(bundle: dict[str, str], metadata: dict | None = None) -> None:
    """Display a raw mimebundle in a kernel; outside IPython print only its text form."""
    from IPython import get_ipython
    from IPython.display import display

    if get_ipython() is None:
        if bundle.get("text/plain"):
            print(bundle["text/plain"])
        return
    display(bundle, raw=True, metadata=metadata or {})


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


class _Fetches(HTMLParser):
    """Collects what a page would fetch, streaming (no tree: 100 KB pages in a few ms)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.css: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if (tag, name) in _FETCHING and not _is_local(value or ""):
                self.found.append(f"<{tag} {name}={(value or '')[:120]!r}>")
            elif name == "style" and value:
                self.css.append(value)
        self._in_style = tag == "style"

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.css.append(data)


_FETCHING = frozenset(_FETCHING_ATTRS)
#: What every finding of :class:`_Fetches` needs in the page's text: a fetching tag's
#: name, a CSS ``url(`` or ``@import``, or a style attribute with a character reference
#: (it is decoded before its CSS is read). A page with none of these fetches nothing.
_MAY_FETCH = re.compile(
    r"<(?:" + "|".join(sorted({tag for tag, _ in _FETCHING_ATTRS})) + r")\b|url\(|@import"
    r"""|\bstyle\s*=\s*(?:"[^"]*&|'[^']*&|[^\s>"']*&)""",
    re.I,
)


def find_external_resources(html: str) -> list[str]:
    """Everything in ``html`` the browser would fetch from outside the page itself.

    Checks resource-loading attributes (script src, link href, img src, ...), CSS
    ``url()`` / ``@import`` in ``<style>`` and ``style=""``. Only ``data:`` URIs and
    in-page ``#fragments`` are allowed; empty ``src`` counts too (it re-requests the
    page). Ordinary ``<a href>`` links are not fetches and are allowed. A page without
    any of :data:`_MAY_FETCH` is not parsed (a report's charts are thousands of tags).
    """
    if not _MAY_FETCH.search(html):
        return []
    parser = _Fetches()
    parser.feed(html)
    parser.close()
    found = parser.found
    for css in parser.css:
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
            data = output.get("data", {})
            if "application/vnd.jupyter.widget-view+json" in data:
                raise ValueError(f"cell {index} shows a widget; widgets cannot go in a report")
            html = _output_html(output)
            if "text/html" not in data and any(_VEGA_MIME.match(m) for m in data):
                raise ValueError(
                    f"cell {index} has an interactive chart: draw outgoing charts with "
                    "chart_block(), which makes static SVG"
                )
            if _SCRIPT.search(html):
                raise ValueError(f"cell {index} output holds a script; reports carry none")
            charts += html.count(_CHART_MARK)
            kept.append(output)
        cell.outputs = kept
    return charts


@functools.lru_cache(maxsize=1)
def _exporter():
    """One exporter per process: its templates are compiled once, not per report."""
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter

    class ReportExporter(HTMLExporter):
        """nbconvert's HTML exporter without its last pass, which parses the whole page
        again to give code cells tab stops and images a placeholder alt text: reports
        show no code, and their only images are inline SVG with a title."""

        def from_notebook_node(self, nb, resources=None, **kw):
            resources = self._init_resources(resources)
            self.register_filter("highlight_code", lambda source, *a, **k: source)
            self.register_filter("filter_data_type", self._data_types(resources))
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

        def _data_types(self, resources):
            from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

            return WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources
            )

    return ReportExporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_anchor_links=True,
        sanitize_html=False,  # our own outputs only; checked for scripts above
        embed_images=True,  # markdown images as data: URIs
    )


def _shallow(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``notebook`` whose metadata and cells (not their outputs) are its own:
    what :func:`_prepare_for_export` replaces."""
    nb = nbformat.NotebookNode(notebook)
    nb.metadata = nbformat.NotebookNode(notebook.metadata)
    nb.cells = [nbformat.NotebookNode(cell) for cell in notebook.cells]
    return nb


def notebook_to_html(notebook: nbformat.NotebookNode, title: str) -> str:
    """Convert an executed notebook to a self-contained, print-friendly HTML page.

    No code, no prompts, no stderr, no scripts, no network fetches. The input notebook is
    not modified. Raises ``ValueError`` for an empty title, error / widget / script
    outputs, interactive charts, or if the result would reference anything outside the
    file (see ``find_external_resources``).
    """
    if not str(title).strip():
        raise ValueError("the report needs a title")
    nb = _shallow(notebook)  # nbconvert deep-copies what it is given, twice
    _prepare_for_export(nb)
    nb.metadata["title"] = str(title)
    html, _ = _exporter().from_notebook_node(nb, resources={"metadata": {"name": str(title)}})
    if external := find_external_resources(html):
        raise ValueError("report would fetch from outside the file: " + ", ".join(external[:10]))
    if _SCRIPT.search(html):
        raise ValueError("report would carry a script")
    return html


def write_html_atomically(html: str, path: Path | str) -> Path:
    """Write ``html`` (UTF-8) to ``path`` atomically (see :func:`write_bytes_atomically`)."""
    return write_bytes_atomically(html.encode("utf-8"), path)
