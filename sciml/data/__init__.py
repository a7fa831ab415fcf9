"""HDF5 datasets: atomic resumable checked generation, subsampled checksummed reading, normalizers and loaders."""

from sciml.data.dataset import H5Dataset, H5Stream, dataloader, subsample_factors, verify
from sciml.data.format import DatasetError, DatasetInfo, StorageError, part_path, read_info, sample_generator
from sciml.data.generate import DatasetWriter, generate_dataset
from sciml.data.normalize import UnitGaussianNormalizer

__all__ = [
    "DatasetError",
    "DatasetInfo",
    "DatasetWriter",
    "H5Dataset",
    "H5Stream",
    "StorageError",
    "UnitGaussianNormalizer",
    "dataloader",
    "generate_dataset",
    "part_path",
    "read_info",
    "sample_generator",
    "subsample_factors",
    "verify",
]
