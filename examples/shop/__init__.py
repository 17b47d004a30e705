"""A small shop's marketing integration: the code under test in this example project."""
