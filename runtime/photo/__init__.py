"""The photo pipeline: estimate the blur, deconvolve, run the net; classical baselines, image I/O, PSFs."""
