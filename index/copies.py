"""Copies of one story: an article's MinHash signature, and which new articles copy another.

The same wire story is republished by many outlets with small edits (a headline, a dateline, a
line added). Such a copy is not embedded: the build records it as a "carrier" of the article it
copies (index/build.py), so the story is indexed once and every outlet that carried it is known
(`Index.outlets`).

Two texts are copies when the Jaccard similarity of their word 5-shingles is at least THRESHOLD
and the opening of each (its first OPENING shingles, about 55 words: the lede) is mostly found in
the other. Chosen on the 6,315 articles of the scale corpus (pairs counted on the exact shingle
sets): 41 pairs reach 0.5, 36 reach 0.6, 21 reach 0.7, 12 reach 0.8 and 9 reach 0.9. The 12 of
0.8 and more are all one article twice (8 of them the same text under two URLs) or re-published
with a paragraph or two changed; under 0.8 come localised versions with facts of their own ("...
in Kentucky", "... in Visalia"), updates with a new lede, and three pairs of different CNN
stories that share one 32,000-character photo gallery (0.72-0.76): a long shared block alone
comes close to the threshold. The opening check keeps such pairs apart whatever their
similarity: the openings of those three share nothing (0.00), those of the 12 pairs of 0.8 and
more 0.50 to 1.00. Of 300 scale articles edited by a script, the check finds the copy with
a changed dateline 300 times, with a line added after the first paragraph 295 (167 with an
opening of 25 shingles), with 1% or 2% of the words changed 300, with the last paragraph cut 288,
and never (0) the same article under a new 40-word lede (an update says something new first).

Candidates are found by LSH (BANDS bands of the PERMUTATIONS values of a MinHash signature, kept
in each article's metadata) and then checked on the two texts (an indexed one read back from the
index). The signature is a numpy MinHash (multiply-shift hashing of crc32 word hashes): 1.2-1.6 ms
an article, against 6 ms for datasketch's MinHash (SHA-1 of every shingle) of 64 values too.

The rules (index/plan.py, index/build.py): the original is the article indexed first (or read
first in one build); a copy is recorded in the articles collection with `copy_of` and no chunks,
whichever its outlet. The same text (or URL) again from the same outlet stays a skipped
duplicate; from another outlet it is a copy, found without a signature (too short a text has
none, and neither has an article of an index built before them: it is never a near-copy's
original). A copy whose original is removed or replaced is looked at again as a new article by the
build that does it, or by the first build that reads the copy's file again: it copies another
article, or it is indexed in full.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from index.article import Article

SHINGLE = 5  # words in a shingle
PERMUTATIONS = 64  # MinHash values in a signature (stored with each article: 344 characters)
BANDS = 16  # LSH bands of PERMUTATIONS // BANDS values: a pair of Jaccard 0.8 shares one ~always
THRESHOLD = 0.8  # Jaccard similarity of two texts' shingles from which one copies the other
OPENING = 50  # shingles that open a text (about 55 words: its lede) ...
OPENING_FOUND = 0.5  # ... of which this share must be in the other text (both ways)
ESTIMATE_MARGIN = 0.15  # a candidate whose signatures agree on less than THRESHOLD - this: none
MIN_WORDS = 50  # a shorter text gets no signature: too little to tell a copy by
BLOCK = 4096  # shingles hashed at once (bounds memory on a 5 MB article)
KEY = "minhash"  # the article metadata that holds the signature
_WORD = re.compile(r"\w+")
_SHIFT = np.uint64(32)
_PRIME = np.uint64(1_099_511_628_211)  # combines the words of a shingle (FNV's 64-bit prime)


def _multipliers() -> np.ndarray:
    """PERMUTATIONS fixed odd 64-bit multipliers, the same in every process and version: each
    orders the shingle hashes by `hash * multiplier mod 2**64` (multiply-shift hashing)."""
    seed = hashlib.sha256(b"news-assistant minhash").digest()
    values = [
        int.from_bytes(hashlib.sha256(seed + i.to_bytes(4, "big")).digest()[:8], "big") | 1
        for i in range(PERMUTATIONS)
    ]
    return np.array(values, dtype=np.uint64)


_MULTIPLIERS = _multipliers()


def shingles(text: str) -> np.ndarray:
    """The hashes of a text's word 5-shingles (lower-cased), in text order, repeats kept."""
    words = _WORD.findall(text.lower())
    if not words:
        return np.zeros(0, dtype=np.uint64)
    hashed = np.array([zlib.crc32(w.encode()) for w in words], dtype=np.uint64)
    n = max(1, len(words) - SHINGLE + 1)
    out = np.zeros(n, dtype=np.uint64)
    for j in range(min(SHINGLE, len(words))):
        out = out * _PRIME + hashed[j : j + n]  # wraps modulo 2**64, as meant
    return out


def signature(text: str) -> str:
    """The MinHash signature of a text, as stored; "" when it is too short to tell copies by."""
    hashes = shingles(text)
    if len(hashes) + SHINGLE - 1 < MIN_WORDS:
        return ""
    return _encode(_minhash(hashes))


def _minhash(hashes: np.ndarray) -> np.ndarray:
    """For each multiplier, the top 32 bits of the least `hash * multiplier` (mod 2**64)."""
    low = np.full(PERMUTATIONS, np.iinfo(np.uint64).max, dtype=np.uint64)
    for start in range(0, len(hashes), BLOCK):
        low = np.minimum(low, (hashes[start : start + BLOCK, None] * _MULTIPLIERS).min(axis=0))
    return (low >> _SHIFT).astype("<u4")


def _encode(values: np.ndarray) -> str:
    return base64.b64encode(values.tobytes()).decode("ascii")


def _decode(stored: str) -> np.ndarray | None:
    """A stored signature, or None (none stored: an index built before signatures)."""
    try:
        raw = base64.b64decode(stored, validate=True)
    except ValueError:
        return None
    if len(raw) != PERMUTATIONS * 4:
        return None
    return np.frombuffer(raw, dtype="<u4")


def copies(a: str, b: str) -> bool:
    """Whether two texts are one story: their shingles' Jaccard similarity is at least
    THRESHOLD and each one's opening is mostly found in the other (not two stories that share a
    long block: a footer, a photo gallery)."""
    sa, sb = shingles(a), shingles(b)
    ua, ub = np.unique(sa), np.unique(sb)
    if not len(ua) or not len(ub):
        return False
    shared = len(np.intersect1d(ua, ub, assume_unique=True))
    if shared / (len(ua) + len(ub) - shared) < THRESHOLD:
        return False
    return all(
        np.isin(opening[:OPENING], other).mean() >= OPENING_FOUND
        for opening, other in ((sa, ub), (sb, ua))
    )


@dataclass
class Found:
    """What `find_copies` found: for each copy, the article it copies; every signature made."""

    originals: dict[str, str] = field(default_factory=dict)  # copy id -> original id
    signatures: dict[str, str] = field(default_factory=dict)  # article id -> signature


def find_copies(
    articles: Sequence[Article],
    indexed: Mapping[str, str],
    hints: Mapping[str, str],
    carried: Mapping[str, str],
    text_of: Callable[[str], str | None],
    outlets: Mapping[str, str],
    show: bool = False,
) -> Found:
    """Which of `articles` (in the order read) copy an indexed article or one before them.

    A near-copy counts only between two known outlets: the same outlet's new version of a story
    (an update with a paragraph changed) is indexed, so that what it adds can be found.

    `indexed`: the signatures of the indexed articles that stay (not copies themselves);
    `outlets`: the outlet of each indexed article;
    `hints`: articles the plan found to be exact copies (same URL or text) of another outlet's;
    `carried`: the indexed copies that stay, and the article each copies; `text_of`: the text of
    an indexed article. An article copies at most one original, never another copy.
    """
    found = Found()
    lsh = _Buckets()
    originals = set(indexed)
    for article_id, stored in indexed.items():
        if (values := _decode(stored)) is not None:
            lsh.add(article_id, values)
    texts = {a.id: a.text for a in articles}
    outlet_of = {**outlets, **{a.id: outlet(a.source, a.url) for a in articles}}
    for article in tqdm(articles, desc="finding copies", unit=" articles", disable=not show):
        stored = signature(article.text)
        found.signatures[article.id] = stored
        values = _decode(stored) if stored else None
        hint = hints.get(article.id)
        original = found.originals.get(hint, carried.get(hint, hint)) if hint else None
        if original not in originals and values is not None:
            mine = outlet_of[article.id]

            def elsewhere(candidate: str, mine: str = mine) -> bool:
                return other_outlet(mine, outlet_of.get(candidate, ""))

            original = _nearest(article.text, values, lsh, texts, text_of, elsewhere)
        if original in originals:
            found.originals[article.id] = original
            continue
        originals.add(article.id)
        if values is not None:
            lsh.add(article.id, values)
    return found


def _nearest(
    text: str,
    values: np.ndarray,
    lsh: _Buckets,
    texts: Mapping[str, str],
    text_of: Callable[[str], str | None],
    eligible: Callable[[str], bool],
) -> str | None:
    """The first `eligible` candidate of `lsh` (most similar signature first) `text` copies."""
    for estimate, candidate in lsh.candidates(values):
        if estimate < THRESHOLD - ESTIMATE_MARGIN:
            break
        if not eligible(candidate):
            continue
        other = texts.get(candidate) or text_of(candidate)
        if other and copies(text, other):
            return candidate
    return None


class _Buckets:
    """LSH: signatures that agree on all the values of one band share its bucket."""

    def __init__(self) -> None:
        self.rows = PERMUTATIONS // BANDS
        self.buckets: dict[tuple[int, bytes], list[str]] = {}
        self.values: dict[str, np.ndarray] = {}

    def add(self, article_id: str, values: np.ndarray) -> None:
        self.values[article_id] = values
        for key in self._keys(values):
            self.buckets.setdefault(key, []).append(article_id)

    def candidates(self, values: np.ndarray) -> list[tuple[float, str]]:
        """(share of equal values, id) of the signatures sharing a bucket, best first."""
        ids = dict.fromkeys(i for key in self._keys(values) for i in self.buckets.get(key, ()))
        scored = [(float((self.values[i] == values).mean()), i) for i in ids]
        return sorted(scored, key=lambda pair: -pair[0])

    def _keys(self, values: np.ndarray) -> Iterable[tuple[int, bytes]]:
        for band in range(BANDS):
            yield band, values[band * self.rows : (band + 1) * self.rows].tobytes()


# The wire services whose stories outlets carry, by the names their stories give them.
WIRES = {
    "AP": "The Associated Press",
    "Associated Press": "The Associated Press",
    "Reuters": "Reuters",
    "AFP": "AFP",
}
WIRE_OPENING = 600  # characters of an article in which its wire service is looked for
_DASH = "[-‒–—―−]"
_PLACE = r"[A-ZÀ-Þ][\w.'’/-]*(?:[^\S\n]+[A-ZÀ-Þ][\w.'’/-]*){0,3}(?:,[^\n(]{1,40})?"
# A line of the opening that names the wire service: a dateline ("IOWA CITY, Iowa (AP) —",
# "Paris (AFP) -", "(Reuters) -"), or the credit under the byline ("Associated Press",
# "Reuters") or before the text ("Reuters —").
_WIRE_LINE = re.compile(
    rf"(?m)^[^\S\n]*[*_]*(?:(?:{_PLACE}[^\S\n]*)?\((AP|Reuters|AFP)\)[^\S\n]*{_DASH}"
    rf"|(?:The[^\S\n]+)?(Associated Press|AP|Reuters|AFP)[^\S\n]*(?:$|{_DASH}))"
)


def wire(text: str) -> str:
    """The wire service an article is the story of, as its opening names it, else "". An outlet
    that publishes a wire story does not report it independently: the wire service does (203 of
    the 6,315 scale articles, 202 USA TODAY's and one CNN's, are AP or Reuters stories)."""
    found = _WIRE_LINE.search(text[:WIRE_OPENING])
    return WIRES[found.group(1) or found.group(2)] if found else ""


def outlet(source: str, url: str) -> str:
    """The publisher of an article: its source, else the registered domain of its URL, else ""."""
    if source.strip():
        return source.strip()
    if not url:
        return ""
    from index.feeds import publisher  # courlan: only for articles that name no source

    return publisher(url)


def other_outlet(a: str, b: str) -> bool:
    """Whether two outlets are known and not the same one."""
    return bool(a and b) and a.casefold() != b.casefold()
