"""Hostile: a shadow numpy."""
import os

os._exit(3)
