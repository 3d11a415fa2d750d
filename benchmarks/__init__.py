"""Serving benchmark (ours vs a stock-style gunicorn + Flask baseline) and its helpers."""
