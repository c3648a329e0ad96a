"""The one place where afov_plugin's version is written (setup.py parses this file, the
package re-exports it as ``afov_plugin.__version__``)."""
__version__ = '0.1.0'
