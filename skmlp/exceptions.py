"""Warnings of skmlp, as classes that code can react to.

Code that handles them checks the class (``issubclass(w.category,
TrainingInterrupted)``, ``pytest.warns(InconsistentVersionWarning)``), never
the wording of the message, in the manner of :mod:`sklearn.exceptions`.
"""

__all__ = ["InconsistentVersionWarning", "TrainingInterrupted"]


class TrainingInterrupted(UserWarning):
    """Raised as a warning when Ctrl-C stops a fit.

    On a KeyboardInterrupt during an epoch, :meth:`ScratchMLPClassifier.fit
    <skmlp.ScratchMLPClassifier.fit>` (and ``partial_fit``) restores the
    weights of the last completed epoch, warns with this class and raises the
    KeyboardInterrupt again, so that a caller -- ``GridSearchCV``, a loop over
    chunks, a script -- stops too instead of using a model cut short.  The
    model is usable after it: ``n_iter_`` counts the completed epochs, and a
    later ``fit`` with ``warm_start=True`` resumes from there.  To keep the old
    behaviour of returning, catch it::

        try:
            clf.fit(X, y)
        except KeyboardInterrupt:
            pass  # clf holds the last completed epoch
    """


class InconsistentVersionWarning(UserWarning):
    """A model is loaded with a version of skmlp other than the one that saved it.

    Like :class:`sklearn.exceptions.InconsistentVersionWarning`: the model may
    load but behave differently, or fail; refit it with the installed version
    when you can.

    Parameters
    ----------
    estimator_name : str
        Class of the estimator being loaded.
    current_version : str
        The installed skmlp version.
    original_version : str
        The skmlp version that saved the model ('unknown' if it was not
        recorded).
    """

    def __init__(self, *, estimator_name, current_version, original_version):
        self.estimator_name = estimator_name
        self.current_version = current_version
        self.original_version = original_version
        super().__init__(str(self))

    def __str__(self):
        return (
            f"Loading {self.estimator_name} saved by skmlp "
            f"{self.original_version} with skmlp {self.current_version}. "
            "It may give different results or fail; refit and save it again "
            "with the installed version when you can."
        )
