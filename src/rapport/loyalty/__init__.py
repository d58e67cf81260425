"""Loyalty: programs, tiers, rules, accounts, an append-only points ledger and stamp cards."""
