"""The commands: one plain function per ``overmix`` command, shared by the CLI, the Python API
(``overmix/__init__.py``) and ``batch`` (whose tasks run the CLI).

- :mod:`~overmix.commands.options` — every option once (flag, type, default, choices, range,
  help); the CLI's argparse, :class:`~overmix.commands.options.StitchOptions`, the API's
  keywords and ``batch plan`` are derived from it (:mod:`~overmix.commands.schema`: what
  an option is and how a value is checked);
- :mod:`~overmix.commands.paths` — the output-path rules every command keeps;
- :mod:`~overmix.commands.stitch` (driver) with :mod:`~overmix.commands.stages`,
  :mod:`~overmix.commands.restoration`, :mod:`~overmix.commands.output` and
  :mod:`~overmix.commands.stitch_jpeg`; :mod:`~overmix.commands.align`;
- :mod:`~overmix.commands.convert`, :mod:`~overmix.commands.dump`,
  :mod:`~overmix.commands.compress`, :mod:`~overmix.commands.preview`,
  :mod:`~overmix.commands.info`.

Commands never print and never exit: they return plain results and raise
:class:`~overmix.errors.OvermixError` subclasses; progress goes to a callback.
"""
