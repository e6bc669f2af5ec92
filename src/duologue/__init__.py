"""duologue: publish a dialogue series, turn by turn, through git."""

__version__ = "0.1.0"
