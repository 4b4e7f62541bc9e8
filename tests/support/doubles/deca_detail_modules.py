"""Test doubles: DECA's detail networks, which the project never runs but ``deca_model.tar`` holds.

``DECA.model_dict()`` (``decalib/deca.py``) saves three state dicts. ``E_flame`` is the
project's :class:`~furpe_label.experts.networks.deca.DecaFlameEncoder`; the other two are
rebuilt here with DECA's layer order so that their ``state_dict()`` (keys, shapes and the
``_metadata`` version table) is what DECA's trainer saved:

- ``E_detail`` = ``ResnetEncoder(outsize=n_detail=128)``: the same network as ``E_flame`` with
  a 128-wide last layer;
- ``D_detail`` = ``Generator(latent_dim=n_detail + n_cond = 128 + 53)`` (``decalib/models/
  decoders.py``): ``l1`` = Sequential(Linear(latent, 128 * 8 * 8)), ``conv_blocks`` =
  BatchNorm, then five (Upsample, Conv 3x3, BatchNorm(eps 0.8), LeakyReLU) groups, a last
  Conv 3x3 to one channel and Tanh (module indices 0 .. 22).
"""

from __future__ import annotations

from torch import nn

from furpe_label.experts.networks.deca import DecaFlameEncoder

DETAIL_CODE_SIZE = 128
DETAIL_LATENT_DIM = 128 + 50 + 3  # n_detail + n_cond (expression 50 + jaw pose 3)
_GENERATOR_CHANNELS = ((128, 128), (128, 64), (64, 64), (64, 32), (32, 16))


def deca_detail_encoder() -> nn.Module:
    """DECA ``E_detail``: ``ResnetEncoder(outsize=128)`` (random weights, eval mode)."""
    encoder = DecaFlameEncoder()
    encoder.layers[2] = nn.Linear(1024, DETAIL_CODE_SIZE)
    return encoder.eval()


class DecaDetailGeneratorDouble(nn.Module):
    """DECA ``D_detail`` (``Generator``): only its state dict is used (no forward)."""

    def __init__(self, latent_dim: int = DETAIL_LATENT_DIM) -> None:
        super().__init__()
        self.l1 = nn.Sequential(nn.Linear(latent_dim, 128 * 8 * 8))
        blocks: list[nn.Module] = [nn.BatchNorm2d(128)]
        for cin, cout in _GENERATOR_CHANNELS:
            blocks += [
                nn.Upsample(scale_factor=2, mode="bilinear"),
                nn.Conv2d(cin, cout, 3, stride=1, padding=1),
                nn.BatchNorm2d(cout, 0.8),
                nn.LeakyReLU(0.2, inplace=True),
            ]
        blocks += [nn.Conv2d(16, 1, 3, stride=1, padding=1), nn.Tanh()]
        self.conv_blocks = nn.Sequential(*blocks)
