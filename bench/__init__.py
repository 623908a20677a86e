"""`python -m bench`: the same RNN timed in every framework (see README, Benchmarks)."""
