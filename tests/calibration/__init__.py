"""Tests of qsense.calibration (a package, so that test module names may repeat across folders)."""
