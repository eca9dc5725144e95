"""dbclone: clone a database into a masked, faithful dev/test copy."""

__version__ = "0.1.0"
