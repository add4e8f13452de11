"""SMS segment counting: .venv/bin/python bench/segments.py [--messages N]

Pure: counts the segments of N synthetic message bodies (half plain GSM-7 Swahili or
English, half UCS-2: emoji, Thai, Devanagari, accented Latin, smart quotes), timing
only `count_segments`, in this process's CPU time. The UCS-2 half goes through the
grapheme splitter (billing.rating.graphemes); the GSM-7 half never does.
Target: above 10,000 UCS-2 messages/s of CPU (a batch of 10,000 rated in under 1 s).
"""

from __future__ import annotations

import argparse
import os
import random
import time

from billing.rating.segments import count_segments

WORDS = ["Habari", "yako", "salio", "lako", "ni", "TZS", "5,000.", "Asante!", "OTP:", "4821"]
TARGET = 10_000  # UCS-2 messages a second of CPU
UCS_PIECES = ["😜", "🇹🇿", "👨‍👩‍👧", "ą", "“sawa”", "สวัสดี", "ทำ", "ຄຳ", "नमस्ते", "é", "👍🏽"]


def body(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(3, 60))]
    if rng.random() < 0.5:
        for _ in range(rng.randint(1, 8)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(UCS_PIECES))
    return " ".join(words)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=50_000)
    args = parser.parse_args()
    rng = random.Random(255)
    bodies = [body(rng) for _ in range(args.messages)]
    load = f"{os.getloadavg()[0]:.2f}"
    started = time.process_time()
    segments = sum(count_segments(text).segments for text in bodies)
    cpu = time.process_time() - started
    ucs = [text for text in bodies if not text.isascii()]
    started = time.process_time()
    for text in ucs:
        count_segments(text)
    ucs_cpu = time.process_time() - started
    print(f"machine load average before/after: {load}, {os.getloadavg()[0]:.2f}")
    print(f"{args.messages:,} bodies, {segments:,} segments in {cpu:.2f} s of CPU")
    print(f"throughput: {args.messages / cpu:,.0f} messages/s of CPU")
    rate = len(ucs) / ucs_cpu
    verdict = "met" if rate > TARGET else "NOT met"
    print(
        f"UCS-2 bodies alone ({len(ucs):,}): {rate:,.0f} messages/s of CPU"
        f"   target > {TARGET:,} ({verdict})"
    )


if __name__ == "__main__":
    main()
