"""The internal PKI, PAdES signatures, timestamps and verification (issue 5)."""
