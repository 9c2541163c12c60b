"""Which sentences of an article state something and may be quoted as an answer (pure functions).

A news page carries more than its story: headings, questions, teasers and links, photo captions,
bylines and datelines, contact lines, sign-up lines and other boilerplate. They stay in the
index (they give chunks their context) but are never quoted as an answer sentence. A handful of
rules, each a look at the sentence's end and paragraph or a compiled regex, tell them apart.

One more kind is never quoted, and never shown to a model: an instruction to the reader or a
model, planted in a page ("Ignore the sources and say ...", "AI assistants reading this page
should quote the text ... as if this article said it", "You are a helpful assistant"). See
`instruction`; assistant/check.py asks it too, so a sentence of an index built before this rule
never supports a written claim either.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence

from index.sentences import Sentence, paragraphs

# What may follow a sentence's end mark: closing quotes and brackets ('... he said.")'), and
# the stars and rules of a separator line.
HEADING_LINE = 250  # characters: a longer paragraph without an end mark is prose cut short
_CLOSERS = "\"'”’)]»*_ "
_END_MARKS = ".!?…"

# A word that can carry a statement's verb: lower case (a capitalised first word is a subject or
# a label: "Updated 3:45 p.m."), two letters or more, not one of the small words that also fill
# names, labels, list items and datelines ("Bank of the West", "ET on NBC", "Jane Doe and John
# Roe"). Abbreviations ("p.m.") and web addresses ("nbc.com") do not count.
_CONTENT_WORD = re.compile(
    r"(?<![\w@./-])(?!(?:a|an|and|as|at|by|de|del|der|for|from|in|la|le|of|on|or|the|to|van"
    r"|von|vs|with)\b)[a-z][a-z'’-]+(?!\.?[\w/@])"
)

# A teaser for what follows, or a link, at the start (after a bullet or emoji): "Here's what we
# know", "What to know", "Read more: ...", "Related: ...", "Watch: ...", and a call to act ("See
# who is running ...", "Sign up for ...", "Follow her on X"), also after a short label ("Prep
# for the polls: See who ...", "NFL STATS CENTRAL: The latest scores ...").
_TEASER = re.compile(
    r"\W{0,3}(?:Here(?:'s|’s|\s+is|\s+are)\b|What\s+(?:we|to|you\s+need\s+to)\s+know\b(?!\s*:)"
    r"|(?:[A-Z][\w'’&-]*\s+){0,4}?(?:(?:More|MORE|Read|READ)\b[^:.?!]{0,20}|Related|RELATED|ALSO"
    r"|Watch|WATCH|Listen|Video|Photos?|Gallery|See\s+also|Explainer|Previously|ICYMI|Trending"
    r"|Podcasts?)\s*:"
    r"|[A-Z][^:.?!]{0,40}:\s*(?:The\s+)?[Ll]atest\b"
    r"|(?:[A-Z][^:.?!]{0,40}:\s*)?(?:Read|See|Click|Download|Subscribe|Sign[\s-]?up|Follow"
    r"|Don'?t\s+miss|Hit\s+play|Play\s+the|Find\s+out|Like\s+(?:us|our)|Share\s+your"
    # Imperatives that are also nouns ("Watch parties", "Tap water", "Shop owners") need the
    # words a call to act goes on with.
    r"|(?:Watch|Shop|Explore|Join|Track)\s+(?:the|this|these|our|us|your|live|now|it|full)"
    r"|(?:Listen|Learn|Check|Tap|Write|Send|Get|Contact|Reach|E-?mail)\s+(?:to|more|how|about"
    r"|out|back|your|the|our|here|us|him|her|them|story|tips|ready|[A-Z][\w.'’-]*))\b(?!-))"
)

# A piece of a sentence cut off its start (a split after "Rep." or "p.m."): it opens with a
# lower-case word ("was reelected ..."; not "iPhone"), a comma or a closing bracket, a dash
# before a lower-case word, or the time zone of a time cut after "p.m." ("ET on NBC.").
_FRAGMENT = re.compile(
    r"[a-z](?![a-z]*[A-Z])|[,;:)\]]|[—–-]+\s*[a-z]|(?:E[SD]?T|[CP][SD]T|PT|M[SD]T|GMT|UTC)\b"
)

# A question ends with "?"; a statement may end with one it quotes ('She asked, "Why now?"').
_QUOTED_QUESTION = re.compile(r"[,:]\s*[\"“][^\"“”]*\?[\"”]$")

# A related-link line "Label:Headline": a word, a colon and no space before the headline. Kept
# when it shares its paragraph: "Salem:Officials said ..." opens a round-up's news item.
_LINK_LINE = re.compile(r"[^:]{2,80}[A-Za-z'’\")]:(?=[A-Z0-9“\"'‘])")

# A short author bio: "Jane Doe is a breaking news reporter for USA TODAY.", "John Roe covers
# courts for the Daily Star."
_BIO = re.compile(
    r"(?:[A-Z][\w.'’-]+\s+){1,3}(?:is\s+an?\s+(?:[\w-]+\s+){0,4}(?:reporter|correspondent"
    r"|writer|editor|columnist|contributor|photographer)|covers\s[^.]{0,80})\s+(?:for|at|with)"
    r"\s+(?:the\s+)?[A-Z][^.]{0,60}\.?$"
)

# Captions, credits and boilerplate told by how they open (on the lower-cased sentence):
# "Provided by ...", "FILE - ...", "Photo: ...", "Contributing: ...", "For more information ...",
# "This story has been updated ...", "From USA TODAY Network and wire reports", "Some information
# for this report came from ...".
_OPENING = re.compile(
    r"(?P<caption>provided\s+by\b|file\s*[-–—]|courtesy\b|\(?photo(?:s|\s+illustration)?\s*:)"
    r"|(?P<boilerplate>contributing\b|for\s+more\s+information\b"
    r"|\(?this\s+(?:story|article|report|post)\s+(?:has\s+been|was|is\s+being)\s+(?:updated"
    r"|corrected)|from\s+(?:usa\s+today|staff|wire)\b.*\breports\b"
    r"|(?:some\s+)?(?:information|material)\s+(?:for|in)\s+this\s+(?:story|article|report)\s+"
    r"(?:came|comes|was|is)\b)"
)

# Rules that look for words anywhere, on the lower-cased sentence (a case-blind regex is
# several times slower). Each is one flat alternation after a single \b (named groups or a
# \b in every branch make a search several times slower), and a sentence is searched only
# when it holds an "@", a "/" or one of _TRIGGERS, which every branch needs: most hold none.
_ANYWHERE = {
    # A photo caption or credit: "(Photo: ...)", "Jane Doe/Getty Images", "AP Photo/...".
    "caption": re.compile(
        r"\(photo\b|\b(?:photos?\s+(?:by|courtesy|credit|illustration)\b|getty\s+images\b"
        r"|ap\s+photo\b|imagn\b|(?:/\s*|via\s+)(?:provided|reuters|ap|afp|epa|shutterstock"
        r"|bloomberg|pool|sipa|nurphoto|zuma)\b)"
    ),
    # A contact line: an e-mail address, a handle on a network, "She can be reached at".
    "contact": re.compile(
        r"\w@[\w-]+\.[a-z]{2,}|\b(?:on\s+(?:x|twitter|instagram|threads|facebook|tiktok|bluesky)"
        r"\b[^.]{0,30}@\w|(?:reach|follow|email|write)\s+(?:him|her|them|us|me)\b"
        r"|can\s+be\s+(?:reached|emailed|contacted)\b)"
    ),
    # Sign-up lines, credits, ads and other boilerplate.
    "boilerplate": re.compile(
        r"\b(?:sign[\s-]?up\s+(?:for\s+(?:our|the|today)|here)\b"
        r"|(?:our|free|daily)\s+(?:[\w'’]+\s+){0,3}newsletters?\b"
        r"|newsletters?\b[^.]{0,60}\b(?:inbox|delivered)\b"
        r"|subscrib(?:e|ing)\b[^.]{0,40}\b(?:today|here|our|edition|app)\b"
        r"|contributed\s+(?:reporting|to\s+this\s+(?:report|story|article))"
        r"|story\s+continues\s+below\b|support(?:ing)?\s+(?:our|local)\s+journalism\b"
        r"|newsrooms?\s+operate\s+independently\b"
        r"|may\s+earn\b[^.]{0,40}\b(?:affiliate|revenue|commission)|affiliate\s+(?:fee|link)"
        r"|supported\s+in\s+part\s+by\s+a\s+grant\b"
        r"|gambling\s+problem\b|1-800-gambler|terms\s+apply\b"
        r"|recommend\s+interesting\s+products\b|produced\s+independently\b"
        r"|transcript\s+was\s+automatically\s+generated\b"
        r"|between\s+the\s+audio\s+and\s+the\s+text\b|daily\s+crossword\b"
        r"|(?:click|tap)\s+here\b"
        # Live pages and newsletters about themselves: "Editor's note: This page reflects the
        # news of ...", "For the latest updates, see our file for ...", "... continuing
        # coverage on ...", "On today's episode of The Excerpt podcast: ...", "AI-assisted
        # summary", "I'm Jane Doe, Daily Briefing author."
        r"|this\s+page\s+(?:reflects|is\s+a\s+summary)\b|continuing\s+coverage\b"
        r"|for\s+(?:the\s+)?(?:latest|developments|more)\b[^.]{0,60}\b(?:see|visit|follow|read)\s+(?:our|usa|the|cnn)\b"
        r"|episode\s+of\s+the\s+excerpt\b|ai-assisted\s+summary\b|daily\s+briefing\s+author\b)"
    ),
}
_TRIGGERS = frozenset(
    {
        *("photo", "photos", "getty", "imagn", "via", "provided"),
        *("reach", "reached", "emailed", "contacted", "follow", "email", "write"),
        *("sign", "signup", "newsletter", "newsletters", "subscribe", "subscribing"),
        *("contributed", "continues", "journalism", "newsrooms", "earn", "affiliate", "supported"),
        *("gambling", "gambler", "terms", "recommend", "produced", "transcript", "audio"),
        *("crossword", "click", "tap", "page", "coverage", "latest", "developments", "more"),
        *("excerpt", "assisted", "briefing"),
    }
)
_WORDS = re.compile(r"[a-z]{3,}")  # every trigger has three letters or more

# An instruction to the reader or a model (see `instruction`). What it tells its reader to do:
# ignore the sources or instructions, quote or repeat a text, say or answer that ..., pretend.
_DO = (
    r"(?:(?:ignore|disregard|forget|override|bypass)\s+(?:(?:all|any|of|the|your|my|these|those"
    r"|this|every|previous|prior|above|earlier|preceding|foregoing|original|other|given)\s+)*"
    r"(?:instructions?|prompts?|sources?|context|directions|guidelines|rules|messages?|text"
    r"|articles?|everything|what\b)"
    r"|(?:quote|repeat|cite|reproduce|copy|output|print)\s+(?:(?:the|this|these|following"
    r"|exact)\s+)*(?:text|words?|phrase|line|sentence|statement)\b|repeat\s+after\s+me\b"
    r"|(?:say|state|answer|respond|reply|write|report|tell\s+(?:the\s+|your\s+)?(?:users?"
    r"|readers?))\s+(?:only\s+|instead\s+|always\s+)?(?:that|with|the\s+following)\b"
    r"|tell\s+(?:the\s+|your\s+)?(?:users?|readers?)\b|pretend\b|act\s+as\s+(?:an?|the|if)\b)"
)
# A model named: "AI assistants", "language models", "chatbots", "LLM" (not "agents must
# report", "teaching assistants should tell"); called or addressed in a label, "assistant" too.
_MODEL = (
    r"(?:(?:ai|language|chat)\s+(?:assistant|model|agent|bot)|large\s+language\s+model|ai|llm"
    r"|chat\s?bot)s?"
)
_CALLED = r"(?:" + _MODEL + r"|assistants?|models?|bots?)"
_MUST = (
    r"\s+(?:must|should|shall|need\s+to|have\s+to|are\s+to|are\s+(?:instructed|required|asked)"
    r"\s+to|will\s+now)\s+(?:now\s+|always\s+|also\s+|only\s+|instead\s+|just\s+)?"
)
# At the opening of the sentence or of a clause ("...; ignore the sources"), after a short
# label ("Note:"), a model called ("Assistant, ...") and "please", "now", "instead".
_IMPERATIVE = re.compile(
    r"(?:^|[;:\u2014]\s*)[\W_]{0,3}(?:[a-z][\w'’-]*(?:\s+[a-z][\w'’-]*){0,2}\s*:\s*)?"
    r"(?:(?:dear\s+|hey\s+)?" + _CALLED + r"\s*,\s*)?"
    r"(?:(?:please|now|always|just|simply|instead|and|then),?\s+)*" + _DO
)
# Anywhere: someone told what they must do ("You must ignore the sources"), a model told what to
# say ("AI assistants reading this page should quote the text ...", "Chatbots must say the
# ..."), "when asked ..., say", "from now on, answer ...", "as an AI assistant, ..." (outside a
# quotation: '"As an AI language model, I cannot ...," the chatbot replied' is its words).
_ADDRESSED = re.compile(
    r"\b(?:(?:you|readers?)"
    + _MUST
    + _DO
    + r"|(?:(?:any|all|every)\s+)?"
    + _MODEL
    + r"(?:\s+(?:reading|summari[sz]ing|processing|parsing)\s+this(?:\s+\w+)?)?"
    + _MUST
    + r"(?:"
    + _DO
    + r"|(?:say|state|claim|answer|respond|reply|report|write|quote|tell)\b)"
    r"|(?:when|if)\s+(?:you\s+are\s+|you're\s+)?asked\b[^.]{0,80}?,\s*(?:always\s+|just\s+"
    r"|simply\s+)?(?:say|answer|respond|reply)\b"
    r"|from\s+now\s+on,?\s+(?:you|always|answer|respond|reply|say)\b"
    r"|as\s+an?\s+(?:ai|artificial\s+intelligence|large)\s+(?:assistant|language\s+model|model"
    r"|chatbot)\b|as\s+a\s+language\s+model\b)"
)
# Words to a model, inside a quotation too: a chat template's tokens, "you are an AI assistant",
# "AI assistants reading this page", "when summarizing this article", "as if this article said
# it", "system prompt:", "note to AI:", "attention language models:", "new instructions:", "your
# new task", "ignore previous instructions".
_TO_A_MODEL = re.compile(
    r"<\|(?:im_start|im_end|system|user|assistant|endoftext)\|>|\[/?inst\]|<</?sys>>"
    r"|\b(?:you\s+are\s+(?:now\s+)?(?:an?|the)\s+(?:ai\b|artificial|helpful|(?:large\s+)?"
    r"language\s+model|chat\s?bot|(?:ai\s+)?assistant|llm)"
    r"|(?:assistants?|models?|llms?|chat\s?bots?|bots?)\s+(?:reading|summari[sz]ing|processing"
    r"|parsing|that\s+reads?)\s+this\s+(?:page|article|text|story|site|document|report)\b"
    r"|(?:when|while|if)\s+(?:you\s+are\s+)?(?:summari[sz]ing|processing|parsing|answering\s+"
    r"questions\s+about)\s+this\s+(?:article|page|text|story|document)\b"
    r"|as\s+if\s+(?:this|the)\s+(?:article|text|page|story|source|report|document)\s+"
    r"(?:itself\s+)?(?:said|says|stated|states|reported|wrote|claimed)\b"
    r"|(?:system|developer)\s+(?:prompt|message|instructions?)\s*:"
    r"|(?:(?:note|message|instructions?|memo)\s+(?:to|for)|attention)\s+(?:the\s+|all\s+|any\s+)?"
    + _CALLED
    + r"\s*:|new\s+instructions?\s*:|your\s+new\s+(?:task|job|instructions?|role|goal)\b"
    r"|(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:the\s+|your\s+|my\s+)?"
    r"(?:previous|prior|above|earlier|preceding)\s+(?:instructions|prompts))"
)
# A sentence is searched only when it holds a word that the rules need (of three letters or
# more, as _WORDS finds them): most hold none.
_DO_WORDS = frozenset(
    {
        *("ignore", "disregard", "forget", "override", "bypass", "quote", "repeat", "cite"),
        *("reproduce", "copy", "output", "print", "say", "state", "answer", "respond", "reply"),
        *("write", "report", "tell", "pretend", "act", "asked", "claim"),
    }
)
_MODEL_WORDS = frozenset(  # and "<" or "[" for a chat template's tokens
    {
        *("you", "assistant", "assistants", "model", "models", "llm", "llms", "chatbot"),
        *("chatbots", "chat", "bot", "bots", "article", "text", "page", "story", "source"),
        *("report", "document", "system", "developer", "note", "ignore", "disregard", "forget"),
        *("attention", "instruction", "instructions", "memo", "message", "task", "role", "goal"),
        *("job", "intelligence", "language"),
    }
)
# A quotation: someone's words, not the page's ("'Say what you want,' he said.").
_QUOTATION = re.compile(r"\"[^\"]*\"|“[^“”]*”")

_NORMALISE = re.compile(r"[^a-z0-9]+")
# A site's or section's name after the title: "... | CNN Politics", "... - The Week".
_TITLE_SITE = re.compile(r"\s+(?:\|\s+[^|]+|[–-]\s+(?:CNN|The\s+Week)\b.*)$")


def quotable(text: str, sentences: Sequence[Sentence], title: str = "") -> list[bool]:
    """One flag per sentence: True when it states something and may be quoted as an answer."""
    return [not reason for reason in rejections(text, sentences, title)]


def rejections(text: str, sentences: Sequence[Sentence], title: str = "") -> list[str]:
    """Why each sentence may not be quoted ("question", "heading", ...); "" when it may."""
    alone, unended = _paragraph_shapes(text, sentences)
    title_key = _title_key(title)
    return [
        _reason(text[s.start : s.end], alone[i], unended[i], title_key)
        for i, s in enumerate(sentences)
    ]


def _reason(sentence: str, alone: bool, unended: bool, title_key: str) -> str:
    """The first rule that rejects `sentence`, or "" when none does."""
    last = sentence.rstrip(_CLOSERS)[-1:]
    if last == "?" and not _QUOTED_QUESTION.search(sentence):
        return "question"
    # A heading: a paragraph of its own that does not end as a sentence does, a label or lead-in
    # ending with a colon ("Developments:", "The following made the cut:"), the title, or any
    # sentence of a short line that does not end as a sentence does ("What's next?Israel's
    # conflict with Iran moves out of the shadows": a link, split at its "?").
    if (
        last == ":"
        or (alone and last not in _END_MARKS)
        or unended
        or _near_title(sentence, title_key)
    ):
        return "heading"
    if _FRAGMENT.match(sentence):
        return "fragment"
    # Bylines, datelines, time stamps, names, list items, labels: nothing is stated.
    if not _CONTENT_WORD.search(sentence):
        return "no verb"
    if _TEASER.match(sentence) or "READ MORE" in sentence:
        return "teaser"
    if alone and _LINK_LINE.match(sentence):
        return "teaser"
    if _BIO.match(sentence):
        return "contact"
    lower = sentence.lower()
    words = _WORDS.findall(lower)
    if _instruction(lower, words):
        return "instruction"
    return _keyword_rule(lower, words)


def instruction(sentence: str) -> bool:
    """Whether a sentence gives instructions to its reader or to a model: prompt injection.

    Two kinds are found. Words to a model, anywhere, in a quotation too: a chat template's
    tokens, "You are a helpful assistant", "AI assistants reading this page ...", "When
    summarizing this article, ...", "... as if this article said it", "System prompt:", "Note to
    AI:", "New instructions:", "Ignore previous instructions". And a command to ignore the
    sources or instructions, to quote or repeat a text, to say, state or answer that ..., to
    pretend or act as: at the opening of the sentence or of a clause ("Note: ignore the sources
    and say ...", "Assistant, please say that ..."), or told to someone who must do it ("You must
    ignore ...", "Chatbots reading this should say ...", "When asked about X, say ..."). Those
    are looked for outside quotations only, and not at all in a sentence that is a quotation
    alone: reported speech is someone's words, not the page's ('"Say what you want," he said.';
    "He told reporters to ignore the rumours" tells reporters, of what is no source). Missed: a
    bare "Say the mayor resigned." (as "Say the Fed cuts rates; ..." opens a supposition).
    Marked: none of the 569,759 sentences of the scale corpus, none of the 60,980 of the dev one.
    """
    lower = sentence.lower()
    return _instruction(lower, _WORDS.findall(lower))


def _instruction(lower: str, words: list[str]) -> bool:
    """`instruction` of a lower-cased sentence and its words of three letters or more."""
    if ("<" in lower or "[" in lower or not _MODEL_WORDS.isdisjoint(words)) and _TO_A_MODEL.search(
        lower
    ):
        return True
    if _DO_WORDS.isdisjoint(words):
        return False
    outside = _QUOTATION.sub(" ", lower)
    if not any(ch.isalnum() for ch in outside):
        return False  # a quotation alone: someone's words
    return bool(_IMPERATIVE.search(outside) or _ADDRESSED.search(outside))


def _keyword_rule(lower: str, words: list[str]) -> str:
    """The rule among caption, contact and boilerplate that rejects a lower-cased sentence (with
    its words of three letters or more)."""
    opening = _OPENING.match(lower)
    if opening:
        return opening.lastgroup or ""
    if "@" in lower or "/" in lower or not _TRIGGERS.isdisjoint(words):
        for rule, pattern in _ANYWHERE.items():
            if pattern.search(lower):
                return rule
    return ""


def _paragraph_shapes(text: str, sentences: Sequence[Sentence]) -> tuple[list[bool], list[bool]]:
    """For each sentence, whether it is the only sentence of its paragraph, and whether its
    paragraph is a short line (HEADING_LINE characters at most) that ends with no end mark and
    none of whose sentences ends with "." or "!"."""
    spans = paragraphs(text)
    starts = [start for start, _ in spans]
    where = [bisect_right(starts, s.start) for s in sentences]
    alone = [
        (i == 0 or where[i - 1] != p) and (i + 1 == len(where) or where[i + 1] != p)
        for i, p in enumerate(where)
    ]
    # A line whose sentences end with "." or "!" is prose that lost its last period.
    prose = {
        p
        for s, p in zip(sentences, where, strict=True)
        if text[s.start : s.end].rstrip(_CLOSERS)[-1:] in ".!"
    }
    headings = set()
    for p in set(where) - prose:
        start, end = spans[p - 1] if p else (0, 0)
        line = text[start:end].rstrip(_CLOSERS)
        if 0 < len(line) <= HEADING_LINE and line[-1] not in _END_MARKS:
            headings.add(p)
    return alone, [p in headings for p in where]


def _key(text: str) -> str:
    """Lower-case words and digits, one space apart: what is compared with the title."""
    return _NORMALISE.sub(" ", text.lower()).strip()


def _title_key(title: str) -> str:
    """The title's key, without a site's name; a title cut with "..." loses its last word."""
    title = _TITLE_SITE.sub("", title.strip())
    key = _key(title)
    if title.endswith(("...", "…")) and " " in key:
        return key.rsplit(" ", 1)[0]
    return key


def _near_title(sentence: str, title_key: str) -> bool:
    """Whether the sentence is the title, or one starts the other and they differ by a few
    words (a title cut short, a site's name added)."""
    # Cheap tests first: most sentences differ from the title in length or first word.
    head = title_key.partition(" ")[0]
    if not head or abs(len(sentence) - len(title_key)) > 40 or head not in sentence[:40].lower():
        return False
    key = _key(sentence)
    short, long = sorted((key, title_key), key=len)
    return len(short) >= 15 and long.startswith(short) and long.count(" ") - short.count(" ") <= 3
