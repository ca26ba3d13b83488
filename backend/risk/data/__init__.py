"""Data tables of the risk engine (a package so that setuptools ships them); sources in ATTRIBUTION.txt."""
