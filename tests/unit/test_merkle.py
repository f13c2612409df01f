"""services/merkle.py against RFC 9162 written out here directly (recursive MTH, PATH and PROOF of
section 2.1), for every tree size up to 40 and every index and old size."""

from __future__ import annotations

import hashlib

from progres.services.merkle import FullTree, Tree, leaf_hash, verify_consistency, verify_inclusion


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    if not d:
        return sha(b"")
    if len(d) == 1:
        return sha(b"\x00" + d[0])
    k = split(len(d))
    return sha(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = split(len(d))
    return [*path(m, d[:k]), mth(d[k:])] if m < k else [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], complete: bool) -> list[bytes]:
    if m == len(d):
        return [] if complete else [mth(d)]
    k = split(len(d))
    if m <= k:
        return [*subproof(m, d[:k], complete), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


def test_roots_and_proofs_match_the_rfc_definitions():
    for n in range(1, 41):
        data = [bytes([i, n]) for i in range(n)]
        leaves = [leaf_hash(x) for x in data]
        tree, full = Tree(), FullTree(leaves)
        for leaf in leaves:
            tree.append(leaf)
        assert tree.root() == full.root() == mth(data)
        for m in range(n):
            proof = full.inclusion_proof(m)
            assert proof == path(m, data)
            assert verify_inclusion(leaves[m], m, n, proof, mth(data))
            assert not verify_inclusion(leaves[m], m, n, proof, mth([*data[:-1], b"forged"]))
        for m in range(1, n + 1):
            proof = full.consistency_proof(m)
            assert proof == subproof(m, data, True)
            assert verify_consistency(m, n, mth(data[:m]), mth(data), proof)
            if m < n:
                assert not verify_consistency(m, n, mth(data[:m]), mth([*data[:-1], b"forged"]), proof)


def test_the_empty_tree_hashes_nothing():
    assert Tree().root() == sha(b"")
