"""dlgrade: an autograder for a first deep-learning course.

The judge (this package, trusted) runs checks with pytest; student code runs only in sandboxed
worker processes (``grader.sandbox.worker``) and sends back data, never verdicts.
"""

__version__ = "0.1.0"
