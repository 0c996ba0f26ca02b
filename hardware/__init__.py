"""Backends where circuits run: exact simulator, Aer, IBM Runtime. Issue 4 and later."""
