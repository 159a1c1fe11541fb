#!/usr/bin/env python3
"""Independent test vectors for src/ledger/merkle.c and src/ledger/note.c.

Computed straight from the definitions in RFC 9162 section 2.1 (MTH, PATH,
PROOF/SUBPROOF) and the C2SP signed-note and tlog-checkpoint texts, with
Python's hashlib and the 'cryptography' package (Ed25519). Nothing here
shares code with the C implementation. Run it and paste the output into
tests/unit/test_merkle.c and tests/unit/test_note.c:

    python3 tests/unit/vectors/merkle_vectors.py

Leaf i (counting from 0) is the entry made of the bytes 0, 1, ..., i-1
(each taken mod 256): leaf 0 is the empty entry.
"""
import base64
import hashlib


def sha256(b):
    return hashlib.sha256(b).digest()


def entry(i):
    return bytes(j % 256 for j in range(i))


def leaf_hash(e):
    return sha256(b"\x00" + e)


def node_hash(l, r):
    return sha256(b"\x01" + l + r)


def split(n):
    # The largest power of two smaller than n (n > 1).
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d):
    if len(d) == 0:
        return sha256(b"")
    if len(d) == 1:
        return leaf_hash(d[0])
    k = split(len(d))
    return node_hash(mth(d[:k]), mth(d[k:]))


def path(m, d):
    if len(d) == 1:
        return []
    k = split(len(d))
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def subproof(m, d, b):
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = split(n)
    if m <= k:
        return subproof(m, d[:k], b) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]


def proof(m, d):
    return subproof(m, d, True)


def c_hex_list(hs):
    if not hs:
        return "{NULL}"
    return "{" + ", ".join('"%s"' % h.hex() for h in hs) + "}"


def merkle():
    entries = [entry(i) for i in range(1000)]
    print("/* Roots of the trees of the first n leaves. */")
    print("static const struct { uint64_t n; const char *root; } root_vectors[] = {")
    for n in list(range(0, 9)) + [1000]:
        print('\t{%d, "%s"},' % (n, mth(entries[:n]).hex()))
    print("};")
    print()
    print("static const struct { uint64_t index, size; size_t n; const char *proof[16]; } inclusion_vectors[] = {")
    for (m, n) in [(0, 1), (0, 2), (1, 2), (0, 8), (5, 8), (7, 8), (2, 3), (6, 7),
                   (4, 5), (0, 1000), (500, 1000), (999, 1000)]:
        p = path(m, entries[:n])
        print("\t{%d, %d, %d, %s}," % (m, n, len(p), c_hex_list(p)))
    print("};")
    print()
    print("static const struct { uint64_t from, to; size_t n; const char *proof[20]; } consistency_vectors[] = {")
    for (m, n) in [(1, 2), (1, 8), (6, 8), (2, 5), (3, 7), (4, 8), (7, 8), (3, 5),
                   (5, 1000), (300, 1000), (512, 1000), (999, 1000)]:
        p = proof(m, entries[:n])
        print("\t{%d, %d, %d, %s}," % (m, n, len(p), c_hex_list(p)))
    print("};")


def note():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives import serialization
    seed = bytes(range(32))
    sk = Ed25519PrivateKey.from_private_bytes(seed)
    pk = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    name = "mamori.example/ledger"
    key_id = sha256(name.encode() + b"\n" + b"\x01" + pk)[:4]
    root = mth([entry(i) for i in range(1000)])
    body = "%s\n%d\n%s\n" % (name, 1000, base64.b64encode(root).decode())
    sig = sk.sign(body.encode())
    line = "\u2014 %s %s\n" % (name, base64.b64encode(key_id + sig).decode())
    vkey = "%s+%s+%s" % (name, key_id.hex(), base64.b64encode(b"\x01" + pk).decode())
    print()
    print("/* Seed bytes 0..31, name %s. */" % name)
    print('#define VEC_PK "%s"' % pk.hex())
    print('#define VEC_KEY_ID 0x%sU' % key_id.hex())
    print('#define VEC_VKEY "%s"' % vkey)
    print('#define VEC_BODY "%s"' % body.replace("\n", "\\n"))
    print('#define VEC_NOTE VEC_BODY "\\n" "%s"' % line.replace("\n", "\\n"))


if __name__ == "__main__":
    merkle()
    note()
