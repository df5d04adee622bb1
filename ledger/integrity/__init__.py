"""Proving the ledger was never rewritten: the hash chain, its streaming verification, seals and
signed heads."""
