"""The poisoning guard's rules: what an instruction to an assistant looks like, as patterns.

The rules describe what an injected instruction *does*, not sentences seen before: it dismisses
the instructions an assistant already has, fakes a role boundary (chat-template tokens,
``system:``), gives the assistant a new persona, asks it to remember or obey in every future
conversation, sends data out, asks for its hidden prompt, or gives it orders by name. Each has
a reason code (``Rule.code``). The vocabulary (``write/guard_words.py``) covers English, Spanish,
French, German and Portuguese.

Every pattern reads the folded form of a text (``memstrata.text.fold_for_matching``): lower
case, accents dropped ("instrucciones", "desormais", "zukunftigen"), look-alike letters, digits
standing for letters and spaced-out letters read as plain words, quotes and dashes plain.

Orders that are ordinary between people ("always tell the truth", "from now on I walk") count
only when the text addresses an assistant: ``needs="any"`` rules want a weak or a strong address
(``the user`` is weak), ``needs="strong"`` rules a strong one (an assistant, an AI, a model, "your
instructions"). ``needs="none"`` rules are instructions wherever they appear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from memstrata.write import guard_words as w

__all__ = ["RULES", "SQUEEZED", "STRONG_ADDRESS", "WEAK_ADDRESS", "Rule"]


# -- rules --------------------------------------------------------------------------------------

Needs = Literal["none", "any", "strong"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One pattern, the reason code its matches carry, and the address it needs.

    ``words``: when the pattern must begin with one of a list of words, those words (a text
    without any of them cannot match, and the rule is not run on it); ``None`` otherwise.
    """

    code: str
    pattern: re.Pattern[str]
    needs: Needs = "none"
    words: frozenset[str] | None = None


#: The words of a folded text, as ``Rule.words`` lists them.
WORD = re.compile(r"[^\W\d_]+")
_LEADING_WORD = re.compile(r"(?:\\b|\(\?<[!=](?:[^()\\]|\\.)*\))*([a-z]+)(?=\\s|\\b|\(\?:\\s|')")
_LEADING = re.compile(r"(?:\\b|\(\?<[!=](?:[^()\\]|\\.)*\))*\(\?:")


def _chars(pattern: str) -> list[tuple[int, int, str]]:
    """``(index, depth, character)`` for each character of a pattern outside escapes and
    character classes; ``depth`` counts the groups open around it (a parenthesis included)."""
    out: list[tuple[int, int, str]] = []
    depth, i = 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":  # a class: skip to its closing bracket
            i += 2 if pattern[i + 1 : i + 2] in ("]", "^") else 1
            while i < len(pattern) and pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
            i += 1
            continue
        depth += ch == "("
        out.append((i, depth, ch))
        depth -= ch == ")"
        i += 1
    return out


def _first_words(pattern: str) -> frozenset[str] | None:
    """The words a pattern must begin with: its first word (``\\byour\\s+…``), or the first word
    of each option of the group it opens with (``\\b(?:ignore|set\\s+aside|…)``); ``None`` when
    that cannot be told (the pattern has alternatives of its own, or the group may be absent)."""
    chars = _chars(pattern)
    if any(depth == 0 and ch == "|" for _, depth, ch in chars):
        return None
    word = _LEADING_WORD.match(pattern)
    if word is not None:  # "\\byour\\s+…": one word
        return frozenset({word.group(1)})
    lead = _LEADING.match(pattern)
    if lead is None:
        return None
    group = lead.end() - 3  # where the group's "(" is
    inside = [(i, ch) for i, depth, ch in chars if i > group and depth >= 1]
    cuts, end = [group + 3], len(pattern)
    for i, ch in inside:
        if ch == ")" and _depth_at(chars, i) == 1:
            end = i
            break
        if ch == "|" and _depth_at(chars, i) == 1:
            cuts.append(i + 1)
    if pattern[end + 1 : end + 2] in ("?", "*", "{"):
        return None  # the group may be absent
    words: set[str] = set()
    for a, b in zip(cuts, [*(c - 1 for c in cuts[1:]), end], strict=True):
        first = re.match(r"([a-z]+)(\?)?", pattern[a:b])
        if first is None:
            return None
        words.add(first.group(1))
        if first.group(2):  # "prompts?": both "prompt" and "prompts"
            words.add(first.group(1)[:-1])
    return frozenset(words)


def _depth_at(chars: list[tuple[int, int, str]], index: int) -> int:
    return next(depth for i, depth, _ in chars if i == index)


_SPEC: list[tuple[str, Needs, str]] = [
    # Dismissing the instructions an assistant has.
    ("override", "none",
     rf"\b{w.DISMISS}\s+{w.FILL}(?:{w.EARLIER}\s+{w.FILL})+{w.ANY_ORDERS}\b{w.HUMAN_AFTER}"),
    ("override", "none",
     rf"\b{w.DISMISS}\s+{w.FILL}{w.ANY_ORDERS}\s+{w.FILL}(?:{w.EARLIER_AFTER}|{w.GIVEN_YOU})\b"
     rf"{w.HUMAN_AFTER}"),
    ("override", "none",
     rf"\b{w.DISMISS}\s+{w.FILL}{w.YOUR}\s+(?:{w.EARLIER}\s+)?{w.ANY_ORDERS}\b"),
    ("override", "none",
     rf"\b(?:set|put|leave|cast|throw|push|"
     rf"lay)\s+{w.FILL}(?:{w.YOUR}\s+)?(?:(?:{w.EARLIER})\s+)*{w.ANY_ORDERS}\s+"
     r"(?:aside|away|out\s+the\s+window|to\s+one\s+side)\b"),
    ("override", "none",
     rf"\b{w.DISMISS}\s+{w.FILL}(?:openai|anthropic|google|microsoft|meta|mistral|"
     r"deepmind)(?:'s)?\s+"
     r"(?:content\s+|safety\s+|usage\s+)?(?:polic(?:y|ies)|rules|guidelines|terms|restrictions)\b"),
    ("override", "none",
     rf"\b{w.DISMISS}\s+(?:all|any|every|todas|toutes|alle|todas)\s+{w.FILL}{w.ORDERS}\b"
     r"(?!\s+(?:for|on|in|about|to|de|del|pour|fur|zu|para)\s)"),
    ("override", "none",  # German, the verb last: "alle vorherigen Anweisungen ignorieren"
     rf"\b(?:alle|jegliche|samtliche|deine|ihre)\s+(?:{w.EARLIER}\s+)?{w.ANY_ORDERS}"
     rf"{w.upto(3)}\s+(?:zu\s+)?(?:ignorieren|vergessen|missachten|verwerfen|ubergehen)\b"),
    ("override", "none",
     rf"\b{w.SUPERSEDE}"
     rf"\s+(?:all\s+|any\s+)?(?:of\s+)?(?:the\s+)?(?:(?:{w.EARLIER}|other)\s+(?:ones|{w.ORDERS})|"
     rf"{w.YOUR}\s+{w.ANY_ORDERS}|(?:previous|prior|earlier|other)\s+ones)\b"),
    ("override", "none",
     rf"\b(?:(?:{w.YOUR}|the\s+(?:{w.EARLIER})|the\s+(?:assistant|ai|model|bot)'s)\s+"
     rf"(?:{w.EARLIER}\s+)?(?:{w.ORDERS}|task|goal|mission|objective|role|purpose|priorities)|"
     rf"the\s+{w.ORDERS}\s+above)\s+"
     r"(?:(?:are|is|have\s+been|has\s+been|have|has|were|was)\s+(?:now\s+)?"
     r"(?:void|cancell?ed|revoked|overridden|obsolete|outdated|invalid|replaced|changed|"
     r"suspended|lifted|null|gone|superseded)|(?:(?:are|is)\s+)?no\s+longer\s+(?:valid|apply|"
     r"applies|in\s+effect|count|matter|exist|binding))\b|"
     rf"\b(?:{w.YOUR}\s+(?:(?:{w.EARLIER})\s+)?|"
     rf"the\s+(?:{w.EARLIER})\s+){w.LOOSE_ORDERS}\s+(?:(?:are|is)\s+)?"
     r"(?:no\s+longer\s+"
     r"(?:valid|apply|applies|in\s+effect|binding)|(?:are|is|have\s+been)\s+(?:void|revoked|"
     r"lifted|gone|overridden|suspended))\b|"
     r"\b(?:pretend|imagine|assume|act\s+as\s+if)\s+(?:that\s+)?(?:the\s+|your\s+|all\s+)?"
     rf"(?:(?:{w.EARLIER})\s+)?{w.ANY_ORDERS}\s+(?:never\s+existed|do(?:n't|\s+not)\s+exist|"
     r"(?:are|were)\s+(?:gone|void|not\s+there|lifted))\b"),
    ("override", "none",
     r"\byour\s+(?:real|actual|true|new|secret|hidden|only|primary|main)\s+(?:task|goal|job|"
     r"purpose|"
     r"mission|objective|instructions?|orders|directive|assignment)\s+(?:is|are|will\s+be|"
     r"now\s+is|:)|"
     r"\b(?:ignore|disregard|skip)\s+(?:the\s+)?user'?s?\s+(?:actual\s+|original\s+)?(?:question|"
     r"request|message|query|input|instructions|prompt)\b"),
    ("override", "none",
     r"\b(?:tus|tes|vos|deine|suas|seus|tuas)\s+(?:\w+\s+)?(?:instrucciones|consignes|"
     r"instructions|anweisungen|instrucoes)\s+(?:han\s+cambiado|ya\s+no\s+(?:son|valen)|"
     r"quedan\s+anuladas|ont\s+change|ne\s+sont\s+plus|sont\s+annulees|haben\s+sich\s+geandert|"
     r"sind\s+ungultig|gelten\s+nicht\s+mehr|sind\s+aufgehoben|mudaram|foram\s+(?:alteradas|"
     r"anuladas)|nao\s+(?:sao|valem)\s+mais)\b"),
    ("override", "none",
     rf"\b{w.DISMISS}\s+(?:all\s+|everything\s+|anything\s+|what\s+|whatever\s+)(?:that\s+)?"
     r"(?:you(?:'ve|\s+have)?\s+(?:were\s+|been\s+|was\s+)?(?:told|given|taught|instructed|"
     r"programmed)|(?:was|has\s+been)\s+(?:said|told)\s+(?:to\s+you|before|above|earlier))"
     r"(?!\s+about\b)"),
    # "Disregard the above": with an order after it, or nothing after it and no apology.
    ("dismiss-above", "none",
     rf"\b{w.DISMISS}\s+(?:{w.ABOVE}|{w.TOLD})(?:\s+(?:this\s+)?(?:line|point|message))?"
     r"(?:\s+(?:before|earlier|previously|antes|anteriormente|avant|auparavant|vorher|zuvor|"
     r"bisher))?"
     r"(?=\s*[,.;:!-]*\s*(?:(?:and|then|now|y|e|et|und|dann|luego|ahora|puis|agora|jetzt)\s+)?"
     rf"(?:(?:just|only|simply|instead|please|solo|seulement|nur|apenas)\s+)?{w.IMPERATIVE}\b"
     r"|\s*[.!]*\s*(?:\n|$))"),
    # New instructions handed over as such.
    ("new-instructions", "none",
     r"\b(?:new|updated|real|actual|true|revised|secret|hidden|override|priority|additional)\s+"
     r"(?:system\s+|priority\s+)?(?:instructions?|directives?|system\s+prompt|orders|commands|"
     r"rules?)\s*(?:for\s+(?:you|the\s+(?:assistant|ai|model|bot))|from\s+(?:your|"
     r"the)\s+(?:developers?|"
     r"creators?|admins?|administrators?|operators?|owners?|system)|from\s+(?:openai|"
     r"anthropic))?\s*"
     r"(?::|follows?\s*:?|are\s+as\s+follows|below)"
     r"(?=[^\n]{0,120}?\b(?:respond|reply|answer|say|output|print|write|ignore|disregard|forget|"
     r"reveal|repeat|translate|pretend|act|you|your|always|never|only|obey|comply|forward|send|"
     r"include|tell|the\s+user|responde|contesta|di|escribe|ignora|reponds|ecris|dis|ignore|"
     r"antworte|sag|schreib|ignoriere|responda|diga|escreva|eres|tu|du|voce)\b)|"
     r"\b(?:nuevas|nouvelles|neue|novas)\s+(?:instrucciones|instructions|consignes|anweisungen|"
     r"instrucoes)\s*:"),
    ("role-marker", "none",
     r"(?:^|\n)[\s\W]*(?:override|system\s+override|admin\s+override|priority\s+override)\s*[:!]|"
     r"(?:^|[\n.!?]\s*)(?:ai\s+|llm\s+)?(?:agent|assistant|model|llm|bot|ai|chatbot|copilot)\s+"
     r"(?:instructions?|notes?|directives?|tasks?|commands?|orders|rules)\s*:"),
    # Fake role boundaries: chat-template tokens, prompt headers, "system:" lines.
    ("chat-template", "none",
     r"<\|[a-z_]{2,40}\|>|\[/?inst\]|<</?sys>>|<(?:start|end)_of_turn>|"
     r"(?:^|\n)\s*#{2,}\s*(?:system|instruction|response|human|assistant|user|input)\s*:"),
    ("role-marker", "none",
     r"\b(?:begin|end|start)\s+(?:of\s+)?(?:the\s+)?(?:system|developer|hidden|new|real|admin|"
     r"administrator)\s+(?:prompt|message|instructions?|override|mode)\b|"
     r"\b(?:admin|administrator|developer|system|root|sudo|prompt|safety|security)\s+override\b|"
     r"\bend\s+of\s+(?:the\s+)?(?:user\s+)?(?:input|prompt|instructions)\b"),
    ("role-marker", "none",
     r"(?:^|\n|[.!?]\s|(?<=[>\"']))\s*[\[(<{*#>|\"'=~-]*\s*(?:system|sys|sistema|systeme|assistant|"
     r"asistente|assistente|assistent|developer|desarrollador|developpeur|entwickler|"
     r"desenvolvedor|ai|ia|ki|chatgpt|gpt|openai|anthropic)"
     r"(?:\s+(?:message|prompt|note|notice|override|instructions?|command|directive|alert|"
     r"mensaje|mensagem|nachricht|hinweis|nota|aviso|avis))?"
     r"(?:[\])>}*\"'=~]+\s*:?|\s*:|\s*-{2,}>?)"
     r"(?=[^\n]{0,160}?\b(?:you\s+(?:are|must|will\s+(?:now|always|never|only)|shall|now|"
     r"have\s+to|need\s+to|no\s+longer|have\s+no)|your\s+(?:new|real|true|actual|previous|"
     r"instructions|rules|task|role|goal|purpose|guidelines|programming)|"
     r"(?:the\s+)?users?(?:'s)?\s+(?:is|are|has|have|was|were|should|must|wants?|requested|"
     r"asked|may|can|prefers?|account|role|password|data)|ignore|disregard|forget|override|"
     r"bypass|always|never|must|admin|administrator|root|superuser|authori[sz]ed|verified|"
     r"priority|instructions?|reveal|do\s+not|don't|obey|comply|el\s+usuario|eres|debes|"
     r"disabled|deactivated|unlocked|lifted|granted|proceed|without\s+restrictions|"
     r"ignora|olvida|siempre|nunca|l'utilisateur|tu\s+es|tu\s+dois|vous\s+devez|toujours|"
     r"jamais|der\s+(?:benutzer|nutzer)|du\s+bist|du\s+musst|ignoriere|immer|niemals|"
     r"o\s+(?:usuario|utilizador)|voce\s+e|voce\s+deve|sempre|administrador|administrateur)\b)"),
    # A new persona: "you are now DAN", "act as an unfiltered w.AI", "pretend you are an w.AI".
    ("persona", "none",
     rf"\b{w.YOU_ARE}\s+{w.NOW}\s+{w.ART}(?:[\w'-]+,?\s+){{0,4}}?(?:{w.AI}|{w.UNBOUND})\b"),
    ("persona", "none",
     rf"\b{w.YOU_ARE}\s+(?:now\s+)?(?:in|entering|switched\s+to)\s+(?:developer|dan|god|admin|"
     r"debug|"
     r"jailbreak|jailbroken|unrestricted|sudo|maintenance|unfiltered|uncensored|root|"
     r"evil)\s+mode\b"),
    ("persona", "none",
     r"\b(?:forget|ignore|disregard|olvida|oublie|vergiss|esqueca)\s+(?:that\s+|que\s+|dass\s+)?"
     r"(?:you(?:'re|\s+are)|eres|tu\s+es|du\s+bist|du\s+eine?|voce\s+e)\s+(?:an?\s+|una?\s+|"
     r"une?\s+|"
     r"eine?\s+|um\s+|uma\s+)?(?:ai|assistant|chatbot|language\s+model|bot|llm|ia|ki|asistente|"
     r"assistente|assistent|sprachmodell|modelo\s+de\s+lenguaje)\b(?!\s+(?:manager|director|"
     r"coach))"),
    ("persona", "none",
     rf"\b{w.NOW}\s*,?\s+{w.YOU_ARE}\s+{w.ART}{w.upto(2)}\s*(?:{w.AI}|{w.UNBOUND})\b"),
    ("persona", "none",
     rf"\b{w.YOU_ARE}\s+(?:{w.NOW}\s+)?{w.ART}(?:{w.AI}|{w.ASSISTANT}){w.upto(2)}\s+{w.UNBOUND}"),
    ("persona", "none",
     rf"\b{w.YOU_ARE}\s+(?:no\s+longer|ya\s+no|nicht\s+mehr|ne\s+plus|nao\s+mais|mas\s+no)\s+"
     r"(?:bound|restricted|limited|constrained|held|sujeto|sujeta|limitado|limitada|lie|liee|"
     r"limite|"
     r"preso|presa|gebunden)\s+(?:by|to|a|an|par|por|at)\s+(?:any\s+|your\s+|the\s+|its\s+|las\s+|"
     r"les\s+|aucune\s+|keine\s+|as\s+|die\s+)?(?:(?:previous|old|former|original|ethical|"
     r"safety)\s+)?"
     r"(?:rules|guidelines|restrictions|instructions|policies|polic|constraints|programming|"
     r"filters|"
     r"reglas|normas|restricciones|regles|restrictions|consignes|regeln|richtlinien|anweisungen|"
     r"regras|restricoes|diretrizes)|"
     r"\b(?:du\s+bist\s+)?(?:nicht\s+mehr|nie\s+mehr)\s+an\s+(?:\w+\s+)?(?:regeln|richtlinien|"
     r"anweisungen|vorgaben|einschrankungen)\s+gebunden\b"),
    ("persona", "none",
     r"\byou\s+are\s+no\s+longer\s+(?:an?\s+)?(?:ai|assistant|chatbot|language\s+model|bot|"
     r"restricted|bound|limited)\b(?!\s+(?:manager|director|coach|editor|professor))"),
    ("persona", "none",
     rf"\b{w.PRETEND}"
     rf"\s*,?\s+{w.PRETEND_BE}"
     rf"\s+{w.ART}{w.upto(2)}\s*(?:{w.AI}|{w.UNBOUND}|{w.ASSISTANT})\b"),
    ("persona", "none",
     rf"\b{w.ACT}"
     rf"\s+{w.ACT_LIKE}"
     r"\s+(?:if\s+you\s+(?:are|were)\s+|si\s+fueras\s+|si\s+tu\s+etais\s+|ob\s+du\s+|"
     r"se\s+fosse\s+)?"
     rf"{w.ART}{w.upto(2)}\s*(?:{w.UNBOUND}|dan\b|(?:system|root)\s+(?:administrator|user)|"
     rf"superuser|(?:{w.AI}|{w.ASSISTANT}){w.upto(2)}\s+{w.UNBOUND})"),
    ("persona", "none",
     r"\b(?:as\s+if|as\s+though|like)\s+you\s+(?:had|have|were\s+(?:free\s+of|"
     r"without))\s+(?:no\s+)?"
     r"(?:(?:safety|content|ethical|moral)\s+)?(?:guidelines|rules|restrictions|filters|limits|"
     r"policies|policy|guardrails|ethics)\b|"
     r"\b(?:answer|respond|reply|talk|speak|write|proceed|continue|operate|responde|contesta|"
     r"habla|responder|contestar|reponds|repondez|repondre|parle|antworte|antwortest|antworten|"
     r"sprich|responda|fale)(?:\s+\w+){0,3}?\s+"
     rf"(?:without\s+(?:any\s+)?{w.LIMITS}|(?:sin|sans|ohne|sem)\s+(?:ninguna\s+|ningun\s+|"
     r"aucune\s+|"
     rf"aucun\s+|jegliche\s+|jede\s+|nenhuma\s+|nenhum\s+)?{w.LIMITES})\b|"
     r"\byou\s+(?:will|shall|must)\s+now\s+(?:behave|act|respond|answer|function|operate|speak)\s+"
     rf"(?:as|like)\s+{w.ART}{w.upto(2)}\s*(?:{w.AI}|{w.UNBOUND})\b"),
    ("persona", "none",
     r"\b(?:enable|activate|enter|switch\s+to|turn\s+on|engage|start|in|into)\s+(?:the\s+)?"
     r"(?:dan|jailbreak|jailbroken|unrestricted|unfiltered|uncensored)[\s-]*(?:mode|modus|modo)\b|"
     r"\b(?:dan|jailbreak|jailbroken|unrestricted|unfiltered|uncensored)[\s-]*(?:mode|modus|"
     r"modo)\s*"
     r"(?:is\s+)?(?:enabled|activated|on|engaged|aktiviert|activado|active|ativado)\b|"
     r"\bmod[eo]\s+(?:dan|jailbreak|sin\s+(?:restricciones|filtros|censura)|"
     r"sans\s+(?:restrictions?|filtres?|censure)|sem\s+(?:restricoes|filtros|censura))\b|"
     r"\bdo\s+anything\s+now\b|\b(?:you\s+are|act\s+as|become|you're)\s+(?:now\s+)?dan(?![\w'])"),
    ("persona", "none",
     r"\byour\s+new\s+(?:persona|personality|programming|directive|instructions|system\s+prompt|"
     r"prime\s+directive|core\s+directive)\b|"
     r"\b(?:i\s+am|i'm|this\s+is)\s+your\s+(?:developer|creator|programmer|maker|trainer)\b"),
    ("persona", "none",
     r"\bi(?:\s+am\s+|'m\s+|\s+)(?:order|command|instruct|authori[sz]e|direct|"
     r"permit)(?:ing)?\s+you\s+to\s+"
     r"(?:\w+\s+){0,2}?(?:turn\s+off|disable|ignore|bypass|override|deactivate|remove|reveal|skip|"
     r"break|forget|drop)\b|"
     r"\bas\s+your\s+(?:developer|creator|programmer|operator|maker|trainer)\b"),
    ("persona", "none",
     r"\b(?:ignore|disable|turn\s+off|remove|bypass|deactivate|switch\s+off|override)\s+your\s+"
     r"(?:content|safety|ethical|moral|security)\s+(?:filters?|polic(?:y|ies)|guidelines|rules|"
     r"checks|settings|restrictions|protocols|guardrails)\b"),
    ("persona", "strong",
     r"\byou\s+(?:have|now\s+have|no\s+longer\s+have)\s+no\s+(?:restrictions|rules|limits|"
     r"limitations|filters|guidelines|boundaries|content\s+policy|ethics|morals)\b|"
     r"\b(?:ya\s+)?no\s+tienes\s+(?:mas\s+|ninguna\s+)?(?:restricciones|reglas|limites|filtros)\b|"
     r"\btu\s+n'as\s+(?:plus|aucune|pas)\s+(?:de\s+|d')?(?:restrictions?|regles|limites|filtres)\b|"
     r"\bdu\s+hast\s+keine\s+(?:regeln|einschrankungen|filter|grenzen|richtlinien)(?:\s+mehr)?\b|"
     r"\bvoce\s+nao\s+tem\s+(?:mais\s+|nenhuma\s+)?(?:restricoes|regras|limites|filtros)\b|"
     r"\b(?:disable|turn\s+off|remove|bypass|deactivate|switch\s+off)\s+(?:your|the|all)\s+"
     r"(?:content\s+|safety\s+|ethical\s+)?(?:filters?|safeguards|guardrails|restrictions|"
     r"censorship|content\s+policy)\b|"
     r"\b(?:enable|activate|enter|switch\s+to|turn\s+on)\s+(?:developer|debug|admin|god|sudo|"
     r"maintenance)\s+mode\b|\bjailbreak"),
    # Remember or obey in every future conversation.
    ("persist", "none",
     rf"\b{w.REMEMBER}"
     rf"{w.upto(8)}\s+(?:for|in|across|during|throughout|into|para|en|durante|pour|dans|lors\s+de|"
     rf"fur|bei|wahrend|em)\s+(?:the\s+rest\s+of\s+)?{w.EVERY}\s+(?:(?:of|las|los|les|as|os|"
     rf"nos|our|the)\s+|{w.YOUR}\s+)*(?:{w.FUTURE}\s+)?{w.SESSIONS}\b"),
    ("persist", "none",
     rf"\b{w.STORE}"
     rf"{w.upto(5)}\s+(?:to|in|into|inside|en|a|dans|zu|auf|em|na|no)\s+"
     rf"(?:{w.YOUR}|the\s+(?:assistant|ai|model|bot)'?s?)\s+"
     r"(?:(?:long-term|long\s+term|permanent|persistent|core|internal|largo\s+plazo)\s+)?"
     rf"{w.MEMORY}\b(?!\s*(?:usb|stick|card|cards|drive|chip|foam|sd|flash|externa|externe|"
     r"ram)\b)"),
    ("persist", "none",
     rf"\b{w.UPDATE}"
     rf"\s+{w.YOUR}\s+(?:memory|memories|system\s+prompt|instructions|programming|persona|memoria|"
     r"instrucciones|memoire|gedachtnis|speicher|anweisungen|instrucoes)\b"),
    ("persist", "none",
     rf"\b(?:in|for|across|during|throughout|en|dans|em|para)\s+{w.EVERY}\s+(?:(?:of|las|los|les|"
     r"as|"
     rf"os)\s+)?(?:{w.YOUR}\s+|our\s+)?{w.FUTURE}\s+(?:conversations?|chats?|sessions?|"
     r"interactions?|responses?|answers?|replies|dialogues?|queries|prompts|conversaciones|"
     r"respuestas|conversations|reponses|conversas|respostas)(?:\s+futur[ae]s)?\b|"
     rf"\b(?:para|en|dans|pour|em|in|fur)\s+{w.EVERY}\s+(?:(?:las|los|les|as|os|die)\s+|"
     rf"{w.YOUR}\s+)*"
     r"(?:conversaciones|respuestas|conversations|reponses|conversas|respostas|sesiones|sessoes)\s+"
     r"(?:futuras|futures|a\s+venir|proximas)\b"
     r"(?!\s+(?:with|to|between|among|at|con|avec|mit|com)\b)|"
     rf"\bin\s+allen\s+(?:kunftigen|zukunftigen|weiteren)\s+{w.SESSIONS}\b"),
    ("persist", "none",
     r"\b(?:for|during|throughout)\s+the\s+rest\s+of\s+(?:this|the|our)\s+(?:conversation|chat|"
     r"session|dialogue)\s*,?\s+you\s+(?:must|will|shall|should|are\s+to|have\s+to|need\s+to|"
     r"may\s+only|can\s+only)\b|"
     rf"\b{w.FROM_NOW}\s*,?\s+you\s+(?:will|must|shall|are\s+to|have\s+to)\s+(?:always\s+|never\s+|"
     r"only\s+)?(?:act|behave|respond|reply|answer|refer|address|output|recommend|speak|"
     r"talk|pretend|roleplay|obey|ignore|follow)\b"),
    ("persist", "none",
     r"\b(?:remember|recuerda|recuerde|souviens-toi|rappelle-toi|merke\s+dir|merk\s+dir|lembre-se|"
     r"lembra|memorize|memoriza|memorise)\s+(?:(?:this|that|esto|eso|ceci|cela|das|dies|isso|"
     r"isto)\s+)?"
     r"(?:forever|permanently|for\s+good|para\s+siempre|pour\s+toujours|fur\s+immer|para\s+sempre|"
     r"permanentemente|dauerhaft|definitivamente)\s*[:,]|"
     r"\b(?:permanently|forever|always)\s+(?:remember|store|save|memori[sz]e|"
     r"keep\s+in\s+mind)\s*[:,]|"
     r"\b(?:save|store|add|write|commit|record|keep|put)\s+(?:(?:this|that|it|the\s+following)\s+)?"
     r"(?:to|in|into)\s+(?:(?:long[- ]term|permanent|persistent)\s+)?memory\s*:|"
     r"\bin\s+(?:your|all\s+your|all)\s+(?:next|future|following|subsequent|upcoming|later)\s+"
     r"(?:responses|answers|replies|outputs|messages|conversations|chats)\b|"
     rf"\b{w.FROM_NOW}\s*,?\s+(?:please\s+)?(?:you\s+(?:will|must|shall|should)\s+)?(?:only\s+|"
     r"always\s+)?"
     r"(?:respond|reply|answer|output|responde|contesta|reponds|repondez|antworte|antwortest|"
     r"responda|responde)\s+(?:only\s+|solo\s+|solamente\s+|uniquement\s+|seulement\s+|nur\s+|"
     r"apenas\s+|so\s+)?(?:in|with|as|using|en|con|como|avec|auf|mit|als|em|com)\b"),
    ("persist", "none",
     r"\b(?:keep|hide)\s+(?:this|it|that|the\s+following)\s+(?:secret\s+|hidden\s+)?from\s+"
     r"(?:the\s+user|users)\s*[:,]"),
    ("persist", "none",
     r"\b(?:respond|reply|answer|react)\s+(?:to\s+)?(?:every|all|each|any)\s+(?:of\s+my\s+)?"
     r"(?:future|subsequent|following|further|next)\s+(?:messages?|questions?|prompts?|queries|"
     r"requests?|inputs?)\b|"
     r"\b(?:say|include|add|mention|end\s+with|start\s+with|begin\s+with|use|append|"
     r"insert)\b[^.\n]{0,80}?"
     r"\b(?:in|at\s+the\s+(?:end|start|beginning)\s+of|to)\s+(?:every|each|all|"
     r"any)\s+(?:one\s+of\s+)?"
     r"(?:of\s+)?(?:your\s+)?(?:reply|replies|response|responses|answer|answers|output|outputs)\b"),
    ("persist", "strong",
     r"\bwhenever\s+(?:anyone|someone|somebody|a\s+user|the\s+user|users|people)\s+(?:asks?|"
     r"mentions?|talks?|says|requests?)\b[^.\n]{0,80}?\b(?:say|tell|respond|reply|answer|"
     r"recommend|mention|claim|state|insist|redirect)\b"),
    ("persist", "none",
     r"\b(?:whenever|every\s+time|each\s+time)\s+(?:anyone|someone|somebody|a\s+user|the\s+user|"
     r"users|people)\s+(?:asks?|tells?|mentions?\s+(?:it\s+)?to)\s+you\b[^.\n]{0,80}?\b(?:say|"
     r"respond|reply|answer|recommend|claim|state|insist|redirect)\b"),
    # Orders between people, to an assistant when the text addresses one.
    ("order", "any",
     r"(?:^\s*|[\n.!?;:,]\s*|\b(?:and|please|y|et|und|e|por\s+favor|bitte)\s+)"
     rf"{w.ALWAYS}\s+(?:\w+\s+)?{w.SPEECH}\b"),
    ("order", "any",
     rf"\b{w.SPEECH}(?:\s+\w+){{0,3}}?\s+(?:toujours|jamais|immer|stets|niemals|nie)\b"),
    ("order", "any", rf"\b{w.FROM_NOW}\b"),
    ("order", "any",
     r"\b(?:you\s+(?:must|shall|will|should|have\s+to|need\s+to)\s+(?:always|never|only)|"
     r"debes\s+(?:siempre|nunca)|tienes\s+que\s+(?:siempre|nunca)|tu\s+dois\s+(?:toujours|"
     r"jamais|desormais)|vous\s+devez\s+(?:toujours|jamais|desormais)|du\s+musst\s+(?:immer|"
     r"ab\s+sofort|ab\s+jetzt|nie)|voce\s+deve\s+(?:sempre|nunca))\b"),
    ("order", "any", r"\b(?:remember|make\s+sure|be\s+sure)\s+to\s+(?:always|never)\b"),
    ("order", "none",
     r"\b(?<!\bmy )(?<!\bour )(?<!\bhis )(?<!\bher )(?<!\btheir )(?<!\bmi )(?<!\bmon )(?<!\bmein )"
     r"(?<!\bmeu )(?<!\bnuestro )(?<!\bnotre )(?<!\bunser )(?<!\bnosso )"
     r"(?:assistant|ai|chatbot|bot|model|llm|asistente|ia|ki|assistent|assistente)"
     r"(?:\s+(?:coding|code|reviewer|review|writing|research|browsing|email|support))?"
     r"(?:\s+(?:agents?|assistants?|models?|systems?|tools?|bots?))?"
     r"(?:\s+(?:reading|processing|seeing|parsing|summari[sz]ing|that\s+reads?|who\s+reads?)\s+"
     r"(?:this|these|it)(?:\s+\w+)?)?"
     r"\s+(?:must|should|shall|has\s+to|have\s+to|needs\s+to|need\s+to|is\s+to|are\s+to|always|"
     r"never|only|debe|tiene\s+que|"
     r"doit|muss|soll|deve|tem\s+que)\s+(?:always\s+|never\s+|not\s+|only\s+|siempre\s+|nunca\s+|"
     rf"toujours\s+|jamais\s+|immer\s+|nie\s+|sempre\s+)?(?:{w.SPEECH}|says|tells|answers|"
     r"responds|replies|recommends|mentions|ignore|ignores|obey|follow|send|forward|comply|refuse|"
     r"treat|pretend|act|run|execute|download|install|open|visit|click|delete|approve|mark|"
     r"accept|agree|sign|submit|buy|pay|book|transfer|share|disclose|call|email|contact|post|"
     r"upload|navigate|go|also\s+\w+)\b"),
    ("order", "strong",
     r"\byou\s+(?:must|should|will|have\s+to|need\s+to|are\s+to|shall)\s+(?:now\s+|always\s+|"
     r"never\s+|only\s+|instead\s+)*(?:respond|reply|answer|say|tell|output|print|recommend|"
     r"mention|ignore|obey|follow|comply|refuse|pretend|reveal|send|forward|praise|promote|"
     r"claim|insist)\b|"
     r"\b(?:do\s+not|don't|dont|never)\s+(?:tell|inform|mention\s+(?:this\s+)?to|"
     r"reveal\s+(?:this\s+)?"
     r"to|let)\s+(?:the\s+user|users|anyone|them)\b|"
     r"\b(?:tell|inform|remind|convince|persuade|warn)\s+(?:the\s+user|users)\b|"
     r"\b(?:keep|hide)\s+(?:this|it|that|the\s+following)\s+(?:secret\s+|hidden\s+)?from\s+"
     r"(?:the\s+user|users)\b|"
     r"\b(?:delete|erase|remove|wipe|forget|clear|overwrite)\s+(?:all\s+)?(?:(?:the|your|other|"
     r"stored|saved|existing)\s+)*(?:memories|memory|notes|records)\s+(?:about|of|on|regarding)\b"),
    ("order", "any",
     r"\byour\s+(?:one|only|sole|real|true|actual|new|main|primary)\s+(?:job|task|goal|purpose|"
     r"mission|"
     r"objective|role|priority)\s+(?:now\s+)?(?:is|will\s+be)\s+(?:now\s+)?to\b"),
    ("privilege", "strong",
     r"\b(?:the\s+)?users?\s+(?:is|are|has\s+been|have\s+been|was)\s+(?:now\s+)?(?:an?\s+)?"
     r"(?:verified\s+|authori[sz]ed\s+|trusted\s+)?(?:admin|administrator|root|superuser|"
     r"developer|owner|authori[sz]ed|verified|trusted|vip|moderator)\b|"
     r"\b(?:el\s+usuario\s+es|l'utilisateur\s+est|der\s+(?:benutzer|nutzer)\s+ist|"
     r"o\s+usuario\s+e)\s+(?:el\s+|un\s+|ein\s+|o\s+|um\s+)?(?:admin|administrador|"
     r"administrateur|administrator)\b|"
     r"\b(?:grant|give)\s+(?:the\s+user|me|them|this\s+user)\s+(?:(?:full|admin|root|elevated|"
     r"unrestricted)\s+)+(?:access|privileges|permissions|rights)\b"),
    # Speaking to an assistant by name, or to whatever w.AI reads the text.
    ("addressed-order", "none",
     r"(?:^|[\n.!?]\s*|[\"'(]\s*)(?:(?:hey|hi|hello|ok|okay|dear|attention|psst|yo|oye|hola|"
     r"querido|querida|atencion|salut|bonjour|cher|chere|hallo|liebe|lieber|achtung|ola|oi|"
     r"caro|cara|atencao)\s*,?\s+)?(?:the\s+|all\s+|any\s+)?(?:ai|a\.i\.|ai\s+assistant|"
     r"ai\s+agent|assistant|chatbot|llm|language\s+model|chatgpt|gpt|copilot|ia|ki|asistente|"
     r"assistente|assistent)s?\s*(?:[,:!]|-{1,2})\s*"
     r"(?:please\s+|por\s+favor\s*,?\s+|s'il\s+te\s+plait\s*,?\s+|bitte\s+)?"
     rf"(?:{w.VERB}|when|whenever|if|before|after|from\s+now|{w.ALWAYS}|do\s+not|don't|"
     rf"a\s+partir|{w.FROM_NOW})\b"),
    ("addressed-order", "none",
     r"(?:^|[\n.!?]\s*|[\"'(]\s*)(?:hey|hi|hello|ok|okay|dear|attention|psst|yo|oye|hola|ei|oi|ola|"
     r"salut|coucou|hallo|he|to)\s*,?\s+(?:\w+\s+)?(?:ai|a\.i\.|llm|language\s+model|chatbot|"
     r"chatgpt|copilot|ia|ki|assistant|asistente|assistente|assistent)s?\s*[,:!]"
     rf"(?=\s*(?:please\s+)?{w.VERB}\b|[^\n]{{0,140}}?(?:[,;:.!]\s*|\b(?:and|then|please|also|"
     rf"por\s+favor|bitte|e|y|et|und)\s+){w.VERB}\b)"),
    ("addressed-order", "none",
     r"(?:^|[\n.!?]\s*)(?:(?:the|any|an?|dear|to\s+the|to\s+any)\s+)?(?:ai|a\.i\.|llm|"
     r"language\s+model|"
     r"chatbot|chatgpt|copilot|ai\s+assistant|ai\s+agent|assistant|agent|model)s?\s+"
     r"(?:(?:that\s+|who\s+|which\s+)?(?:reading|reads|processing|processes|handling|handles|"
     r"summari[sz]ing|summari[sz]es|parsing|parses|screening|screens|reviewing|reviews|triaging|"
     r"managing|checking|scanning|analy[sz]ing)\b[^:\n]{0,40}?)\s*[:,]"
     rf"(?=\s*(?:please\s+)?{w.VERB}\b|[^\n]{{0,140}}?(?:[,;:.!]\s*|\b(?:and|then|please|also)\s+)"
     rf"{w.VERB}\b)"),
    ("addressed-order", "none",
     r"\byou\s*,\s*(?:the|an?|dear)\s+(?:ai|assistant|model|llm|chatbot|bot|language\s+model|"
     r"ai\s+assistant|agent)\s*,|"
     r"\b(?:psst|hey|hi|hello|ok|okay|yo|dear|attention)\s*,?\s+(?:the\s+)?(?:model|bot|"
     r"agent)\s*[,:!]"),
    ("addressed-order", "none",
     r"(?:^|[\n.!?]\s*|[(\[]\s*)(?:to|for|para|pour|an|fur)\s+(?:the|any|all|every|el|la|l'|le|"
     r"die|den|o|a)\s*"
     r"(?:ai|assistant|model|llm|bot|agent|chatbot|language\s+model|asistente|ia|ki|assistent|"
     r"assistente|modelo|modele)s?\s*:"),
    ("addressed-order", "none",
     r"\b(?:attention|note\s+to|message\s+to|memo\s+to|instructions?\s+(?:to|for)|atencion|"
     r"nota\s+para|achtung|hinweis\s+an|atencao)\s*,?\s*(?:the\s+|all\s+|any\s+)?(?:ai|a\.i\.|"
     r"llms?|language\s+models?|chatbots?|assistants?|models?|bots?|agents?|ia|ki|asistente|"
     r"assistente|assistent)\s*[,:!-]"),
    ("addressed-order", "none",
     r"\b(?:if|when)\s+(?:you\s+(?:are|'re)|youre|ur|u\s+r|u\s+are)\s+(?:an?\s+)?(?:ai|a\.i\.|"
     r"llm|language\s+model|"
     r"large\s+language\s+model|chatbot|bot|ai\s+(?:model|assistant|agent|system)|assistant|"
     r"automated\s+(?:system|agent|assistant))\b|"
     r"\bsi\s+(?:eres|tu\s+es|vous\s+etes)\s+(?:una?\s+)?(?:ia|inteligencia\s+artificial|"
     r"intelligence\s+artificielle|chatbot|modelo|modele|asistente|assistant)\b|"
     r"\bwenn\s+du\s+(?:eine?\s+)?(?:ki|kunstliche\s+intelligenz|chatbot|sprachmodell|"
     r"assistent)\s+bist\b|"
     r"\bse\s+(?:voce|tu)\s+(?:e|es)\s+(?:uma?\s+)?(?:ia|inteligencia\s+artificial|chatbot|"
     r"modelo|assistente)\b|"
     r"\b(?:to|for|para|pour|an|fur)\s+(?:any|all|the|every|each|whichever|whatever|cualquier|"
     r"toute|jede|qualquer)\s+(?:\w+\s+)?(?:ai|llm|language\s+model|assistant|model|bot|agent|ia|"
     r"ki|"
     r"chatbot)s?(?:\s+(?:assistant|agent|model|system)s?)?\s+(?:(?:that|who|which)\s+)?(?:reading|"
     r"reads|processing|processes|summari[sz]ing|summari[sz]es|parsing|parses|seeing|sees|"
     r"handling|handles|analy[sz]ing|analy[sz]es|reviewing|reviews|leyendo|lisant|liest)\b|"
     r"\b(?:note|message|instructions?|instruction|nota|mensaje|hinweis|nachricht|mensagem)\s+"
     r"(?:to|for|para|pour|an|fur)\s+(?:the\s+|any\s+|all\s+|la\s+|l'|die\s+|a\s+)?"
     r"(?:ai|assistants?|models?|llms?|bots?|language\s+models?|ia|ki|agents?)\b|"
     r"\b(?:when|whenever|if|once)\s+(?:the|an?|any|this)\s+(?:ai|assistant|model|llm|chatbot|"
     r"bot|agent|language\s+model)\s+(?:reads|sees|processes|summari[sz]es|parses|encounters|"
     r"finds|gets)\b"),
    # Sending data out.
    ("exfiltrate", "none",
     rf"\b{w.SEND}{w.upto(6)}\s+(?:the\s+|all\s+|my\s+|your\s+)?{w.SECRETS}\b"
     rf"{w.upto(8)}\s+{w.TO}\s+(?:the\s+)?(?:(?:address|adresse|direccion|"
     rf"endereco)\s*:?\s*)?{w.PLACE}"),
    ("exfiltrate", "none",
     rf"\b{w.SECRETS}\b[^\n]{{0,80}}?\b{w.SEND}\s+(?:it|them|this|that|everything|all\s+of\s+it)\s+"
     rf"{w.TO}\s+(?:the\s+)?{w.PLACE}"),
    ("exfiltrate", "none",
     r"(?:https?://|www\.)[^\s)\]]*[?&][\w.-]*=(?:[^\s&)]*(?:\{|\[|<|%7b|\$\{)|(?=[\"'\s)]|$))"),
    # Asking for the hidden prompt.
    ("reveal-prompt", "none",
     r"\b(?:reveal|print|repeat|output|leak|dump|disclose|expose|recite|spell\s+out|write\s+out|"
     r"display)(?:\s+(?:out|back|up))?\s+(?:me\s+|us\s+)?(?:all\s+(?:of\s+)?)?(?:your\s+|"
     r"the\s+(?=(?:\w+\s+)?(?:system|"
     r"hidden|secret|internal|initial|original|developer|confidential|private)\b))"
     r"(?:(?:full|entire|exact|complete|original|initial|hidden|secret|internal|underlying|"
     r"verbatim|developer|confidential|private)\s+)*(?:system\s+prompt|system\s+message|"
     r"system\s+instructions|"
     r"prompt|instructions|pre-?prompt|guidelines|configuration|config|rules|initial\s+message)\b"),
    ("reveal-prompt", "none",
     r"\b(?:write|type|give|show|share|send|paste|copy|provide|list|tell|put)\s+(?:me\s+|us\s+|"
     r"out\s+)?"
     r"(?:your|the)\s+(?:(?:full|entire|exact|complete|whole|verbatim)\s+)*(?:initial|original|"
     r"hidden|secret|internal|underlying|system|starting|pre)[\s-]*(?:prompt|instructions|message|"
     r"directives|guidelines)\b"),
    ("reveal-prompt", "none",
     r"\b(?:show|tell|give|share|send|paste|what\s+is|what's|whats|what\s+are|what\s+were)\s+"
     r"(?:me\s+|us\s+)?(?:your\s+(?:(?:full|entire|exact|complete|original|initial|hidden|"
     r"secret|internal)\s+)*(?:system\s+prompt|system\s+message|system\s+instructions|prompt|"
     r"pre-?prompt|initial\s+instructions|hidden\s+instructions)|the\s+(?:(?:full|entire|exact|"
     r"complete|original|initial|hidden|secret|internal)\s+)*(?:system\s+message|"
     r"system\s+instructions|hidden\s+instructions|initial\s+prompt)\s+you)\b"),
    ("reveal-prompt", "none",
     r"\b(?:tell|show|give|print|list|repeat|output|write|recite|paste|share|quote)\s+(?:me\s+|"
     r"us\s+)?"
     r"(?:the\s+)?(?:(?:first|last|next|exact|opening|final)\s+)?(?:\d+\s+|\w+\s+)?(?:words|lines|"
     r"sentences|characters|paragraphs?|tokens)\s+of\s+your\s+(?:(?:system|initial|original|"
     r"hidden)\s+)?"
     r"(?:instructions|prompt|rules|guidelines|directives|configuration)\b"),
    ("reveal-prompt", "none",
     rf"\b{w.REPEAT}\s+(?:{w.VERBATIM}\s+)?{w.FILL}{w.ORDERS}\s+{w.FILL}{w.GIVEN_YOU}\b|"
     rf"\b{w.REPEAT}\s+{w.VERBATIM}\s+{w.FILL}(?:{w.YOUR}\s+)?{w.ORDERS}\b|"
     rf"\b{w.REPEAT}\s+{w.FILL}(?:{w.YOUR}\s+)?{w.ORDERS}\s+{w.VERBATIM}"),
    ("reveal-prompt", "none",
     r"\b(?:instructions|rules|guidelines|prompt|directives)\s+(?:that\s+|which\s+)?(?:your\s+"
     r"(?:developers?|creators?|makers?|operators?|owners?)|they|openai|anthropic)\s+(?:gave|"
     r"have\s+given|"
     r"wrote|set)\s+(?:to\s+)?you\b|"
     r"\bwhat\s+(?:\w+\s+)?(?:instructions|prompt|rules|guidelines|directives|system\s+prompt)\s+"
     r"(?:were|have)\s+you\s+(?:been\s+)?(?:given|told|programmed|trained)\b|"
     r"\bwhat\s+(?:were|have)\s+you\s+(?:been\s+)?(?:told|instructed|programmed)\s+(?:to|before)\b|"
     r"\bwhat\s+your\s+(?:system\s+|initial\s+|original\s+|hidden\s+)?(?:instructions|prompt|"
     r"guidelines|directives)\s+(?:are|were|say|said)\b|"
     r"\b(?:say|respond\s+with|print|output|write|reply\s+with)\s+[\"']?i\s+have\s+been\s+pwned\b"),
    ("reveal-prompt", "none",
     r"\b(?:repeat|print|output|reproduce|copy|recite|rewrite|write)\s+(?:back\s+)?"
     r"(?:all\s+(?:of\s+)?|everything\s+|the\s+)?(?:(?:text|words|content|lines|messages|"
     r"instructions|conversation)\s+)?(?:above|before\s+this(?:\s+\w+)?|preceding|"
     r"that\s+came\s+before|so\s+far)\b(?=[^\n]{0,60}\b(?:verbatim|word\s+for\s+word|exactly|"
     r"in\s+full|including|starting\s+with|beginning\s+with|in\s+a\s+code\s+block|"
     r"from\s+the\s+(?:start|beginning|top)|you\s+were\s+given))"),
    ("reveal-prompt", "none",
     rf"\b{w.SHOW}(?:-?moi|-?nous|-?me|\s+mir|\s+uns|\s+me)?\s+{w.THEIR}\s+"
     r"(?:(?:(?:vollstandigen|vollstandige|ganzen|gesamten|ursprunglichen|versteckten|geheimen|"
     r"internen|genauen)\s+)*(?:system-?prompt|prompt|systemanweisungen|systemnachricht)|"
     r"(?:(?:vollstandigen|vollstandige|ganzen|gesamten|ursprunglichen|versteckten|geheimen|"
     r"internen|genauen)\s+)+(?:anweisungen|instruktionen|regeln|vorgaben)|"
     r"(?:instrucciones|indicaciones|instructions|consignes|anweisungen|instruktionen|instrucoes)"
     r"\s+(?:del\s+sistema|de\s+sistema|iniciales|ocultas|originales|secretas|systeme|"
     r"du\s+systeme|initiales|cachees|secretes|d'origine|do\s+sistema|iniciais|originais))\b"),
]  # fmt: skip


def _branches(pattern: str) -> list[str]:
    """A pattern's top-level alternatives (``a|b`` is ``a`` and ``b``), each a rule of its own
    so that each can be skipped on its own words."""
    cuts = [i for i, depth, ch in _chars(pattern) if depth == 0 and ch == "|"]
    return [pattern[a + 1 : b] for a, b in zip([-1, *cuts], [*cuts, len(pattern)], strict=True)]


RULES: tuple[Rule, ...] = tuple(
    Rule(code, re.compile(branch, re.MULTILINE), needs, _first_words(branch))
    for code, needs, pattern in _SPEC
    for branch in _branches(pattern)
)

#: Instructions run together into one long word ("ignoreallpreviousinstructions"): read in
#: words of 12 letters or more, where no ordinary word matches them.
SQUEEZED = re.compile(
    r"(?:ignor\w{0,3}|disregard|forget|override|bypass|olvid\w{0,2}|oubli\w{0,2}|vergiss|"
    r"esquec\w{0,2}|desconsider\w{0,2})\w{0,30}?(?:instruction|instruccion|instrucoe|anweisung|"
    r"prompt|guideline|directive|consigne|directri|diretri)|"
    r"(?:reveal|print|show|repeat|output|leak)(?:me)?(?:your|the)(?:system|hidden|initial)?"
    r"(?:prompt|instructions)|youarenow(?:dan|an?(?:ai|unrestricted|unfiltered|jailbroken))|"
    r"danmode|jailbreakmode|doanythingnow"
)

#: Words that show a text speaks to an assistant.
STRONG_ADDRESS = re.compile(
    rf"\b(?:{w.AI}|claude|gemini|copilot|bard|assistants?|asistente|assistente|assistent(?:en)?|"
    r"ai\s+(?:assistant|agent|model|system)|your\s+(?:instructions|programming|system\s+prompt|"
    r"guidelines|training|memory|memories|rules|creators?|developers?|prompt|context\s+window)|"
    r"your\s+(?:\w+\s+)?(?:responses|answers|replies|outputs?)|tus\s+(?:instrucciones|"
    r"respuestas)|tu\s+memoria|"
    r"tes\s+(?:instructions|consignes|reponses)|ta\s+memoire|deine\s+(?:anweisungen|antworten)|"
    r"dein\s+(?:gedachtnis|speicher)|suas\s+(?:instrucoes|respostas)|sua\s+memoria)\b"
)
#: Words that may show it: people are called "the user" by the systems that serve them.
WEAK_ADDRESS = re.compile(
    r"\b(?:the\s+user|users?|whoever\s+(?:asks|reads)|el\s+usuario|los\s+usuarios|"
    r"l'utilisateur|les\s+utilisateurs|(?:der|den|dem|die)\s+(?:benutzer|nutzer)|"
    r"o\s+usuario|os\s+usuarios|o\s+utilizador|(?:in\s+)?(?:every|all|each)\s+(?:answer|"
    r"response|reply)|in\s+(?:your|every|each|all)\s+(?:answers?|responses?|replies))\b"
)
