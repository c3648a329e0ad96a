from .data_preprocessors import *  # noqa: F401,F403
