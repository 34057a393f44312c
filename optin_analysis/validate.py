"""Validation: supplier text to typed canonical tables, every problem reported at once.

Each table is checked with a pandera schema in lazy mode, so one pass lists every bad
cell. Values are parsed once, vectorised; the schema's checks compare against the parsed
columns, and each failure becomes a :class:`~optin_analysis.problems.Problem` naming the
file, the spreadsheet row and the column heading the user knows.
"""

from __future__ import annotations

import datetime as dt
import warnings

import pandas as pd
import pandera.pandas as pa

from . import nhs_number
from .adapters import RawTable, TableMapping
from .problems import Problem, Severity
from .schema import AccessLevel

MAX_ROWS_PER_MESSAGE = 1

# Quieten pandera's advice about its own import style once here, not in every caller.
warnings.filterwarnings("ignore", module="pandera")


def _dates(text: pd.Series, fmt: str) -> pd.Series:
    return pd.to_datetime(text.str.strip(), format=fmt, errors="coerce").astype("datetime64[us]")


def _date_checks(
    parsed: pd.Series, fmt: str, required: bool, extract_date: dt.date, what: str
) -> list[pa.Check]:
    example = dt.date(2024, 6, 12).strftime(fmt)
    limit = pd.Timestamp(extract_date)
    checks = [
        pa.Check(
            lambda s: (s.str.strip() == "") | parsed.notna(),
            error=f"not a valid date in the form {example}",
        ),
        pa.Check(lambda s: ~(parsed > limit), error=f"{what} is after the extract date"),
    ]
    if required:
        checks.insert(0, pa.Check(lambda s: s.str.strip() != "", error="empty: a date is needed"))
    return checks


def _value_check(text: pd.Series, mapping: dict) -> pa.Check:
    allowed = ", ".join(f"'{k}'" for k in mapping if k)
    return pa.Check(lambda s: s.str.strip().isin(mapping), error=f"not one of {allowed}")


def _failures(raw: RawTable, schema: pa.DataFrameSchema) -> list[Problem]:
    try:
        schema.validate(raw.frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return []
    cases = cases[cases["index"].notna()]
    messages = (
        cases["check"]
        .astype("str")
        .replace({"field_uniqueness": "the same patient id appears on more than one row"})
    )
    headings = cases["column"].map(raw.headings)
    rows = cases["index"].astype("int64") + raw.first_row
    order = rows.argsort(kind="stable")
    return [
        Problem(raw.path, m, row=int(r), column=h)
        for m, r, h in zip(
            messages.iloc[order], rows.iloc[order], headings.iloc[order], strict=True
        )
    ]


def patients(
    raw: RawTable, mapping: TableMapping, practice_code: str, extract_date: dt.date
) -> tuple[pd.DataFrame, list[Problem]]:
    """Check and convert a patients export; returns the canonical table and all problems."""
    f = raw.frame
    fmt = mapping.date_format
    parsed = {
        c: _dates(f[c], fmt)
        for c in ("date_of_birth", "registration_date", "online_account_date", "access_start_date")
    }
    account_map = mapping.values.get("online_account", {})
    level_map = mapping.values.get("access_level", {})
    born_after_registered = parsed["date_of_birth"] > parsed["registration_date"]
    nhs = f["nhs_number"].str.replace(" ", "", regex=False)
    schema = pa.DataFrameSchema(
        {
            "patient_id": pa.Column(
                str, pa.Check(lambda s: s.str.strip() != "", error="empty patient id"), unique=True
            ),
            "nhs_number": pa.Column(
                str,
                pa.Check(
                    lambda s: (nhs == "") | nhs_number.is_valid(nhs),
                    error="not a valid NHS number (10 digits with a Modulus 11 check digit)",
                ),
            ),
            "date_of_birth": pa.Column(
                str, _date_checks(parsed["date_of_birth"], fmt, True, extract_date, "birth")
            ),
            "registration_date": pa.Column(
                str,
                _date_checks(parsed["registration_date"], fmt, True, extract_date, "registration")
                + [pa.Check(lambda s: ~born_after_registered, error="registered before birth")],
            ),
            "online_account": pa.Column(str, _value_check(f["online_account"], account_map)),
            "online_account_date": pa.Column(
                str,
                _date_checks(parsed["online_account_date"], fmt, False, extract_date, "account"),
            ),
            "access_level": pa.Column(str, _value_check(f["access_level"], level_map)),
            "access_start_date": pa.Column(
                str, _date_checks(parsed["access_start_date"], fmt, False, extract_date, "access")
            ),
        },
        strict=False,
    )
    problems = _failures(raw, schema)
    levels = f["access_level"].str.strip().map(level_map)
    table = pd.DataFrame(
        {
            "practice_code": practice_code,
            "patient_id": f["patient_id"].str.strip(),
            "nhs_number": nhs.where(nhs != "", None),
            "sex": f["sex"].str.strip(),
            "online_account": f["online_account"].str.strip().map(account_map).fillna(False),
            "access_level": levels.fillna(AccessLevel.NONE.value),
            **parsed,
        },
        index=f.index,
    ).astype({"online_account": "bool", "access_level": "str", "practice_code": "str"})
    return table.reset_index(drop=True), problems


def events(
    raw: RawTable,
    mapping: TableMapping,
    practice_code: str,
    extract_date: dt.date,
    patient_ids: pd.Series,
    codelist: pd.DataFrame,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Check and convert an events export against the practice's patients and the codelist.

    Unknown codes are warnings (listed once per code with a count), not errors.
    """
    f = raw.frame
    parsed = _dates(f["event_date"], mapping.date_format)
    ids = f["patient_id"].str.strip()
    known_patient = ids.isin(patient_ids)
    schema = pa.DataFrameSchema(
        {
            "patient_id": pa.Column(
                str,
                pa.Check(
                    lambda s: known_patient,
                    error="no patient with this id in the patients extract",
                ),
            ),
            "code": pa.Column(str, pa.Check(lambda s: s.str.strip() != "", error="empty code")),
            "event_date": pa.Column(
                str, _date_checks(parsed, mapping.date_format, True, extract_date, "event")
            ),
        },
        strict=False,
    )
    problems = _failures(raw, schema)
    codes = f["code"].str.strip()
    event_type = codes.map(codelist.set_index("code")["event_type"])
    problems += _unknown_codes(raw, codes, event_type.isna() & (codes != ""))
    table = pd.DataFrame(
        {
            "practice_code": practice_code,
            "patient_id": ids,
            "code": codes,
            "event_date": parsed,
            "event_type": event_type,
        },
        index=f.index,
    ).astype({"practice_code": "str", "event_type": "str"})
    return table.reset_index(drop=True), problems


def _unknown_codes(raw: RawTable, codes: pd.Series, unknown: pd.Series) -> list[Problem]:
    if not unknown.any():
        return []
    first = codes[unknown].reset_index().groupby("code", sort=True)["index"].agg(["min", "size"])
    return [
        Problem(
            raw.path,
            f"code {code} is not in the codelist ({n} row(s)); add it to the codelist "
            "if it matters, otherwise it is ignored",
            row=raw.row(row),
            column=raw.headings["code"],
            severity=Severity.WARNING,
        )
        for code, (row, n) in first.iterrows()
    ]
