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

from scoring import compute, engine
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
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes | memoryview) -> ChunkRaw:
        # Only arrays this module wrote: no pickled objects allowed in.
        with np.load(io.BytesIO(bytes(blob)), allow_pickle=False) as arrays:
            ids = {int(k.removeprefix("ids_")): arrays[k] for k in arrays.files if k[:4] == "ids_"}
            return cls({v: (ids[v], arrays[f"raw_{v}"]) for v in ids})

    def version_raws(self, versions: Iterable[VersionConfig]) -> list[compute.VersionRaw]:
        by_id = {v.id: v for v in versions}
        return [
            compute.VersionRaw(by_id[version_id], ids, raw)
            for version_id, (ids, raw) in self.parts.items()
        ]


def percentile_measures(version: VersionConfig) -> list[int]:
    """Column numbers of the version's percentile measures."""
    return [j for j, m in enumerate(version.measures) if m.spec.rule == engine.PERCENTILE]


def population_references(
    versions: Iterable[VersionConfig], chunks: Iterable[ChunkRaw]
) -> dict[str, list[float]]:
    """Sorted samples of every percentile measure's raw values over its whole population
    (all chunks), keyed by measure key: what engine.sub_scores ranks against."""
    versions = list(versions)
    columns = {v.id: percentile_measures(v) for v in versions}
    wanted = {version_id: cols for version_id, cols in columns.items() if cols}
    if not wanted:
        return {}
    pieces: dict[int, list[np.ndarray]] = {version_id: [] for version_id in wanted}
    for chunk in chunks:
        for version_id, (_ids, raw) in chunk.parts.items():
            if version_id in wanted:
                pieces[version_id].append(raw[:, wanted[version_id]])
    references = {}
    for version in versions:
        if version.id not in wanted or not pieces[version.id]:
            continue
        stacked = np.concatenate(pieces[version.id])
        for k, j in enumerate(wanted[version.id]):
            key = version.measures[j].spec.key
            references[key] = engine.reference_sample(stacked[:, k]).round(6).tolist()
    return references
