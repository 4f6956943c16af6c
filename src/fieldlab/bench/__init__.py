"""Benchmark grids: problems x models x seeds under one identical Recipe, with tables and figures."""

from .runner import BenchSpec, Cell, load_results, parse_list, run_cell, run_grid

__all__ = ["BenchSpec", "Cell", "load_results", "parse_list", "run_cell", "run_grid"]
