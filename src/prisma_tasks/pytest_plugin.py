"""pytest plugin (entry point `pytest11`): throwaway databases for tests."""
