"""The quote forge: synthetic PKI, quotes and collateral for tests (see docs/forge.md)."""
