"""Data sources (synthetic, lichess, pgn) -> the games table and the data summary."""
