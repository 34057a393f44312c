"""optin-analysis: run and evidence an opt-in model for online access to GP records."""

__version__ = "0.1.0"
