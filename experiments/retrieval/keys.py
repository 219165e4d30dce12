"""Index-time keys for a turn (no LLM) and query-time temporal parsing.

- resolve relative time expressions ("yesterday", "last week", "two months ago", "next Friday")
  against the message time into absolute dates / intervals;
- parse absolute dates named in a question ("on 7 July, 2023", "in December 2023", "in 2022")
  into a time window.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from common import MONTHS, WEEKDAYS, Turn, fmt_date

NUM = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
       "nine": 9, "ten": 10, "few": 3, "couple of": 2, "couple": 2, "several": 3}
MON = {m: i + 1 for i, m in enumerate(MONTHS)}
MON.update({m[:3]: i + 1 for i, m in enumerate(MONTHS)})
MON["sept"] = 9


def month_range(y: int, m: int):
    while m < 1:
        m += 12
        y -= 1
    while m > 12:
        m -= 12
        y += 1
    s = date(y, m, 1)
    e = date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)
    return s, e


def week_of(d: date):
    s = d - timedelta(days=d.weekday())
    return s, s + timedelta(days=6)


REL = re.compile(
    r"\b(?:(yesterday|last night)|(today|tonight|this morning|this afternoon|this evening|earlier today)|(tomorrow)"
    r"|(last|next|this|past) (week|weekend|month|year|summer|winter|spring|fall|autumn|"
    + "|".join(WEEKDAYS) + r")"
    r"|(a|an|one|two|three|four|five|six|seven|eight|nine|ten|few|couple of|couple|several|\d+) "
    r"(days?|weeks?|weekends?|months?|years?) ago"
    r"|(?:on|this) (" + "|".join(WEEKDAYS) + r"))\b",
    re.I,
)
SEASON = {"spring": (3, 5), "summer": (6, 8), "fall": (9, 11), "autumn": (9, 11), "winter": (12, 14)}


def resolve(text: str, ref: datetime) -> list[tuple[date, date, str]]:
    """Relative time expressions in `text`, resolved against `ref`: (start, end, label)."""
    d = ref.date()
    out = []
    for m in REL.finditer(text):
        g = m.groups()
        if g[0]:
            x = d - timedelta(days=1)
            out.append((x, x, fmt_date(datetime(x.year, x.month, x.day))))
        elif g[1]:
            out.append((d, d, fmt_date(ref)))
        elif g[2]:
            x = d + timedelta(days=1)
            out.append((x, x, fmt_date(datetime(x.year, x.month, x.day))))
        elif g[3]:
            rel, unit = g[3].lower(), g[4].lower()
            sign = -1 if rel in ("last", "past") else (1 if rel == "next" else 0)
            if unit == "week":
                s, e = week_of(d + timedelta(days=7 * sign))
                out.append((s, e, f"week of {fmt_date(datetime(s.year, s.month, s.day))} {s.strftime('%B %Y')}"))
            elif unit == "weekend":
                # the weekend before (last) / after (next) the message
                if sign <= 0:
                    sat = d - timedelta(days=(d.weekday() - 5) % 7 or 7)
                else:
                    sat = d + timedelta(days=(5 - d.weekday()) % 7 or 7)
                out.append((sat, sat + timedelta(days=1), f"{fmt_date(datetime(sat.year, sat.month, sat.day))} weekend"))
            elif unit == "month":
                s, e = month_range(d.year, d.month + sign)
                out.append((s, e, s.strftime("%B %Y")))
            elif unit == "year":
                y = d.year + sign
                out.append((date(y, 1, 1), date(y, 12, 31), str(y)))
            elif unit in SEASON:
                a, b = SEASON[unit]
                y = d.year + sign if sign else d.year
                s, _ = month_range(y, a)
                _, e = month_range(y, b)
                out.append((s, e, f"{unit} {y}"))
            else:  # weekday
                wd = WEEKDAYS.index(unit)
                if sign < 0:
                    x = d - timedelta(days=(d.weekday() - wd) % 7 or 7)
                else:
                    x = d + timedelta(days=(wd - d.weekday()) % 7 or 7)
                out.append((x, x, fmt_date(datetime(x.year, x.month, x.day))))
        elif g[5]:
            nraw = g[5].lower()
            n = int(nraw) if nraw.isdigit() else NUM.get(nraw, 1)
            unit = g[6].lower().rstrip("s")
            if unit == "day":
                x = d - timedelta(days=n)
                out.append((x, x, fmt_date(datetime(x.year, x.month, x.day))))
            elif unit in ("week", "weekend"):
                x = d - timedelta(days=7 * n)
                s, e = week_of(x)
                out.append((s, e, f"week of {fmt_date(datetime(s.year, s.month, s.day))} {s.strftime('%B %Y')}"))
            elif unit == "month":
                s, e = month_range(d.year, d.month - n)
                out.append((s, e, s.strftime("%B %Y")))
            else:
                y = d.year - n
                out.append((date(y, 1, 1), date(y, 12, 31), str(y)))
        elif g[7]:
            wd = WEEKDAYS.index(g[7].lower())
            x = d + timedelta(days=(wd - d.weekday()) % 7)
            out.append((x, x, fmt_date(datetime(x.year, x.month, x.day))))
    # explicit years / month names inside the message
    for m in re.finditer(r"\b(19[5-9]\d|20[0-4]\d)\b", text):
        y = int(m.group(1))
        out.append((date(y, 1, 1), date(y, 12, 31), str(y)))
    return out


def turn_keys(t: Turn, which) -> str:
    if not which:
        return ""
    parts = []
    if "dates" in which:
        for s, e, label in resolve(t.raw, t.date):
            parts.append(label)
    return " ".join(parts)


# ---------------------------------------------------------------- query windows
QD1 = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)? (" + "|".join(MON) + r")\.?,? (\d{4})\b", re.I)  # 7 July, 2023
QD2 = re.compile(r"\b(" + "|".join(MON) + r")\.? (\d{1,2})(?:st|nd|rd|th)?,? (\d{4})\b", re.I)  # July 7, 2023
QM = re.compile(r"\b(" + "|".join(MONTHS) + r")\.?,? (\d{4})\b", re.I)  # December 2023
QY = re.compile(r"\b(?:in|during|of|since|early|late|mid) (19[5-9]\d|20[0-4]\d)\b", re.I)
QMO = re.compile(r"\b(?:in|during|early|late|mid|of) (" + "|".join(MONTHS) + r")\b", re.I)  # in June (no year)


def query_window(q: str):
    """(start, end, exact_day) windows named by the question, or []."""
    out = []
    for m in QD1.finditer(q):
        try:
            x = date(int(m.group(3)), MON[m.group(2).lower()], int(m.group(1)))
            out.append((x, x, True))
        except ValueError:
            pass
    for m in QD2.finditer(q):
        try:
            x = date(int(m.group(3)), MON[m.group(1).lower()], int(m.group(2)))
            out.append((x, x, True))
        except ValueError:
            pass
    if not out:
        for m in QM.finditer(q):
            s, e = month_range(int(m.group(2)), MON[m.group(1).lower()])
            out.append((s, e, False))
    if not out:
        for m in QY.finditer(q):
            y = int(m.group(1))
            out.append((date(y, 1, 1), date(y, 12, 31), False))
    if not out:
        for m in QMO.finditer(q):
            out.append(("month", MON[m.group(1).lower()], False))
    return out
