"""The simulator network: p(move | position, own prompt, opponent prompt), with a value head.

Input: the encoder's planes ``[B, 18, 8, 8]`` (mover's view, :func:`simagents.encoding.to_planes`)
and prompt ids ``[B]`` for the mover and the opponent. Output: policy logits ``[B, 1858]`` over
the action space (mask them to the legal moves before use: :func:`masked_log_probs`) and, if the
network has one, a value ``[B]`` in [-1, 1]: the expected result for the mover.

The prompt conditions *every* hidden layer (a learned embedding added before each
normalisation): given only at the input, a small MLP barely used it in a trial. LayerNorm with
GELU keeps gradients alive under every prompt: a ReLU MLP learned the random mover by switching
off 99% of a layer's units under that prompt, which no later gradient (RL) could undo.
:meth:`Simulator.active_fraction` reports that diagnostic.

Two optional output-side conditionings (config ``move_features``, ``prompt_temperature``) give
the prompt direct, position-independent levers that generalise from few positions: a
per-prompt preference over kinds of moves (:class:`_MoveKindHead`) and a per-prompt sharpness
that multiplies the logits. On the default synthetic population they lowered the validation loss
and raised the random mover's entropy towards uniform (trial numbers in config/default.yaml).
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Final, Literal, cast

import torch
from torch import nn

from ..encoding import NUM_ACTIONS, NUM_INPUT_PLANES
from ..encoding.action_space import ACTION_FROM, ACTION_PROMOTION, ACTION_TO
from .attacks import tactical_maps


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """Architecture. ``mlp`` for the CPU default; ``resnet`` (Maia-like, squeeze-excitation) for GPUs."""

    arch: Literal["mlp", "resnet"] = "mlp"
    num_prompts: int
    hidden: int = 512  # mlp: width of each hidden layer
    layers: int = 2  # mlp: hidden layers
    blocks: int = 6  # resnet: residual blocks
    channels: int = 64  # resnet: channels per block
    value_head: bool = True
    dropout: float = 0.0  # on hidden features during training: the CPU default memorises without it
    move_features: bool = False  # add the prompt's preferences over move kinds (:class:`_MoveKindHead`)
    prompt_temperature: bool = False  # scale the logits by a learned per-prompt factor (init 1)
    # Multiplier on the two levers' parameters. Adam moves a parameter by about lr per step, so a
    # zero-initialised table could reach only ~0.5 nats in the default run: too little to make the
    # greedy grabber take the queen. 1.0 keeps checkpoints from before this option loadable as they were.
    lever_gain: float = 1.0
    # Score every legal move by a network shared across moves, over exact tactical features of
    # the move (:class:`_TacticsHead`): what it captures, what attacks and defends its squares,
    # whether it checks. 0 = off (checkpoints from before this option load as they were).
    tactics_width: int = 0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class _PromptedLayer(nn.Module):
    """Linear -> + own and opponent prompt embeddings -> LayerNorm -> GELU."""

    def __init__(self, width_in: int, width: int, num_prompts: int) -> None:
        super().__init__()
        self.linear = nn.Linear(width_in, width)
        self.own = nn.Embedding(num_prompts, width)
        self.opponent = nn.Embedding(num_prompts, width)
        nn.init.normal_(self.own.weight, std=0.02)
        nn.init.normal_(self.opponent.weight, std=0.02)
        self.norm = nn.LayerNorm(width)

    def pre_activation(self, x: torch.Tensor, own: torch.Tensor, opponent: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.norm(self.linear(x) + self.own(own) + self.opponent(opponent))
        return out

    def forward(self, x: torch.Tensor, own: torch.Tensor, opponent: torch.Tensor) -> torch.Tensor:
        return nn.functional.gelu(self.pre_activation(x, own, opponent))


class _SEBlock(nn.Module):
    """Residual block with squeeze-excitation; the prompts add a per-channel bias (FiLM-like)."""

    def __init__(self, channels: int, num_prompts: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.norm1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.norm2 = nn.BatchNorm2d(channels)
        self.squeeze = nn.Sequential(nn.Linear(channels, channels // 4), nn.GELU(), nn.Linear(channels // 4, channels))
        self.own = nn.Embedding(num_prompts, channels)
        self.opponent = nn.Embedding(num_prompts, channels)
        nn.init.normal_(self.own.weight, std=0.02)
        nn.init.normal_(self.opponent.weight, std=0.02)

    def forward(self, x: torch.Tensor, own: torch.Tensor, opponent: torch.Tensor) -> torch.Tensor:
        bias = (self.own(own) + self.opponent(opponent))[:, :, None, None]
        y = nn.functional.gelu(self.norm1(self.conv1(x)) + bias)
        y = self.norm2(self.conv2(y))
        gate = torch.sigmoid(self.squeeze(y.mean(dim=(2, 3))))[:, :, None, None]
        return nn.functional.gelu(x + y * gate)


def square_pieces(planes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per square, long ``[B, 64]``: the mover's piece type (0 pawn .. 5 king; 0 on squares
    without one, where no legal move starts) and the opponent's capturable piece type (0 pawn
    .. 4 queen, 5 = nothing to capture: an empty square or, never captured, the king).

    The planes are one-hot over piece types, so a weighted sum reads the type of every square
    exactly (an argmax along the planes did the same at five times the cost)."""
    batch = planes.shape[0]
    own = planes[:, 0:6].reshape(batch, 6, 64)
    opponent = planes[:, 6:12].reshape(batch, 6, 64)
    piece_type = torch.arange(6, dtype=planes.dtype, device=planes.device).view(1, 6, 1)
    mover = (own * piece_type).sum(1).long()
    captured = ((opponent[:, :5] * piece_type[:, :5]).sum(1) + 5.0 * (1.0 - opponent[:, :5].sum(1))).long()
    return mover, captured


class _TacticsHead(nn.Module):
    """A score for each legal move from exact tactical features of the move, added to the logits.

    The MLP trunk must rediscover for each of 1,858 outputs what a move does; this head sees it.
    Per move (read from the input planes, nothing learned): the piece that moves and the piece it
    becomes, the piece it captures, and for both its squares the cheapest opponent attacker, the
    number of opponent attackers and of the mover's other defenders, and whether the moved piece
    then attacks the opponent's king (:func:`simagents.models.attacks.tactical_maps`).
    Each feature value has an embedding; their sum, the prompts' embeddings and a projection
    of the trunk's features of the position go through a small MLP shared by every move and
    position, so "this capture wins a queen" or "this move leaves the piece where a pawn takes
    it" is a feature of the move that transfers across positions. The last layer starts at zero:
    a fresh head leaves the logits as they were.

    Approximations, the same for every persona: attacks are today's (the moved piece's own
    square is not vacated for sliders behind it, discovered attacks and pins are not seen), en
    passant and castling are scored as the pawn's or king's move alone.
    """

    # Fields of the per-move feature vector and their number of values (one embedding row each).
    FIELDS: Final = (
        ("mover", 6),
        ("becomes", 6),
        ("captured", 6),
        ("to_cheapest_attacker", 7),
        ("to_attackers", 4),
        ("to_defenders", 4),
        ("from_cheapest_attacker", 7),
        ("from_attackers", 4),
        ("from_defenders", 4),
        ("gives_check", 2),
    )
    action_from: torch.Tensor
    action_to: torch.Tensor
    action_promotion: torch.Tensor
    field_offsets: torch.Tensor

    def __init__(self, num_prompts: int, width: int, context_features: int) -> None:
        super().__init__()
        sizes = [size for _, size in self.FIELDS]
        self.embedding = nn.Embedding(sum(sizes), width)
        nn.init.normal_(self.embedding.weight, std=0.1)
        self.own = nn.Embedding(num_prompts, width)
        self.opponent = nn.Embedding(num_prompts, width)
        nn.init.normal_(self.own.weight, std=0.02)
        nn.init.normal_(self.opponent.weight, std=0.02)
        self.context = nn.Linear(context_features, width)
        self.norm = nn.LayerNorm(width)
        self.hidden = nn.Linear(width, width)
        self.hidden_own = nn.Embedding(num_prompts, width)
        nn.init.normal_(self.hidden_own.weight, std=0.02)
        self.out = nn.Linear(width, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.register_buffer("field_offsets", torch.tensor([0, *itertools.accumulate(sizes)][:-1]), persistent=False)
        self.register_buffer("action_from", torch.as_tensor(ACTION_FROM, dtype=torch.long), persistent=False)
        self.register_buffer("action_to", torch.as_tensor(ACTION_TO, dtype=torch.long), persistent=False)
        self.register_buffer("action_promotion", torch.as_tensor(ACTION_PROMOTION, dtype=torch.long), persistent=False)

    @torch.no_grad()
    def features(self, planes: torch.Tensor, actions: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        """The value of every field of each move: long ``[..., len(FIELDS)]`` for ``actions``
        ``[B, L]`` (row ``b``: moves of position ``b``), or ``[N, len(FIELDS)]`` for ``actions``
        ``[N]`` of the positions ``rows`` ``[N]``. Meaningful for legal moves; any valid action
        index may pad a row."""
        mover, captured = square_pieces(planes)
        own, opponent, checks = tactical_maps(planes)
        checks = checks.flatten(1)
        # Cheapest attacker (0 pawn .. 5 king, 6 = none) and attacker counts per square.
        kinds = torch.arange(6, device=planes.device).view(1, 6, 1)
        cheapest = torch.where(opponent, kinds, 6).amin(1)
        attackers = opponent.sum(1)
        defenders = own.sum(1)
        if rows is None:
            rows = torch.arange(planes.shape[0], device=planes.device)[:, None].expand_as(actions)
        origin, target = self.action_from[actions], self.action_to[actions]
        moving = mover[rows, origin]
        underpromotion = self.action_promotion[actions]  # 1 knight, 2 bishop, 3 rook
        reaches_last_rank = (moving == 0) & (target >= 56)
        becomes = torch.where(underpromotion > 0, underpromotion, torch.where(reaches_last_rank, 4, moving))
        # The moving piece itself attacks its destination unless it is a pawn push or castling:
        # it is not its own defender there (nor of its origin, which it does not attack).
        push = (moving == 0) & ((origin - target) % 8 == 0)
        castles = (moving == 5) & ((origin - target).abs() == 2)
        to_defenders = (defenders[rows, target] - (~(push | castles)).long()).clamp(0, 3)
        return torch.stack(
            [
                moving,
                becomes,
                captured[rows, target],
                cheapest[rows, target],
                attackers[rows, target].clamp(0, 3),
                to_defenders,
                cheapest[rows, origin],
                attackers[rows, origin].clamp(0, 3),
                defenders[rows, origin].clamp(0, 3),
                checks[rows, becomes * 64 + target].long(),
            ],
            -1,
        )

    def forward(
        self,
        planes: torch.Tensor,
        own: torch.Tensor,
        opponent: torch.Tensor,
        context: torch.Tensor,
        actions: torch.Tensor,
        rows: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Scores of ``actions``: ``[B, L]`` for ``actions`` ``[B, L]``, or ``[N]`` for moves
        ``actions`` ``[N]`` of positions ``rows`` ``[N]``; ``context``: the trunk's features ``[B, F]``."""
        if rows is None:
            rows = torch.arange(planes.shape[0], device=planes.device)[:, None].expand_as(actions)
        flat_rows, flat_actions = rows.reshape(-1), actions.reshape(-1)
        fields = self.features(planes, flat_actions, flat_rows) + self.field_offsets
        # The sum of the fields' embeddings as one product with their one-hot rows: an embedding
        # lookup per field is several times slower to differentiate on a CPU.
        one_hot = torch.zeros(len(flat_rows), self.embedding.num_embeddings, dtype=context.dtype, device=context.device)
        one_hot.scatter_(1, fields, 1.0)
        # Each position's terms, repeated for its moves by index_select, whose gradient (index_add)
        # sums them in a fixed order. Indexing (``x[rows]``) differentiates through
        # index_put(accumulate=True), nondeterministic on a CPU (torch.use_deterministic_algorithms
        # lists it): a smoke rerun under load trained weights differing in the sixth digit.
        per_position = self.own(own) + self.opponent(opponent) + self.context(context)
        embedded = one_hot @ self.embedding.weight + per_position.index_select(0, flat_rows)
        h = nn.functional.gelu(self.norm(embedded))
        h = nn.functional.gelu(self.hidden(h) + self.hidden_own(own).index_select(0, flat_rows))
        scores: torch.Tensor = self.out(h).squeeze(-1)
        return scores.reshape(actions.shape)


class _MoveKindHead(nn.Module):
    """A per-prompt preference over *kinds* of moves, added to the policy logits.

    A move's kind is (the piece that moves: 6) x (what it captures: pawn to queen, or nothing: 6)
    x (whether an opponent pawn or knight attacks the destination: 2) = 72 kinds, read from the
    input planes. Each prompt has one logit per kind, initialised to zero (scaled by ``gain``). Personas differ most
    in such choices (the greedy grabber takes the biggest piece, a strong player does not leave
    its queen where a pawn takes it), and a table over kinds generalises across positions where
    a network on a few hundred thousand positions would have to memorise.
    """

    NUM_KINDS = 6 * 6 * 2
    # buffers (register_buffer below), declared for the type checker
    action_from: torch.Tensor
    action_to: torch.Tensor
    pawn_kernel: torch.Tensor
    knight_kernel: torch.Tensor

    def __init__(self, num_prompts: int, gain: float = 1.0) -> None:
        super().__init__()
        self.preference = nn.Embedding(num_prompts, self.NUM_KINDS)
        nn.init.zeros_(self.preference.weight)
        self.gain = gain
        self.register_buffer("action_from", torch.as_tensor(ACTION_FROM, dtype=torch.long), persistent=False)
        self.register_buffer("action_to", torch.as_tensor(ACTION_TO, dtype=torch.long), persistent=False)
        pawn = torch.zeros(1, 1, 3, 3)
        pawn[0, 0, 2, 0] = pawn[0, 0, 2, 2] = 1.0  # an opponent pawn on (r, f) attacks (r - 1, f +- 1)
        knight = torch.zeros(1, 1, 5, 5)
        for dr, df in ((1, 2), (2, 1), (-1, 2), (-2, 1), (1, -2), (2, -1), (-1, -2), (-2, -1)):
            knight[0, 0, 2 + dr, 2 + df] = 1.0
        self.register_buffer("pawn_kernel", pawn, persistent=False)
        self.register_buffer("knight_kernel", knight, persistent=False)

    def kinds(self, planes: torch.Tensor, actions: torch.Tensor | None = None) -> torch.Tensor:
        """Kind index (0..71) of every action, ``[B, 1858]``, or of the given ``actions`` ``[B, L]``
        (meaningful for legal moves only)."""
        batch = planes.shape[0]
        mover, captured = square_pieces(planes)  # empty squares: 0 for the mover, 5 (nothing) captured
        attacked = (
            nn.functional.conv2d(planes[:, 6:7], self.pawn_kernel, padding=1)
            + nn.functional.conv2d(planes[:, 7:8], self.knight_kernel, padding=2)
        ).reshape(batch, 64) > 0
        if actions is None:
            return (
                mover[:, self.action_from] * 12 + captured[:, self.action_to] * 2 + attacked[:, self.action_to].long()
            )
        origin, target = self.action_from[actions], self.action_to[actions]
        return mover.gather(1, origin) * 12 + captured.gather(1, target) * 2 + attacked.gather(1, target).long()

    def forward(self, planes: torch.Tensor, own: torch.Tensor, actions: torch.Tensor | None = None) -> torch.Tensor:
        preference: torch.Tensor = self.preference(own)
        return self.gain * preference.gather(1, self.kinds(planes, actions))


class Simulator(nn.Module):
    """Prompt-conditioned policy (and value) network; see the module docstring for shapes."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.config = config
        if config.arch == "mlp":
            widths = [NUM_INPUT_PLANES * 64] + [config.hidden] * config.layers
            self.layers = nn.ModuleList(_PromptedLayer(a, b, config.num_prompts) for a, b in itertools.pairwise(widths))
            features = config.hidden
        elif config.arch == "resnet":
            self.stem = nn.Sequential(
                nn.Conv2d(NUM_INPUT_PLANES, config.channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(config.channels),
                nn.GELU(),
            )
            self.blocks = nn.ModuleList(_SEBlock(config.channels, config.num_prompts) for _ in range(config.blocks))
            self.head_conv = nn.Sequential(nn.Conv2d(config.channels, 32, 1), nn.GELU())
            features = 32 * 64
        else:
            raise ValueError(f"unknown architecture {config.arch!r}; expected 'mlp' or 'resnet'")
        self.dropout = nn.Dropout(config.dropout)
        self.policy = nn.Linear(features, NUM_ACTIONS)
        self.move_kinds = _MoveKindHead(config.num_prompts, config.lever_gain) if config.move_features else None
        self.tactics = (
            _TacticsHead(config.num_prompts, config.tactics_width, features) if config.tactics_width > 0 else None
        )
        # log of each own prompt's inverse temperature: how sharply the persona picks among the
        # moves the rest of the network ranks (the random mover: not at all, a factor near 0).
        self.log_sharpness = nn.Embedding(config.num_prompts, 1) if config.prompt_temperature else None
        if self.log_sharpness is not None:
            nn.init.zeros_(self.log_sharpness.weight)
        self.value = nn.Sequential(nn.Linear(features, 64), nn.GELU(), nn.Linear(64, 1)) if config.value_head else None

    def features(self, planes: torch.Tensor, own: torch.Tensor, opponent: torch.Tensor) -> torch.Tensor:
        if self.config.arch == "mlp":
            x = planes.flatten(1)
            for layer in self.layers:
                x = self.dropout(layer(x, own, opponent))
            return x
        x = self.stem(planes)
        for block in self.blocks:
            x = block(x, own, opponent)
        features: torch.Tensor = self.dropout(self.head_conv(x).flatten(1))
        return features

    def forward(
        self, planes: torch.Tensor, own: torch.Tensor, opponent: torch.Tensor, legal: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits ``[B, 1858]`` and value ``[B]`` (or None). ``legal`` (bool ``[B, 1858]``) is
        required by a network with a tactics head, which scores the legal moves only (the
        other entries are meaningful only masked, :func:`masked_log_probs`)."""
        x = self.features(planes, own, opponent)
        value = torch.tanh(self.value(x).squeeze(-1)) if self.value is not None else None
        return self._policy_logits(x, planes, own, opponent, legal=legal), value

    def action_logits(
        self, planes: torch.Tensor, own: torch.Tensor, opponent: torch.Tensor, actions: torch.Tensor
    ) -> torch.Tensor:
        """The policy logits of the given ``actions`` only, ``[B, L]`` for action indices ``[B, L]``
        (pad rows with any valid index and ignore those entries): ``forward``'s logits gathered
        at ``actions``, computed without the other ~1,800 actions. Playing and search need only
        the legal moves, and a batch of 64 mid-game boards holds about 600 distinct actions: one
        product with those rows of the output layer takes half the time of the full product on a
        CPU core (and a single board's 30-odd rows, a tenth). Same logits as ``forward`` up to
        float rounding (about 1e-6)."""
        return self._policy_logits(self.features(planes, own, opponent), planes, own, opponent, actions)

    def action_logits_and_value(
        self, planes: torch.Tensor, own: torch.Tensor, opponent: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """:meth:`action_logits` and the value head in one pass of the trunk (search needs both)."""
        x = self.features(planes, own, opponent)
        value = torch.tanh(self.value(x).squeeze(-1)) if self.value is not None else None
        return self._policy_logits(x, planes, own, opponent, actions), value

    def _policy_logits(
        self,
        x: torch.Tensor,
        planes: torch.Tensor,
        own: torch.Tensor,
        opponent: torch.Tensor,
        actions: torch.Tensor | None = None,
        legal: torch.Tensor | None = None,
    ) -> torch.Tensor:
        logits: torch.Tensor
        if actions is None:
            logits = self.policy(x)
        elif actions.shape[0] == 1:  # one board: its own actions' rows of the output layer
            columns = actions[0]
            logits = torch.addmm(self.policy.bias[columns], x, self.policy.weight[columns].T)
        else:
            # Many boards share most of their legal actions: one product over the actions that
            # occur in the batch (a few hundred of the 1,858), then each board picks its own.
            columns, where = torch.unique(actions, return_inverse=True)
            logits = torch.addmm(self.policy.bias[columns], x, self.policy.weight[columns].T).gather(1, where)
        if self.move_kinds is not None:
            logits = logits + self.move_kinds(planes, own, actions)
        if self.tactics is not None:
            if actions is not None:
                logits = logits + self.tactics(planes, own, opponent, x, actions)
            elif legal is None:
                raise ValueError("a network with a tactics head scores legal moves only: pass `legal` or `actions`")
            else:
                rows, columns = legal.nonzero(as_tuple=True)  # the legal moves only, no padding
                scores = self.tactics(planes, own, opponent, x, columns, rows)
                logits = logits.index_put((rows, columns), scores.to(logits.dtype), accumulate=True)
        if self.log_sharpness is not None:
            logits = logits * (self.config.lever_gain * self.log_sharpness(own)).exp()
        return logits

    def value_only(self, planes: torch.Tensor, own: torch.Tensor, opponent: torch.Tensor) -> torch.Tensor:
        """The value head alone, ``[B]`` in [-1, 1] (skips the policy logits: search calls this
        on every child of a position)."""
        if self.value is None:
            raise ValueError("the network has no value head (simulator.value_head: false)")
        return torch.tanh(self.value(self.features(planes, own, opponent)).squeeze(-1))

    @torch.no_grad()
    def active_fraction(self, planes: torch.Tensor, own: torch.Tensor, opponent: torch.Tensor) -> list[float]:
        """Per hidden layer (mlp), the fraction of units with a positive pre-activation.

        A prompt under which a layer is almost all off has lost its gradients: the diagnostic the
        issue asks for. For the resnet, the fraction of positive activations after each block.
        """
        fractions = []
        if self.config.arch == "mlp":
            x = planes.flatten(1)
            for layer in self.layers:
                pre = cast(_PromptedLayer, layer).pre_activation(x, own, opponent)
                fractions.append(float((pre > 0).float().mean()))
                x = nn.functional.gelu(pre)
        else:
            x = self.stem(planes)
            for block in self.blocks:
                x = block(x, own, opponent)
                fractions.append(float((x > 0).float().mean()))
        return fractions


def masked_log_probs(logits: torch.Tensor, legal: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Log-probabilities over the legal actions only (``legal``: bool ``[B, 1858]``), -inf elsewhere."""
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")
    masked = (logits / temperature).masked_fill(~legal, float("-inf"))
    return torch.log_softmax(masked, dim=-1)
