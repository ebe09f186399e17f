"""`migrator report --format html`: one self-contained page.

No network resource of any kind: styles and script are inline, charts are
inline SVG, and a Content-Security-Policy (`default-src 'none'`) makes the
browser refuse anything else. The table of sites sorts on a click on a column
header and filters by text, kind and status; the initial state can be given in
the address (`report.html?q=checkout&kind=singleton&status=blocking&sort=line&dir=desc`),
so a link can point at a view.
"""

from __future__ import annotations

from html import escape

from migrator import __version__
from migrator.model import KIND_ORDER, Kind
from migrator.reports.common import plan_words, sites_left_in_tests, where_words
from migrator.reports.progress.model import Counts, ProgressReport
from migrator.reports.progress.svg import (
    COLORS,
    burndown_chart,
    kind_chart,
    package_chart,
    stacked_chart,
)

STATUSES = ("blocking", "expired", "open", "baselined", "suppressed", "done")

_CSS = """
:root { color-scheme: light; --fg: #24292f; --muted: #57606a; --line: #d0d7de; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); }
main { max-width: 1120px; margin: 0 auto; padding: 24px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 12px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 0; display: inline; }
.lead { color: var(--muted); margin: 0 0 16px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; }
.card { background: var(--bg); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
.card .value { font-size: 26px; font-weight: 600; }
.card .label { color: var(--muted); }
.meter { height: 10px; background: #eaeef2; border-radius: 5px; overflow: hidden; margin-top: 6px; }
.meter > span { display: block; height: 100%; background: #1a7f37; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
figure { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px; }
figcaption { font-weight: 600; margin-bottom: 8px; }
svg.chart { max-width: 100%; height: auto; display: block; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--bg); position: sticky; top: 0; white-space: nowrap; }
.scroll { overflow-x: auto; }
#sites td:nth-child(1) { white-space: nowrap; }
#sites td:nth-child(4) code { overflow-wrap: anywhere; }
.kind { white-space: nowrap; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin-top: 8px; color: var(--muted); font-size: 12px; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
th button { all: unset; cursor: pointer; font-weight: 600; }
th button::after { content: " ↕"; color: #8c959f; }
th[aria-sort="ascending"] button::after { content: " ▲"; color: var(--fg); }
th[aria-sort="descending"] button::after { content: " ▼"; color: var(--fg); }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
.kind { display: inline-block; padding: 0 6px; border-radius: 10px; color: #fff; font-size: 12px; }
.status-blocking, .status-expired { color: #cf222e; font-weight: 600; }
.status-done { color: #1a7f37; }
.status-suppressed, .status-baselined { color: var(--muted); }
.controls { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 8px; }
.controls input, .controls select { font: inherit; padding: 4px 8px; border: 1px solid var(--line); border-radius: 6px; }
.controls input { min-width: 260px; }
#site-count { color: var(--muted); }
details { margin: 8px 0; }
details ul { margin: 6px 0 0; padding-left: 20px; columns: 2 360px; }
.message { color: var(--muted); margin: 4px 0 0 18px; }
.note { color: #9a6700; }
footer { color: var(--muted); margin: 32px 0 8px; font-size: 12px; }
"""

_SCRIPT = """
(function () {
  "use strict";
  var table = document.getElementById("sites");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  rows.forEach(function (row, index) { row.dataset.order = String(index); });
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var text = document.getElementById("site-filter");
  var kind = document.getElementById("kind-filter");
  var status = document.getElementById("status-filter");
  var count = document.getElementById("site-count");

  function cellValue(row, index, type) {
    var cell = row.cells[index];
    var raw = cell.getAttribute("data-value");
    if (raw === null) { raw = cell.textContent; }
    return type === "number" ? parseFloat(raw) : raw.toLowerCase();
  }

  function sortBy(header, direction) {
    var index = header.cellIndex;
    var type = header.getAttribute("data-type") || "text";
    if (!direction) {
      direction = header.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    }
    headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", direction);
    var factor = direction === "ascending" ? 1 : -1;
    rows.sort(function (a, b) {
      var x = cellValue(a, index, type);
      var y = cellValue(b, index, type);
      var order = 0;
      if (type === "number") { order = x - y; } else { order = x < y ? -1 : (x > y ? 1 : 0); }
      if (order === 0) { order = Number(a.dataset.order) - Number(b.dataset.order); return order; }
      return order * factor;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function apply() {
    var words = text.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var wantKind = kind.value;
    var wantStatus = status.value;
    var visible = 0;
    rows.forEach(function (row) {
      var haystack = row.getAttribute("data-search");
      var ok = (!wantKind || row.getAttribute("data-kind") === wantKind) &&
        (!wantStatus || row.getAttribute("data-status") === wantStatus) &&
        words.every(function (word) { return haystack.indexOf(word) !== -1; });
      row.hidden = !ok;
      if (ok) { visible += 1; }
    });
    count.textContent = visible + " of " + rows.length + " sites shown";
    table.setAttribute("data-visible", String(visible));
  }

  headers.forEach(function (header) {
    var button = header.querySelector("button");
    if (button) { button.addEventListener("click", function () { sortBy(header); }); }
  });
  text.addEventListener("input", apply);
  kind.addEventListener("change", apply);
  status.addEventListener("change", apply);

  var params = new URLSearchParams(window.location.search);
  if (params.get("q")) { text.value = params.get("q"); }
  if (params.get("kind")) { kind.value = params.get("kind"); }
  if (params.get("status")) { status.value = params.get("status"); }
  var key = params.get("sort");
  if (key) {
    headers.forEach(function (header) {
      if (header.getAttribute("data-key") === key) {
        sortBy(header, params.get("dir") === "desc" ? "descending" : "ascending");
      }
    });
  }
  apply();
  document.documentElement.setAttribute("data-ready", "true");
})();
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _kind_badge(kind: Kind) -> str:
    return f'<span class="kind" style="background:{COLORS[kind]}">{_e(kind.value)}</span>'


def _legend() -> str:
    items = "".join(
        f'<span><i style="background:{COLORS[kind]}"></i>{_e(kind.value)}</span>'
        for kind in (Kind.MIGRATED, *(k for k in KIND_ORDER if k is not Kind.MIGRATED))
    )
    return f'<div class="legend">{items}</div>'


def _meter(progress: float) -> str:
    return f'<div class="meter"><span style="width:{progress * 100:.1f}%"></span></div>'


def _counts_cells(counts: Counts) -> str:
    return "".join(f'<td class="num">{counts[kind]}</td>' for kind in KIND_ORDER)


def _kind_headers() -> str:
    return "".join(f'<th class="num">{_e(kind.value)}</th>' for kind in KIND_ORDER)


def _cards(report: ProgressReport) -> str:
    overall = report.overall
    decided = overall.total - overall[Kind.UNCERTAIN]
    cards = [
        ("progress", f"{overall.progress:.0%}", f"{overall.migrated} of {decided} decided sites"),
        ("to-do", str(overall.remaining), "sites still to migrate"),
        ("blocking", str(report.blocking), "would fail migrator audit"),
        ("migrated", str(overall.migrated), "request-scoped factory calls"),
        ("files", str(report.files_scanned), f"files scanned, {report.files_analysed} analysed"),
    ]
    out = ['<section class="cards">']
    for name, value, label in cards:
        meter = _meter(overall.progress) if name == "progress" else ""
        out.append(
            f'<div class="card" data-card="{name}"><div class="value">{_e(value)}</div>'
            f'<div class="label">{_e(label)}</div>{meter}</div>'
        )
    out.append("</section>")
    return "".join(out)


def _packages_table(report: ProgressReport) -> str:
    rows = [
        f'<table class="packages"><thead><tr><th>package</th><th class="num">files</th>'
        f'{_kind_headers()}<th class="num">progress</th></tr></thead><tbody>'
    ]
    for row in report.packages:
        rows.append(
            f'<tr><td><code>{_e(row.name)}</code></td><td class="num">{row.files}</td>'
            f'{_counts_cells(row.counts)}<td class="num">{row.counts.progress:.0%}</td></tr>'
        )
    rows.append("</tbody></table>")
    return "".join(rows)


def _top_files(report: ProgressReport) -> str:
    if not report.top_files:
        return ""
    out = [
        "<h2>Files with the most sites</h2>",
        '<table class="top-files"><thead><tr><th>file</th><th class="num">to do</th>'
        '<th class="num">sites</th><th class="num">progress</th></tr></thead><tbody>',
    ]
    for row in report.top_files:
        out.append(
            f'<tr><td><code>{_e(row.name)}</code></td><td class="num">{row.counts.remaining}</td>'
            f'<td class="num">{row.counts.total}</td>'
            f'<td class="num">{row.counts.progress:.0%}</td></tr>'
        )
    out.append("</tbody></table>")
    return "".join(out)


def _manual(report: ProgressReport) -> str:
    if not report.manual:
        return ""
    total = sum(len(group.sites) for group in report.manual)
    out = [f"<h2>Manual work ({total})</h2>"]
    left = sites_left_in_tests(report.findings)
    if left is not None:
        out.append(f'<p class="test-left">{_e(left[:1].upper() + left[1:])}</p>')
    for group in report.manual:
        out.append(
            f'<details class="manual" data-reason="{_e(group.reason)}" open><summary>'
            f"<h3>{_e(group.reason)}</h3> ({len(group.sites)})</summary>"
            f'<p class="message">{_e(group.message)}</p><ul>'
        )
        for site in group.sites:
            where = f" in <code>{_e(site.function)}</code>" if site.function else ""
            state = (
                f' <span class="status-{site.status}">({site.status})</span>'
                if site.status in ("suppressed", "baselined")
                else ""
            )
            out.append(
                f"<li><code>{_e(site.location)}</code> {_e(site.kind.value)} "
                f"<code>{_e(site.callee)}</code>{where}{state}</li>"
            )
        out.append("</ul></details>")
    return "".join(out)


def _history(report: ProgressReport) -> str:
    if not report.history:
        if report.history_note:
            return f'<h2>Trend</h2><p class="note">{_e(report.history_note)}</p>'
        return ""
    out = [
        "<h2>Trend</h2>",
        "<figure><figcaption>Burndown</figcaption>",
        burndown_chart(report.history),
        "</figure>",
        '<table class="trend"><thead><tr><th>commit</th><th>date</th>',
        _kind_headers(),
        '<th class="num">to do</th><th class="num">progress</th><th>subject</th></tr></thead><tbody>',
    ]
    for point in report.history:
        out.append(
            f'<tr data-commit="{_e(point.commit)}"><td><code>{_e(point.short)}</code></td>'
            f"<td>{_e(point.date[:10])}</td>{_counts_cells(point.counts)}"
            f'<td class="num">{point.counts.remaining}</td>'
            f'<td class="num">{point.counts.progress:.0%}</td><td>{_e(point.subject)}</td></tr>'
        )
    out.append("</tbody></table>")
    return "".join(out)


_COLUMNS = (
    ("file", "file", "text", ""),
    ("line", "line", "number", "num"),
    ("kind", "kind", "text", ""),
    ("callee", "callee", "text", ""),
    ("where", "where", "text", ""),
    ("plan", "fix plan", "text", ""),
    ("code", "code", "text", ""),
    ("status", "status", "text", ""),
)


def _sites(report: ProgressReport) -> str:
    kinds = "".join(f'<option value="{k.value}">{k.value}</option>' for k in KIND_ORDER)
    present = [s for s in STATUSES if s in report.statuses]
    statuses = "".join(f'<option value="{s}">{s}</option>' for s in present)
    out = [
        f"<h2>All sites ({len(report.findings)})</h2>",
        '<div class="controls">',
        '<input id="site-filter" type="search" placeholder="Filter: path, callee, plan…" '
        'aria-label="Filter sites">',
        f'<select id="kind-filter" aria-label="Kind"><option value="">all kinds</option>{kinds}</select>',
        f'<select id="status-filter" aria-label="Status"><option value="">all statuses</option>'
        f"{statuses}</select>",
        f'<span id="site-count">{len(report.findings)} of {len(report.findings)} sites shown</span>',
        "</div>",
        '<div class="scroll"><table id="sites"><thead><tr>',
    ]
    for key, label, kind, css in _COLUMNS:
        klass = f' class="{css}"' if css else ""
        out.append(
            f'<th data-key="{key}" data-type="{kind}"{klass}><button type="button">{label}</button></th>'
        )
    out.append("</tr></thead><tbody>")
    for finding, state in zip(report.findings, report.statuses, strict=True):
        plan = plan_words(finding)
        where = where_words(finding)
        code = "test" if finding.test_code else "production"
        search = " ".join(
            (finding.path, finding.kind.value, finding.callee, where, plan, code, state)
        ).lower()
        title = finding.fix.message if finding.fix is not None else finding.detail
        out.append(
            f'<tr data-kind="{finding.kind.value}" data-status="{state}" data-search="{_e(search)}">'
            f'<td data-value="{_e(finding.path)}"><code>{_e(finding.path)}</code></td>'
            f'<td class="num">{finding.span.line}</td>'
            f"<td>{_kind_badge(finding.kind)}</td>"
            f"<td><code>{_e(finding.callee)}</code></td>"
            f"<td>{_e(where)}</td>"
            f'<td title="{_e(title)}">{_e(plan)}</td>'
            f"<td>{code}</td>"
            f'<td class="status-{state}">{state}</td></tr>'
        )
    out.append("</tbody></table></div>")
    return "".join(out)


def _notes(report: ProgressReport) -> str:
    out = []
    if report.warnings:
        out.append("<h2>Warnings</h2><ul>")
        out += [f"<li>{_e(w)}</li>" for w in report.warnings]
        out.append("</ul>")
    if report.errors:
        out.append(f"<h2>Files not analysed ({len(report.errors)})</h2><ul>")
        out += [f"<li><code>{_e(e.path)}</code>: {_e(e.message)}</li>" for e in report.errors]
        out.append("</ul>")
    return "".join(out)


def render(report: ProgressReport, title: str = "Migration progress") -> str:
    overall = report.overall
    production = [("production", report.production), ("test", report.test)]
    body = [
        "<main>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="lead">{overall.progress:.0%} migrated · '
        f"{overall[Kind.DIRECT_SCOPED]} direct-scoped · {overall.remaining} sites to do · "
        f"{report.blocking} blocking · {report.baselined} baselined · "
        f"{report.suppressed} suppressed</p>",
        _cards(report),
        "<h2>Overview</h2>",
        '<div class="charts">',
        "<figure><figcaption>Sites by kind</figcaption>",
        kind_chart(overall),
        "</figure>",
        "<figure><figcaption>Production and test code</figcaption>",
        stacked_chart("code", "Production and test code", production, label_w=90),
        _legend(),
        "</figure>",
        "</div>",
        f"<h2>Packages (depth {report.depth})</h2>",
        "<figure><figcaption>Sites per package: migrated in green</figcaption>",
        package_chart(report.packages),
        _legend(),
        "</figure>",
        _packages_table(report),
        _history(report),
        _top_files(report),
        _manual(report),
        _sites(report),
        _notes(report),
        f"<footer>migrator {_e(__version__)} · rule packs: "
        f"{_e(', '.join(report.rule_packs) or 'default')}</footer>",
        "</main>",
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(part for part in body if part)
        + f"\n<script>{_SCRIPT}</script>\n</body></html>\n"
    )
