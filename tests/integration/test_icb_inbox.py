"""The ICB's roll-up from the summaries its practices sent (``optin-analysis rollup``).

Five generated practices (one on the default model) each make their summary on their
own, as a practice running optin-analysis on its premises would; the ICB receives them in
an inbox beside three it must refuse: one for another month, one with a figure edited,
one sent twice. The roll-up lists every refusal with its reason, and its figures are the
published totals a single run over the five practices gives.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil

import pytest
from bs4 import BeautifulSoup
from typer.testing import CliRunner

from optin_analysis.config import Disclosure, Practice, RunConfig
from optin_analysis.generate import SAMPLE_BRANCHES, generate
from optin_analysis.ingest.load import PracticeData
from optin_analysis.outgoing.rollup import TOTALS, build_for_run
from optin_analysis.outgoing.summary import compute, outgoing, write_json
from optin_analysis.run.cli import app

PERIOD = "2026-10"
RULE = Disclosure()


@pytest.fixture(scope="module")
def icb(tmp_path_factory):
    root = tmp_path_factory.mktemp("icb")
    synth = generate(5, 4_000, 17, dt.date(2026, 10, 31), SAMPLE_BRANCHES)
    profiles = [Practice(**p) for p in synth.profiles]
    cfg = RunConfig(practices=profiles, reports_dir=root / "run" / "reports",
                    history_db=root / "run" / "history.duckdb")  # fmt: skip
    inbox = root / "inbox"
    exact = {}
    for profile in profiles:
        mine = synth.patients["practice_code"] == profile.ods_code
        events = synth.events[synth.events["practice_code"] == profile.ods_code]
        data = PracticeData(profile, synth.patients[mine], events)
        for period in ("2026-09", PERIOD):
            month = compute(data, period)
            bundle = outgoing(month, RULE)  # each practice on its own: no shared history
            where = cfg.reports_dir / period / profile.ods_code / "summary.json"
            write_json(bundle, where)
        exact[profile.ods_code] = month.measures.headline
        shutil.copytree(where.parent, inbox / profile.ods_code)
    single = build_for_run(cfg, PERIOD, exact=exact)
    # three summaries the ICB must refuse
    september = cfg.reports_dir / "2026-09" / "Y90002" / "summary.json"
    shutil.copy(september, inbox / "Y90002-september.json")  # another month
    edited = json.loads((inbox / "Y90003" / "summary.json").read_text())
    edited["headline"]["eligible"] += 2
    (inbox / "Y90003" / "summary.json").write_text(json.dumps(edited))  # a figure edited
    shutil.copy(inbox / "Y90004" / "summary.json", inbox / "Y90004-again.json")  # twice
    roster = root / "practices.csv"
    roster.write_text("ODS code,Name,PCN\n" + "".join(
        f"{p.ods_code},{p.name},{'North' if i < 3 else 'South'} PCN\n"
        for i, p in enumerate(profiles)) + "Y90009,Practice Nine,South PCN\n")  # fmt: skip
    out = root / "out" / PERIOD
    result = CliRunner().invoke(app, ["rollup", str(inbox), "--period", PERIOD, "--out",
                                      str(out), "--practices", str(roster)])  # fmt: skip
    return {"single": single, "result": result, "out": out,
            "rollup": json.loads((out / "rollup.json").read_text())}  # fmt: skip


def test_every_planted_summary_is_refused_with_its_reason(icb) -> None:
    assert icb["result"].exit_code == 1, icb["result"].output
    reasons = {r["where"]: r["reason"] for r in icb["rollup"]["refused"]}
    assert "for 2026-09, not 2026-10" in reasons["Y90002-september.json"]
    assert "headline.eligible" in reasons["Y90003/summary.json"]
    assert "not a published value" in reasons["Y90003/summary.json"]
    assert "2 summaries for Y90004" in reasons["Y90004-again.json"]
    assert "2 summaries for Y90004" in reasons["Y90004/summary.json"]
    assert "refused Y90002-september.json" in icb["result"].output


def test_who_sent_nothing_or_was_refused_is_listed(icb) -> None:
    missing = {m["ods_code"]: m["reason"] for m in icb["rollup"]["missing"]}
    assert missing["Y90009"] == "nothing received"
    assert missing["Y90003"].startswith("refused:") and missing["Y90004"].startswith("refused:")
    assert {r["ods_code"] for r in icb["rollup"]["practices"]} == {"Y90001", "Y90002", "Y90005"}


def test_the_figures_are_the_single_run_s_published_figures(icb) -> None:
    single = {r["ods_code"]: r for r in icb["single"]["practices"]}
    for row in icb["rollup"]["practices"]:
        assert {k: row[k] for k in TOTALS} == {k: single[row["ods_code"]][k] for k in TOTALS}
    # totals over the same practices: sums of published figures ("at least" where [c])
    kept = [single[r["ods_code"]] for r in icb["rollup"]["practices"] if r["model"] != "default"]
    for key, total in icb["rollup"]["totals"].items():
        values = [r[key] for r in kept]
        known = sum(int(v) for v in values if v != "[c]")
        hidden = values.count("[c]")
        assert (total["value"], total["suppressed"]) == (known + hidden, hidden), key


def test_every_total_with_a_suppressed_practice_reads_at_least_in_its_own_cell(icb) -> None:
    soup = BeautifulSoup((icb["out"] / "icb-rollup.html").read_text("utf-8"), "html.parser")
    table = next(t for t in soup.find_all("table") if "Registered patients aged 16+" in t.text)
    rows = [tr.find_all("td") for tr in table.find_all("tr")[1:]]
    cells = {label.text: value.text for label, value in rows}
    suppressed = [k for k, t in icb["rollup"]["totals"].items() if t["suppressed"]]
    assert suppressed, "no total had a suppressed practice: the test would not check anything"
    for cell in cells.values():
        match = re.fullmatch(r"at least ([\d,]+) \((\d+) practices? shown as \[c\]\)", cell)
        assert match or re.fullmatch(r"[\d,]+", cell), cell
    assert sum("at least" in c for c in cells.values()) == len(suppressed)


def test_needs_attention_first_reads_in_the_order_of_rollup_json(icb) -> None:
    soup = BeautifulSoup((icb["out"] / "icb-rollup.html").read_text("utf-8"), "html.parser")
    section = next(s for s in soup.find_all("section") if "Needs attention first" in s.text)
    shown = [re.search(r"\((Y9\d{4})\)", tr.find("td").text).group(1)
             for tr in section.find_all("tr")[1:]]  # fmt: skip
    flagged = [r["ods_code"] for r in icb["rollup"]["practices"]
               if r["flags"] and r["model"] != "default"]  # fmt: skip
    assert shown == flagged and shown
    affected = [r["patients_affected"] for r in icb["rollup"]["practices"] if r["flags"]
                and r["model"] != "default"]  # fmt: skip
    assert affected == sorted(affected, reverse=True)
    models = [r["model"] for r in icb["rollup"]["practices"]]
    assert models == sorted(models, key=lambda m: m == "default")  # default model last


def test_open_requests_never_read_fewer_than_those_waiting_over_28_days(icb) -> None:
    # per practice and in the totals: a nested count never reads below the one inside it
    keys = ["open_requests"] + [f"open_requests_over_{t}_days" for t in (28, 90, 180)]
    low = {"[c]": 1, None: 0}
    for row in icb["rollup"]["practices"]:
        if row["model"] == "default":
            continue
        values = [low.get(row[k], row[k]) for k in keys]
        assert values == sorted(values, reverse=True), (row["ods_code"], values)
        if row["open_requests"] == "[c]":
            assert all(row[k] in ("[c]", 0) for k in keys[1:]), row["ods_code"]
    totals = [icb["rollup"]["totals"][k]["value"] for k in keys]
    assert totals == sorted(totals, reverse=True)
