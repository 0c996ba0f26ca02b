"""Solvers: classical (mip, brute, sa) and, in later issues, quantum."""
