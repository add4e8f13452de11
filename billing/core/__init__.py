"""The shared kernel: settings, database, money, ids, clock and errors.

Everything else in Malipo may import this package; it imports no capability.
"""
