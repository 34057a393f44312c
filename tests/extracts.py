"""Tiny hand-written supplier extracts and a run configuration for them, for tests."""

from __future__ import annotations

from pathlib import Path

import yaml

EMIS_PREAMBLE = "Search: Opt-in model patients\r\nRun date: 31-Oct-2026\r\n"
EMIS_PATIENTS = (
    EMIS_PREAMBLE
    + "Patient ID,NHS Number,Date of Birth,Gender,Registration Date,Online Services Status,"
    "Online Services Registration Date,Record Access,Record Access Date\r\n"
    "E1,9434765919,12-Jun-1980,F,01-Jan-2010,Live,01-Mar-2022,Full Record (Prospective),"
    "31-Oct-2023\r\n"
    "E2,,29-Feb-2012,M,01-Mar-2012,,,,\r\n"
    "E3,9990000018,05-May-1990,M,10-Oct-2015,Active,02-Feb-2024,Detailed Coded Record,\r\n"
)
EMIS_EVENTS = (
    EMIS_PREAMBLE + "Patient ID,SNOMED CT Concept ID,Date\r\n"
    "E2,1364731000000104,15-Nov-2023\r\n"
    "E3,LOCAL-OPTIN-REQ,01-Mar-2024\r\n"
)
TPP_PATIENTS = (
    "Patient Identifier,NHS number,Date of birth,Sex,Date registered,Online user,"
    "Online user since,Record access level,Record access from\r\n"
    "T1,9434765919,12/06/1980,F,01/01/2010,Y,01/03/2022,Full clinical record (prospective),"
    "31/10/2023\r\n"
    "T2,,29/02/2012,M,01/03/2012,N,,No access,\r\n"
)
TPP_EVENTS = "Patient Identifier,SNOMED code,Event date\r\nT1,1290331000000103,03/01/2024\r\n"


def write_practice(
    root: Path, supplier: str, patients: str | bytes, events: str | bytes, ods: str = "Y90001"
) -> Path:
    """Write one practice's extracts and a config.yaml for it; return the config path."""
    folder = root / ods
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in (("patients.csv", patients), ("events.csv", events)):
        data = body.encode("utf-8") if isinstance(body, str) else body
        (folder / name).write_bytes(data)
    config = {
        "practices": [
            {
                "ods_code": ods,
                "name": "Test Practice",
                "supplier": supplier,
                "go_live_status": "live",
                "go_live_date": "2023-10-31",
                "extract_date": "2026-10-31",
                "patients": f"{ods}/patients.csv",
                "events": f"{ods}/events.csv",
            }
        ]
    }
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path
