"""Agents that try to win, and how their strength is measured."""
