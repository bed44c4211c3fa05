"""The spec language: typed sections, safe YAML with positions, extends, overrides, hash.

Importing this package never imports TensorFlow.
"""

from geokeras.spec.resolve import load_spec, spec_from_mapping
from geokeras.spec.schema import SPEC_VERSION, Spec, json_schema

__all__ = ["SPEC_VERSION", "Spec", "json_schema", "load_spec", "spec_from_mapping"]
