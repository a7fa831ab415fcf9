"""HDF5 datasets: atomic resumable generation, subsampled reading, normalizers and loaders."""

from sciml.data.dataset import H5Dataset, dataloader, subsample_factors
from sciml.data.format import DatasetError, DatasetInfo, part_path, read_info
from sciml.data.generate import DatasetWriter, generate_dataset, sample_generator
from sciml.data.normalize import UnitGaussianNormalizer

__all__ = [
    "DatasetError",
    "DatasetInfo",
    "DatasetWriter",
    "H5Dataset",
    "UnitGaussianNormalizer",
    "dataloader",
    "generate_dataset",
    "part_path",
    "read_info",
    "sample_generator",
    "subsample_factors",
]
