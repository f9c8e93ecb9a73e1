"""The network itself, in NumPy alone: no scikit-learn here.

``skmlp.nn.reference`` is the lecture's backpropagation written plainly, the
module to read first and the oracle of the tests; ``skmlp.nn.fast``
computes the same numbers, within rounding, faster.  Both offer the same
functions over the same :class:`~skmlp.nn.reference.Network` spec, parameter
lists and optimiser state, so that a model can switch engines between fits.
"""
