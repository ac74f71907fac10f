"""The only place that knows board layout: the board encoder and the action space."""

from .action_space import (
    NUM_ACTIONS,
    ActionSpaceError,
    action_to_move,
    legal_action_mask,
    legal_actions,
    move_to_action,
    packed_legal_masks,
    padded_legal_actions,
    uci_moves_to_actions,
    unpack_legal_masks,
)
from .board import NUM_INPUT_PLANES, EncodedBoards, decode_board, encode_boards, encode_raw, raw_board, to_planes

__all__ = [
    "NUM_ACTIONS",
    "NUM_INPUT_PLANES",
    "ActionSpaceError",
    "EncodedBoards",
    "action_to_move",
    "decode_board",
    "encode_boards",
    "encode_raw",
    "legal_action_mask",
    "legal_actions",
    "move_to_action",
    "packed_legal_masks",
    "padded_legal_actions",
    "raw_board",
    "to_planes",
    "uci_moves_to_actions",
    "unpack_legal_masks",
]
