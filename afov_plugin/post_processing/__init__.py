from .afi import AFIPostProcessor
from .directions import bin_directions, fibonacci_directions

__all__ = ['AFIPostProcessor', 'bin_directions', 'fibonacci_directions']
