"""Data: loaders for committed data, builders raw -> derived, panel schema and validation, synthetic panels."""
