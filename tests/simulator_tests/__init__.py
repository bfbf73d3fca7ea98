"""Tests of the Fleet API simulator (tests/simulator)."""
