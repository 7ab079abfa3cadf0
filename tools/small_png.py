#!/usr/bin/python3
"""Cut a gnuplot PNG to a 32-colour palette (a plot has few colours): 20-30 KB instead of 60-90,
for the pictures kept in docs/images.

    tools/small_png.py IN.png OUT.png
"""
import sys

from PIL import Image

if len(sys.argv) != 3:
    sys.exit(__doc__)
image = Image.open(sys.argv[1]).convert("RGB")
image.quantize(colors=32, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(sys.argv[2], optimize=True)
