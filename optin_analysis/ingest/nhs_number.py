"""NHS numbers: the Modulus 11 check digit, vectorised.

The tenth digit is a check digit: multiply the first nine digits by 10, 9, ... 2, sum,
take the remainder mod 11, and subtract from 11; 11 becomes 0 and 10 means the number
is invalid. (NHS Data Dictionary, "NHS Number".) Numbers starting 999 are reserved for
testing and never issued to patients; the synthetic data uses only those.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WEIGHTS = np.arange(10, 1, -1)


def check_digit(first_nine: np.ndarray) -> np.ndarray:
    """Check digit for each row of a (n, 9) digit array; 10 marks numbers that cannot be valid."""
    total = (first_nine * WEIGHTS).sum(axis=1)
    digit = 11 - total % 11
    return np.where(digit == 11, 0, digit)


def valid_digits(chars: np.ndarray) -> np.ndarray:
    """True for each row of an (n, 10) array of ASCII bytes that is a valid NHS number."""
    digits = chars - np.uint8(ord("0"))  # anything but a digit wraps round to 10 or more
    total = np.zeros(len(chars), dtype=np.int32)
    for position, weight in enumerate(WEIGHTS):
        total += digits[:, position] * np.int32(weight)
    check = (11 - total % 11) % 11  # 10 can never match a digit
    return (digits < 10).all(axis=1) & (check == digits[:, 9])


def is_valid(numbers: pd.Series) -> pd.Series:
    """True where the value (spaces allowed) is 10 digits with a correct check digit."""
    text = numbers.astype("str").str.replace(" ", "", regex=False)
    shaped = text.str.fullmatch(r"[0-9]{10}").fillna(False).astype(bool)
    result = pd.Series(False, index=numbers.index)
    if shaped.any():
        chars = np.frombuffer("".join(text[shaped]).encode("ascii"), dtype=np.uint8)
        result[shaped] = valid_digits(chars.reshape(-1, 10))
    return result


def synthetic(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` distinct valid NHS numbers in the 999 test range, as strings."""
    if n > 900_000:
        raise ValueError(f"the 999 test range holds about 900,000 valid numbers, not {n}")
    pool = rng.choice(10**6, size=min(10**6, int(n * 1.15) + 20), replace=False)
    first = np.column_stack(
        [np.full(pool.size, 9)] * 3 + [(pool // 10**k) % 10 for k in range(5, -1, -1)]
    )
    check = check_digit(first)
    ok = check != 10
    digits = np.column_stack([first[ok], check[ok]])[:n]
    if len(digits) < n:
        raise ValueError(f"cannot make {n} distinct test NHS numbers")
    return (digits.astype(np.uint8) + ord("0")).view("S10").ravel().astype(str)
