"""Data: IDX files, Fashion-MNIST, users' own tables, splits and preprocessing, images to predict.

Nothing here knows about networks or training.  Each concern has its module; the names below are
the ones the rest of netprop uses.
"""

from .errors import DataError
from .fashion_mnist import (CLASS_NAMES, DEBIAN_DIR, EXPECTED_SHAPES, FASHION_MNIST_FILES, FASHION_MNIST_URL,
                            candidate_dirs, default_cache_dir, download_fashion_mnist, find_fashion_mnist,
                            load_fashion_mnist, md5sum)
from .idx import read_idx, write_idx
from .images import IMAGE_SUFFIXES, image_to_pixels, load_predict_inputs
from .preprocessing import Preprocessing, stratified_split
from .tables import MAX_CLASSES, check_labels, load_table

__all__ = [
    "CLASS_NAMES", "DEBIAN_DIR", "EXPECTED_SHAPES", "FASHION_MNIST_FILES", "FASHION_MNIST_URL", "IMAGE_SUFFIXES",
    "MAX_CLASSES", "DataError", "Preprocessing", "candidate_dirs", "check_labels", "default_cache_dir",
    "download_fashion_mnist", "find_fashion_mnist", "image_to_pixels", "load_fashion_mnist", "load_predict_inputs",
    "load_table", "md5sum", "read_idx", "stratified_split", "write_idx",
]
