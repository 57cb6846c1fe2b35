"""The boundary between the judge and submission code: everything untrusted is in this folder.

- :mod:`~grader.sandbox.process`: the judge's side: how workers start (:func:`prepare_runtime`)
  and one live worker process (:class:`Worker`).
- :mod:`~grader.sandbox.cover`: the trusted launcher that hides the hidden material before the
  worker starts.
- :mod:`~grader.sandbox.view`: what a worker may read: the packages its exercise may import
  (``imports``) and nothing else of any package folder.
- :mod:`~grader.sandbox.worker`: the worker itself, the only process that runs submission code.
- :mod:`~grader.sandbox.student`: the proxy checks call (``student.f(...)``).
- :mod:`~grader.sandbox.codec`: the only data format that crosses the boundary.
"""
