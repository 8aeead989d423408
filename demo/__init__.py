"""Synthetic data: the demo province (`demo.province`) and national benchmark data (`demo.national`),
both written by one bulk generator (`demo.synthetic`)."""
