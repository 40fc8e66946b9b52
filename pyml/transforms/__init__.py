"""pyml.transforms: image augmentation with torchvision.transforms' (v1) names and semantics.

Images are pyml tensors laid out (..., C, H, W); ToTensor brings NumPy arrays (and PIL images, when
PIL is installed) into that layout. Classes hold settings, pyml.transforms.functional does the work,
and every random choice comes from pyml's RNG, so pyml.manual_seed reproduces a pipeline. Porting a
torchvision script means changing `torchvision.transforms` to `pyml.transforms`.
"""
from . import functional
from ._args import InterpolationMode
from .transforms import Compose, ToTensor, Lambda, Normalize, CenterCrop, Resize
from ._random import (RandomHorizontalFlip, RandomVerticalFlip, RandomCrop, RandomResizedCrop, RandomRotation,
                      GaussianNoise)

__all__ = ["functional", "InterpolationMode", "Compose", "ToTensor", "Lambda", "Normalize", "CenterCrop",
           "Resize", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomCrop", "RandomResizedCrop",
           "RandomRotation", "GaussianNoise"]
