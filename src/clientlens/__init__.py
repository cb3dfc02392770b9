"""clientlens: which clients make money, which are toxic, and what the spiral brings next."""
__version__ = "0.1.0"
