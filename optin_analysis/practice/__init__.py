"""Practice-internal outputs: worklists and the JupyterLab dashboard (exact figures)."""

from optin_analysis._imports import jsonschema_without_iri_check

jsonschema_without_iri_check()
