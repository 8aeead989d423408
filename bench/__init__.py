"""`make bench`: the engine measured at national scale, each figure beside its goal."""
