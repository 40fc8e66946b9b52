"""pyml.utils.data: datasets, samplers and the DataLoader with torch.utils.data's names and semantics,
plus two splitting helpers torch lacks (KFold, stratified_split). DataLoader workers are threads; see
dataloader.py's docstring."""
from .dataset import (Dataset, IterableDataset, TensorDataset, ConcatDataset, ChainDataset, Subset,
                      random_split)
from .sampler import (Sampler, SequentialSampler, RandomSampler, SubsetRandomSampler, WeightedRandomSampler,
                      BatchSampler)
from .dataloader import DataLoader, default_collate, default_convert, get_worker_info, WorkerInfo
from .split import KFold, stratified_split
from .stack_dataset import StackDataset
from .distributed import DistributedSampler

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "ConcatDataset", "ChainDataset", "Subset",
           "random_split", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "DataLoader", "default_collate", "default_convert",
           "get_worker_info", "WorkerInfo", "KFold", "stratified_split", "StackDataset", "DistributedSampler"]
