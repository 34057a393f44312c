"""The DPIA narrative's {placeholders}: the practice's facts and sentences that follow
the month's published figures, so that the words never contradict a figure on the page.

The shipped narratives (``data/dpia-narrative*.yaml``) use them; a practice's own copy
may too. Every value is aggregate and published (disclosure-controlled in outgoing
reports).

Rules (each has a hand-worked test):

* [rule dpia-words] Sentences stating a fact the figures also show are written from the
  figures and the configuration: ``{supplier_step}`` says the guidance's step 1 was done
  on its date, or is not yet done (a date after the reference date is planned, not
  done); ``{automatic_access}`` says how many still hold access given automatically
  (live branches, or wherever the backlog is not 0), else that none was given;
  ``{withholding}`` says how access is withheld: by 104 codes, naming how many were
  added in bulk (never "individual" while any is), by the supplier setting at TPP and
  at EMIS not going live, or on the default model only by individual decisions.
"""

from __future__ import annotations

import datetime as dt

from optin_analysis.config import GoLiveStatus, Model, Practice, Supplier
from optin_analysis.outgoing.disclosure import show, some

SUPPLIER_NAMES = {"emis": "EMIS Health (EMIS Web)", "tpp": "TPP (SystmOne)"}
TPP_PREFERENCE = '"By default give prospective access to the full clinical record"'
BULK_ADVICE = (
    "a bulk 104 is not an individual assessment and travels with the patient to their next "
    "practice as a false risk flag, so NHS England advises against it; the practice is "
    "replacing them with individual decisions (a bulk 106, then individual 104s)"
)


def _done(date: dt.date | None, ref: dt.date) -> bool:
    return date is not None and date <= ref


def _live(profile: Practice, ref: dt.date) -> bool:
    return profile.go_live_status is GoLiveStatus.LIVE and _done(profile.go_live_date, ref)


def supplier_step(profile: Practice, ref: dt.date) -> str:
    """[rule dpia-words] The guidance's step 1 for the practice's branch: done, or not yet."""
    date = profile.supplier_setting_date
    planned = f" (planned for {date.isoformat()})" if date and date > ref else ""
    done = _done(date, ref)
    if profile.supplier is Supplier.TPP:
        if done:
            return (
                f"On {date.isoformat()} the practice unticked the organisation preference "
                f"{TPP_PREFERENCE} (the guidance's step 1)."
            )
        return (
            f"The practice has not yet unticked the organisation preference "
            f"{TPP_PREFERENCE}{planned}: the guidance's step 1 is not done."
        )
    if profile.go_live_status is GoLiveStatus.NOT_PLANNED:
        if done:
            return (
                f"Since {date.isoformat()} EMIS's global settings let the practice give "
                "full prospective access patient by patient (the guidance's step 1)."
            )
        return (
            "The practice has not yet set EMIS's global settings to give full prospective "
            f"access patient by patient{planned}: the guidance's step 1 is not done."
        )
    if done:
        return (
            f"On {date.isoformat()} the practice bulk-added 104 codes so that EMIS gives "
            "no access automatically (the guidance's step 1)."
        )
    return (
        "The practice has not yet bulk-added 104 codes to stop EMIS giving access "
        f"automatically{planned}: the guidance's step 1 is not done."
    )


def automatic_access(profile: Practice, headline: dict, ref: dt.date) -> str:
    """[rule dpia-words] Access given automatically and still held, from the backlog."""
    backlog = headline.get("revocation_backlog")
    who = "patients with an online account" if profile.supplier is Supplier.EMIS else "patients"
    if some(backlog):
        return (
            f"Access given automatically is being reviewed and revoked until the patient "
            f"opts in: {show(backlog)} {who} still hold it this month."
        )
    if _live(profile, ref):
        return (
            "Access given automatically since go-live has been reviewed: nobody holds it "
            "this month, so none is left to revoke."
        )
    return "The practice has not gone live, so no access has been given automatically."


def _bulk_clause(bulk: object, individual: object) -> str:
    return (
        f"{show(bulk)} patients hold a 104 code added in bulk, and {show(individual)} one "
        f"added individually: {BULK_ADVICE}."
    )


def withholding(profile: Practice, headline: dict, ref: dt.date) -> str:
    """[rule dpia-words] How access is withheld, in words the figures bear out."""
    bulk = headline.get("active_104_bulk")
    individual = headline.get("active_104_individual")
    bulk_words = _bulk_clause(bulk, individual) if some(bulk) else ""
    if profile.model is Model.DEFAULT:
        base = (
            "Access is withheld from a patient who has not opted out only after an "
            "individual review found it could cause serious harm or disclose information "
            f"about someone else (a 104 code: {show(individual)} patients)."
        )
        return f"{base} {bulk_words}".strip()
    setting = _done(profile.supplier_setting_date, ref)
    if profile.supplier is Supplier.TPP or profile.go_live_status is GoLiveStatus.NOT_PLANNED:
        if not setting:
            base = (
                "The setting that would withhold access until a patient asks is not yet "
                "made (the guidance's step 1)."
            )
        elif profile.supplier is Supplier.TPP:
            base = (
                "Until a patient asks, the unticked organisation preference withholds "
                "access from everyone: a setting of the practice, not a code on the "
                "patient's record."
            )
        else:
            base = (
                "Until a patient asks, nobody is given access: EMIS's global settings "
                "give it patient by patient, a setting of the practice, not a code on "
                "the patient's record."
            )
        return f"{base} {bulk_words}".strip()
    if bulk_words:
        return f"Until a patient asks, access is withheld by a 104 code. {bulk_words}"
    return (
        "Until a patient asks, access is withheld by a 104 code; none of the active 104 "
        f"codes was added in bulk ({show(individual)} added individually)."
    )


def placeholders(profile: Practice, bundle: dict) -> dict:
    """The values a narrative's {placeholders} are filled with (see the module docstring
    and the shipped narratives' header)."""
    from optin_analysis.outgoing.dpia import BRANCH_WORDS, branch_key, reference_date

    h = bundle["headline"]
    ref = reference_date(bundle)
    values = {
        "practice": profile.name,
        "ods_code": profile.ods_code,
        "supplier": profile.supplier.value.upper(),
        "supplier_name": SUPPLIER_NAMES[profile.supplier.value],
        "branch": BRANCH_WORDS[branch_key(profile)],
        "go_live": bundle["status"]["go_live"],
        "extract_date": profile.extract_date.isoformat(),
        "period": bundle["period"],
        "dpia_approved": profile.dpia_approved.isoformat()
        if profile.dpia_approved
        else "not recorded",
        "eligible": show(h.get("eligible")),
        "account_holders": show(h.get("account_holders_16plus")),
        "bulk_104": show(h.get("active_104_bulk")),
        "individual_104": show(h.get("active_104_individual")),
        "withholding": withholding(profile, h, ref),
    }
    if profile.model is Model.DEFAULT:
        return values | {
            "access_share_of_account_holders": show(
                h.get("access_share_of_account_holders"), "share"
            ),
            "access_share_of_eligible": show(h.get("access_share_of_eligible"), "share"),
            "active_104_share": show(h.get("active_104_share"), "share"),
        }
    return values | {
        "opt_in_holders": show(h.get("opt_in_holders")),
        "supplier_step": supplier_step(profile, ref),
        "automatic_access": automatic_access(profile, h, ref),
    }
