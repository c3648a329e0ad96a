from .afi import AFIPostProcessor, bin_directions, fibonacci_directions

__all__ = ['AFIPostProcessor', 'bin_directions', 'fibonacci_directions']
