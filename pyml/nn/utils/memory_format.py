"""Put the weights of every Conv2d/ConvTranspose2d (or 3-D) in a module tree in a memory format, as
torch.nn.utils.convert_conv2d_weight_memory_format does: channels_last weights make the convs return
channels_last outputs, so a whole network runs in that layout without converting its inputs' layers."""


def _convert(module, memory_format, kinds):
    if isinstance(module, kinds):
        module.weight.data = module.weight.detach().clone(memory_format=memory_format)
    for child in module.children():
        _convert(child, memory_format, kinds)
    return module


def convert_conv2d_weight_memory_format(module, memory_format):
    from ..modules.conv import Conv2d, ConvTranspose2d
    return _convert(module, memory_format, (Conv2d, ConvTranspose2d))


def convert_conv3d_weight_memory_format(module, memory_format):
    from ..modules.conv import Conv3d, ConvTranspose3d
    return _convert(module, memory_format, (Conv3d, ConvTranspose3d))
