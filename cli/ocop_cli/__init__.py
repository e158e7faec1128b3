"""The ``ocop`` command-line tool: a click CLI over the public API of ocop_provenance."""
