"""``python -m vise_lib.pretrain`` = ``vise train``: the pretraining engine (also under ``torchrun``)."""

import sys

from vise_lib.tools import tool_main

sys.exit(tool_main("train"))
