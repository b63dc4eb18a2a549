"""Tests of qsense.denoise (a package, so that test module names may repeat across folders)."""
