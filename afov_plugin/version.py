"""The one place where afov_plugin's version is written (setup.py parses this file)."""
__version__ = '0.1.0'
