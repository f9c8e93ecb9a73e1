"""scikit-learn's callbacks (``sklearn.callback``, SLEP023) around a fit.

The fit is one task with one subtask per epoch, so that ``ProgressBar()``
counts epochs and ``ScoringMonitor(scoring=...)`` logs one row per epoch
(and one for the whole fit, as scikit-learn's own estimators do).  A callback
whose ``on_fit_task_end`` returns True asks training to stop: it stops after
that epoch.  ``_fit_context`` tears the callbacks down, whatever happens.
"""


class FitCallbacks:
    """The callback context of one ``fit`` / ``partial_fit`` of ``clf``.

    ``X``, ``y`` and ``sample_weight`` are what the callbacks score on (the
    data given to fit, validated); ``epochs`` is the most epochs the fit runs.
    Each epoch's fitted estimator (for scoring) is a shallow copy of ``clf``
    with a copy of the weights at that time, made only if a callback asks.
    """

    def __init__(self, clf, X, y, sample_weight, epochs):
        self._clf = clf
        self._context = clf._init_callback_context(max_subtasks=epochs)
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        self._hook_args = {"estimator": clf, "X": X, "y": y, "metadata": metadata}
        self._epoch = None
        self._context.call_on_fit_task_begin(**self._hook_args)

    def _weights(self):
        clf = self._clf
        return {"coefs_": [W.copy() for W in clf.coefs_],
                "intercepts_": [b.copy() for b in clf.intercepts_]}

    def begin_epoch(self):
        self._epoch = self._context.subcontext(task_name="epoch")
        self._epoch.call_on_fit_task_begin(
            **self._hook_args, reconstruction_attributes=self._weights)

    def end_epoch(self):
        """End the epoch's task; True if a callback asks to stop training."""
        epoch, self._epoch = self._epoch, None
        return epoch.call_on_fit_task_end(
            **self._hook_args, reconstruction_attributes=self._weights)

    def end(self):
        """End the fit's task: an epoch cut short ends empty, then the fit."""
        if self._epoch is not None:
            self._epoch.call_on_fit_task_end(estimator=self._clf)
        self._context.call_on_fit_task_end(
            **self._hook_args, reconstruction_attributes={})
