"""PyTorch ports of mixlab's recurrent mixers for scripts/peer/torch_model.py:
MIXERS maps a mixer name to port(cfg, section, d_model, max_len) -> nn.Module."""

MIXERS = {}
