"""A chunk's raw measure values, kept between the two passes of a run.

A percentile measure ranks each account against every account on its scorecard, so no score
can be final before every chunk has read its signals. Rather than reading the signals of the
percentile measures twice (once for the whole population, once per chunk), each chunk reads
its signals once, keeps its raw values here, and is scored once the population is known.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from scoring import engine
from scoring.pipeline import compute
from scoring.specs import VersionConfig


@dataclass
class ChunkRaw:
    """Raw values per version id: (account ids, accounts × measures matrix)."""

    parts: dict[int, tuple[np.ndarray, np.ndarray]]

    @classmethod
    def from_version_raws(cls, parts: Iterable[compute.VersionRaw]) -> ChunkRaw:
        return cls({p.version.id: (p.account_ids, p.raw) for p in parts})

    def to_bytes(self) -> bytes:
        arrays = {}
        for version_id, (ids, raw) in self.parts.items():
            arrays[f"ids_{version_id}"] = ids.astype(np.int64)
            arrays[f"raw_{version_id}"] = raw.astype(np.float64)
        return pack(arrays)

    @classmethod
    def from_bytes(cls, blob: bytes | memoryview) -> ChunkRaw:
        arrays = unpack(blob)
        ids = {int(k.removeprefix("ids_")): v for k, v in arrays.items() if k[:4] == "ids_"}
        return cls({v: (ids[v], arrays[f"raw_{v}"]) for v in ids})

    def version_raws(self, versions: Iterable[VersionConfig]) -> list[compute.VersionRaw]:
        by_id = {v.id: v for v in versions}
        return [
            compute.VersionRaw(by_id[version_id], ids, raw)
            for version_id, (ids, raw) in self.parts.items()
        ]

    def percentile_values(self, versions: Iterable[VersionConfig]) -> dict[str, np.ndarray]:
        """The raw values of every percentile measure, by measure key: the chunk's share of
        the populations the references are taken from (kept apart, a small fraction of
        the raw values, so that taking the references reads little)."""
        values = {}
        for version in versions:
            if version.id not in self.parts:
                continue
            raw = self.parts[version.id][1]
            for j in percentile_measures(version):
                values[version.measures[j].spec.key] = raw[:, j]
        return values


def pack(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def unpack(blob: bytes | memoryview) -> dict[str, np.ndarray]:
    # Only arrays this module wrote: no pickled objects allowed in.
    with np.load(io.BytesIO(bytes(blob)), allow_pickle=False) as arrays:
        return {key: arrays[key] for key in arrays.files}


def percentile_measures(version: VersionConfig) -> list[int]:
    """Column numbers of the version's percentile measures."""
    return [j for j, m in enumerate(version.measures) if m.spec.rule == engine.PERCENTILE]


def population_references(chunks: Iterable[dict[str, np.ndarray]]) -> dict[str, list[float]]:
    """Sorted samples of every percentile measure's raw values over its whole population
    (every chunk's percentile_values), keyed by measure key: what engine.sub_scores ranks
    against."""
    pieces: dict[str, list[np.ndarray]] = {}
    for values in chunks:
        for key, column in values.items():
            pieces.setdefault(key, []).append(column)
    return {
        key: engine.reference_sample(np.concatenate(columns)).round(6).tolist()
        for key, columns in pieces.items()
    }
