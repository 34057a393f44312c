"""Sections of the DPIA, drawn from the bundle's ``dpia`` part (aggregate figures only).

The ICO's sample DPIA template, step by step: whether the approval still covers this
month's evidence (at the top, in words) and what changed since it; the practice's
narrative (steps 1-4, step 2 with its data flows, retention, processors, security and
transfers); the risks scored on the ICO's 3 x 3 matrix (step 5); the measures with this
month's evidence and residual risk (step 6); and the sign-off (step 7). Lines the
practice has still to write ("TO COMPLETE:") are highlighted so that nobody signs a
template. Blocks that must not split across a printed page (the matrix, a risk's
measures, a table row) carry the class ``keep``.
"""

from __future__ import annotations

import html
import re

import pandas as pd
from IPython.display import HTML, display

from optin_analysis.outgoing.disclosure import show
from optin_analysis.outgoing.dpia import LIKELIHOOD, SEVERITY, TO_COMPLETE, overall

TODO = TO_COMPLETE
MET = {True: "✔ met", False: "✘ not met", None: "? cannot tell"}


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


def _default(bundle: dict) -> bool:
    return bundle["dpia"].get("model") == "default"


def _levels(levels: dict) -> str:
    return ", ".join(f"{rid} {level}" for rid, level in levels.items())


def _covers(d: dict) -> str:
    """What the approval covers, in words."""
    state = d.get("approved_state") or {}
    if state.get("source") == "configuration":
        return f"{_levels(state['levels'])} (as recorded with the sign-off)"
    if state.get("source") == "history":
        return (f"{_levels(state['levels'])} (the residual risks of the {state['release']} "
                "release, the last before the approval)")  # fmt: skip
    return ("no residual risk levels: record them under dpia_sign_off.approved_residual_risks "
            "so that a rise is flagged")  # fmt: skip


def _next_review(d: dict, bundle: dict) -> str:
    review = d.get("review") or {}
    if not review.get("next"):
        return "not set"
    if review.get("overdue"):
        return (f"{review['next']}: passed, {review['days_overdue']} days before "
                f"{bundle.get('ref_date', bundle['period'])}")  # fmt: skip
    return review["next"]


def reapproval_words(d: dict) -> str:
    """ "Re-approval needed: ..." in words, or "" when the approval still covers the month."""
    again = d.get("reapproval") or {}
    if not again.get("needed"):
        return ""
    return "Re-approval needed: " + "; ".join(again["reasons"]) + "."


def _reapproval(d: dict, more: str = "") -> str:
    """The re-approval alert (empty when the approval still covers the month)."""
    words = reapproval_words(d)
    if not words:
        return ""
    note = (d.get("reapproval") or {}).get("note", "")
    note = f" <span class='note'>{_text(note)}</span>" if note else ""
    return f"<p class='alert reapproval'><strong>{_text(words)}</strong>{note}{more}</p>"


def introduction(bundle: dict) -> None:
    """Whether the approval still covers this month (at the top), what this document is,
    and where the practice stands."""
    d = bundle["dpia"]
    approved = d["approved"] or "not recorded"
    alert = _reapproval(d, " What changed since the approval is listed below, for the DPO.")
    model = "for the default model" if _default(bundle) else "for the opt-in model"
    where = "Model" if _default(bundle) else "Branch of the guidance"
    _show_html(
        f"<section class='introduction'>{alert}<p>This data protection impact assessment, "
        f"{model}, follows the ICO's sample DPIA template. Steps 1 to 4 are the practice's "
        "own words; steps 5 and 6 are its risk register, with this month's evidence "
        f"({html.escape(bundle['period'])}, published figures) deciding the residual risk; "
        "step 7 is the sign-off.</p>"
        f"<dl class='facts'><dt>DPIA approved</dt><dd>{html.escape(approved)}</dd>"
        f"<dt>The approval covers</dt><dd>{html.escape(_covers(d))}</dd>"
        f"<dt>Next review</dt><dd>{html.escape(_next_review(d, bundle))}</dd>"
        f"<dt>{where}</dt><dd>{html.escape(d['branch'])}</dd></dl></section>"
    )


def _evidence_change(e: dict, compared: bool) -> str:
    now = show(e["now"], e["kind"])
    if not compared:  # no release at the approval: this month's figure against its target
        note = f" ({e['note']})" if e.get("note") else ""
        return f"{e['label']}: {now} (target {e['target']}) {MET[e['now_met']]}{note}"
    then = show(e["then"], e["kind"])
    met = "" if e["then_met"] == e["now_met"] else f" ({MET[e['then_met']]} → {MET[e['now_met']]})"
    return f"{e['label']}: {then} → {now}{met}"


def changes(bundle: dict) -> None:
    """What changed since the approval: each risk whose level moved, each measure whose
    status or evidence moved, so that a DPO can re-approve in minutes."""
    d = bundle["dpia"]
    state = d.get("approved_state") or {}
    if not state.get("levels"):
        body = ("<p class='note'>The approval records no residual risk levels, and the "
                "history store holds no release from before it, so what changed since it "
                "cannot be listed.</p>")  # fmt: skip
    elif not d["changes"]:
        body = "<p>Nothing changed: every risk is at its approved level"
        body += (f", and every measure as in the {html.escape(state['release'])} release.</p>"
                 if state.get("release") else ".</p>")  # fmt: skip
    else:
        rows = []
        compared = bool(state.get("release"))
        for c in d["changes"]:
            moved = [
                (f"{m['action']}: {m['then']} → {m['now']}" if compared
                 else f"{m['action']}: {m['now']}")
                + "".join(f"; {_evidence_change(e, compared)}" for e in m["evidence"])
                for m in c["measures"]
            ]  # fmt: skip
            rows.append({
                "Risk": f"{c['id']}: {c['title']}",
                "Approved": c["approved"] or "not in the approval",
                "This month": c["now"] or "not applicable",
                "What changed": "<br>".join(_text(x) for x in moved) or "its level",
            })  # fmt: skip
        frame = pd.DataFrame(rows)
        frame["Risk"] = frame["Risk"].map(_text)
        body = frame.to_html(index=False, escape=False, border=0, classes="figures text changes")
        if state.get("release"):
            body += (f"<p class='note'>Measures compared with the {html.escape(state['release'])} "
                     "release, the last before the approval.</p>")  # fmt: skip
        else:
            body += ("<p class='note'>The history store holds no release from before the "
                     "approval: the levels are compared, and each risk that moved shows this "
                     "month's evidence off target.</p>")  # fmt: skip
    _show_html(f"<section><h2>What changed since the approval</h2>{body}</section>")


def _part(part: dict) -> str:
    body = f"<h3>{html.escape(part['heading'])}</h3>{_paragraphs(part['text'])}"
    if part.get("table"):
        names = {"what": "Data", "source": "From", "goes_to": "To", "who_sees": "Who sees it"}
        frame = pd.DataFrame(part["table"]).rename(columns=names)
        body += frame.to_html(index=False, escape=True, border=0, classes="figures text flows")
    return body


def narrative(bundle: dict) -> None:
    """Steps 1 to 4, each with the sources it relies on."""
    for section in bundle["dpia"]["narrative"]:
        body = _paragraphs(section["text"]) if section["text"] else ""
        body += "".join(_part(part) for part in section["parts"])
        if section["sources"]:
            items = "".join(f"<li>{html.escape(s)}</li>" for s in section["sources"])
            body += f"<details class='sources'><summary>Sources</summary><ul>{items}</ul></details>"
        _show_html(f"<section><h2>{html.escape(section['title'])}</h2>{body}</section>")


def _matrix(risks: list[dict]) -> str:
    """The ICO's 3 x 3 matrix: likelihood down, severity across, each cell its level and
    the risks that apply scored in it."""
    risks = [r for r in risks if r["applies"]]
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
        "<div class='keep'><table class='matrix'><caption>Overall risk: likelihood of harm "
        "(rows) by severity of harm (columns); each cell names the risks that apply scored in it"
        "</caption><thead><tr><th>Likelihood \\ Severity</th>"
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
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


def _evidence(e: dict) -> str:
    note = f" {_text(e['note'])}." if e.get("note") else ""
    return (
        f"{html.escape(e['label'])}: {show(e['figure'], e['kind'])} (target "
        f"{html.escape(e['target'])}) {MET[e['met']]}.{note} Last six months: "
        f"{html.escape(_history(e['history'], e['kind']))}."
    )


def measures(bundle: dict) -> None:
    """Step 6: each mitigation, its evidence this month and over six months, its effect,
    the residual risk it earns this month, and whether it is approved."""
    d = bundle["dpia"]
    approved = (d.get("approved_state") or {}).get("levels", {})
    body = ""
    for risk in d["risks"]:
        block = f"<h3>{html.escape(risk['id'])}: {html.escape(risk['title'])}</h3>"
        if not risk["applies"]:
            block += f"<p class='note'>Not applicable: {html.escape(risk['why'])}</p>"
            body += f"<div class='keep risk-block'>{block}</div>"
            continue
        lines = []
        for m in risk["mitigations"]:
            evidence = "<br>".join(_evidence(e) for e in m["evidence"])
            evidence = evidence or _text(m.get("why") or "no monthly figure")
            register = f"register: {m['register_residual']}"  # a status's why: in the evidence
            residual = (
                f"{m['residual']} ({m['status']}; {register})"
                if m["residual"]
                else f"not applicable here ({register})"
            )
            lines.append(
                {
                    "Measure": html.escape(m["action"]),
                    "Evidence this month": evidence,
                    "Effect on risk": m["effect"],
                    "Residual risk": _text(residual),
                    "Approved": "yes" if m["approved"] else "no",
                }
            )
        table = pd.DataFrame(lines).to_html(
            index=False, escape=False, border=0, classes="figures text"
        )
        against = f"; approved {approved[risk['id']]}" if risk["id"] in approved else ""
        if risk["why"]:  # none of its measures applies here
            block += f"<p class='note'>{html.escape(risk['why'])}</p>"
        block += table + (
            f"<p><strong>Residual risk this month: {risk['residual']}</strong> "
            f"(inherent {risk['inherent']}{against}).</p>"
        )
        body += f"<div class='keep risk-block'>{block}</div>"
    if d["article_36"]:
        names = ", ".join(d["article_36"])
        body += (
            f"<p class='alert'>Residual risk high this month: {html.escape(names)} (a "
            "measure missed its target, or none applies). If the practice accepts a high "
            "residual risk it must consult the ICO before going ahead (UK GDPR "
            "Article&nbsp;36).</p>"
        )
    _show_html(f"<section><h2>Step 6: Measures to reduce risk</h2>{body}</section>")


def _signer(s: dict, what: str = "name, position and date") -> tuple[str, bool]:
    """A signer as text, and whether it is still to complete."""
    parts = [s.get("name"), s.get("role"), s.get("date")]
    text = ", ".join(p for p in parts if p)
    return (text, False) if s.get("name") else (f"{TODO} {what}", True)


def _decision(s: dict) -> tuple[str, str, bool]:
    """The DPO advice's acceptance or overruling: (who, notes, still to complete)."""
    who, todo = _signer(s.get("dpo_advice_accepted_by") or {})
    accepted = s["dpo_advice_accepted"]
    if accepted is None:
        return f"{TODO} accepted or overruled, by whom and when", "", True
    if accepted:
        return f"Accepted by {who}" if not todo else f"Accepted; {who}", "", todo
    reason = s["dpo_advice_overruled_reason"]
    notes = reason or f"{TODO} the reasons (the ICO template requires them when overruled)"
    return f"Overruled by {who}" if not todo else f"Overruled; {who}", notes, todo or not reason


def sign_off(bundle: dict) -> None:
    """Step 7: the ICO template's sign-off table, from the run configuration."""
    d = bundle["dpia"]
    s = d["sign_off"]
    covers = _covers(d)
    decided, reasons, decision_todo = _decision(s)
    advice = s["dpo_advice"]
    rows = [
        ("Measures approved by", *_signer(s["measures_approved_by"]),
         "Integrate actions back into the project plan, with date and responsibility."),
        ("Residual risks approved by", *_signer(s["residual_risks_approved_by"]),
         f"Residual risks approved: {covers}. If accepting any residual high risk, consult "
         "the ICO before going ahead."),
        ("DPO advice provided", *_signer(s["dpo_advice_provided_by"]),
         "The DPO advises on compliance, step 6 measures and whether processing can proceed."),
        ("Summary of DPO advice", advice or f"{TODO} the DPO's advice", not advice,
         "In the DPO's own words."),
        ("DPO advice accepted or overruled by", decided, decision_todo,
         reasons or "If overruled, the reasons must be given."),
        ("Consultation responses reviewed by", *_signer(s["consultation_reviewed_by"]),
         "If the decision departs from individuals' views, the reasons must be given."),
        ("This DPIA will be kept under review by", *_signer(s["kept_under_review_by"],
                                                             "name and position"),
         f"Next review: {_next_review(d, bundle)}."),
    ]  # fmt: skip
    body = "".join(
        f"<tr><td>{_text(item)}</td><td{' class=todo' if todo else ''}>{_text(who)}</td>"
        f"<td>{_text(notes)}</td></tr>"
        for item, who, todo, notes in rows
    )
    table = (
        "<table class='figures text sign-off'><thead><tr><th>Item</th>"
        f"<th>Name, position, date</th><th>Notes</th></tr></thead><tbody>{body}</tbody></table>"
    )
    alert = _reapproval(d)
    _show_html(f"<section><h2>Step 7: Sign-off and outcomes</h2>{alert}{table}</section>")
