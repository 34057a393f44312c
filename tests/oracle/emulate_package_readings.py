"""Diagnostic, NOT the oracle: bend the oracle to the readings the package appears to use,
one named reading at a time, and re-run the comparison. If the differences vanish, those
readings are the whole explanation of the disagreement (see FINDINGS.md).

    python tests/oracle/emulate_package_readings.py CONFIG [P1,P2,...]

The readings were inferred from the package's outputs only (black box: `measures --json`
and `worklists` on the sample, generated and hand-made populations); none of the package's
code was read.

P1  A level without full access that has a date applies from that date: no full access
    from it on, a coded revocation after it ends nothing (and implies no earlier access),
    a coded grant after it is counted as a provision but gives no access.
    (SPEC "Reading the two together" says the opposite.)
P2  A continuous spell of full access that a later provision converts is opt-in from the
    spell's start (the kind is decided with events after D).
    (SPEC: "Whether access held at D came through opt-in depends on events on or before D".)
P3  Record disagreement: a coded revocation followed by full access the extract dates later
    is a disagreement only when that access is automatic (the glossary's wording).
P4  Full access without a date after a coded revocation: the revocation is contradicted
    (access from the automatic start, the revocation not counted). SPEC: a choice.
P5  Full access without a date and without codes: 'always held' only when the practice
    has no go-live date; a practice due to go live after the extract date gets the
    extract date. SPEC: a choice, stated for "a practice that never went live".
"""

import bisect
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402
import oracle  # noqa: E402

ALL = ("P1", "P2", "P3", "P4", "P5")


def install(readings=ALL):
    readings = set(readings)
    orig_init = oracle.History.__init__
    orig_start = oracle.full_access_start

    def full_access_start(profile, p, coded):
        if "P5" in readings and p["access_start_date"] is None and not any(
                e[2] in ("access_granted", "access_revoked") for e in coded) \
                and not oracle.went_live_by(profile, profile["extract_date"]):
            old = oracle.FULL_NO_DATE_NEVER_LIVE
            oracle.FULL_NO_DATE_NEVER_LIVE = (
                "always_held" if profile.get("go_live_date") is None else "from_extract_date")
            try:
                return orig_start(profile, p, coded)
            finally:
                oracle.FULL_NO_DATE_NEVER_LIVE = old
        return orig_start(profile, p, coded)

    def init(self, profile, p, events):
        nonfull_dated = (p["access_level"] != "full_prospective"
                         and p["access_start_date"] is not None)
        if "P1" in readings and nonfull_dated:
            L = p["access_start_date"]
            events = [(t, d) for t, d in events
                      if not (t == "access_revoked" and d is not None and d > L)]
        orig_init(self, profile, p, events)
        if "P1" in readings and nonfull_dated:
            L = p["access_start_date"]
            cd, cs = [], []
            for day, st in zip(self.changes_d, self.changes_s):
                cd.append(day)
                cs.append((False, None) if day >= L else st)
            i = bisect.bisect_left(cd, L)
            cd.insert(i, L)
            cs.insert(i, (False, None))
            self.changes_d, self.changes_s = cd, cs
            self.auto_spans = [[a, (L if (b is None or b > L) else b)]
                               for a, b in self.auto_spans if a < L]
            self.auto_revocations = [x for x in self.auto_revocations if x <= L]
        if "P2" in readings:
            keep = []
            for a, b in self.auto_spans:
                if b is not None and self.state(b) == (True, "opt_in") and \
                        any(pd == b for pd, _, _ in self.provisions):
                    for i, day in enumerate(self.changes_d):
                        if a <= day < b and self.changes_s[i] == (True, "automatic"):
                            self.changes_s[i] = (True, "opt_in")
                else:
                    keep.append([a, b])
            self.auto_spans = keep
        if "P3" in readings and self.disagreement and self.full_at_extract:
            revs = [x for x, _, t in self.coded if t == "access_revoked"]
            if revs and self.start > revs[-1] and self.state(self.start)[1] != "automatic":
                self.disagreement = False

    oracle.History.__init__ = init
    oracle.full_access_start = full_access_start
    if "P4" in readings:
        oracle.FULL_NO_DATE_AFTER_REVOKE = "revoke_contradicted"


def main(argv):
    readings = argv[2].split(",") if len(argv) > 2 else ALL
    install(readings)
    agree = collections.Counter()
    diffs = compare.compare(argv[1], agreements=agree)
    print(f"readings {','.join(readings)}: {sum(agree.values())} values agree, "
          f"{len(diffs)} differ")
    for x in diffs[:20]:
        print("  ", x)


if __name__ == "__main__":
    main(sys.argv)
