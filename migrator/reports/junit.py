"""`--format junit`: JUnit XML for CI test tabs (GitLab, Jenkins, Azure, CircleCI, test reporters).

One test suite per file, one test case per site. A site that blocks (a new
site of a `--fail-on` kind, or one whose suppression expired) is a failure
whose text carries the fix plan; a suppressed or baselined site is skipped
with the reason; any other site passes. Files that could not be analysed are
errors in a suite of their own, and warnings (unused suppressions, baseline
entries that are gone) are listed, as passing cases, in a `migrator: warnings`
suite. Each case carries `file` and `line` attributes, which most reporters use
for links and inline annotations.
"""

from __future__ import annotations

from itertools import groupby
from xml.etree import ElementTree as ET

from migrator.model import AuditResult, Finding
from migrator.reports.common import plan_words, sorted_findings, status, where_words
from migrator.reports.formats import View
from migrator.reports.kinds import KINDS
from migrator.reports.packs import RuleDoc, docs_for
from migrator.suppress import expired_fingerprints


def _classname(path: str) -> str:
    stem = path[:-3] if path.endswith(".py") else path
    return stem.replace("/", ".")


def _case_name(finding: Finding) -> str:
    where = where_words(finding)
    return f"line {finding.span.line}: {finding.kind.value} {finding.callee} in {where}"


def _details(finding: Finding, doc: RuleDoc) -> str:
    lines = [
        f"{finding.path}:{finding.span.line}:{finding.span.column + 1}: {finding.kind.value} "
        f"`{finding.callee}` in {where_words(finding)}",
        f"why: {finding.detail or KINDS[finding.kind].short}",
    ]
    if finding.fix is not None:
        lines.append(f"fix plan: {plan_words(finding)}")
        lines.append(finding.fix.message)
        if finding.fix.async_chain:
            lines.append(f"callers to make async: {', '.join(finding.fix.async_chain)}")
    if finding.fix is not None:
        lines.append(f"how to fix {finding.kind.value}: {KINDS[finding.kind].guidance}")
        lines.append(f"rule {doc.id}: {doc.how_to_fix}")
    lines.append(f"fingerprint: {finding.fingerprint}")
    return "\n".join(lines)


def _suite(parent: ET.Element, name: str) -> ET.Element:
    return ET.SubElement(parent, "testsuite", {"name": name})


def _finish_suite(suite: ET.Element) -> tuple[int, int, int, int]:
    cases = suite.findall("testcase")
    failures = sum(1 for c in cases if c.find("failure") is not None)
    errors = sum(1 for c in cases if c.find("error") is not None)
    skipped = sum(1 for c in cases if c.find("skipped") is not None)
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    suite.set("time", "0")
    return len(cases), failures, errors, skipped


def junit_tree(result: AuditResult, view: View) -> ET.Element:
    fail_on = view.fail_on
    expired = expired_fingerprints(result)
    docs = {doc.id: doc for doc in docs_for(view.packs, result.findings)}
    root = ET.Element("testsuites", {"name": "migrator audit"})
    suites: list[ET.Element] = []
    for path, group in groupby(sorted_findings(result), key=lambda f: f.path):
        suite = _suite(root, path)
        suites.append(suite)
        for finding in group:
            case = ET.SubElement(
                suite,
                "testcase",
                {
                    "classname": _classname(path),
                    "name": _case_name(finding),
                    "file": path,
                    "line": str(finding.span.line),
                    "time": "0",
                },
            )
            state = status(finding, fail_on, expired)
            if state == "blocking":
                failure = ET.SubElement(
                    case,
                    "failure",
                    {
                        "message": f"{finding.kind.value}: {plan_words(finding)}",
                        "type": finding.kind.value,
                    },
                )
                failure.text = _details(finding, docs[finding.rule])
            elif state == "expired":
                failure = ET.SubElement(
                    case,
                    "failure",
                    {
                        "message": f"expired suppression: {finding.kind.value}",
                        "type": "expired-suppression",
                    },
                )
                failure.text = _details(finding, docs[finding.rule])
            elif state == "suppressed":
                reason = finding.suppression_reason or "no reason given"
                ET.SubElement(case, "skipped", {"message": f"suppressed: {reason}"})
            elif state == "baselined":
                ET.SubElement(case, "skipped", {"message": "baselined: tolerated until migrated"})
            else:
                out = ET.SubElement(case, "system-out")
                out.text = _details(finding, docs[finding.rule])
    if result.errors:
        suite = _suite(root, "migrator: files not analysed")
        suites.append(suite)
        for error in result.errors:
            case = ET.SubElement(
                suite,
                "testcase",
                {
                    "classname": _classname(error.path),
                    "name": "analyse",
                    "file": error.path,
                    "time": "0",
                },
            )
            if error.allowed:
                # Named in `allow_skipped`: reported, but it does not fail the gate.
                ET.SubElement(case, "skipped", {"message": f"allowed: {error.message}"})
                continue
            element = ET.SubElement(
                case, "error", {"message": error.message, "type": "not-analysed"}
            )
            element.text = f"{error.path}: {error.message}"
    if result.warnings:
        suite = _suite(root, "migrator: warnings")
        suites.append(suite)
        for number, warning in enumerate(result.warnings, start=1):
            case = ET.SubElement(
                suite,
                "testcase",
                {"classname": "migrator", "name": f"warning {number}", "time": "0"},
            )
            # Informational: an expired suppression already fails its site's own case.
            out = ET.SubElement(case, "system-out")
            out.text = warning
    totals = [_finish_suite(suite) for suite in suites]
    root.set("tests", str(sum(t[0] for t in totals)))
    root.set("failures", str(sum(t[1] for t in totals)))
    root.set("errors", str(sum(t[2] for t in totals)))
    root.set("skipped", str(sum(t[3] for t in totals)))
    root.set("time", "0")
    return root


def render(result: AuditResult, view: View) -> str:
    tree = junit_tree(result, view)
    ET.indent(tree, space="  ")
    body = ET.tostring(tree, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
