"""The measures: each patient's state at a date, the measures built on it, the action plan."""
