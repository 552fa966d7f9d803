"""The one error every data reader raises."""


class DataError(ValueError):
    """A data file or data set that cannot be used; the message names the file and the problem."""
