"""The notebooks: the report notebooks `run` executes and the data lead's workbench.

Installed as the package data ``optin_analysis.notebooks`` (see pyproject.toml).
"""
