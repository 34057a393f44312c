"""Drawing the reports: views, charts, offline HTML and the notebooks that lay them out."""

from optin_analysis._imports import jsonschema_without_iri_check

jsonschema_without_iri_check()
