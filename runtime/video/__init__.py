"""The video pipeline: frame sources, face-priority deblurring, blend, sharpen, stream, sinks, stats."""
