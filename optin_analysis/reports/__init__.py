"""Drawing the reports: views, charts, offline HTML and the notebooks that lay them out."""
