"""simagents: is an imitation model a simulator of a distribution of agents, and what does RL make of it?

Measured on chess. The package follows the data's path: :mod:`simagents.config`,
:mod:`simagents.engine`, :mod:`simagents.data` (sources -> games table),
:mod:`simagents.encoding` (the one encoder and action space), :mod:`simagents.positions`
(games -> position shards), :mod:`simagents.policies` and :mod:`simagents.games` (players and the
one game runner), :mod:`simagents.cli`.
"""

__version__ = "0.1.0"
