"""Sections of the DPIA, drawn from the bundle's ``dpia`` part (aggregate figures only).

The ICO's sample DPIA template, step by step: the practice's narrative (steps 1-4), the
risks scored on the ICO's 3 x 3 matrix (step 5), the measures with this month's evidence
and residual risk (step 6), and the sign-off (step 7). Lines the practice has still to
write ("TO COMPLETE:") are highlighted so that nobody signs a template.
"""

from __future__ import annotations

import html
import re

import pandas as pd
from IPython.display import HTML, display

from optin_analysis.outgoing.disclosure import show
from optin_analysis.outgoing.dpia import LIKELIHOOD, SEVERITY, overall

TODO = "TO COMPLETE:"
MET = {True: "✔ met", False: "✘ not met", None: "? cannot be shown"}


def _show_html(markup: str) -> None:
    display(HTML(markup))


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, escape=True, border=0, classes="figures text")


#: A reference and its number stay on one line ("Article 36", "Schedule 1", "reg 71ZA").
_REFERENCE = re.compile(r"\b(Article|Articles|Schedule|Sch\.|Step|Regulation|reg\.?|para) (?=\d)")


def _text(line: str) -> str:
    """``line`` escaped for HTML, a reference never broken from its number."""
    return _REFERENCE.sub("\\1&nbsp;", html.escape(line))


def _paragraphs(text: str) -> str:
    """Paragraphs of ``text`` (blank-line separated); from a "TO COMPLETE:" line to the end
    of its paragraph, highlighted."""
    out = []
    for para in re.split(r"\n\s*\n", text.strip()):
        lines = [line.strip() for line in para.splitlines() if line.strip()]
        todo = next((i for i, line in enumerate(lines) if line.startswith(TODO)), len(lines))
        if lines[:todo]:
            out.append(f"<p>{_text(' '.join(lines[:todo]))}</p>")
        if lines[todo:]:
            out.append(f"<p class='todo'>{_text(' '.join(lines[todo:]))}</p>")
    return "".join(out)


def introduction(bundle: dict) -> None:
    """What this document is, and where the practice stands."""
    d = bundle["dpia"]
    approved = d["approved"] or "not recorded"
    _show_html(
        "<section><p>This data protection impact assessment follows the ICO's sample DPIA "
        "template. Steps 1 to 4 are the practice's own words; steps 5 and 6 are its risk "
        f"register, with this month's evidence ({html.escape(bundle['period'])}, published "
        "figures) deciding the residual risk; step 7 is the sign-off.</p>"
        f"<dl class='facts'><dt>DPIA approved</dt><dd>{html.escape(approved)}</dd>"
        f"<dt>Branch of the guidance</dt><dd>{html.escape(d['branch'])}</dd></dl></section>"
    )


def narrative(bundle: dict) -> None:
    """Steps 1 to 4, each with the sources it relies on."""
    for section in bundle["dpia"]["narrative"]:
        body = _paragraphs(section["text"]) if section["text"] else ""
        for part in section["parts"]:
            body += f"<h3>{html.escape(part['heading'])}</h3>{_paragraphs(part['text'])}"
        if section["sources"]:
            items = "".join(f"<li>{html.escape(s)}</li>" for s in section["sources"])
            body += f"<details class='sources'><summary>Sources</summary><ul>{items}</ul></details>"
        _show_html(f"<section><h2>{html.escape(section['title'])}</h2>{body}</section>")


def _matrix(risks: list[dict]) -> str:
    """The ICO's 3 x 3 matrix: likelihood down, severity across, each cell its level."""
    head = "".join(f"<th>{s.capitalize()}</th>" for s in SEVERITY)
    rows = []
    for likelihood in reversed(LIKELIHOOD):
        cells = []
        for severity in SEVERITY:
            level = overall(likelihood, severity)
            ids = [
                r["id"] for r in risks if (r["likelihood"], r["severity"]) == (likelihood, severity)
            ]
            cells.append(
                f"<td class='risk-{level}'><span class='level'>{level}</span> "
                f"<strong>{html.escape(', '.join(ids))}</strong></td>"
            )
        rows.append(f"<tr><th>{likelihood.capitalize()}</th>{''.join(cells)}</tr>")
    return (
        "<table class='matrix'><caption>Overall risk: likelihood of harm (rows) by severity of "
        "harm (columns); each cell names the risks scored in it</caption><thead><tr>"
        f"<th>Likelihood \\ Severity</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def risks(bundle: dict) -> None:
    """Step 5: each risk scored likelihood x severity, and the matrix."""
    rows = bundle["dpia"]["risks"]
    frame = pd.DataFrame(
        [
            {
                "Risk": f"{r['id']}: {r['title']}",
                "Likelihood of harm": r["likelihood"],
                "Severity of harm": r["severity"],
                "Overall risk": r["inherent"],
                "Applies": "yes" if r["applies"] else f"not applicable: {r['why']}",
            }
            for r in rows
        ]
    )
    _show_html(
        "<section><h2>Step 5: Risks, likelihood and severity</h2>"
        + _table(frame)
        + _matrix(rows)
        + "</section>"
    )


def _history(rows: list, kind: str) -> str:
    if not rows:
        return "no earlier month"
    return "; ".join(f"{period}: {show(value, kind)}" for period, value in rows)


def measures(bundle: dict) -> None:
    """Step 6: each mitigation, its evidence this month and over six months, its effect,
    the residual risk it earns this month, and whether it is approved."""
    d = bundle["dpia"]
    body = ""
    for risk in d["risks"]:
        body += f"<h3>{html.escape(risk['id'])}: {html.escape(risk['title'])}</h3>"
        if not risk["applies"]:
            body += f"<p class='note'>Not applicable: {html.escape(risk['why'])}</p>"
            continue
        lines = []
        for m in risk["mitigations"]:
            evidence = "<br>".join(
                f"{html.escape(e['label'])}: {show(e['figure'], e['kind'])} (target "
                f"{html.escape(e['target'])}) {MET[e['met']]}. Last six months: "
                f"{html.escape(_history(e['history'], e['kind']))}."
                for e in m["evidence"]
            ) or html.escape(m.get("why") or "no measure")
            residual = m["residual"] or "not applicable"
            lines.append(
                {
                    "Measure": m["action"],
                    "Evidence this month": evidence,
                    "Effect on risk": m["effect"],
                    "Residual risk": f"{residual} ({m['status']}; register: "
                    f"{m['register_residual']})",
                    "Approved": "yes" if m["approved"] else "no",
                }
            )
        table = pd.DataFrame(lines).to_html(
            index=False, escape=False, border=0, classes="figures text"
        )
        body += table + (
            f"<p><strong>Residual risk this month: {risk['residual']}</strong> "
            f"(inherent {risk['inherent']}).</p>"
        )
    if d["article_36"]:
        names = ", ".join(d["article_36"])
        body += (
            f"<p class='alert'>Residual risk high this month: {html.escape(names)} (no "
            "mitigation shown effective). If the practice accepts a high residual risk it "
            "must consult the ICO before going ahead (UK GDPR Article&nbsp;36).</p>"
        )
    _show_html(f"<section><h2>Step 6: Measures to reduce risk</h2>{body}</section>")


def _signer(s: dict) -> str:
    parts = [s.get("name"), s.get("role"), s.get("date")]
    text = ", ".join(p for p in parts if p)
    return text or "_" * 28


def sign_off(bundle: dict) -> None:
    """Step 7: the ICO template's sign-off table, from the run configuration."""
    s = bundle["dpia"]["sign_off"]
    accepted = {True: "accepted", False: "overruled", None: "not yet decided"}[
        s["dpo_advice_accepted"]
    ]
    rows = [
        (
            "Measures approved by",
            _signer(s["measures_approved_by"]),
            "Integrate actions back into the project plan, with date and responsibility.",
        ),
        (
            "Residual risks approved by",
            _signer(s["residual_risks_approved_by"]),
            "If accepting any residual high risk, consult the ICO before going ahead.",
        ),
        (
            "DPO advice provided",
            _signer(s["dpo_advice_provided_by"]),
            "The DPO advises on compliance, step 6 measures and whether processing can proceed.",
        ),
        ("Summary of DPO advice", s["dpo_advice"] or "_" * 28, "In the DPO's own words."),
        (
            "DPO advice accepted or overruled",
            accepted,
            s["dpo_advice_overruled_reason"] or "If overruled, the reasons must be given.",
        ),
        (
            "Consultation responses reviewed by",
            _signer(s["consultation_reviewed_by"]),
            "If the decision departs from individuals' views, the reasons must be given.",
        ),
        (
            "This DPIA will be kept under review by",
            _signer(s["kept_under_review_by"]),
            f"Next review: {s['next_review'] or 'not set'}.",
        ),
    ]
    frame = pd.DataFrame(rows, columns=["Item", "Name, position, date", "Notes"])
    _show_html("<section><h2>Step 7: Sign-off and outcomes</h2>" + _table(frame) + "</section>")
