"""The teacher's vocabulary: prompts grouped into dataset classes (JSON dictionaries).

Imports nothing else of the package, so datasets, teachers and models can all read it.
"""
from .class_dictionary import (BUILTIN, DICTIONARY_DIR, ClassDictionary, DictionaryError,
                               load_class_dictionary)

__all__ = ['ClassDictionary', 'DictionaryError', 'load_class_dictionary', 'BUILTIN',
           'DICTIONARY_DIR']
