"""``optin-analysis init``: from a folder of EMIS/TPP exports to a commented run configuration.

Everything but the questions runs without a terminal, one step per module:

* :mod:`.find` groups the folder's CSV files by practice (one folder per practice, or
  files named by ODS code) and tells patients from events exports by their columns
  (:mod:`optin_analysis.ingest.detect`);
* :mod:`.mapping` turns the heading matches, date styles and preambles into a practice
  mapping (a copy of the shipped one with the practice's headings);
* :mod:`.questions` asks for what the files cannot say, in the words of NHS England's
  "Implementing an opt-in model" (:mod:`.branches`) — or, with no terminal or ``--yes``,
  answers ``TODO``;
* :mod:`.codes` maps or lists the codes the codelist lacks and writes its copy;
* :mod:`.config` writes the commented configuration and finds what is left to fill in;
  :mod:`.check` reads the extracts as ``validate`` does.

:func:`init` (:mod:`.command`) runs the steps in order and returns the command's exit code.
"""

from optin_analysis.run.onboard.codes import codelist_copy
from optin_analysis.run.onboard.command import init, suggested_period
from optin_analysis.run.onboard.config import (
    TODO,
    Entry,
    Setting,
    find_todos,
    render_config,
)
from optin_analysis.run.onboard.find import find_practices
from optin_analysis.run.onboard.mapping import mapping_yaml, propose_mapping
from optin_analysis.run.onboard.prompt import Prompter, RichPrompter, is_terminal

__all__ = [
    "TODO",
    "Entry",
    "Prompter",
    "RichPrompter",
    "Setting",
    "codelist_copy",
    "find_practices",
    "find_todos",
    "init",
    "is_terminal",
    "mapping_yaml",
    "propose_mapping",
    "render_config",
    "suggested_period",
]
