"""Datasets, the benchmark registry and prompt templates."""

from spurious.data.datasets import load_problems
from spurious.data.problems import BENCHMARKS, Problem, data_dir, load_problems_file
from spurious.data.templates import TEMPLATES, Template, get_template

__all__ = ["BENCHMARKS", "Problem", "data_dir", "load_problems", "load_problems_file", "TEMPLATES", "Template",
           "get_template"]
