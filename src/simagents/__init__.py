"""simagents: is an imitation model a simulator of a distribution of agents, and what does RL make of it?

Measured on chess. The package follows the data's path: :mod:`simagents.data` (sources -> the
games table), :mod:`simagents.encoding` (the one encoder and action space),
:mod:`simagents.positions` (games -> position arrays), :mod:`simagents.models` (the simulator),
:mod:`simagents.games` (the one game runner), :mod:`simagents.agents` (RL fine-tuning, search,
the Elo ladder), :mod:`simagents.evaluation` (action values, the metric battery) and
:mod:`simagents.report` (claims, figures, the paper). :mod:`simagents.config`,
:mod:`simagents.stages` and :mod:`simagents.paths` say what each stage reads and where its files
are; :mod:`simagents.cli` is the ``simagents`` command. ``docs/extending.md`` maps every module.
"""

__version__ = "0.1.0"
