"""Write a small hand-designed population (tests/oracle/edge/) that exercises the rules'
edge cases and the two choices SPEC names, in the suppliers' export formats, so the
package can be run on it as a black box and compared with the oracle.

    python tests/oracle/make_edge_cases.py   # then: pytest tests/oracle

Each patient's comment says what it exercises.
"""

import datetime as dt
import os

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "edge")

CODE = {
    "104": "1364731000000104",
    "106": "1364751000000106",
    "103": "1290331000000103",
    "req": "LOCAL-OPTIN-REQ",
    "couns": "LOCAL-COUNSELLED",
    "grant": "LOCAL-ACCESS-GRANTED",
    "revoke": "LOCAL-ACCESS-REVOKED",
    "decl": "LOCAL-OPTIN-DECL",
    "withheld": "LOCAL-WITHHELD",
    "letter": "LOCAL-REG-LETTER",
}

_nhs_seq = [100000]


def nhs_number():
    while True:
        _nhs_seq[0] += 1
        base = "999" + f"{_nhs_seq[0]:06d}"
        s = sum(int(c) * w for c, w in zip(base, range(10, 1, -1), strict=False))
        check = 11 - s % 11
        if check == 11:
            check = 0
        if check != 10:
            return base + str(check)


def D(s):
    return dt.date.fromisoformat(s) if s else None


# patient: (id suffix, dob, reg, account(bool), account_date, level, level_date, events)
# level: none|summary|dc|full
EMIS_LIVE = [
    # 1 full, no date, latest coded is a revoke (SPEC choice 1)
    (
        "01",
        "1970-01-01",
        "2010-01-01",
        True,
        "2020-01-01",
        "full",
        None,
        [("revoke", "2024-03-10")],
    ),
    # 2 full, no date, latest coded is a grant after a request (provision 2024-05-20)
    (
        "02",
        "1970-01-02",
        "2010-01-01",
        True,
        "2020-01-01",
        "full",
        None,
        [("req", "2024-05-01"), ("couns", "2024-05-10"), ("grant", "2024-05-20")],
    ),
    # 3 full, no date, no codes, live practice: automatic since go-live
    ("03", "1970-01-03", "2010-01-01", True, "2020-01-01", "full", None, []),
    # 4 full since 2024-01-15 and a revoke coded later (contradicted by the extract)
    (
        "04",
        "1970-01-04",
        "2010-01-01",
        True,
        "2020-01-01",
        "full",
        "2024-01-15",
        [("revoke", "2024-06-01")],
    ),
    # 5 revoke coded on the extract's start date
    (
        "05",
        "1970-01-05",
        "2010-01-01",
        True,
        "2020-01-01",
        "full",
        "2024-06-01",
        [("revoke", "2024-06-01")],
    ),
    # 6 request and grant on one day: a provision, 0 days
    (
        "06",
        "1970-01-06",
        "2010-01-01",
        True,
        "2020-01-01",
        "full",
        "2024-07-03",
        [("req", "2024-07-03"), ("grant", "2024-07-03")],
    ),
    # 7 request and opt-out on one day: opted out
    (
        "07",
        "1970-01-07",
        "2010-01-01",
        True,
        "2020-01-01",
        "none",
        None,
        [("req", "2024-08-05"), ("103", "2024-08-05")],
    ),
    # 8 grant and revoke on one day after a request: provision then revocation (of opt-in access)
    (
        "08",
        "1970-01-08",
        "2010-01-01",
        True,
        "2020-01-01",
        "none",
        None,
        [("req", "2024-02-01"), ("grant", "2024-02-12"), ("revoke", "2024-02-12")],
    ),
    # 9 104 and 106 on one day: the 104 counts as later (active)
    (
        "09",
        "1970-01-09",
        "2010-01-01",
        False,
        None,
        "none",
        None,
        [("106", "2023-11-02"), ("104", "2023-11-02")],
    ),
    # 10 born 29 Feb 2008: 16 on 29 Feb 2024 (leap year); full since 2024-03-01, automatic
    ("10", "2008-02-29", "2008-03-10", True, "2022-05-05", "full", "2024-03-01", []),
    # 11 opted out, then asked, counselled, provisioned
    (
        "11",
        "1970-01-11",
        "2010-01-01",
        True,
        "2020-01-01",
        "full",
        "2024-02-20",
        [
            ("103", "2023-12-01"),
            ("req", "2024-02-01"),
            ("couns", "2024-02-10"),
            ("grant", "2024-02-20"),
        ],
    ),
    # 12 provisioned, revoked, re-granted without a request: restoration
    (
        "12",
        "1970-01-12",
        "2010-01-01",
        True,
        "2020-01-01",
        "full",
        "2024-05-01",
        [
            ("req", "2024-01-05"),
            ("grant", "2024-01-20"),
            ("revoke", "2024-04-01"),
            ("grant", "2024-05-01"),
        ],
    ),
    # 13 chaser: waits from the first request (45 days)
    (
        "13",
        "1970-01-13",
        "2010-01-01",
        True,
        "2020-01-01",
        "full",
        "2024-08-15",
        [
            ("req", "2024-07-01"),
            ("req", "2024-07-20"),
            ("couns", "2024-08-01"),
            ("grant", "2024-08-15"),
        ],
    ),
    # 14 automatic since go-live, asks later, never provisioned: backlog and open request
    (
        "14",
        "1970-01-14",
        "2010-01-01",
        True,
        "2020-01-01",
        "full",
        "2023-10-31",
        [("req", "2025-01-10")],
    ),
    # 15 automatic since go-live, asks, grant coded: provision converts it to opt-in
    (
        "15",
        "1970-01-15",
        "2010-01-01",
        True,
        "2020-01-01",
        "full",
        "2023-10-31",
        [("req", "2025-02-10"), ("couns", "2025-02-20"), ("grant", "2025-03-01")],
    ),
    # 16 summary dated 2019 (account creation), revoke coded 2025-04-27 (SPEC: counts)
    (
        "16",
        "1970-01-16",
        "2010-01-01",
        True,
        "2019-05-07",
        "summary",
        "2019-05-07",
        [("revoke", "2025-04-27")],
    ),
    # 17 summary dated before a provision (grant after the level's date)
    (
        "17",
        "1970-01-17",
        "2010-01-01",
        True,
        "2023-12-27",
        "summary",
        "2023-12-27",
        [("req", "2024-03-26"), ("grant", "2024-04-23")],
    ),
    # 18 turns 16 on 2026-12-15: pending, protected by a 104
    ("18", "2010-12-15", "2011-01-01", False, None, "none", None, [("104", "2023-11-05")]),
    # 19 turns 16 on 2027-02-02: pending, not protected
    ("19", "2011-02-02", "2011-03-01", False, None, "none", None, []),
    # 20 registered 2025-06-01
    ("20", "1980-03-03", "2025-06-01", True, "2025-06-10", "none", None, [("104", "2025-06-05")]),
    # 21 declined request, and a withheld-after-review code
    (
        "21",
        "1970-01-21",
        "2010-01-01",
        True,
        "2020-01-01",
        "none",
        None,
        [("req", "2024-09-01"), ("withheld", "2024-09-15"), ("decl", "2024-09-20")],
    ),
    # 22 full since 2024-10-10 while a request is open (implied provision); grant coded later
    (
        "22",
        "1970-01-22",
        "2010-01-01",
        True,
        "2020-01-01",
        "full",
        "2024-10-10",
        [("req", "2024-09-25"), ("couns", "2024-10-05"), ("grant", "2024-10-20")],
    ),
    # 23 revoke then later full access with an open request (implied provision, no grant code)
    (
        "23",
        "1970-01-23",
        "2010-01-01",
        True,
        "2020-01-01",
        "full",
        "2026-06-12",
        [("revoke", "2024-05-30"), ("req", "2026-05-14"), ("couns", "2026-06-06")],
    ),
    # 24 revoke then later full access, no request, no grant code (automatic re-grant)
    (
        "24",
        "1970-01-24",
        "2010-01-01",
        True,
        "2020-01-01",
        "full",
        "2025-09-01",
        [("revoke", "2024-05-30")],
    ),
    # 25 grant coded, extract shows no access (disagreement); held by the codes until the
    # extract date
    (
        "25",
        "1970-01-25",
        "2010-01-01",
        True,
        "2020-01-01",
        "none",
        None,
        [("req", "2025-09-10"), ("grant", "2025-10-06")],
    ),
    # 26 dormant: automatic full access, account inactive
    ("26", "1970-01-26", "2010-01-01", False, None, "full", "2023-10-31", []),
    # 27 turned 16 on 2024-05-15, automatic at 16, revoked 2024-05-20 (counts in May 2024)
    (
        "27",
        "2008-05-15",
        "2008-06-01",
        True,
        "2023-01-01",
        "none",
        None,
        [("revoke", "2024-05-20")],
    ),
    # 28 opted out, no access: not withheld
    ("28", "1970-01-28", "2010-01-01", True, "2020-01-01", "none", None, [("103", "2023-09-09")]),
    # 29 106 cancels a 104
    (
        "29",
        "1970-01-29",
        "2010-01-01",
        True,
        "2020-01-01",
        "none",
        None,
        [("104", "2023-11-02"), ("106", "2024-02-02")],
    ),
    # 30 provisioned, revoked, opted out, then granted without a request: automatic (opt-out since)
    (
        "30",
        "1970-01-30",
        "2010-01-01",
        True,
        "2020-01-01",
        "full",
        "2024-06-01",
        [
            ("req", "2024-01-05"),
            ("grant", "2024-01-20"),
            ("revoke", "2024-03-01"),
            ("103", "2024-04-01"),
            ("grant", "2024-06-01"),
        ],
    ),
    # 31 coded grant with no request and no earlier provision: automatic
    (
        "31",
        "1970-01-31",
        "2010-01-01",
        True,
        "2020-01-01",
        "full",
        "2024-03-01",
        [("grant", "2024-03-01")],
    ),
    # 32 provisioned, then asks again: a new episode that nothing closes
    (
        "32",
        "1970-02-01",
        "2010-01-01",
        True,
        "2020-01-01",
        "full",
        "2024-02-15",
        [("req", "2024-02-01"), ("grant", "2024-02-15"), ("req", "2024-06-01")],
    ),
    # 33 counselled before the request: not counselled within the episode
    (
        "33",
        "1970-02-02",
        "2010-01-01",
        True,
        "2020-01-01",
        "full",
        "2024-03-20",
        [("couns", "2024-03-01"), ("req", "2024-03-05"), ("grant", "2024-03-20")],
    ),
    # 34 declined, then a new request: waits from the new request (14 days)
    (
        "34",
        "1970-02-03",
        "2010-01-01",
        True,
        "2020-01-01",
        "full",
        "2024-03-15",
        [
            ("req", "2024-01-01"),
            ("decl", "2024-01-20"),
            ("req", "2024-03-01"),
            ("grant", "2024-03-15"),
        ],
    ),
    # 35 asks, opts out, asks again: open from the second request, not opted out
    (
        "35",
        "1970-02-04",
        "2010-01-01",
        True,
        "2020-01-01",
        "none",
        None,
        [("req", "2024-01-01"), ("103", "2024-01-10"), ("req", "2024-02-01")],
    ),
    # 36 account created 2025-05-05 with automatic full access from that day
    ("36", "1970-02-05", "2010-01-01", True, "2025-05-05", "full", "2025-05-05", []),
    # 37 full access from the day of the request, no grant code: implied provision, 0 days
    (
        "37",
        "1970-02-06",
        "2010-01-01",
        True,
        "2020-01-01",
        "full",
        "2024-06-06",
        [("req", "2024-06-06")],
    ),
]

EMIS_NOT_LIVE = [
    # 1 full, no date, no codes, never went live (SPEC choice 2)
    ("01", "1960-01-01", "2005-01-01", True, "2019-01-01", "full", None, []),
    # 2 full, no date, latest coded revoke, never went live (choice 1)
    (
        "02",
        "1960-01-02",
        "2005-01-01",
        True,
        "2019-01-01",
        "full",
        None,
        [("revoke", "2024-01-10")],
    ),
    # 3 ordinary provision
    (
        "03",
        "1960-01-03",
        "2005-01-01",
        True,
        "2019-01-01",
        "full",
        "2024-04-02",
        [("req", "2024-03-01"), ("couns", "2024-03-15"), ("grant", "2024-04-02")],
    ),
    # 4 no access, no codes: withheld; protected by the setting
    ("04", "1960-01-04", "2005-01-01", True, "2019-01-01", "none", None, []),
    # 5 turns 16 on 2026-11-20: pending, protected by the setting
    ("05", "2010-11-20", "2010-12-01", False, None, "none", None, []),
]

TPP_DUE = [
    # 1 full, no date, no codes at a practice due to go live after the extract (choice 2)
    ("01", "1965-01-01", "2005-01-01", True, "2019-01-01", "full", None, []),
    # 2 no access, account, no codes
    ("02", "1965-01-02", "2005-01-01", True, "2019-01-01", "none", None, []),
    # 3 full access without account, dated (automatic; TPP backlog includes it)
    ("03", "1965-01-03", "2005-01-01", False, None, "full", "2024-02-02", []),
    # 4 request open since 2026-09-01 (mid-month extract 2026-10-17: 46 days)
    ("04", "1965-01-04", "2005-01-01", True, "2019-01-01", "none", None, [("req", "2026-09-01")]),
]

EMIS_DEFAULT = [
    ("01", "1975-01-01", "2005-01-01", True, "2019-01-01", "full", "2023-10-31", []),
    ("02", "1975-01-02", "2005-01-01", True, "2019-01-01", "none", None, [("104", "2023-10-20")]),
    ("03", "1975-01-03", "2005-01-01", False, None, "none", None, [("103", "2023-09-01")]),
    ("04", "1975-01-04", "2005-01-01", True, "2024-03-03", "full", "2024-03-03", []),
]

EMIS_LEVEL = {
    "none": "",
    "summary": "Summary Information Only",
    "dc": "Detailed Coded Record",
    "full": "Full Record (Prospective)",
}
TPP_LEVEL = {
    "none": "",
    "summary": "Summary",
    "dc": "Detailed coded",
    "full": "Full clinical record (prospective)",
}


def emis_date(s):
    return D(s).strftime("%d-%b-%Y") if s else ""


def tpp_date(s):
    return D(s).strftime("%d/%m/%Y") if s else ""


def write_emis(folder, ods, patients, run_date):
    os.makedirs(folder, exist_ok=True)
    pre = f"Search: Opt-in model \u2013 patients\r\nRun date: {emis_date(run_date)}\r\n"
    rows = [
        "Patient ID,NHS Number,Date of Birth,Gender,Registration Date,Online Services Status,"
        "Online Services Registration Date,Record Access,Record Access Date"
    ]
    ev = ["Patient ID,SNOMED CT Concept ID,Date"]
    for sfx, dob, reg, acc, accd, lvl, lvld, events in patients:
        pid = f"EDGE-{ods}-{sfx}"
        rows.append(
            ",".join(
                [
                    pid,
                    nhs_number(),
                    emis_date(dob),
                    "F",
                    emis_date(reg),
                    "Live" if acc else "Inactive",
                    emis_date(accd),
                    EMIS_LEVEL[lvl],
                    emis_date(lvld),
                ]
            )
        )
        for c, d in events:
            ev.append(",".join([pid, CODE[c], emis_date(d)]))
    # Windows-1252, as EMIS exports often are
    with open(os.path.join(folder, "patients.csv"), "wb") as f:
        f.write((pre + "\r\n".join(rows) + "\r\n").encode("cp1252"))
    pre_e = pre.replace("patients", "events")
    with open(os.path.join(folder, "events.csv"), "wb") as f:
        f.write((pre_e + "\r\n".join(ev) + "\r\n").encode("cp1252"))


def write_tpp(folder, ods, patients):
    os.makedirs(folder, exist_ok=True)
    rows = [
        "Patient Identifier,NHS number,Date of birth,Sex,Date registered,Online user,"
        "Online user since,Record access level,Record access from"
    ]
    ev = ["Patient Identifier,SNOMED code,Event date"]
    for sfx, dob, reg, acc, accd, lvl, lvld, events in patients:
        pid = f"EDGE-{ods}-{sfx}"
        rows.append(
            ",".join(
                [
                    pid,
                    nhs_number(),
                    tpp_date(dob),
                    "M",
                    tpp_date(reg),
                    "Y" if acc else "N",
                    tpp_date(accd),
                    TPP_LEVEL[lvl],
                    tpp_date(lvld),
                ]
            )
        )
        for c, d in events:
            ev.append(",".join([pid, CODE[c], tpp_date(d)]))
    with open(os.path.join(folder, "patients.csv"), "w", encoding="utf-8", newline="") as f:
        f.write("\n".join(rows) + "\n")
    with open(os.path.join(folder, "events.csv"), "w", encoding="utf-8", newline="") as f:
        f.write("\n".join(ev) + "\n")


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def main(split=False):
    """split=True: one practice per patient (tests/oracle/edge-split/), so the package's
    measures can be read patient by patient."""
    practices = [
        dict(
            ods_code="Y99001",
            name="Edge EMIS live",
            supplier="emis",
            model="opt_in",
            go_live_status="live",
            go_live_date=dt.date(2023, 10, 31),
            extract_date=dt.date(2026, 10, 31),
            supplier_setting_date=dt.date(2023, 11, 5),
            website_updated=dt.date(2023, 11, 20),
            icb_informed=dt.date(2023, 12, 1),
            dpia_approved=dt.date(2023, 9, 1),
            data=EMIS_LIVE,
            kind="emis",
        ),
        dict(
            ods_code="Y99002",
            name="Edge EMIS not live",
            supplier="emis",
            model="opt_in",
            go_live_status="not_planned",
            go_live_date=None,
            extract_date=dt.date(2026, 10, 31),
            supplier_setting_date=dt.date(2023, 10, 14),
            website_updated=None,
            icb_informed=None,
            dpia_approved=dt.date(2023, 9, 1),
            data=EMIS_NOT_LIVE,
            kind="emis",
        ),
        dict(
            ods_code="Y99003",
            name="Edge TPP due",
            supplier="tpp",
            model="opt_in",
            go_live_status="due",
            go_live_date=dt.date(2027, 2, 10),
            extract_date=dt.date(2026, 10, 17),
            supplier_setting_date=dt.date(2026, 9, 2),
            website_updated=None,
            icb_informed=None,
            dpia_approved=dt.date(2026, 8, 5),
            data=TPP_DUE,
            kind="tpp",
        ),
        dict(
            ods_code="Y99004",
            name="Edge EMIS default",
            supplier="emis",
            model="default",
            go_live_status="live",
            go_live_date=dt.date(2023, 10, 31),
            extract_date=dt.date(2026, 10, 31),
            supplier_setting_date=None,
            website_updated=None,
            icb_informed=None,
            dpia_approved=dt.date(2023, 10, 19),
            data=EMIS_DEFAULT,
            kind="emis",
        ),
    ]
    if split:
        one = []
        n = 0
        for pr in practices:
            for row in pr["data"]:
                n += 1
                q = dict(
                    pr, data=[row], ods_code=f"Z{n:05d}", name=f"{pr['ods_code']} patient {row[0]}"
                )
                one.append(q)
        practices = one
    out = OUT + ("-split" if split else "")
    cfg = {"reports_dir": "reports", "worklists_dir": "worklists", "practices": []}
    for pr in practices:
        data, kind = pr.pop("data"), pr.pop("kind")
        folder = os.path.join(out, pr["ods_code"])
        if kind == "emis":
            write_emis(folder, pr["ods_code"], data, pr["extract_date"].isoformat())
        else:
            write_tpp(folder, pr["ods_code"], data)
        pr["patients"] = f"{pr['ods_code']}/patients.csv"
        pr["events"] = f"{pr['ods_code']}/events.csv"
        cfg["practices"].append(pr)
    with open(os.path.join(out, "config.yaml"), "w") as f:
        f.write("# hand-designed edge cases for the oracle (tests/oracle/make_edge_cases.py)\n")
        yaml.dump(cfg, f, Dumper=_NoAliases, sort_keys=False)


if __name__ == "__main__":
    main()
    main(split=True)
