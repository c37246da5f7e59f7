"""Cloning in Python: the package behind the course notebooks.

Import the topic modules directly, e.g. ``from course_utils import copying, env``.
"""

__version__ = "0.1.0"
