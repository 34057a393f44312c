"""Practice-internal outputs: worklists and the JupyterLab dashboard (exact figures)."""
