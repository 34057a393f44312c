"""Extracts to canonical tables: supplier mappings, reading, validation, the codelist."""
