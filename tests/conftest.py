"""Test-session setup: one compute thread per process, as in CI (see archgym.threads)."""

from archgym.threads import limit_threads

limit_threads()
