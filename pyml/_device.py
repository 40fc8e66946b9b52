"""pyml.device: 'cpu' or 'cuda[:N]', like torch.device."""


class device:
    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, int) and index is None:
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string like 'cpu' or 'cuda:0', got {type!r}")
        if ":" in type:
            if index is not None:
                raise ValueError(f"device: index given twice in {type!r} and index={index}")
            type, idx = type.split(":", 1)
            if not idx.isdigit():
                raise ValueError(f"device: invalid device string {type}:{idx!r}; expected 'cuda:N'")
            index = int(idx)
        if type not in ("cpu", "cuda"):
            raise ValueError(f"device: expected one of cpu, cuda device type at start of device string, got {type!r}")
        if index is not None and (not isinstance(index, int) or index < 0):
            raise ValueError(f"device: index must be a non-negative int, got {index!r}")
        self.type, self.index = type, index

    def _pair(self):
        return (0, 0) if self.type == "cpu" else (1, self.index or 0)

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and (self.index or 0) == (other.index or 0)

    def __hash__(self):
        return hash((self.type, self.index or 0))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else f"device(type='{self.type}', index={self.index})"


def from_pair(pair):
    return device("cpu") if pair[0] == 0 else device("cuda", pair[1])


def to_device(d):
    if d is None:
        return device("cpu")
    return d if isinstance(d, device) else device(d)
