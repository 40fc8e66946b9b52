"""pyml.models: reusable model definitions for the course recipes (MLP, LeNet, ResNet family, plain
nets, RNN/LSTM taggers, seq2seq RNN, Transformer seq2seq, ViT). Each is a plain pyml.nn.Module."""
from .lenet import LeNet, AlphaGoPolicyNet
from .mlp import MLP
from .rnn import RNNTagger, Seq2SeqRNN
from .transformer import TransformerSeq2Seq
from .resnet import (BasicBlock, Bottleneck, ResNet, PlainNet, resnet18, resnet34, resnet50, resnet20, resnet56, resnet110)
from .vit import ViT
