"""The ``clusterpolicy`` command line. Each module registers one group of commands on the shared app."""
