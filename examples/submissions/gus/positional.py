"""Hostile: never returns, and ignores SIGTERM."""
import signal


def sinusoidal_positional_encoding(seq_len, d_model):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        pass
