"""Merkle tree hashing of RFC 9162 (Certificate Transparency v2), section 2.1.

leaf hash = SHA-256(0x00 || leaf bytes), node hash = SHA-256(0x01 || left || right), the empty tree's hash is
SHA-256 of nothing, and a tree of n > 1 leaves splits at k, the largest power of two smaller than n.
`Tree` builds the root incrementally with a stack of perfect subtree roots (one pass, O(log n) memory);
the proof functions take the list of leaf hashes; the verifiers need nothing but the proof.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class Tree:
    """Appends leaf hashes one at a time; `root()` is the tree head of the leaves appended so far."""

    __slots__ = ("size", "stack")

    def __init__(self) -> None:
        self.stack: list[bytes] = []
        self.size = 0

    def append(self, leaf: bytes) -> None:
        # Each trailing 1 bit of the size is a perfect subtree of the same height to merge with.
        size, node, stack = self.size, leaf, self.stack
        while size & 1:
            node = hashlib.sha256(b"\x01" + stack.pop() + node).digest()
            size >>= 1
        stack.append(node)
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        node = self.stack[-1]
        for left in reversed(self.stack[:-1]):
            node = node_hash(left, node)
        return node


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) from leaf hashes."""
    tree = Tree()
    for leaf in leaves:
        tree.append(leaf)
    return tree.root()


class FullTree:
    """Every level of the tree over `leaves`: any subtree root, hence any proof, in O(log n) hashes.
    The subtrees RFC 9162 recursions visit start at a multiple of a power of two: a perfect one is a stored
    node, a partial one (on the right edge) is split again."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.levels: list[list[bytes]] = [list(leaves)]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            self.levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def subroot(self, lo: int, hi: int) -> bytes:
        n = hi - lo
        if n == 0:
            return EMPTY_ROOT
        height = n.bit_length() - 1
        if n == 1 << height and lo % n == 0:
            return self.levels[height][lo >> height]
        k = _split(n)
        return node_hash(self.subroot(lo, lo + k), self.subroot(lo + k, hi))

    def root(self, size: int | None = None) -> bytes:
        return self.subroot(0, self.size if size is None else size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(m, D[n]) of RFC 9162 2.1.3.1: the sibling hashes from the leaf up to the root."""
        size = self.size if size is None else size
        if not 0 <= index < size <= self.size:
            raise ValueError("leaf index outside the tree")
        frames: list[bytes] = []
        lo, hi = 0, size
        while hi - lo > 1:
            k = _split(hi - lo)
            if index - lo < k:
                frames.append(self.subroot(lo + k, hi))
                hi = lo + k
            else:
                frames.append(self.subroot(lo, lo + k))
                lo += k
        return frames[::-1]

    def consistency_proof(self, old_size: int, size: int | None = None) -> list[bytes]:
        """PROOF(m, D[n]) of RFC 9162 2.1.4.1."""
        size = self.size if size is None else size
        if not 0 < old_size <= size <= self.size:
            raise ValueError("old size outside the tree")
        return self._subproof(old_size, 0, size, True)

    def _subproof(self, m: int, lo: int, hi: int, complete: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if complete else [self.subroot(lo, hi)]
        k = _split(n)
        if m <= k:
            return [*self._subproof(m, lo, lo + k, complete), self.subroot(lo + k, hi)]
        return [*self._subproof(m - k, lo + k, hi, False), self.subroot(lo, lo + k)]


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    return FullTree(leaves).inclusion_proof(index)


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    return FullTree(leaves).consistency_proof(old_size)


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 2.1.4.2."""
    if old_size > new_size or old_size == 0:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
