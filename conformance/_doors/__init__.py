"""The front doors: the command line, the pytest plugin, ``conformance.run()``, the docs page.

Each picks checks from the catalogue (``conformance.checks``) and hands them to the engine
(``conformance._engine``). Nothing below a door imports one. This file imports nothing, so
that loading the pytest plugin stays light.
"""
