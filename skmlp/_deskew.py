"""Deskewing of digit images by their moments, for ``ImageVectorizer(deskew=True)``.

A handwritten digit leans: its ink lies along a slanted axis.  Deskewing
shears each image so that this axis stands upright and shifts it so that its
centre of mass sits at the centre, the preprocessing of the "deskewing" rows
of LeCun's MNIST table.  With the image's intensities as weights, its centre
of mass is ``(m_r, m_c)``, the variance of the row ``v_rr`` and the
covariance of row and column ``v_rc``.  The slant ``alpha = v_rc / v_rr`` is
the column's mean change per row, and the output pixel ``(r, c)`` takes the
input at

    row    r + m_r - h / 2
    column c + alpha (r - h / 2) + m_c - w / 2

by bilinear interpolation, zero where that falls outside the image: what
``scipy.ndimage.affine_transform(image, [[1, 0], [alpha, 1]], offset,
order=1)`` computes with the offset that maps the centre ``(h / 2, w / 2)``
to ``(m_r, m_c)`` (the tests compare the two).  The row to read does not
depend on the column, nor the column's shift on anything but the row, so the
interpolation splits into a shift of the rows and a shift of each row, both
done here for many images at once.
"""

import numpy as np

_CHUNK = 4096  # images at a time: the temporaries of a chunk stay small


def deskew(images):
    """Each of the images ``(n, h, w)`` (intensities >= 0) deskewed, as a new
    array of their floating dtype."""
    out = np.empty_like(images)
    for start in range(0, len(images), _CHUNK):
        chunk = slice(start, start + _CHUNK)
        out[chunk] = _deskew_chunk(images[chunk])
    return out


def _deskew_chunk(x):
    n, h, w = x.shape
    rows, cols = np.arange(h), np.arange(w)
    # The moments, in float64 whatever the images' dtype.
    row_mass = x.sum(axis=2, dtype=np.float64)  # (n, h)
    col_mass = x.sum(axis=1, dtype=np.float64)  # (n, w)
    mass = row_mass.sum(axis=1)
    mass[mass == 0] = 1  # a blank image stays blank whatever its shift
    m_r = row_mass @ rows / mass
    m_c = col_mass @ cols / mass
    d_r = rows - m_r[:, None]
    d_c = cols - m_c[:, None]
    v_rr = np.einsum("nh,nh->n", row_mass, d_r**2) / mass
    v_rc = np.einsum("nhw,nh,nw->n", x, d_r, d_c, dtype=np.float64) / mass
    alpha = np.divide(v_rc, v_rr, out=np.zeros(n), where=v_rr > 0)
    # Shift the rows: output row r reads the input at r + m_r - h / 2.
    y = _shifted(x, m_r - h / 2)
    # Shift each row r by alpha (r - h / 2) + m_c - w / 2.
    shift = alpha[:, None] * (rows - h / 2) + (m_c - w / 2)[:, None]  # (n, h)
    return _shifted(y.reshape(n * h, w, 1), shift.reshape(-1)).reshape(n, h, w)


def _shifted(x, shift):
    """Each ``x[i]``, of shape ``(size, width)``, read at ``index + shift[i]``
    along its first axis, by linear interpolation between the two nearest
    values; zero where that falls outside (before the first value or after
    the last), as in scipy's ``mode='constant'``."""
    n, size, width = x.shape
    shift = np.clip(shift, -size - 1, size)  # beyond, everything reads zero
    low = np.floor(shift)
    weight = (shift - low).astype(x.dtype)[:, None, None]
    # Zeros before and after, so that every shifted run lies inside: then
    # x[i] shifted starts at row size + 1 + low[i] of padded[i].  Gathering
    # from the flat array by flat indices is the fast path of np.take.
    rows = 3 * size + 3
    padded = np.zeros((n, rows, width), x.dtype)
    padded[:, size + 1:2 * size + 1] = x
    start = (np.arange(n) * rows + size + 1 + low.astype(np.intp)) * width
    index = (start[:, None, None] + np.arange(size)[:, None] * width
             + np.arange(width))
    flat = padded.reshape(-1)
    result = np.take(flat, index)
    result *= 1 - weight
    result += weight * np.take(flat, index + width)
    where = np.arange(size) + shift[:, None]
    result *= ((where >= 0) & (where <= size - 1))[:, :, None]
    return result
