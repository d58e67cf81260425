"""The numbers identity decides by: when two records are the same person, how big a block is."""

# From this duplicate score (0 to 1) a merge needs no admin override: the evidence is enough.
MERGE_THRESHOLD = 0.8

# The score from which the duplicate list shows a pair when the caller does not say.
DEFAULT_MIN_SCORE = 0.6

# A blocking key shared by more customers than this (a shop's own phone on every walk-in,
# a very common name) is not compared pair by pair: it is reported as an oversized block.
BLOCK_LIMIT = 50

# How many pairs the duplicate list returns at most.
DUPLICATES_LIMIT = 1000
