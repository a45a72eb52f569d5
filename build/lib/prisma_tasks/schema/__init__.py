"""Stage 1 of the data flow: read, discover, collect and relate the module schema files.

No database and no Node here: everything is a pure function of the files on disk.
"""
